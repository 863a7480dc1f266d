//! The JSON report, `format_version` 1. Documented field by field in the README.

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Status};
use crate::outcome::{CampaignResult, Coverage};

/// The report's wire format version. Bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// The versioned JSON report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub format_version: u32,
    pub tool: Tool,
    pub target: TargetInfo,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub coverage: Vec<CoverageEntry>,
    pub cleanup: CleanupInfo,
}

/// What the campaign deleted at the end, and what it left on the target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CleanupInfo {
    /// Deleted by the cleanup: the delete answered 2xx and no read-back showed the object.
    pub deleted: usize,
    /// Already gone when the cleanup came: the delete answered 404 or 410 and no read-back
    /// showed the object (an attack deleted it). Absent in reports of older versions.
    #[serde(default)]
    pub already_gone: usize,
    pub left: Vec<LeftInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeftInfo {
    pub resource: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetInfo {
    pub base_url: String,
    pub spec: String,
    pub identities: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub requests: u64,
    pub duration_ms: u64,
    pub confirmed: usize,
    pub inconclusive: usize,
    /// Bugs confirmed for at least one pair: distinct (kind, operation, vector) among the
    /// confirmed findings, each finding's `bug`. Absent (0) in reports of older versions.
    #[serde(default)]
    pub bugs: usize,
    pub operations_total: usize,
    pub operations_attacked: usize,
    /// Attack requests whose answer could not be judged (no answer, 5xx, 429, failed set-up).
    pub unjudged: u64,
    pub systematic_requests: u64,
    pub confirmation_requests: u64,
    /// Sessions renewed by logging in again (after a 401, or a failed periodic check); absent
    /// when none was. Findings of a run whose sessions kept expiring were still judged with a
    /// working session each time.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub session_renewals: u64,
    /// Why the run stopped before doing all it planned, if it did.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stopped_early: Option<String>,
    /// Sessions probes broke: the identity, the probe (operation and kind) and why renewing
    /// failed; the identity sent nothing more, so the run is incomplete. Absent when none was.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub broken_sessions: Vec<crate::outcome::BrokenSession>,
    /// Whether the run did all it planned and judged enough: false when it stopped early,
    /// failed, or left more operations untested than `untested_allowed`; then no finding is
    /// not a pass.
    #[serde(default = "complete_by_default")]
    pub complete: bool,
    /// Operations that take a resource id (and are not excluded)
    /// with no probe judged; each one's coverage entry says why.
    #[serde(default)]
    pub untested: usize,
    /// How many of them `campaign.max_untested` allows before the run is incomplete.
    #[serde(default)]
    pub untested_allowed: usize,
    /// The error that cut the run short (the target stopped answering), if one did.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// The part of the campaign this run was (`--shard I/N`): its coverage and findings are
    /// that shard's operations only. Absent for a whole run and for a merged report.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shard: Option<String>,
}

fn complete_by_default() -> bool {
    true
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoverageEntry {
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub operation_id: Option<String>,
    pub attacked: bool,
    pub vectors: Vec<crate::finding::Vector>,
    /// The checks its attacks went through.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub checks: Vec<crate::finding::Kind>,
    pub judged: u64,
    pub unjudged: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// Confirmed leaks or changes here of data public or shared by behaviour: no finding (the
    /// first one's evidence, and how many more).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub by_design: Option<String>,
    /// Whether the run must judge a probe of it (it takes a resource id, and is neither
    /// excluded); with `judged` 0, it was not tested.
    #[serde(default)]
    pub in_scope: bool,
    /// What each attacker's requests got back, by identity (`anonymous` for none): judged
    /// answers `allowed` (2xx), `denied` (401, 403, 404, 410) or `other`, and `unjudged`; zero
    /// counts are left out. Absent in reports of older versions and for operations not attacked.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub access: std::collections::BTreeMap<String, crate::outcome::Access>,
}

impl From<&Coverage> for CoverageEntry {
    fn from(c: &Coverage) -> Self {
        CoverageEntry {
            method: c.method.clone(),
            path: c.path.clone(),
            operation_id: c.operation_id.clone(),
            attacked: c.attacked,
            vectors: c.vectors.clone(),
            checks: c.checks.clone(),
            judged: c.judged,
            unjudged: c.unjudged,
            note: c.note.clone(),
            by_design: c.by_design.clone(),
            in_scope: c.in_scope,
            access: c.access.clone(),
        }
    }
}

/// Builds the report of a campaign result.
pub fn report(result: &CampaignResult) -> Report {
    let confirmed = result
        .findings
        .iter()
        .filter(|f| f.status == Status::Confirmed)
        .count();
    Report {
        format_version: FORMAT_VERSION,
        tool: Tool {
            name: "tenantfuzz".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        target: TargetInfo {
            base_url: result.base_url.clone(),
            spec: result.spec.clone(),
            identities: result.identities.clone(),
        },
        summary: Summary {
            requests: result.stats.requests,
            duration_ms: result.stats.duration_ms,
            confirmed,
            inconclusive: result.findings.len() - confirmed,
            bugs: crate::finding::confirmed_bugs(&result.findings),
            operations_total: result.operations_total,
            operations_attacked: result.coverage.iter().filter(|c| c.attacked).count(),
            unjudged: result.coverage.iter().map(|c| c.unjudged).sum(),
            systematic_requests: result.stats.systematic_requests,
            confirmation_requests: result.stats.confirmation_requests,
            session_renewals: result.stats.session_renewals,
            stopped_early: result.stopped_early.clone(),
            broken_sessions: result.broken_sessions.clone(),
            complete: result.incomplete().is_empty() && result.failure.is_none(),
            untested: result.untested().count(),
            untested_allowed: result.untested_allowed,
            error: result.failure.clone(),
            shard: result.shard.map(|s| s.to_string()),
        },
        findings: result.findings.clone(),
        coverage: result.coverage.iter().map(CoverageEntry::from).collect(),
        cleanup: CleanupInfo {
            deleted: result.cleanup.deleted,
            already_gone: result.cleanup.already_gone,
            left: result
                .cleanup
                .left
                .iter()
                .map(|l| LeftInfo {
                    resource: l.resource.clone(),
                    id: l.id.clone(),
                    url: l.url.clone(),
                    reason: l.reason.clone(),
                })
                .collect(),
        },
    }
}

/// The report as pretty JSON.
pub fn render(result: &CampaignResult) -> String {
    serde_json::to_string_pretty(&report(result)).expect("the report is plain data")
}
