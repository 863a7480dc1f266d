//! Every report format on a fixed campaign result (`support/fixture.rs`): snapshots (insta) of
//! each, with the tool's version redacted, plus the properties the formats promise: SARIF valid
//! against the official 2.1.0 schema, JUnit that parses back with a failure per new confirmed
//! finding, HAR that lists every exchange with credentials redacted.
#![allow(clippy::unwrap_used)]

use crate::support::fixture;
use crate::support::sarif;

use tenantfuzz::report;

fn redact(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn sarif_snapshot_and_schema() {
    let result = fixture::result();
    let text = report::sarif::render(&result, "specs/demo.yaml");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = sarif::validator();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema really judges: a result without a message is rejected.
    let mut broken = value.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(!validator.is_valid(&broken));
    assert_eq!(
        value["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        tenantfuzz::finding::Kind::ALL.len()
    );
    insta::assert_snapshot!("sarif", redact(&text));
}

#[test]
fn junit_snapshot_and_failures() {
    let result = fixture::result();
    let text = report::junit::render(&result);
    let parsed = quick_junit::Report::deserialize_from_str(&text).unwrap();
    let new_confirmed = result.confirmed().filter(|f| !f.known).count();
    assert_eq!(parsed.failures, new_confirmed);
    assert!(parsed.tests > parsed.failures);
    insta::assert_snapshot!("junit", redact(&text));
}

#[test]
fn markdown_snapshot() {
    let text = report::markdown::render(&fixture::result());
    assert_eq!(text.matches("<details>").count(), 5);
    insta::assert_snapshot!("markdown", redact(&text));
}

#[test]
fn har_snapshot_lists_every_exchange_redacted() {
    let result = fixture::result();
    let text = report::har::render(&result);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["log"]["version"], "1.2");
    assert_eq!(
        v["log"]["entries"].as_array().unwrap().len(),
        result.exchanges.len()
    );
    insta::assert_snapshot!("har", redact(&text));
}

#[test]
fn hurl_and_curl_snapshots() {
    let result = fixture::result();
    let mut all = String::new();
    for f in &result.findings {
        all.push_str(&format!("=== {}\n", report::hurl::file_name(f)));
        all.push_str(&report::hurl::file(
            f,
            &result.marker_prefix,
            &result.base_url,
        ));
    }
    assert!(
        !all.contains("***"),
        "a redacted credential was copied literally"
    );
    insta::assert_snapshot!("hurl", all);
    let f = &result.findings[0];
    insta::assert_snapshot!(
        "curl",
        report::curl::script(f, &result.marker_prefix, &result.base_url)
    );
}

#[test]
fn json_and_terminal_snapshots() {
    let result = fixture::result();
    insta::assert_snapshot!("json", redact(&report::json::render(&result)));
    insta::assert_snapshot!("terminal", report::terminal::render(&result));
}

#[test]
fn baseline_snapshot() {
    let result = fixture::result();
    insta::assert_snapshot!(
        "baseline",
        report::baseline::Baseline::of(&result.findings).render()
    );
}

#[test]
fn merging_split_reports_gives_back_the_whole() {
    let whole = report::json::report(&fixture::result());
    let mut a = whole.clone();
    let mut b = whole.clone();
    a.findings.truncate(2);
    b.findings.drain(..1);
    for c in &mut b.coverage {
        c.judged = 1;
    }
    a.summary.requests = 40;
    b.summary.requests = 2;
    a.summary.session_renewals = 3;
    let merged = report::merge::merge(vec![a, b]).unwrap();
    let ids = |r: &report::json::Report| -> Vec<String> {
        r.findings.iter().map(|f| f.id.clone()).collect()
    };
    assert_eq!(ids(&merged), ids(&whole));
    assert_eq!(merged.summary.confirmed, whole.summary.confirmed);
    assert_eq!(merged.summary.requests, 42);
    assert_eq!(merged.summary.session_renewals, 3, "renewals add up");
    assert_eq!(merged.coverage.len(), whole.coverage.len());
    assert_eq!(
        merged.coverage[0].judged,
        whole.coverage[0].judged + 1,
        "judged requests add up"
    );
    // Every other format can be written from a merged report.
    let result = report::merge::result_of(merged);
    assert_eq!(result.findings.len(), 5);
    assert!(report::junit::render(&result).contains("<failure"));
    assert!(report::merge::merge(Vec::new()).is_err());
}

#[test]
fn the_json_report_round_trips_through_serde() {
    let text = report::json::render(&fixture::result());
    let parsed: report::json::Report = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_string_pretty(&parsed).unwrap(), text);
}

proptest::proptest! {
    /// Whatever a server or a config puts in a credential header, no format writes it.
    #[test]
    fn credential_headers_never_reach_a_report(
        name in proptest::sample::select(vec![
            "Authorization", "cookie", "Set-Cookie", "X-API-Key", "x-auth-token",
            "X-Session-Id", "X-Hub-Signature-256", "api_key_header",
        ]),
        upper in proptest::bool::ANY,
        value in "[A-Za-z0-9]{16,24}",
    ) {
        let name = if upper { name.to_ascii_uppercase() } else { name.to_string() };
        let mut result = fixture::result();
        for r in &mut result.exchanges {
            r.exchange.request_headers.push((name.clone(), value.clone()));
            r.exchange.response_headers.push((name.clone(), value.clone()));
        }
        let har = report::har::render(&result);
        proptest::prop_assert!(!har.contains(&value));
        proptest::prop_assert!(har.contains(&name));
    }
}
