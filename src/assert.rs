//! Assertions for CI property tests: run a campaign from a `#[test]` and fail it, readably,
//! when the campaign confirmed a finding or could not finish. The message is built from the
//! result's recorded exchanges, whose credentials the executor has already replaced by `***`.

use std::fmt::Write;

use crate::outcome::CampaignResult;

/// Why `result` is not a pass, as text for a test failure: every confirmed finding (kind,
/// operation, attacker -> victim, evidence, the minimal steps as `identity METHOD url ->
/// status`), whether the run stopped short, and the operations it left untested beyond
/// `campaign.max_untested`. `None` when it is a pass: the run finished, judged what it had to,
/// and confirmed nothing (findings a `--baseline` marked as known do not count).
pub fn failure_message(result: &CampaignResult) -> Option<String> {
    let findings: Vec<_> = result.confirmed().filter(|f| !f.known).collect();
    let mut out = String::new();
    if !findings.is_empty() {
        let _ = writeln!(
            out,
            "tenantfuzz confirmed {} authorization finding(s) against {}:",
            findings.len(),
            result.base_url
        );
        for (n, f) in findings.iter().enumerate() {
            let op = &f.operation;
            let _ = writeln!(
                out,
                "\n{}. {} ({}) on {} {}{}: {} -> {}",
                n + 1,
                f.kind.as_str(),
                f.vector.as_str(),
                op.method,
                op.path,
                op.operation_id
                    .as_deref()
                    .map(|id| format!(" ({id})"))
                    .unwrap_or_default(),
                f.attacker,
                f.victim
            );
            let _ = writeln!(out, "   evidence: {}", f.evidence);
            let _ = writeln!(out, "   steps:");
            for line in crate::report::steps::lines(f) {
                let _ = writeln!(out, "     {line}");
            }
        }
    }
    if let Some(why) = &result.failure {
        let _ = writeln!(
            out,
            "\ntenantfuzz did not finish its campaign, so no finding is not a pass: {why}"
        );
    } else {
        let incomplete = result.incomplete();
        if !incomplete.is_empty() {
            let _ = writeln!(
                out,
                "\ntenantfuzz's campaign is incomplete, so no finding is not a pass: {}",
                incomplete.join("; ")
            );
            for c in result.untested().take(20) {
                let _ = writeln!(
                    out,
                    "  untested: {} {}: {}",
                    c.method,
                    c.path,
                    c.note.as_deref().unwrap_or("no reason recorded")
                );
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Panics, listing every confirmed finding readably, unless the campaign finished and confirmed
/// nothing. Meant for a `#[test]` that runs a campaign against a test or staging deployment.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let settings = tenantfuzz::Settings::load(std::path::Path::new("tenantfuzz.toml"))?;
/// let result = tenantfuzz::Campaign::new(settings)?.run().await?;
/// tenantfuzz::assert_no_findings(&result);
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn assert_no_findings(result: &CampaignResult) {
    if let Some(message) = failure_message(result) {
        panic!("{message}");
    }
}

impl CampaignResult {
    /// The same as [`assert_no_findings`]: panics with every confirmed finding, readably,
    /// unless the run finished and confirmed nothing.
    #[track_caller]
    pub fn assert_clean(&self) {
        assert_no_findings(self);
    }
}
