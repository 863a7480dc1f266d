//! The exploration phase: random drafts beyond the plan, drawn by proptest with the campaign's
//! seed, run beside the systematic phase's tail and the confirmation of what the plan found. A
//! violation none of the plan's probes showed is shrunk through proptest's value tree and joins
//! the candidates for confirmation. What is new is decided in draw order, never by timing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use futures_util::StreamExt;

use super::Campaign;
use super::state::{Candidate, CandidateKey, Run};
use crate::exchange::Execution;
use crate::finding::Violation;
use crate::oracle;
use crate::scenario::{Cast, compile};

/// What exploration judges a violation new against: the violations of the plan's probes,
/// arriving when the systematic phase (which exploration starts beside) is judged, and those
/// of its webhook probes (`later_ops` are the operations they attack) arriving when those
/// probes, which run on into exploration, are all judged.
pub(super) struct Known {
    pub plan: tokio::sync::watch::Receiver<Option<BTreeSet<CandidateKey>>>,
    pub later_ops: BTreeSet<usize>,
    pub later: tokio::sync::watch::Receiver<Option<BTreeSet<CandidateKey>>>,
}

/// Exploration's verdicts, decided in draw order: what each case showed that nothing before it
/// did (the plan's probes or earlier cases). A case that showed a violation waits until the
/// plan's violations are learnt, and one that showed a violation on one of `later_ops` until
/// the webhook probes' are too, so what is new never depends on which finished first.
struct InOrder<T> {
    held: std::collections::VecDeque<(T, Vec<Violation>)>,
    known: Option<BTreeSet<CandidateKey>>,
    later_ops: BTreeSet<usize>,
    later: Option<BTreeSet<CandidateKey>>,
    claimed: BTreeSet<CandidateKey>,
}

impl<T> InOrder<T> {
    fn new(known: Option<BTreeSet<CandidateKey>>, later_ops: BTreeSet<usize>) -> Self {
        InOrder {
            held: Default::default(),
            known,
            later_ops,
            later: None,
            claimed: BTreeSet::new(),
        }
    }

    /// The next case in draw order, with the violations it showed.
    fn push(&mut self, case: T, violations: Vec<Violation>) {
        self.held.push_back((case, violations));
    }

    /// The plan's violations, now all judged.
    fn learn_plan(&mut self, known: BTreeSet<CandidateKey>) {
        self.known = Some(known);
    }

    /// The webhook probes' violations, now all judged.
    fn learn(&mut self, later: BTreeSet<CandidateKey>) {
        self.later = Some(later);
    }

    fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Whether the next case waits for [`InOrder::learn_plan`].
    fn waiting_plan(&self) -> bool {
        self.known.is_none()
            && self
                .held
                .front()
                .is_some_and(|(_, violations)| !violations.is_empty())
    }

    /// Whether the next case waits for [`InOrder::learn`].
    fn waiting_later(&self) -> bool {
        self.later.is_none()
            && self.held.front().is_some_and(|(_, violations)| {
                violations.iter().any(|v| self.later_ops.contains(&v.op))
            })
    }

    /// Whether the next case cannot be decided yet.
    fn waiting(&self) -> bool {
        self.waiting_plan() || self.waiting_later()
    }

    /// The next case, if it can be decided now, with its new violations.
    fn next_decided(&mut self) -> Option<(T, Vec<Violation>)> {
        if self.waiting() {
            return None;
        }
        let (case, violations) = self.held.pop_front()?;
        let new = violations
            .into_iter()
            .filter(|v| {
                let key = v.key();
                !self.known.as_ref().is_some_and(|k| k.contains(&key))
                    && !self.later.as_ref().is_some_and(|l| l.contains(&key))
                    && self.claimed.insert(key)
            })
            .collect();
        Some((case, new))
    }

    /// Distinct violations seen so far: the plan's and the new ones.
    fn seen(&self) -> usize {
        self.known.as_ref().map_or(0, BTreeSet::len)
            + self.later.as_ref().map_or(0, BTreeSet::len)
            + self.claimed.len()
    }
}

impl Run<'_> {
    /// Exploration, once every probe of the plan has started: its cases run beside the
    /// systematic phase's tail, then beside the confirmation of what the plan found, all taking
    /// their slots from the interpreter, so together they keep to the concurrency. It judges a
    /// violation new against the plan's alone (waiting for them), so what it adds does not
    /// depend on timing. Returns how many cases ran, and the new violations.
    pub(super) async fn exploration(
        &self,
        cast: &Cast,
        known: Known,
    ) -> (u64, BTreeMap<CandidateKey, Candidate>) {
        self.launched.notified().await;
        if self.campaign.settings.campaign.cases == 0 || self.probing_over() {
            (0, BTreeMap::new())
        } else {
            self.campaign.explore(self, cast, known).await
        }
    }
}

