//! JUnit XML for CI test reports, built with quick-junit. One test suite per operation, one
//! test case per (operation, check): it fails once per confirmed finding (the minimal steps in
//! the failure's body), passes when the check judged answers and found nothing, and is skipped
//! when nothing it sent could be judged. Attack requests that could not be judged get a skipped
//! case of their own, and so does an operation that was not attacked, with the reason.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::finding::{Finding, Kind, Status};
use crate::outcome::{CampaignResult, Coverage};

fn classname(c: &Coverage) -> String {
    format!("{} {}", c.method, c.path)
}

fn failure(f: &Finding, class: &str) -> TestCase {
    let rule = super::rules::rule(f.kind);
    let (mut status, label) = match (f.status, f.known) {
        (Status::Confirmed, false) => (
            TestCaseStatus::non_success(NonSuccessKind::Failure),
            "confirmed",
        ),
        (Status::Confirmed, true) => (TestCaseStatus::skipped(), "known (in the baseline)"),
        (Status::Inconclusive, _) => (TestCaseStatus::skipped(), "inconclusive"),
    };
    status.set_type(f.kind.as_str());
    status.set_message(format!(
        "{label}: {} ({}/{} replays): {}",
        f.kind.title(),
        f.reproduced,
        f.replays,
        f.evidence
    ));
    let mut body = format!(
        "{} {}: {} -> {} via the {}\nfinding {}; {} / CWE-{}\nevidence: {}\n\nminimal steps:\n",
        f.operation.method,
        f.operation.path,
        f.attacker,
        f.victim,
        f.vector,
        f.id,
        rule.owasp.0,
        rule.cwe[0],
        f.evidence
    );
    for line in super::steps::lines(f) {
        body.push_str(&line);
        body.push('\n');
    }
    if let Some(r) = &f.reproduction {
        body.push_str(&format!("\nreproduce: {}\n", r.curl));
    }
    status.set_description(body);
    let mut case = TestCase::new(
        format!("{} ({}, {} -> {})", f.kind, f.vector, f.attacker, f.victim),
        status,
    );
    case.set_classname(class);
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
            suite.add_test_case(case);
        }
        for kind in checks {
            let mine: Vec<&&Finding> = findings.iter().filter(|f| f.kind == kind).collect();
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
                suite.add_test_case(case);
            }
            for f in mine {
                suite.add_test_case(failure(f, &class));
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
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
}

/// The JUnit report as XML.
pub fn render(result: &CampaignResult) -> String {
    report(result)
        .to_string()
        .expect("serializing to memory does not fail")
}
