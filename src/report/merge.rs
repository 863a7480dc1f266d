//! Combining JSON reports of runs over parts of one API (shards of a CI matrix, or runs with
//! different exclusions) into one, and turning a report back into a campaign result so that
//! every other format can be written from it. Findings are deduplicated by id (a confirmed one
//! wins over an inconclusive one); coverage is combined per operation.

use std::collections::BTreeMap;

use crate::finding::{Finding, Status};
use crate::outcome::{CampaignResult, Cleanup, Coverage, LeftBehind, Stats};

use super::json::{CleanupInfo, CoverageEntry, FORMAT_VERSION, Report, Summary, TargetInfo};

/// Why reports could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no report to merge")]
    Empty,
    #[error("report {index} has format_version {found}; this tenantfuzz reads {FORMAT_VERSION}")]
    Version { index: usize, found: u32 },
}

/// Merges reports, in order (the first names the target).
pub fn merge(reports: Vec<Report>) -> Result<Report, MergeError> {
    for (index, r) in reports.iter().enumerate() {
        if r.format_version != FORMAT_VERSION {
            return Err(MergeError::Version {
                index,
                found: r.format_version,
            });
        }
    }
    let mut iter = reports.into_iter();
    let first = iter.next().ok_or(MergeError::Empty)?;
    let mut findings: BTreeMap<String, Finding> = BTreeMap::new();
    let mut coverage: Vec<CoverageEntry> = Vec::new();
    let mut identities: Vec<String> = Vec::new();
    let mut summary = Summary {
        requests: 0,
        duration_ms: 0,
        confirmed: 0,
        inconclusive: 0,
        bugs: 0,
        operations_total: 0,
        operations_attacked: 0,
        unjudged: 0,
        systematic_requests: 0,
        confirmation_requests: 0,
        session_renewals: 0,
        stopped_early: None,
        broken_sessions: Vec::new(),
        complete: true,
        untested: 0,
        untested_allowed: 0,
        error: None,
        shard: None,
    };
    let mut cleanup = CleanupInfo {
        deleted: 0,
        already_gone: 0,
        left: Vec::new(),
    };
    let tool = first.tool.clone();
    let target = first.target.clone();
    for r in std::iter::once(first).chain(iter) {
        for mut f in r.findings {
            // Reports written before findings carried their bug lack it.
            f.bug = crate::finding::bug_id(f.kind, f.vector, &f.operation);
            match findings.get(&f.id) {
                Some(kept) if kept.status == Status::Confirmed || f.status != Status::Confirmed => {
                }
                _ => {
                    findings.insert(f.id.clone(), f);
                }
            }
        }
        for c in r.coverage {
            match coverage
                .iter_mut()
                .find(|m| m.method == c.method && m.path == c.path)
            {
                Some(m) => {
                    // The note of a run that attacked the operation says more than that of one
                    // that left it out (another shard's, an exclusion).
                    m.note = match (m.attacked, c.attacked) {
                        (false, true) => c.note,
                        (true, false) => m.note.take(),
                        _ => m.note.take().or(c.note),
                    };
                    m.attacked |= c.attacked;
                    m.in_scope |= c.in_scope;
                    m.vectors.extend(c.vectors);
                    m.vectors.sort();
                    m.vectors.dedup();
                    m.checks.extend(c.checks);
                    m.checks.sort();
                    m.checks.dedup();
                    m.judged += c.judged;
                    m.unjudged += c.unjudged;
                    for (who, a) in c.access {
                        m.access.entry(who).or_default().absorb(a);
                    }
                }
                None => coverage.push(c),
            }
        }
        for i in r.target.identities {
            if !identities.contains(&i) {
                identities.push(i);
            }
        }
        let s = r.summary;
        summary.requests += s.requests;
        summary.duration_ms = summary.duration_ms.max(s.duration_ms);
        summary.operations_total = summary.operations_total.max(s.operations_total);
        summary.systematic_requests += s.systematic_requests;
        summary.confirmation_requests += s.confirmation_requests;
        summary.session_renewals += s.session_renewals;
        summary.broken_sessions.extend(s.broken_sessions);
        // Each shard's allowance is of its own operations.
        summary.untested_allowed += s.untested_allowed;
        if summary.error.is_none() {
            summary.error = s.error;
        }
        if let Some(why) = s.stopped_early {
            summary.stopped_early = Some(match summary.stopped_early.take() {
                Some(before) if before != why => format!("{before}; {why}"),
                _ => why,
            });
        }
        cleanup.deleted += r.cleanup.deleted;
        cleanup.already_gone += r.cleanup.already_gone;
        cleanup.left.extend(r.cleanup.left);
    }
    let mut findings: Vec<Finding> = findings.into_values().collect();
    crate::finding::sort(&mut findings);
    summary.confirmed = findings
        .iter()
        .filter(|f| f.status == Status::Confirmed)
        .count();
    summary.inconclusive = findings.len() - summary.confirmed;
    summary.bugs = crate::finding::confirmed_bugs(&findings);
    summary.operations_attacked = coverage.iter().filter(|c| c.attacked).count();
    summary.unjudged = coverage.iter().map(|c| c.unjudged).sum();
    // Untested once merged: in scope in some shard, judged in none.
    summary.untested = coverage
        .iter()
        .filter(|c| c.in_scope && c.judged == 0)
        .count();
    summary.complete = summary.stopped_early.is_none()
        && summary.error.is_none()
        && summary.untested <= summary.untested_allowed;
    Ok(Report {
        format_version: FORMAT_VERSION,
        tool,
        target: TargetInfo {
            identities,
            ..target
        },
        summary,
        findings,
        coverage,
        cleanup,
    })
}

/// A report as a campaign result, for writing the other formats. What a report does not keep
/// (recorded exchanges, the run's marker prefix, exploration counters) is empty or zero.
pub fn result_of(report: Report) -> CampaignResult {
    CampaignResult {
        base_url: report.target.base_url,
        spec: report.target.spec,
        identities: report.target.identities,
        findings: report
            .findings
            .into_iter()
            .map(|mut f| {
                f.bug = crate::finding::bug_id(f.kind, f.vector, &f.operation);
                f
            })
            .collect(),
        coverage: report
            .coverage
            .into_iter()
            .map(|c| Coverage {
                method: c.method,
                path: c.path,
                operation_id: c.operation_id,
                attacked: c.attacked,
                vectors: c.vectors,
                checks: c.checks,
                judged: c.judged,
                unjudged: c.unjudged,
                note: c.note,
                by_design: c.by_design,
                in_scope: c.in_scope,
                reasons: Default::default(),
                access: c.access,
            })
            .collect(),
        stats: Stats {
            requests: report.summary.requests,
            duration_ms: report.summary.duration_ms,
            systematic_requests: report.summary.systematic_requests,
            confirmation_requests: report.summary.confirmation_requests,
            ..Stats::default()
        },
        operations_total: report.summary.operations_total,
        marker_prefix: String::new(),
        cleanup: Cleanup {
            deleted: report.cleanup.deleted,
            already_gone: report.cleanup.already_gone,
            left: report
                .cleanup
                .left
                .into_iter()
                .map(|l| LeftBehind {
                    resource: l.resource,
                    id: l.id,
                    url: l.url,
                    reason: l.reason,
                })
                .collect(),
        },
        stopped_early: report.summary.stopped_early,
        failure: report.summary.error,
        broken_sessions: report.summary.broken_sessions,
        exchanges: Vec::new(),
        shard: report.summary.shard.and_then(|s| s.parse().ok()),
        untested_allowed: report.summary.untested_allowed,
    }
}