impl Campaign {
    /// Runs `campaign.cases` explored scenarios, `concurrency` at a time, drawn by proptest with
    /// the campaign's seed. A violation not seen before is shrunk through proptest's value tree
    /// (fewer moves, smaller choices), re-executing each candidate, and joins the candidates.
    /// Returns how many cases ran.
    pub(super) async fn explore(
        &self,
        run: &Run<'_>,
        cast: &Cast,
        known: Known,
    ) -> (u64, BTreeMap<CandidateKey, Candidate>) {
        let (interpreter, ctx) = (run.interpreter, run.ctx);
        let out_of_time = || run.probing_over();
        let mut candidates = BTreeMap::new();
        use proptest::strategy::{Strategy, ValueTree};
        use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
        let c = &self.settings.campaign;
        let Some(strategy) = crate::scenario::strategy(&self.api, &self.model, cast, c.max_steps)
        else {
            return (0, candidates);
        };
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&c.seed.to_le_bytes());
        }
        let config = Config {
            cases: c.cases,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        let mut drawn = 0;
        let mut ran = 0;
        // Cases are drawn one after another (the same draws for the same seed) and run through a
        // window of `concurrency`: a case starts as soon as any other finishes, not when a whole
        // batch has. Results come back in draw order, so what is judged new is deterministic.
        let draws = std::iter::from_fn(|| {
            while drawn < c.cases && !out_of_time() {
                drawn += 1;
                let Ok(tree) = strategy.new_tree(&mut runner) else {
                    continue;
                };
                if let Some(probe) = compile(&self.api, &self.model, cast, &tree.current()) {
                    return Some((tree, probe));
                }
            }
            None
        });
        let window = run.window;
        let mut results = futures_util::stream::iter(draws)
            .map(|(tree, probe)| async move {
                let exec = interpreter.execute(&probe.scenario).await;
                (tree, probe, exec)
            })
            .buffered(window)
            .boxed();
        // A case that shows something new is shrunk beside the window, which keeps running:
        // what is new is decided in draw order (against the plan's violations and those of
        // earlier cases, shrunk or still shrinking), so it does not depend on timing.
        let mut shrinking = futures_util::stream::FuturesUnordered::new();
        // Judged cases wait in draw order for their turn: one that showed a violation waits for
        // the plan's verdicts, and one on an operation the plan's webhook probes attack until
        // those probes are judged too.
        let mut verdicts = InOrder::new(None, known.later_ops);
        let mut plan = known.plan;
        let mut later = known.later;
        let mut drained = false;
        while !(drained && shrinking.is_empty() && verdicts.is_empty()) {
            tokio::select! {
                Some(found) = shrinking.next(), if !shrinking.is_empty() => {
                    let found: Vec<(CandidateKey, Candidate)> = found;
                    candidates.extend(found);
                }
                // The plan's violations, once the systematic phase is judged (none if it
                // stopped short of that: the run is stopping).
                changed = plan.wait_for(Option::is_some), if verdicts.waiting_plan() => {
                    verdicts.learn_plan(match changed {
                        Ok(keys) => keys.clone().unwrap_or_default(),
                        Err(_) => BTreeSet::new(),
                    });
                }
                // The webhook probes' violations, once they are all judged (none if that work
                // was dropped: the run is stopping).
                changed = later.changed(), if verdicts.waiting_later() => {
                    verdicts.learn(match changed {
                        Ok(()) => later.borrow_and_update().clone().unwrap_or_default(),
                        Err(_) => BTreeSet::new(),
                    });
                }
                next = results.next(), if !drained => {
                    let Some((tree, probe, exec)) = next else {
                        drained = true;
                        continue;
                    };
                    ran += 1;
                    self.progress
                        .step_in(super::Phase::Exploration, interpreter.target.requests());
                    let violations: Vec<Violation> = oracle::judge(ctx, &probe.scenario, &exec)
                        .into_iter()
                        .filter(|v| self.in_shard[v.op])
                        .collect();
                    if !violations.is_empty() {
                        run.found();
                    }
                    // Only a case that shows something is shrunk from its execution: the
                    // others' answers are freed now, not when their turn comes.
                    let exec = if violations.is_empty() {
                        Execution::default()
                    } else {
                        exec
                    };
                    verdicts.push((tree, probe, exec), violations);
                }
            }
            while let Some(((tree, probe, exec), new)) = verdicts.next_decided() {
                self.progress.violations(verdicts.seen() as u64);
                if !new.is_empty() {
                    shrinking.push(self.shrink_case(run, cast, tree, probe, exec, new));
                }
            }
        }
        (ran, candidates)
    }

    /// Shrinks an exploration case through proptest's value tree, once for each violation it
    /// showed that nothing before it did (in order: each starts where the last left the tree).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn shrink_case(
        &self,
        run: &Run<'_>,
        cast: &Cast,
        mut tree: crate::scenario::SendTree<crate::scenario::Draft>,
        probe: crate::scenario::Probe,
        exec: Execution,
        new: Vec<Violation>,
    ) -> Vec<(CandidateKey, Candidate)> {
        use proptest::strategy::ValueTree;
        let c = &self.settings.campaign;
        let (interpreter, ctx) = (run.interpreter, run.ctx);
        let ticket = interpreter.slots.ticket();
        let mut out = Vec::new();
        for v in new {
            let key = v.key();
            let mut best = Candidate::new(probe.scenario.clone(), exec.clone(), v);
            let started = Instant::now();
            let mut iterations = 0;
            if tree.simplify() {
                loop {
                    iterations += 1;
                    if iterations > c.shrink_iterations || started.elapsed() > c.shrink_time {
                        break;
                    }
                    let reproduced = match compile(&self.api, &self.model, cast, &tree.current()) {
                        Some(p) => {
                            let e = interpreter.execute_as(&p.scenario, ticket).await;
                            oracle::judge(ctx, &p.scenario, &e)
                                .into_iter()
                                .find(|f| f.key() == key)
                                .map(|f| Candidate::new(p.scenario, e, f))
                        }
                        None => None,
                    };
                    match reproduced {
                        Some(found) => {
                            best = found;
                            if !tree.simplify() {
                                break;
                            }
                        }
                        None => {
                            if !tree.complicate() {
                                break;
                            }
                        }
                    }
                }
            }
            tracing::info!(kind = %key.kind, op = %self.api.operations[key.op].label(), "exploration found a violation the plan did not");
            out.push((key, best));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::finding::{Kind, Vector};

    fn violation(op: usize, victim: &str) -> Violation {
        Violation {
            kind: Kind::BolaRead,
            vector: Vector::Path,
            op,
            attacker: "mallory".into(),
            victim: victim.into(),
            evidence: String::new(),
            step: 0,
            markers: Vec::new(),
            field: None,
        }
    }

    #[test]
    fn a_case_on_a_webhook_operation_waits_for_the_webhook_verdicts_and_those_after_it_too() {
        let known: BTreeSet<CandidateKey> = [violation(1, "alice").key()].into();
        let mut verdicts = InOrder::new(Some(known), [7].into());
        verdicts.push("a", vec![violation(1, "alice"), violation(2, "alice")]);
        verdicts.push("b", vec![violation(7, "bob")]);
        verdicts.push("c", vec![violation(3, "bob")]);
        // The plan's violation is not new; the other one is.
        let (case, new) = verdicts.next_decided().unwrap();
        assert_eq!((case, new.len(), new[0].op), ("a", 1, 2));
        // "b" waits, and so does "c", behind it.
        assert!(verdicts.waiting());
        assert!(verdicts.next_decided().is_none());
        // The webhook probes showed b's violation: not new.
        verdicts.learn([violation(7, "bob").key()].into());
        assert!(!verdicts.waiting());
        let (case, new) = verdicts.next_decided().unwrap();
        assert_eq!((case, new.len()), ("b", 0));
        let (case, new) = verdicts.next_decided().unwrap();
        assert_eq!((case, new.len()), ("c", 1));
        assert!(verdicts.is_empty() && verdicts.next_decided().is_none());
        assert_eq!(verdicts.seen(), 4);
    }

    #[test]
    fn a_case_that_showed_a_violation_waits_for_the_plans_verdicts() {
        let mut verdicts = InOrder::new(None, BTreeSet::new());
        verdicts.push("quiet", vec![]);
        verdicts.push("a", vec![violation(1, "alice"), violation(2, "alice")]);
        verdicts.push("b", vec![]);
        // A case that showed nothing is decided at once; the next one waits, "b" behind it.
        assert_eq!(verdicts.next_decided().unwrap(), ("quiet", vec![]));
        assert!(verdicts.waiting_plan() && verdicts.waiting());
        assert!(verdicts.next_decided().is_none());
        verdicts.learn_plan([violation(1, "alice").key()].into());
        assert!(!verdicts.waiting());
        let (case, new) = verdicts.next_decided().unwrap();
        assert_eq!((case, new.len(), new[0].op), ("a", 1, 2));
        assert_eq!(verdicts.next_decided().unwrap().0, "b");
    }

    #[test]
    fn what_an_earlier_case_claimed_is_not_new_again() {
        let mut verdicts = InOrder::new(Some(BTreeSet::new()), BTreeSet::new());
        verdicts.push(1, vec![violation(4, "alice")]);
        verdicts.push(2, vec![violation(4, "alice"), violation(4, "bob")]);
        assert!(!verdicts.waiting());
        assert_eq!(verdicts.next_decided().unwrap().1.len(), 1);
        let (_, new) = verdicts.next_decided().unwrap();
        assert_eq!(
            new.iter().map(|v| v.victim.as_str()).collect::<Vec<_>>(),
            ["bob"]
        );
    }
}
