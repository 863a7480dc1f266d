//! Ground-floor data: what a campaign produced, as plain values: its findings, the coverage of
//! each operation, the counters, and what the cleanup left. Reports read this and `finding.rs`,
//! never the campaign or the executor that made it (hurl's `runner/result.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Kind, Status, Vector};

/// What one identity's attack requests on one operation got back: the access matrix's cell
/// before findings are laid over it. Statuses alone prove nothing (a 2xx may be public data or a
/// silently ignored write): the findings say what was a violation, these say what was tried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// Judged attack requests answered 2xx.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub allowed: u64,
    /// Judged attack requests refused: 401, 403, 404 or 410.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub denied: u64,
    /// Judged attack requests answered otherwise (a 3xx, 400, 405, 409, 422...).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub other: u64,
    /// Attack requests that could not be judged (see [`Coverage::unjudged`]).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub unjudged: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Access {
    /// Counts one judged answer of `status`.
    pub fn judged(&mut self, status: Option<u16>) {
        match status {
            Some(200..=299) => self.allowed += 1,
            Some(401 | 403 | 404 | 410) => self.denied += 1,
            _ => self.other += 1,
        }
    }

    /// Adds another run's counts (a merge of shards).
    pub fn absorb(&mut self, other: Access) {
        self.allowed += other.allowed;
        self.denied += other.denied;
        self.other += other.other;
        self.unjudged += other.unjudged;
    }
}

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
    /// Confirmed leaks or changes of data the API shares by design, measured (public or shared
    /// by behaviour, #23): not findings; the first one's evidence and how many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_design: Option<String>,
    /// Whether a run must judge a probe of it to call itself complete: it takes a resource id,
    /// is not excluded (public by the spec is a claim, not a reason), and is in this run's shard.
    pub in_scope: bool,
    /// Why its unjudged attacks could not be judged, with how many each; the most frequent
    /// becomes the note of an operation with none judged (see [`Coverage::explain`]).
    #[serde(skip)]
    pub reasons: BTreeMap<String, u64>,
    /// What each attacker's requests got back, by identity name (`anonymous` for none): the
    /// access matrix of the HTML report.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub access: BTreeMap<String, Access>,
}

impl Coverage {
    /// In scope, and no probe of it was judged: the run cannot say this operation is safe.
    pub fn untested(&self) -> bool {
        self.in_scope && self.judged == 0
    }

    /// Once every attack is counted: an operation none of whose attacks was judged gets the
    /// most frequent reason as its note; an untested one with no reason at all says so.
    pub fn explain(&mut self) {
        if self.judged > 0 {
            return;
        }
        let total: u64 = self.reasons.values().sum();
        let top = self
            .reasons
            .iter()
            .max_by_key(|(reason, n)| (**n, std::cmp::Reverse(*reason)));
        match top {
            Some((reason, n)) if *n < total => {
                self.note = Some(format!("{reason} ({n} of {total} probes; others: {})", {
                    let others: Vec<&str> = self
                        .reasons
                        .keys()
                        .filter(|r| *r != reason)
                        .map(String::as_str)
                        .take(2)
                        .collect();
                    others.join("; ")
                }));
            }
            Some((reason, _)) => self.note = Some(reason.clone()),
            None if self.in_scope && self.note.is_none() => {
                self.note = Some("its probes had not run when the run stopped".into());
            }
            None => {}
        }
    }
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

/// An identity whose session a probe broke: the probe changed who it is (its password, its
/// name, its account) and the session could not be renewed afterwards, so the identity sent
/// nothing more and the probes that needed it were not judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenSession {
    /// The identity whose session broke.
    pub identity: String,
    /// The probe's operation (`PATCH /me`).
    pub operation: String,
    /// The probe's kind (`mass-assignment`, `bola-write`).
    pub kind: String,
    /// What the health check saw, and why renewing failed.
    pub reason: String,
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
    /// Sessions probes broke (after which their identities sent nothing more): the run is
    /// incomplete, and says which identity and which probe.
    pub broken_sessions: Vec<BrokenSession>,
    /// Every exchange of the run, in the order they finished; empty unless recording was asked
    /// for (the CLI's `--har`).
    pub exchanges: Vec<crate::exchange::Recorded>,
    /// The part of the campaign this run was (`--shard I/N`), if only a part.
    pub shard: Option<crate::config::Shard>,
    /// How many in-scope operations may go untested before the run is incomplete
    /// (`campaign.max_untested`, resolved against this run's in-scope count).
    pub untested_allowed: usize,
}

impl CampaignResult {
    /// Confirmed findings.
    pub fn confirmed(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.status == Status::Confirmed)
    }

    /// The in-scope operations no judged probe covered.
    pub fn untested(&self) -> impl Iterator<Item = &Coverage> {
        self.coverage.iter().filter(|c| c.untested())
    }

    /// Why no confirmed finding would not mean the API is safe, if it would not: the run
    /// stopped early, or left more in-scope operations untested than `campaign.max_untested`
    /// allows. Empty for a run that did and judged what it had to.
    pub fn incomplete(&self) -> Vec<String> {
        let mut why = Vec::new();
        if let Some(stopped) = &self.stopped_early {
            why.push(format!("stopped early: {stopped}"));
        }
        for b in &self.broken_sessions {
            why.push(format!(
                "the session of '{}' broke after the probe {} ({}) and could not be renewed: \
                 {}; the probes that needed '{}' after it were not judged",
                b.identity, b.operation, b.kind, b.reason, b.identity
            ));
        }
        let untested = self.untested().count();
        if untested > self.untested_allowed {
            let scope = self.coverage.iter().filter(|c| c.in_scope).count();
            why.push(format!(
                "{untested} of {scope} operations that take a resource id had no probe judged \
                 (campaign.max_untested = {})",
                self.untested_allowed
            ));
        }
        why
    }
}

