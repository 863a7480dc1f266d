//! What every phase of one run shares: the target and the interpreter, the plan, the oracle's
//! context, the bounds of confirmation, and when to stop (a deadline, Ctrl-C, a lost session or
//! target). `Campaign::run` builds it once and hands it to each phase in turn.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::confirm::Bounds;
use super::{Campaign, Progress};
use crate::exchange::Execution;
use crate::exec::{Interpreter, Target};
use crate::finding::Violation;
use crate::oracle::Context;
use crate::scenario::{Plan, Scenario};

/// Scenarios in flight per slot of the concurrency. A scenario holds a slot only while one of
/// its requests is out; between requests (judging, waiting for a tenant's webhook lock) it
/// holds none, so more scenarios than slots keep every slot busy.
pub(super) const SCENARIOS_PER_SLOT: usize = 4;

/// The share of a time limit kept for confirmation, in fifths: once a violation awaits
/// confirmation, probing stops at four fifths of `--max-time`, so that what was found is
/// replayed and shrunk rather than left inconclusive. With nothing found yet, probing goes on
/// to the limit (a reserve would then be time wasted), but only until the first violation.
const PROBING_FIFTHS: u32 = 4;

/// A violation with the scenario and execution that first showed it.
#[derive(Clone)]
pub(super) struct Candidate {
    pub scenario: Scenario,
    pub exec: Execution,
    pub violation: Violation,
}

impl Candidate {
    pub(super) fn new(scenario: Scenario, exec: Execution, violation: Violation) -> Candidate {
        Candidate {
            scenario,
            exec,
            violation,
        }
    }
}

/// What makes two violations the same finding.
pub(super) type CandidateKey = crate::finding::ViolationKey;

/// Polls `side` (to completion, then no more) while awaiting `main`.
pub(super) async fn alongside<F: std::future::Future>(
    main: F,
    mut side: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> F::Output {
    let mut main = std::pin::pin!(main);
    futures_util::future::poll_fn(|cx| {
        let _ = side.as_mut().poll(cx);
        main.as_mut().poll(cx)
    })
    .await
}

/// One run's shared state (see the module's doc).
pub(super) struct Run<'a> {
    pub campaign: &'a Campaign,
    pub target: &'a Target,
    pub interpreter: &'a Interpreter<'a>,
    pub ctx: &'a Context<'a>,
    pub plan: &'a Plan,
    pub tenants: &'a [Option<String>],
    pub progress: &'a Progress,
    pub bounds: Bounds,
    /// Scenarios in flight at once: the concurrency times [`SCENARIOS_PER_SLOT`].
    pub window: usize,
    /// Told once every probe of the systematic phase has started: exploration fills the slots
    /// its tail leaves idle.
    pub launched: tokio::sync::Notify,
    pub(super) deadline: Option<Instant>,
    /// When probing stops if a violation awaits confirmation (see [`PROBING_FIFTHS`]).
    probe_deadline: Option<Instant>,
    /// Set once a probe or an explored case showed a violation: it awaits confirmation.
    found: AtomicBool,
    /// Ctrl-C (the campaign's stop handle).
    stop: Arc<AtomicBool>,
    /// Set when an identity's session is lost mid-run: stop like an interrupt, then fail.
    session_lost: Arc<AtomicBool>,
    /// Set when work was left undone because the run had to stop (time, Ctrl-C, lost target).
    skipped: AtomicBool,
    /// Set when a violation was left unconfirmed because the run had to stop.
    unconfirmed: AtomicBool,
    /// Why the target was taken as lost, the first time it was (it may answer again later).
    lost: Mutex<Option<String>>,
}

