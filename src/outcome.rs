//! Ground-floor data: what a campaign produced, as plain values: its findings, the coverage of
//! each operation, the counters, and what the cleanup left. Reports read this and `finding.rs`,
//! never the campaign or the executor that made it (hurl's `runner/result.rs`).

use serde::Serialize;

use crate::finding::{Finding, Kind, Status, Vector};

/// Coverage of one operation.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    pub attacked: bool,
    pub vectors: Vec<Vector>,
    /// The checks its attacks went through (the kinds they could have shown).
    pub checks: Vec<Kind>,
    /// Attack requests that got an answer that could be judged.
    pub judged: u64,
    /// Attack requests that could not be judged (no answer, 5xx, 429, or a step they needed
    /// failed).
    pub unjudged: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Counters of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub duration_ms: u64,
    /// Requests of logins, discovery and the plan's probes.
    pub systematic_requests: u64,
    /// Requests of the exploration phase: proptest cases and their shrinking, and any retries
    /// and session renewals until its end.
    pub exploration_requests: u64,
    /// Explored cases that compiled into a scenario and ran.
    pub explored_cases: u64,
    /// Requests spent on confirmation and shrinking, all findings together.
    pub confirmation_requests: u64,
    /// Requests of the final cleanup.
    pub cleanup_requests: u64,
    pub scenarios: u64,
    /// Sessions renewed mid-run (a 401 the positive control confirmed, then a new login).
    pub session_renewals: u64,
    /// Wall-clock milliseconds of each phase: where the run's time went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_ms: Option<PhaseTimes>,
}

/// Wall-clock milliseconds of each phase of a run (logins and discovery together), each from
/// the end of the one before. Exploration starts once every probe of the plan has, beside the
/// systematic phase's tail; its time counts from the systematic phase's end. The plan's
/// webhook probes and their confirmations run on beside exploration: its time includes theirs.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PhaseTimes {
    pub discovery: u64,
    pub systematic: u64,
    pub exploration: u64,
    pub confirmation: u64,
    pub cleanup: u64,
}

/// What a campaign found.
#[derive(Debug, Clone)]
pub struct CampaignResult {
    pub base_url: String,
    pub spec: String,
    pub identities: Vec<String>,
    pub findings: Vec<Finding>,
    pub coverage: Vec<Coverage>,
    pub stats: Stats,
    pub operations_total: usize,
    /// `tfz` + the run tag every marker of this run starts with.
    pub marker_prefix: String,
    /// What was deleted at the end, and what was left behind.
    pub cleanup: Cleanup,
    /// Why the run stopped before doing all it planned (`--max-time`, Ctrl-C, a lost target),
    /// if it did: coverage is incomplete, and no finding is not a pass.
    pub stopped_early: Option<String>,
    /// The error that cut the run short (the target stopped answering), if one did. The
    /// findings confirmed before it still stand.
    pub failure: Option<String>,
    /// Every exchange of the run, in the order they finished; empty unless recording was asked
    /// for (the CLI's `--har`).
    pub exchanges: Vec<crate::exchange::Recorded>,
    /// The part of the campaign this run was (`--shard I/N`), if only a part.
    pub shard: Option<crate::config::Shard>,
}

impl CampaignResult {
    /// Confirmed findings.
    pub fn confirmed(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.status == Status::Confirmed)
    }
}

/// What the cleanup did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cleanup {
    /// Resources deleted (or already gone).
    pub deleted: usize,
    /// Resources left on the target, with why.
    pub left: Vec<LeftBehind>,
}

impl Cleanup {
    /// Adds what another pass of the cleanup did.
    pub(crate) fn absorb(&mut self, other: Cleanup) {
        self.deleted += other.deleted;
        self.left.extend(other.left);
    }
}

/// A resource the campaign created and could not delete.
#[derive(Debug, Clone, Serialize)]
pub struct LeftBehind {
    pub resource: String,
    pub id: String,
    /// The delete request that failed, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub reason: String,
}
