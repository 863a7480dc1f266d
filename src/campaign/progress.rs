//! How far a running campaign has got, for progress displays: the phase, the work done and
//! planned in it, requests sent and violations seen so far. The campaign writes it; the CLI's
//! progress bar or log lines read snapshots of it. Atomics, so reading costs the run nothing;
//! a phase change also wakes whoever waits on [`Progress::changed`].

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// The phases of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Discovery,
    Systematic,
    Exploration,
    Confirmation,
    Cleanup,
    Done,
}

impl Phase {
    /// A word for people.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Discovery => "discovery",
            Phase::Systematic => "systematic",
            Phase::Exploration => "exploration",
            Phase::Confirmation => "confirmation",
            Phase::Cleanup => "cleanup",
            Phase::Done => "done",
        }
    }

    /// What the phase counts.
    pub fn unit(self) -> &'static str {
        match self {
            Phase::Systematic => "probes",
            Phase::Exploration => "cases",
            Phase::Confirmation => "candidates",
            _ => "",
        }
    }

    fn from_u8(n: u8) -> Phase {
        match n {
            0 => Phase::Discovery,
            1 => Phase::Systematic,
            2 => Phase::Exploration,
            3 => Phase::Confirmation,
            4 => Phase::Cleanup,
            _ => Phase::Done,
        }
    }
}

/// The shared progress of one run.
#[derive(Debug, Default)]
pub struct Progress {
    phase: AtomicU8,
    done: AtomicU64,
    total: AtomicU64,
    requests: AtomicU64,
    violations: AtomicU64,
    /// Units of a later phase done before it was entered (exploration starts beside the
    /// systematic phase's end): counted as done when it is.
    ahead: AtomicU64,
    /// Every phase entered so far, one bit each (`1 << phase`).
    entered: AtomicU8,
    /// Told on every phase change.
    changed: tokio::sync::Notify,
}

/// A reading of [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub phase: Phase,
    /// Work done in this phase (probes, cases, candidates), out of `total`.
    pub done: u64,
    pub total: u64,
    /// Requests sent so far (as of the last finished unit of work).
    pub requests: u64,
    /// Distinct violations seen so far (before confirmation).
    pub violations: u64,
}

impl Progress {
    /// Reads it.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            phase: Phase::from_u8(self.phase.load(Ordering::Relaxed)),
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            violations: self.violations.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn enter(&self, phase: Phase, total: u64) {
        self.done
            .store(self.ahead.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.phase.store(phase as u8, Ordering::Relaxed);
        self.entered.fetch_or(1 << phase as u8, Ordering::Relaxed);
        // One reader (the display); a change it was not waiting for wakes its next wait.
        self.changed.notify_one();
    }

    /// The phases entered so far, in order, discovery (where every run starts) included.
    pub fn entered(&self) -> Vec<Phase> {
        let bits = self.entered.load(Ordering::Relaxed) | 1;
        (0..=Phase::Done as u8)
            .filter(|n| bits & (1 << n) != 0)
            .map(Phase::from_u8)
            .collect()
    }

    /// Completes at the next phase change (or at once if one happened since the last wait).
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    pub(crate) fn step(&self, requests: u64) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.requests.store(requests, Ordering::Relaxed);
    }

    /// Counts a unit of `phase` done: of the current phase, or of the next one, which started
    /// before the current one ended (counted when it is entered).
    pub(crate) fn step_in(&self, phase: Phase, requests: u64) {
        if self.phase.load(Ordering::Relaxed) == phase as u8 {
            self.done.fetch_add(1, Ordering::Relaxed);
        } else {
            self.ahead.fetch_add(1, Ordering::Relaxed);
        }
        self.requests.store(requests, Ordering::Relaxed);
    }

    /// Counts `n` units of the current phase as done at once.
    pub(crate) fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn requests(&self, requests: u64) {
        self.requests.store(requests, Ordering::Relaxed);
    }

    pub(crate) fn violations(&self, n: u64) {
        self.violations.store(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_and_counts_read_back() {
        let p = Progress::default();
        assert_eq!(p.snapshot().phase, Phase::Discovery);
        p.enter(Phase::Systematic, 10);
        p.step(7);
        p.step(9);
        let s = p.snapshot();
        assert_eq!(
            (s.phase, s.done, s.total, s.requests),
            (Phase::Systematic, 2, 10, 9)
        );
        // Exploration's cases done while the systematic phase still runs count once it ends.
        p.step_in(Phase::Exploration, 11);
        assert_eq!(p.snapshot().done, 2);
        p.enter(Phase::Exploration, 5);
        p.step_in(Phase::Exploration, 12);
        assert_eq!(p.snapshot().done, 2);
        p.enter(Phase::Done, 0);
        assert_eq!(p.snapshot().done, 0);
        assert_eq!(
            p.entered(),
            [
                Phase::Discovery,
                Phase::Systematic,
                Phase::Exploration,
                Phase::Done
            ]
        );
    }

    #[tokio::test]
    async fn a_phase_change_wakes_the_display_even_between_its_waits() {
        let p = Progress::default();
        p.enter(Phase::Systematic, 3);
        // The change came before anyone waited: the next wait returns at once.
        tokio::time::timeout(std::time::Duration::from_secs(5), p.changed())
            .await
            .expect("the phase change is not lost");
        // Without a change, a wait waits.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), p.changed())
                .await
                .is_err()
        );
    }
}