/// What the cleanup did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cleanup {
    /// Resources deleted: the delete answered 2xx and the owner's read-back (where the API has
    /// a read) no longer showed them.
    pub deleted: usize,
    /// Resources already gone when the cleanup came (their delete answered 404 or 410, and no
    /// read showed them): an attack or the scenario itself deleted them.
    pub already_gone: usize,
    /// Resources left on the target, with why.
    pub left: Vec<LeftBehind>,
}

impl Cleanup {
    /// Adds what another pass of the cleanup did.
    pub(crate) fn absorb(&mut self, other: Cleanup) {
        self.deleted += other.deleted;
        self.already_gone += other.already_gone;
        self.left.extend(other.left);
    }
}

/// What the cleanup found of each object the campaign created, by resource and id: the latest
/// word on an object wins (an upsert's object deleted, made again by a later create and deleted
/// again is one deleted object; one the cleanup deleted stays deleted when another create's
/// delete of it answers 404), so each is counted and listed once.
#[derive(Debug, Default)]
pub struct Ledger {
    /// (resource, id) in the order first dealt with.
    order: Vec<(String, String)>,
    fates: std::collections::HashMap<(String, String), Fate>,
}

/// What became of one created object.
#[derive(Debug, Clone)]
pub enum Fate {
    /// The delete answered 2xx and the owner's read-back (if any) no longer showed it.
    Deleted,
    /// The delete answered 404 or 410 and no read-back showed it.
    AlreadyGone,
    /// Still on the target.
    Left(LeftBehind),
}

impl Ledger {
    /// Records what became of `resource` `id`.
    pub fn record(&mut self, resource: &str, id: &str, fate: Fate) {
        let key = (resource.to_string(), id.to_string());
        match self.fates.get_mut(&key) {
            None => {
                self.fates.insert(key.clone(), fate);
                self.order.push(key);
            }
            // A later delete of what the cleanup deleted already answers 404: still deleted.
            Some(Fate::Deleted) if matches!(fate, Fate::AlreadyGone) => {}
            Some(known) => *known = fate,
        }
    }

    /// The counts and the list of what is left, each object once.
    pub fn summary(&self) -> Cleanup {
        let mut cleanup = Cleanup::default();
        for key in &self.order {
            match self.fates.get(key) {
                Some(Fate::Deleted) => cleanup.deleted += 1,
                Some(Fate::AlreadyGone) => cleanup.already_gone += 1,
                Some(Fate::Left(left)) => cleanup.left.push(left.clone()),
                None => {}
            }
        }
        cleanup
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_counts_each_object_once_by_the_latest_word_on_it() {
        let left = |reason: &str| {
            Fate::Left(LeftBehind {
                resource: "profile".into(),
                id: "p1".into(),
                url: None,
                reason: reason.into(),
            })
        };
        let mut ledger = Ledger::default();
        ledger.record("profile", "p1", Fate::Deleted);
        ledger.record("profile", "p1", Fate::AlreadyGone);
        ledger.record("note", "n1", Fate::AlreadyGone);
        ledger.record("note", "n2", left("the delete answered 500"));
        ledger.record("note", "n2", Fate::Deleted);
        let c = ledger.summary();
        assert_eq!((c.deleted, c.already_gone, c.left.len()), (2, 1, 0));
        // Made again after its delete, and this time the delete did not take.
        ledger.record("profile", "p1", left("the delete answered 500"));
        let c = ledger.summary();
        assert_eq!((c.deleted, c.already_gone, c.left.len()), (1, 1, 1));
    }

    fn cov(judged: u64, reasons: &[(&str, u64)]) -> Coverage {
        Coverage {
            method: "GET".into(),
            path: "/things/{id}".into(),
            operation_id: None,
            attacked: true,
            vectors: Vec::new(),
            checks: Vec::new(),
            judged,
            unjudged: reasons.iter().map(|r| r.1).sum(),
            note: None,
            by_design: None,
            in_scope: true,
            reasons: reasons.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
            access: Default::default(),
        }
    }

    #[test]
    fn access_counts_refusals_apart_from_other_answers() {
        let mut a = Access::default();
        for status in [
            Some(200),
            Some(204),
            Some(403),
            Some(404),
            Some(401),
            Some(422),
            None,
        ] {
            a.judged(status);
        }
        assert_eq!((a.allowed, a.denied, a.other), (2, 3, 2));
        a.absorb(Access {
            unjudged: 4,
            ..Access::default()
        });
        assert_eq!(a.unjudged, 4);
    }

    #[test]
    fn an_untested_operation_is_explained_by_its_most_frequent_reason() {
        let mut c = cov(0, &[("a 403", 5), ("no answer", 1), ("a 500", 1)]);
        c.explain();
        assert!(c.untested());
        assert_eq!(
            c.note.as_deref(),
            Some("a 403 (5 of 7 probes; others: a 500; no answer)")
        );
        let mut c = cov(0, &[("a 403", 2)]);
        c.explain();
        assert_eq!(c.note.as_deref(), Some("a 403"));
        // Judged once: tested, and the note stays what it was.
        let mut c = cov(1, &[("a 403", 2)]);
        c.explain();
        assert!(!c.untested() && c.note.is_none());
        // Planned but never run (the run stopped first).
        let mut c = cov(0, &[]);
        c.attacked = false;
        c.explain();
        assert_eq!(
            c.note.as_deref(),
            Some("its probes had not run when the run stopped")
        );
    }
}