impl<'a> Run<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        campaign: &'a Campaign,
        target: &'a Target,
        interpreter: &'a Interpreter<'a>,
        ctx: &'a Context<'a>,
        plan: &'a Plan,
        tenants: &'a [Option<String>],
        started: Instant,
        session_lost: Arc<AtomicBool>,
    ) -> Run<'a> {
        let c = &campaign.settings.campaign;
        Run {
            campaign,
            target,
            interpreter,
            ctx,
            plan,
            tenants,
            progress: &campaign.progress,
            bounds: Bounds {
                replays: c.confirmations,
                shrink_iterations: c.shrink_iterations,
                shrink_time: c.shrink_time,
            },
            window: c.concurrency * SCENARIOS_PER_SLOT,
            launched: tokio::sync::Notify::new(),
            deadline: c.max_time.map(|t| started + t),
            probe_deadline: c.max_time.map(|t| started + t * PROBING_FIFTHS / 5),
            found: AtomicBool::new(false),
            stop: campaign.stop.clone(),
            session_lost,
            skipped: AtomicBool::new(false),
            unconfirmed: AtomicBool::new(false),
            lost: Mutex::new(None),
        }
    }

    /// Ctrl-C, or a session lost mid-run.
    pub(super) fn interrupted(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
            || self.session_lost.load(Ordering::Relaxed)
            || self.campaign.abort.is_fired()
    }

    /// Whether new work must not start: the deadline passed, the run was interrupted, or the
    /// target is lost. Remembers that work was skipped, and why the target was lost.
    pub(super) fn out_of_time(&self) -> bool {
        let gone = self.target.lost();
        let stop = self.deadline.is_some_and(|d| Instant::now() >= d)
            || self.interrupted()
            || gone.is_some();
        if let (Some(why), Ok(mut first)) = (gone, self.lost.lock()) {
            first.get_or_insert(why);
        }
        if stop {
            self.skipped.store(true, Ordering::Relaxed);
        }
        stop
    }

    /// Remembers that a violation was left unconfirmed because the run had to stop.
    pub(super) fn unconfirmed(&self) {
        self.unconfirmed.store(true, Ordering::Relaxed);
    }

    /// Remembers that a violation awaits confirmation (see [`Run::probing_over`]).
    pub(super) fn found(&self) {
        self.found.store(true, Ordering::Relaxed);
    }

    /// Whether a new probe or explored case must not start: [`Run::out_of_time`], or the time
    /// kept for confirmation has come and a violation awaits it.
    pub(super) fn probing_over(&self) -> bool {
        let reserve = keep_for_confirmation(
            Instant::now(),
            self.probe_deadline,
            self.found.load(Ordering::Relaxed),
        );
        if reserve {
            self.skipped.store(true, Ordering::Relaxed);
        }
        reserve || self.out_of_time()
    }

    /// The error that cut the run short (the target stopped answering), if one did.
    pub(super) fn failure(&self) -> Option<String> {
        self.lost
            .lock()
            .ok()
            .and_then(|mut l| l.take())
            .or_else(|| self.target.lost())
    }

    /// Why the run stopped before doing all it planned, if it did: decided once every probe and
    /// confirmation is done and before the last of the cleanup (which runs regardless).
    pub(super) fn stopped_early(&self, failure: Option<&String>) -> Option<String> {
        if !self.skipped.load(Ordering::Relaxed) {
            return None;
        }
        let left = if self.unconfirmed.load(Ordering::Relaxed) {
            "some probes were not sent and some findings are not confirmed"
        } else {
            "some probes were not sent"
        };
        Some(if self.interrupted() {
            format!("the run was interrupted: {left}")
        } else if let Some(why) = failure {
            format!("{why}: {left}")
        } else {
            format!(
                "the run reached its time limit ({} s, the last fifth kept for confirming what it found): {left}; raise --max-time",
                self.campaign
                    .settings
                    .campaign
                    .max_time
                    .map(|t| t.as_secs())
                    .unwrap_or(0)
            )
        })
    }
}

/// Whether probing stops at `now` to leave the rest of the time limit to confirmation: only
/// past `probe_deadline` and once something `found` awaits confirmation.
fn keep_for_confirmation(now: Instant, probe_deadline: Option<Instant>, found: bool) -> bool {
    found && probe_deadline.is_some_and(|d| now >= d)
}

#[cfg(test)]
mod tests {
    use super::keep_for_confirmation;
    use std::time::{Duration, Instant};

    #[test]
    fn probing_leaves_the_last_fifth_of_the_limit_to_what_it_found() {
        let start = Instant::now();
        let limit = Duration::from_secs(100);
        let probe_deadline = Some(start + limit * super::PROBING_FIFTHS / 5);
        let at = |s| start + Duration::from_secs(s);
        // Before four fifths: probing goes on, found or not.
        assert!(!keep_for_confirmation(at(79), probe_deadline, true));
        // After: it stops for confirmation once something awaits it...
        assert!(keep_for_confirmation(at(80), probe_deadline, true));
        // ...and goes on to the limit while nothing does.
        assert!(!keep_for_confirmation(at(95), probe_deadline, false));
        // Without a limit it never stops for this.
        assert!(!keep_for_confirmation(at(1000), None, true));
    }
}
