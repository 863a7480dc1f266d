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
    // One failure per new confirmed bug: the read's two pairs are one case.
    let new_confirmed = result.confirmed().filter(|f| !f.known).count();
    assert_eq!(new_confirmed, 4);
    assert_eq!(parsed.failures, 3);
    assert!(parsed.tests > parsed.failures);
    let cases: Vec<&quick_junit::TestCase> = parsed
        .test_suites
        .iter()
        .flat_map(|s| &s.test_cases)
        .collect();
    assert!(
        cases.iter().all(|c| c.time.is_some()),
        "a case without a time"
    );
    // The read's case: both pairs' recorded exchanges, 3 steps of 3 ms each.
    let read = cases
        .iter()
        .find(|c| {
            c.name.as_str() == "bola-read (path)"
                && c.classname.as_deref() == Some("GET /projects/{projectId}")
        })
        .unwrap();
    assert_eq!(read.time, Some(std::time::Duration::from_millis(18)));
    insta::assert_snapshot!("junit", redact(&text));
}

#[test]
fn markdown_snapshot() {
    let result = fixture::result();
    let text = report::markdown::render(&result);
    // Six findings, five bugs: the read is one bug of two pairs.
    assert_eq!(result.findings.len(), 6);
    assert_eq!(text.matches("<details>").count(), 5);
    assert!(text.contains("bob → alice, carol → alice"), "{text}");
    assert!(!text.contains("Shortened"));
    insta::assert_snapshot!("markdown", redact(&text));
}

