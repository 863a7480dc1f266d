//! JUnit XML for CI test reports, built with quick-junit. One test suite per operation, one
//! test case per (operation, check): it fails once per confirmed bug (a kind and vector on the
//! operation; the body lists every attacker/victim pair and one pair's minimal steps), passes
//! when the check judged answers and found nothing, and is skipped
//! when nothing it sent could be judged. Attack requests that could not be judged get a skipped
//! case of their own, and so does an operation that was not attacked, with the reason. Every
//! case has a time: a bug's is what its pairs' recorded exchanges took; the others' is zero (the
//! run records no time per check), and the report's is the run's.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::finding::{Bug, Finding, Kind, Status};
use crate::outcome::{CampaignResult, Coverage};

fn classname(c: &Coverage) -> String {
    format!("{} {}", c.method, c.path)
}

/// The time its pairs' recorded exchanges took (each pair's last confirming run).
fn recorded_time(b: &Bug<'_>) -> Duration {
    let ms: u64 = b
        .findings
        .iter()
        .flat_map(|f| f.steps.iter())
        .map(|s| s.exchange.duration_ms)
        .sum();
    Duration::from_millis(ms)
}

/// A bug's case: it fails when a pair the baseline does not list was confirmed; the body lists
/// every pair, then the representative pair's minimal steps.
fn failure(b: &Bug<'_>, class: &str) -> TestCase {
    let f = b.representative();
    let rule = super::rules::rule(f.kind);
    let (mut status, label) = if b.is_new() {
        (
            TestCaseStatus::non_success(NonSuccessKind::Failure),
            "confirmed",
        )
    } else if b.is_known() {
        (TestCaseStatus::skipped(), "known (in the baseline)")
    } else {
        (TestCaseStatus::skipped(), "inconclusive")
    };
    let confirmed = b.confirmed().count();
    status.set_type(f.kind.as_str());
    status.set_message(format!(
        "{label}: {} for {confirmed} of {} attacker/victim pairs: {}",
        f.kind.title(),
        b.findings.len(),
        f.evidence
    ));
    let mut body = format!(
        "{} {}: {} via the {}\nbug {}; {} / CWE-{}\npairs:\n",
        f.operation.method, f.operation.path, f.kind, f.vector, b.id, rule.owasp.0, rule.cwe[0],
    );
    for p in &b.findings {
        let state = match (p.status, p.known) {
            (Status::Confirmed, false) => "confirmed",
            (Status::Confirmed, true) => "known",
            (Status::Inconclusive, _) => "inconclusive",
        };
        body.push_str(&format!(
            "  {} -> {}: {state} {}/{} ({})\n",
            p.attacker, p.victim, p.reproduced, p.replays, p.id
        ));
    }
    body.push_str(&format!(
        "\nevidence ({} -> {}): {}\n\nminimal steps:\n",
        f.attacker, f.victim, f.evidence
    ));
    for line in super::steps::lines(f) {
        body.push_str(&line);
        body.push('\n');
    }
    if let Some(r) = &f.reproduction {
        body.push_str(&format!("\nreproduce: {}\n", r.curl));
    }
    status.set_description(body);
    let mut case = TestCase::new(format!("{} ({})", f.kind, f.vector), status);
    case.set_classname(class);
    case.set_time(recorded_time(b));
    case
}

/// The JUnit report of a campaign result.
pub fn report(result: &CampaignResult) -> Report {
    let mut report = Report::new("tenantfuzz");
    for c in &result.coverage {
        let class = classname(c);
        let mut suite = TestSuite::new(class.clone());
        let findings: Vec<&Finding> = result
            .findings
            .iter()
            .filter(|f| f.operation.method == c.method && f.operation.path == c.path)
            .collect();
        let mut checks: Vec<Kind> = c.checks.clone();
        checks.extend(findings.iter().map(|f| f.kind));
        checks.sort();
        checks.dedup();
        if !c.attacked && findings.is_empty() {
            let mut status = TestCaseStatus::skipped();
            status.set_message(
                c.note
                    .clone()
                    .unwrap_or_else(|| "not attacked: no foreign id fits it".into()),
            );
            let mut case = TestCase::new("authorization", status);
            case.set_classname(class.clone());
            // No time of its own is recorded: its requests are the run's.
            case.set_time(Duration::ZERO);
            suite.add_test_case(case);
        }
        let bugs = crate::finding::bugs(findings.iter().copied());
        for kind in checks {
            let mine: Vec<&Bug<'_>> = bugs.iter().filter(|b| b.first().kind == kind).collect();
            if mine.is_empty() {
                let status = if c.judged == 0 {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(format!(
                        "not judged: none of its {} attack requests got an answer that could be judged",
                        c.unjudged
                    ));
                    s
                } else {
                    TestCaseStatus::success()
                };
                let mut case = TestCase::new(kind.as_str(), status);
                case.set_classname(class.clone());
                case.set_time(Duration::ZERO);
                suite.add_test_case(case);
            }
            for b in mine {
                suite.add_test_case(failure(b, &class));
            }
        }
        if c.unjudged > 0 && c.judged > 0 {
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!(
                "{} of {} attack requests could not be judged (no answer, 5xx, 429 or a failed set-up step){}",
                c.unjudged,
                c.unjudged + c.judged,
                c.note
                    .as_ref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            ));
            let mut case = TestCase::new("unjudged requests", status);
            case.set_classname(class.clone());
            // No time of its own is recorded: its requests are the run's.
            case.set_time(Duration::ZERO);
            suite.add_test_case(case);
        }
        let time = suite.test_cases.iter().filter_map(|c| c.time).sum();
        suite.set_time(time);
        report.add_test_suite(suite);
    }
    report.set_time(Duration::from_millis(result.stats.duration_ms));
    report
}

/// The JUnit report as XML.
pub fn render(result: &CampaignResult) -> String {
    report(result)
        .to_string()
        .expect("serializing to memory does not fail")
}