/// A result with thousands of findings over hundreds of bugs: the Markdown summary still fits a
/// pull-request comment, says it was shortened, and where the full report is.
#[test]
fn a_huge_markdown_summary_is_shortened_to_fit_a_comment() {
    let mut result = fixture::result();
    let template = result.findings[0].clone();
    let mut findings = Vec::new();
    for op in 0..400 {
        for attacker in 0..8 {
            let mut f = template.clone();
            f.operation.path = format!("/tenants/{{tenantId}}/things{op}/{{thingId}}");
            f.attacker = format!("attacker{attacker}");
            f.id = tenantfuzz::finding::fingerprint(
                f.kind,
                f.vector,
                &f.operation,
                &f.attacker,
                &f.victim,
            );
            f.bug = tenantfuzz::finding::bug_id(f.kind, f.vector, &f.operation);
            f.evidence = format!("{} {}", f.evidence, "and more evidence ".repeat(40));
            findings.push(f);
        }
    }
    result.findings = findings;
    let whole_text: usize = result
        .findings
        .iter()
        .map(|f| f.evidence.len() + f.steps.len() * 80)
        .sum();
    assert!(whole_text > 1_000_000, "not huge: {whole_text}");
    let text = report::markdown::render_linked(&result, Some("out/tenantfuzz.json"));
    assert!(
        text.chars().count() < 60_000,
        "{} characters",
        text.chars().count()
    );
    assert!(text.len() < report::markdown::LIMIT);
    assert!(text.contains("**Shortened**"), "{}", &text[..2000]);
    assert!(text.contains("of 400 bugs"), "{}", &text[..2000]);
    assert!(text.contains("the full report is `out/tenantfuzz.json`"));
    assert!(text.contains("## tenantfuzz: 400 confirmed bugs (3200 pairs"));
    // It still lists what fits, table rows before minimal steps.
    assert!(text.matches("| `bola-read`").count() > 50);
    // Without a JSON report, it says how to get one.
    let text = report::markdown::render(&result);
    assert!(text.len() < report::markdown::LIMIT);
    assert!(text.contains("--report-json FILE"), "{}", &text[..2000]);
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

/// In colour, the terminal summary is the plain one with escapes added; colour only on a
/// terminal, and never with `NO_COLOR` set to anything but empty.
#[test]
fn the_terminal_summary_in_colour_is_the_plain_one_with_escapes() {
    let result = fixture::result();
    let plain = report::terminal::render(&result);
    let coloured = report::terminal::render_with(&result, true);
    assert!(!plain.contains('\u{1b}'));
    // The new bug in bold red, the inconclusive one yellow, the known one dim.
    assert!(coloured.contains("\u{1b}[1;31mGET /projects/{projectId} [bola-read]"));
    assert!(coloured.contains("\u{1b}[33mGET /search [list-leak]"));
    assert!(coloured.contains("\u{1b}[2mGET /documents/{documentId} [unauthenticated]"));
    let mut stripped = String::new();
    let mut rest = coloured.as_str();
    while let Some(i) = rest.find('\u{1b}') {
        stripped.push_str(&rest[..i]);
        let end = rest[i..].find('m').unwrap();
        rest = &rest[i + end + 1..];
    }
    stripped.push_str(rest);
    assert_eq!(stripped, plain);
    use report::terminal::colour_wanted;
    use std::ffi::OsStr;
    assert!(colour_wanted(true, None));
    assert!(colour_wanted(true, Some(OsStr::new(""))));
    assert!(!colour_wanted(true, Some(OsStr::new("1"))));
    assert!(!colour_wanted(false, None));
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
    assert_eq!(merged.summary.bugs, whole.summary.bugs);
    assert_eq!(whole.summary.bugs, 4, "five bugs, one of them inconclusive");
    // A report written before findings carried their bug merges with the bugs computed.
    let mut old = whole.clone();
    for f in &mut old.findings {
        f.bug.clear();
    }
    old.summary.bugs = 0;
    let again = report::merge::merge(vec![old]).unwrap();
    assert_eq!(again.summary.bugs, 4);
    assert!(
        again
            .findings
            .iter()
            .zip(&whole.findings)
            .all(|(a, b)| a.bug == b.bug && !a.bug.is_empty())
    );
    let result = report::merge::result_of(merged);
    assert_eq!(result.findings.len(), 6);
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

/// The HTML report of the fixed result: a snapshot, and its matrix cells by the data (the read's
/// two attackers as leaks, the delete's anonymous attacker as a violation, refusals as denied,
/// unjudged attacks as such, and an identity that never attacked as not tried).
#[test]
fn html_snapshot_and_matrix() {
    let result = fixture::result();
    let text = report::html::render(&result);
    let cell = |op: &str, who: &str| {
        let row = &text[text.find(&format!("<tr data-op=\"{op}\">")).unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        let at = row.find(&format!("data-identity=\"{who}\"")).unwrap();
        let state = &row[at..];
        let state = &state[state.find("data-state=\"").unwrap() + 12..];
        state[..state.find('"').unwrap()].to_string()
    };
    assert_eq!(cell("GET /projects/{projectId}", "bob"), "leak");
    assert_eq!(cell("GET /projects/{projectId}", "carol"), "leak");
    assert_eq!(cell("GET /projects/{projectId}", "anonymous"), "denied");
    assert_eq!(cell("GET /projects/{projectId}", "alice"), "not-tried");
    assert_eq!(
        cell("DELETE /documents/{documentId}", "anonymous"),
        "violation"
    );
    assert_eq!(cell("GET /documents/{documentId}", "bob"), "denied");
    // The known finding is still shown for what it is.
    assert_eq!(cell("GET /documents/{documentId}", "anonymous"), "leak");
    // The inconclusive leak is no leak: what the attacks got back.
    assert_eq!(cell("GET /search", "bob"), "allowed");
    assert_eq!(cell("GET /reports/{reportId}", "bob"), "unjudged");
    assert_eq!(cell("GET /health", "bob"), "not-tried");
    // One entry per bug, the untested operation first in the coverage.
    assert_eq!(text.matches("<article class=\"bug\"").count(), 5);
    let coverage = &text[text.find("id=\"coverage\"").unwrap()..];
    let first = coverage.find("/reports/{reportId}").unwrap();
    assert!(first < coverage.find("/projects/{projectId}").unwrap());
    insta::assert_snapshot!("html", redact(&text));
}

/// A credential a server or a careless record left in a header never reaches the HTML report:
/// every header goes through the one redaction place.
#[test]
fn no_credential_in_the_html_report() {
    let mut result = fixture::result();
    let token = "tok_3f9a8b7c6d5e4f3a2b1c";
    for f in &mut result.findings {
        for step in &mut f.steps {
            let ex = &mut step.exchange;
            ex.request_headers
                .push(("Authorization".into(), format!("Bearer {token}")));
            ex.request_headers.push(("X-Api-Key".into(), token.into()));
            ex.response_headers
                .push(("Set-Cookie".into(), format!("session={token}")));
        }
    }
    let text = report::html::render(&result);
    assert!(!text.contains(token), "a credential in the HTML report");
    // The headers are shown, redacted: the test can fail.
    assert!(text.contains("Authorization: ***"));
    assert!(text.contains("Set-Cookie: ***"));
}
