//! From a violation seen once to a finding: cut the scenario down to the steps the evidence
//! needs, try deleting each remaining step, then replay the result from scratch until it is
//! confirmed (every replay reproduces) or found inconclusive. For leaks, the last replay also sends
//! the attack without credentials: data anyone can read is public, not a finding.

use std::time::Instant;

use crate::exchange::Execution;
use crate::finding::Violation;
use crate::oracle::{self, Context};
use crate::scenario::{Scenario, StepRole};

/// How confirmation and shrinking went for one violation.
pub(crate) struct Confirmed {
    pub scenario: Scenario,
    /// The last execution that reproduced it (or the last one tried).
    pub execution: Execution,
    /// The violation as seen in that execution.
    pub violation: Violation,
    pub reproduced: u32,
    pub replays: u32,
    /// Requests sent on shrinking and confirmation.
    pub requests: u64,
    pub shrink_note: Option<String>,
    /// The leak is readable without credentials: public data.
    pub public: bool,
}

/// Limits on confirmation and shrinking.
pub(crate) struct Bounds {
    pub replays: u32,
    pub shrink_iterations: u32,
    pub shrink_time: std::time::Duration,
}

/// Whether the target disturbed an execution: a step could not run, or an answer cannot be
/// judged (no answer, 5xx, 429, a body cut short).
fn disturbed(exec: &Execution) -> bool {
    exec.unjudgeable() || exec.steps.iter().any(|s| s.skipped.is_some())
}

/// The steps the evidence of `v` stands on: the attack, its read-backs, where its markers came
/// from, and everything those depend on.
pub(crate) fn slice(scenario: &Scenario, exec: &Execution, v: &Violation) -> Scenario {
    sliced(scenario, exec, v).0
}

/// [`slice`], with the records of `exec` for the steps kept (what the slice's execution would
/// have answered, as far as the steps left out did not change it).
fn sliced(scenario: &Scenario, exec: &Execution, v: &Violation) -> (Scenario, Execution) {
    // Webhook forgeries share the owner's first reads and the signed control, which belong to
    // the first forgery (see the planner's `webhook_probe`): they belong to this one here, so
    // that the slice keeps them and none of the other forgeries.
    let repointed = shared_with(scenario, v.step);
    let original = scenario;
    let scenario = repointed.as_ref().unwrap_or(scenario);
    let mut roots = vec![v.step];
    let check = match scenario.steps.get(v.step).map(|s| &s.role) {
        Some(StepRole::Attack { check, .. }) => Some(check.clone()),
        _ => None,
    };
    // A read's ownership evidence is its own answer; the read-backs of writes and deletes are
    // evidence, and so are the controls of every other check.
    let reads = matches!(
        scenario.steps.get(v.step).map(|s| &s.role),
        Some(StepRole::Attack {
            effect: crate::scenario::Effect::Read,
            check: crate::scenario::Check::Ownership,
            ..
        })
    );
    // Other checks may judge several attacks together (two injected values): keep them all.
    if check
        .as_ref()
        .is_some_and(|c| *c != crate::scenario::Check::Ownership)
    {
        for (i, s) in scenario.steps.iter().enumerate() {
            if s.op == scenario.steps[v.step].op
                && matches!(&s.role, StepRole::Attack { check: c, .. } if Some(c) == check.as_ref())
            {
                roots.push(i);
            }
        }
    }
    let attacks = roots.clone();
    for (i, s) in scenario.steps.iter().enumerate() {
        match s.role {
            StepRole::ReadBack { attack, .. } if attacks.contains(&attack) && !reads => {
                roots.push(i)
            }
            // An account probe's fresh accounts and its login check are its evidence too.
            StepRole::Relogin { attack } if attacks.contains(&attack) => roots.push(i),
            StepRole::Enroll if check == Some(crate::scenario::Check::Account) => roots.push(i),
            _ => {}
        }
    }
    for m in &v.markers {
        if let Some(origin) = exec.origin_of(m) {
            roots.push(origin);
        }
    }
    let keep = scenario.closure(&roots);
    match scenario.retain(&keep) {
        Some(s) => {
            let records = keep
                .iter()
                .filter_map(|k| exec.steps.get(*k).cloned())
                .collect();
            (s, Execution { steps: records })
        }
        None => (original.clone(), exec.clone()),
    }
}

/// The scenario with the reads before the first webhook forgery that shares `attack`'s signed
/// control, up to the owner's read after that control, made read-backs of `attack` instead;
/// `None` when `attack` is no later forgery.
fn shared_with(scenario: &Scenario, attack: usize) -> Option<Scenario> {
    let control = match scenario.steps.get(attack).map(|s| &s.role) {
        Some(StepRole::Attack {
            check: crate::scenario::Check::Webhook { control, .. },
            ..
        }) => *control,
        _ => return None,
    };
    let first = scenario.steps.iter().position(|s| {
        matches!(&s.role, StepRole::Attack {
            check: crate::scenario::Check::Webhook { control: c, .. },
            ..
        } if *c == control)
    })?;
    if first == attack {
        return None;
    }
    let mut s = scenario.clone();
    // The shared steps end with the owner's read after the control: what a forgery on a fresh
    // object reads before it (`webhook_state_probe`) is the first forgery's own.
    for step in s.steps.iter_mut().take(first.min(control + 2)) {
        if let StepRole::ReadBack { attack: a, .. } = &mut step.role {
            if *a == first {
                *a = attack;
            }
        }
    }
    Some(s)
}

/// Whether copies of the scenario running at once cannot disturb each other: it sends no
/// webhook event and changes nothing it did not create (every step reads, creates, or names a
/// resource an earlier step created in its path), and it does not set and restore a caller's
/// own privilege.
fn isolated(run: &crate::exec::Interpreter<'_>, scenario: &Scenario) -> bool {
    use crate::model::Slot;
    use crate::scenario::{Check, Expr};
    !run.has_webhook(scenario)
        && scenario.steps.iter().all(|s| {
            let own_privilege = matches!(
                &s.role,
                StepRole::Attack {
                    check: Check::Assign { own: true, .. },
                    ..
                }
            );
            let on_created = s.args.iter().any(|(slot, e)| {
                matches!(slot, Slot::Path(_))
                    && matches!(e, Expr::Created { .. } | Expr::Absent { .. })
            });
            !own_privilege
                && (run.only_reads(s) || matches!(s.role, StepRole::Setup { .. }) || on_created)
        })
}

/// The violation among `found` that is `v` again (same kind, operation, vector, attacker and
/// victim), whatever its step or evidence this time.
fn matching(found: Vec<Violation>, v: &Violation) -> Option<Violation> {
    found.into_iter().find(|f| f.key() == v.key())
}

/// The scenario with the public control after it: the attack step `attack` sent again by the
/// anonymous identity, judged as a read-back (data anyone can read is public, not a finding).
fn with_public_control(scenario: &Scenario, attack: usize, anonymous: usize) -> Scenario {
    let mut s = scenario.clone();
    let mut probe = s.steps[attack].clone();
    probe.actor = anonymous;
    // A read-back role keeps the oracles from judging it as an attack of its own.
    probe.role = StepRole::ReadBack {
        attack,
        phase: crate::scenario::Phase::After,
    };
    s.steps.push(probe);
    s
}

impl Confirmed {
    /// A violation the run had to stop before confirming (`why`): reported as inconclusive,
    /// 0 of 0.
    pub(crate) fn not_attempted(
        scenario: &Scenario,
        exec: &Execution,
        v: &Violation,
        why: &str,
    ) -> Self {
        Confirmed {
            scenario: slice(scenario, exec, v),
            execution: exec.clone(),
            violation: v.clone(),
            reproduced: 0,
            replays: 0,
            requests: 0,
            shrink_note: Some(why.to_string()),
            public: false,
        }
    }
}

/// The scenario without the steps `gone` (indexes), unless a step left uses one of them.
fn without(scenario: &Scenario, gone: &[usize]) -> Option<Scenario> {
    let keep: Vec<usize> = (0..scenario.steps.len())
        .filter(|k| !gone.contains(k))
        .collect();
    scenario.retain(&keep)
}

/// Runs a shrink candidate: the requests it sent, and whether it showed the violation again.
async fn reproduces(
    run: &crate::exec::Interpreter<'_>,
    ctx: &Context<'_>,
    candidate: &Scenario,
    v: &Violation,
    ticket: u64,
) -> (u64, bool) {
    let e = run.execute_as(candidate, ticket).await;
    (
        e.sent(),
        matching(oracle::judge(ctx, candidate, &e), v).is_some(),
    )
}

/// What the replays of one scenario showed.
struct Replays {
    reproduced: u32,
    /// The last execution that reproduced, with the violation it showed.
    last: Option<(Execution, Violation)>,
    /// The last execution that did not.
    last_missed: Option<Execution>,
    public: bool,
    requests: u64,
}

/// Replays `current` from scratch until `replays` replays count. For leaks the last one
/// also sends the attack without credentials. An isolated scenario's replays all go out at
/// once; a replay disturbed by the target (an answer that cannot be judged, a step that could
/// not run) that did not reproduce proves nothing either way and is run again, a bounded
/// number of times, one after another.
async fn replay(
    run: &crate::exec::Interpreter<'_>,
    ctx: &Context<'_>,
    current: &Scenario,
    v: &Violation,
    bounds: &Bounds,
    isolated: bool,
    ticket: u64,
) -> Replays {
    let attack = current
        .steps
        .iter()
        .position(|s| matches!(s.role, StepRole::Attack { .. }) && s.op == v.op)
        .unwrap_or(0);
    let leak = matches!(
        v.kind,
        crate::finding::Kind::BolaRead | crate::finding::Kind::ListLeak
    );
    let runnable = |replay: u32| {
        if leak && replay + 1 == bounds.replays {
            with_public_control(current, attack, ctx.anonymous())
        } else {
            current.clone()
        }
    };
    let mut ahead: Vec<Option<Execution>> = if isolated {
        let all: Vec<Scenario> = (0..bounds.replays).map(runnable).collect();
        futures_util::future::join_all(all.iter().map(|s| run.execute_as(s, ticket)))
            .await
            .into_iter()
            .map(Some)
            .collect()
    } else {
        Vec::new()
    };
    let mut out = Replays {
        reproduced: 0,
        last: None,
        last_missed: None,
        public: false,
        requests: 0,
    };
    let mut replay = 0;
    let mut reruns = 0;
    while replay < bounds.replays {
        let runnable = runnable(replay);
        let mut e = match ahead.get_mut(replay as usize).and_then(Option::take) {
            Some(e) => e,
            None => run.execute_as(&runnable, ticket).await,
        };
        out.requests += e.sent();
        let mut control_judged = true;
        if runnable.steps.len() > current.steps.len() {
            let control = e.steps.pop();
            match control.and_then(|c| c.exchange) {
                Some(ex) if !ex.is_unjudgeable() => {
                    let victim = ctx.names.iter().position(|n| *n == v.victim).unwrap_or(0);
                    out.public = !oracle::leaked_markers(ctx, &e, &ex, victim).is_empty();
                }
                _ => control_judged = false,
            }
        }
        match matching(oracle::judge(ctx, current, &e), v) {
            Some(found) if control_judged => {
                out.reproduced += 1;
                replay += 1;
                out.last = Some((e, found));
            }
            found => {
                if (disturbed(&e) || !control_judged) && reruns < bounds.replays * 3 {
                    reruns += 1;
                    continue;
                }
                replay += 1;
                match found {
                    Some(f) => {
                        out.reproduced += 1;
                        out.last = Some((e, f));
                    }
                    None => out.last_missed = Some(e),
                }
            }
        }
    }
    out
}

impl super::state::Run<'_> {
    /// Confirms a list of candidates, a window of them at a time (their requests share the
    /// slots); `counted` when the progress display is on the confirmation phase. Findings are
    /// sorted afterwards: they finish in any order.
    pub(super) fn confirm_all(
        &self,
        list: Vec<super::state::Candidate>,
        counted: bool,
    ) -> futures_util::future::BoxFuture<'_, Vec<Confirmed>> {
        use futures_util::{FutureExt, StreamExt};
        futures_util::stream::iter(list)
            .map(move |c| async move {
                let (scenario, exec, v) = (c.scenario, c.exec, c.violation);
                if self.out_of_time() {
                    let why = if self.interrupted() {
                        "not confirmed: the run was interrupted"
                    } else if self.target.lost().is_some() {
                        "not confirmed: the target stopped answering"
                    } else {
                        "not confirmed: the run reached its time limit (--max-time)"
                    };
                    self.unconfirmed();
                    return Confirmed::not_attempted(&scenario, &exec, &v, why);
                }
                let done = confirm(
                    self.interpreter,
                    self.ctx,
                    &scenario,
                    &exec,
                    &v,
                    &self.bounds,
                )
                .await;
                if counted {
                    self.progress.step(self.target.requests());
                } else {
                    self.progress.requests(self.target.requests());
                }
                done
            })
            .buffer_unordered(self.window)
            .collect::<Vec<_>>()
            .boxed()
    }
}

pub(crate) async fn confirm(
    run: &crate::exec::Interpreter<'_>,
    ctx: &Context<'_>,
    scenario: &Scenario,
    exec: &Execution,
    v: &Violation,
    bounds: &Bounds,
) -> Confirmed {
    let started = Instant::now();
    // One ticket for the whole chain: each of its executions waits for slots as its first did.
    let ticket = run.slots.ticket();
    let mut requests = 0;
    let (mut current, mut seen) = sliced(scenario, exec, v);
    let mut shrink_note = None;
    let isolated = isolated(run, &current);
    // The last scenario an execution of its own reproduced, to fall back on.
    let mut verified: Option<Scenario> = None;
    // Deletion pass: drop any step the evidence survives without, from the last step back (so
    // the indexes of those before stay valid). A read changes nothing: leaving it out leaves
    // every other answer as it was, so the oracle judges the last execution without its
    // record instead of sending anything; the replays below then run what is left from scratch.
    // A step that changes something is only left out once an execution without it reproduced.
    for i in (0..current.steps.len()).rev() {
        if matches!(current.steps[i].role, StepRole::Attack { .. })
            || !run.only_reads(&current.steps[i])
        {
            continue;
        }
        let Some(candidate) = without(&current, &[i]) else {
            continue;
        };
        if seen.steps.len() == current.steps.len() {
            // Taken out for the judgement, put back if the oracle needs it.
            let record = seen.steps.remove(i);
            if matching(oracle::judge(ctx, &candidate, &seen), v).is_some() {
                current = candidate;
            } else {
                seen.steps.insert(i, record);
            }
        }
    }
    // The steps that change something, from the last: each deletion leaves the indexes of
    // those before it valid.
    let mut iterations = 0;
    let mut pending = (0..current.steps.len())
        .rev()
        .filter(|i| {
            let step = &current.steps[*i];
            !matches!(step.role, StepRole::Attack { .. }) && !run.only_reads(step)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .peekable();
    while pending.peek().is_some() {
        if iterations >= bounds.shrink_iterations || started.elapsed() >= bounds.shrink_time {
            shrink_note = Some(format!(
                "shrinking stopped at its bound after {iterations} candidates; raise campaign.shrink_iterations or campaign.shrink_seconds"
            ));
            break;
        }
        // Candidates of an isolated scenario (copies cannot disturb each other) go out at once,
        // as many as the bound allows; otherwise one at a time.
        let room = (bounds.shrink_iterations - iterations) as usize;
        let batch: Vec<(usize, Scenario)> = pending
            .by_ref()
            .take(if isolated { room.max(1) } else { 1 })
            .filter_map(|i| without(&current, &[i]).map(|c| (i, c)))
            .collect();
        iterations += batch.len() as u32;
        let tried = futures_util::future::join_all(
            batch
                .iter()
                .map(|(_, c)| reproduces(run, ctx, c, v, ticket)),
        )
        .await;
        let mut worked: Vec<(usize, Scenario)> = Vec::new();
        for ((i, candidate), (n, ok)) in batch.into_iter().zip(tried) {
            requests += n;
            if ok {
                worked.push((i, candidate));
            }
        }
        // Several that worked alone are tried together, then (if together they do not) one
        // by one on what is left, from the last.
        let mut worked = worked.into_iter();
        let Some((_, candidate)) = worked.next() else {
            continue;
        };
        current = candidate;
        verified = Some(current.clone());
        let rest: Vec<usize> = worked.map(|(i, _)| i).collect();
        let attempts = if rest.len() > 1 {
            std::iter::once(rest.clone())
                .chain(rest.iter().map(|i| vec![*i]))
                .collect()
        } else {
            vec![rest]
        };
        let mut together = attempts.len() > 1;
        for gone in attempts {
            let Some(candidate) = without(&current, &gone).filter(|_| !gone.is_empty()) else {
                continue;
            };
            iterations += 1;
            let (n, ok) = reproduces(run, ctx, &candidate, v, ticket).await;
            requests += n;
            if ok {
                current = candidate;
                verified = Some(current.clone());
                if together {
                    break;
                }
            }
            together = false;
        }
    }
    let mut replays = replay(run, ctx, &current, v, bounds, isolated, ticket).await;
    requests += replays.requests;
    // Nothing reproduced what the slice and the reads' judgement left (a read the server
    // answers differently when another came first): replay the last scenario that did
    // reproduce on its own, the original one if no candidate did. A longer reproduction is
    // better than a lost finding.
    if replays.reproduced == 0 {
        let fallback = verified.unwrap_or_else(|| scenario.clone());
        if fallback != current {
            let isolated = self::isolated(run, &fallback);
            let again = replay(run, ctx, &fallback, v, bounds, isolated, ticket).await;
            requests += again.requests;
            if again.reproduced > 0 {
                current = fallback;
                replays = again;
            }
        }
    }
    let (execution, violation) = match replays.last {
        Some(pair) => pair,
        None => (replays.last_missed.unwrap_or_default(), v.clone()),
    };
    Confirmed {
        scenario: current,
        execution,
        violation,
        reproduced: replays.reproduced,
        replays: bounds.replays,
        requests,
        shrink_note,
        public: replays.public,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::exchange::{Exchange, StepRecord};
    use crate::finding::{Kind, Vector};
    use crate::model::Slot;
    use crate::scenario::{Check, Effect, Expr, Forgery, MarkerFormat, Phase, Step};

    const NAMES: [&str; 4] = ["alice", "bob", "carol", "anonymous"];

    fn created(step: usize) -> (Slot, Expr) {
        (Slot::Path("id".into()), Expr::Created { step })
    }

    fn setup(actor: usize, uses: &[usize]) -> Step {
        Step {
            actor,
            op: 0,
            role: StepRole::Setup { resource: 0 },
            args: uses.iter().map(|s| created(*s)).collect(),
        }
    }

    fn attack(actor: usize, victim: usize, op: usize, effect: Effect, target: usize) -> Step {
        Step {
            actor,
            op,
            role: StepRole::Attack {
                victim,
                effect,
                vector: Vector::Path,
                target_resource: Some(0),
                target_step: Some(target),
                check: Check::Ownership,
            },
            args: vec![created(target)].into(),
        }
    }

    fn read_back(actor: usize, attack: usize, phase: Phase, target: usize) -> Step {
        Step {
            actor,
            op: 2,
            role: StepRole::ReadBack { attack, phase },
            args: vec![created(target)].into(),
        }
    }

    fn violation(kind: Kind, step: usize, op: usize, markers: &[&str]) -> Violation {
        Violation {
            kind,
            vector: Vector::Path,
            op,
            attacker: "bob".into(),
            victim: "alice".into(),
            evidence: "test".into(),
            step,
            markers: markers.iter().map(|m| m.to_string()).collect(),
            field: None,
        }
    }

    /// An execution of `n` steps where step `at` sent marker `m`, for each `(at, m)`.
    fn sent(n: usize, markers: &[(usize, &str)]) -> Execution {
        let mut e = Execution {
            steps: vec![StepRecord::default(); n],
        };
        for (at, m) in markers {
            e.steps[*at].sent_markers.push(m.to_string());
        }
        e
    }

    fn answered(status: Option<u16>) -> StepRecord {
        StepRecord {
            exchange: Some(Exchange {
                status,
                ..Exchange::default()
            }),
            ..StepRecord::default()
        }
    }

    #[test]
    fn an_execution_is_disturbed_by_a_step_not_run_or_an_answer_that_cannot_be_judged() {
        let clean = Execution {
            steps: vec![
                answered(Some(200)),
                answered(Some(404)),
                answered(Some(403)),
            ],
        };
        assert!(!disturbed(&clean));
        for bad in [
            answered(Some(500)),
            answered(Some(503)),
            answered(Some(429)),
            answered(None),
            StepRecord {
                skipped: Some("step 1 created nothing".into()),
                ..StepRecord::default()
            },
        ] {
            let mut e = clean.clone();
            e.steps.push(bad);
            assert!(disturbed(&e), "{:?}", e.steps.last());
        }
        let mut cut = clean.clone();
        cut.steps[0].exchange.as_mut().expect("sent").error =
            Some("the JSON body does not parse".into());
        assert!(disturbed(&cut));
    }

    #[test]
    fn a_replays_violation_matches_by_its_key_not_its_step_or_evidence() {
        let v = violation(Kind::BolaRead, 3, 1, &["m1"]);
        let mut moved = violation(Kind::BolaRead, 1, 1, &["m2"]);
        moved.evidence = "other words".into();
        let mut other_victim = v.clone();
        other_victim.victim = "carol".into();
        let other_kind = violation(Kind::ListLeak, 3, 1, &["m1"]);
        let found = matching(vec![other_victim, other_kind, moved.clone()], &v);
        assert_eq!(found, Some(moved));
        let mut other_attacker = v.clone();
        other_attacker.attacker = "carol".into();
        let mut other_vector = v.clone();
        other_vector.vector = Vector::Query;
        assert_eq!(matching(vec![other_attacker, other_vector], &v), None);
    }

    #[test]
    fn the_public_control_is_the_attack_sent_again_without_credentials_after_it() {
        let s = Scenario {
            steps: vec![setup(0, &[]), attack(1, 0, 1, Effect::Read, 0)],
        };
        let with = with_public_control(&s, 1, 3);
        assert_eq!(with.steps.len(), 3);
        assert_eq!(with.steps[..2], s.steps[..]);
        let control = &with.steps[2];
        assert_eq!(control.actor, 3);
        assert_eq!(control.op, s.steps[1].op);
        assert_eq!(control.args, s.steps[1].args);
        assert_eq!(
            control.role,
            StepRole::ReadBack {
                attack: 1,
                phase: Phase::After
            }
        );
    }

    #[test]
    fn a_step_is_left_out_only_when_no_step_left_uses_it() {
        let s = Scenario {
            steps: vec![
                setup(0, &[]),
                setup(0, &[0]),
                setup(1, &[]),
                attack(1, 0, 1, Effect::Read, 1),
            ],
        };
        let small = without(&s, &[2]).expect("nothing uses step 2");
        assert_eq!(small.steps.len(), 3);
        assert_eq!(small.steps[1].args, vec![created(0)]);
        assert_eq!(small.steps[2].args, vec![created(1)]);
        assert_eq!(
            small.steps[2].role,
            attack(1, 0, 1, Effect::Read, 1).role,
            "the target renumbered"
        );
        let smaller = without(&s, &[0, 2]);
        assert_eq!(smaller, None, "step 1 uses step 0");
        assert_eq!(without(&s, &[1]), None, "the attack uses step 1");
        assert_eq!(without(&s, &[]), Some(s.clone()));
    }

    #[test]
    fn a_reads_slice_keeps_its_target_and_marker_origins_and_drops_the_rest() {
        // 0: alice's project, 1: bob's project, 2: alice's note in it (marker m1), 3: alice
        // renames it (marker m2), 4: alice's read before, 5: bob's read of the note, 6: alice's
        // read after.
        let s = Scenario {
            steps: vec![
                setup(0, &[]),
                setup(1, &[]),
                setup(0, &[0]),
                setup(0, &[2]),
                read_back(0, 5, Phase::Before, 2),
                attack(1, 0, 1, Effect::Read, 2),
                read_back(0, 5, Phase::After, 2),
            ],
        };
        let exec = sent(7, &[(2, "m1"), (3, "m2")]);
        let only_m1 = violation(Kind::BolaRead, 5, 1, &["m1"]);
        let (small, records) = sliced(&s, &exec, &only_m1);
        assert_eq!(
            small.steps,
            vec![
                setup(0, &[]),
                setup(0, &[0]),
                attack(1, 0, 1, Effect::Read, 1)
            ]
        );
        assert_eq!(records.steps.len(), 3);
        assert_eq!(
            records.origin_of("m1"),
            Some(1),
            "records follow their steps"
        );
        let both = violation(Kind::BolaRead, 5, 1, &["m1", "m2"]);
        let small = slice(&s, &exec, &both);
        assert_eq!(small.steps.len(), 4);
        assert_eq!(small.steps[2], setup(0, &[1]), "the rename is evidence");
    }

    #[test]
    fn a_writes_slice_keeps_the_read_backs_that_judge_it() {
        let s = Scenario {
            steps: vec![
                setup(0, &[]),
                setup(1, &[]),
                read_back(0, 3, Phase::Before, 0),
                attack(1, 0, 1, Effect::Write, 0),
                read_back(0, 3, Phase::After, 0),
            ],
        };
        let v = violation(Kind::BolaWrite, 3, 1, &[]);
        let small = slice(&s, &sent(5, &[]), &v);
        assert_eq!(
            small.steps,
            vec![
                setup(0, &[]),
                read_back(0, 2, Phase::Before, 0),
                attack(1, 0, 1, Effect::Write, 0),
                read_back(0, 2, Phase::After, 0),
            ]
        );
    }

    #[test]
    fn a_slice_keeps_every_attack_its_check_judges_together() {
        // Two injected values of one privilege field (mass assignment of the caller's own
        // object), and an ownership attack on the same operation that is not part of it.
        let assign = |target: usize| Step {
            role: StepRole::Attack {
                victim: 1,
                effect: Effect::Write,
                vector: Vector::Body,
                target_resource: None,
                target_step: None,
                check: Check::Assign {
                    field: "/role".into(),
                    own: true,
                },
            },
            ..attack(1, 1, 1, Effect::Write, target)
        };
        let s = Scenario {
            steps: vec![
                setup(1, &[]),
                assign(0),
                read_back(1, 1, Phase::After, 0),
                assign(0),
                read_back(1, 3, Phase::After, 0),
                setup(0, &[]),
                attack(1, 0, 1, Effect::Write, 5),
            ],
        };
        let mut v = violation(Kind::MassAssignment, 3, 1, &[]);
        v.victim = "bob".into();
        v.vector = Vector::Body;
        let small = slice(&s, &sent(7, &[]), &v);
        assert_eq!(small.steps, s.steps[..5]);
    }

    /// The owner's reads, the signed control, then two forgeries each with its read-back, as
    /// the planner's `webhook_probe` makes them (identity 3 is anonymous).
    fn webhook_chain() -> Scenario {
        let read = |attack: usize, phase: Phase| Step {
            actor: 0,
            op: 2,
            role: StepRole::ReadBack { attack, phase },
            args: vec![created(0)].into(),
        };
        let forged = |forgery: Forgery| Step {
            actor: 3,
            op: 3,
            role: StepRole::Attack {
                victim: 0,
                effect: Effect::Action,
                vector: Vector::Header,
                target_resource: None,
                target_step: None,
                check: Check::Webhook {
                    forgery,
                    control: 3,
                    state: Vec::new(),
                },
            },
            args: vec![created(0)].into(),
        };
        Scenario {
            steps: vec![
                setup(0, &[]),
                read(5, Phase::Before),
                read(5, Phase::Before),
                Step {
                    actor: 3,
                    op: 3,
                    role: StepRole::ReadBack {
                        attack: 5,
                        phase: Phase::Before,
                    },
                    args: vec![created(0)].into(),
                },
                read(5, Phase::Before),
                forged(Forgery::Unsigned),
                read(5, Phase::After),
                forged(Forgery::WrongSecret),
                read(7, Phase::After),
            ],
        }
    }

    #[test]
    fn a_later_webhook_forgery_takes_over_the_shared_reads_and_control() {
        let s = webhook_chain();
        assert_eq!(
            shared_with(&s, 5),
            None,
            "the first forgery owns them already"
        );
        assert_eq!(shared_with(&s, 0), None, "not an attack");
        let shared = shared_with(&s, 7).expect("a later forgery");
        for i in [1, 2, 3, 4] {
            assert_eq!(
                shared.steps[i].role,
                StepRole::ReadBack {
                    attack: 7,
                    phase: Phase::Before
                },
                "step {i}"
            );
        }
        assert_eq!(
            shared.steps[6], s.steps[6],
            "the first forgery's own read-back stays"
        );
        let mut v = violation(Kind::WebhookUnsigned, 7, 3, &[]);
        v.attacker = "anonymous".into();
        v.vector = Vector::Header;
        let small = slice(&s, &sent(9, &[]), &v);
        // The setup, the two quiet reads, the control, the read after it, the second forgery
        // and its read-back; neither the first forgery nor its read-back.
        assert_eq!(small.steps.len(), 7);
        assert!(small.steps.iter().all(|s| !matches!(
            s.role,
            StepRole::Attack {
                check: Check::Webhook {
                    forgery: Forgery::Unsigned,
                    ..
                },
                ..
            }
        )));
        assert_eq!(
            small.steps[5].role,
            StepRole::Attack {
                victim: 0,
                effect: Effect::Action,
                vector: Vector::Header,
                target_resource: None,
                target_step: None,
                check: Check::Webhook {
                    forgery: Forgery::WrongSecret,
                    control: 3,
                    state: Vec::new(),
                },
            }
        );
        assert_eq!(
            small.steps[6].role,
            StepRole::ReadBack {
                attack: 5,
                phase: Phase::After
            }
        );
    }

    #[test]
    fn a_violation_not_attempted_is_its_slice_at_zero_of_zero_with_the_reason() {
        let s = Scenario {
            steps: vec![
                setup(0, &[]),
                setup(1, &[]),
                attack(1, 0, 1, Effect::Read, 0),
            ],
        };
        let exec = sent(3, &[(0, "m1")]);
        let v = violation(Kind::BolaRead, 2, 1, &["m1"]);
        let c = Confirmed::not_attempted(&s, &exec, &v, "the run stopped");
        assert_eq!(c.scenario.steps.len(), 2);
        assert_eq!((c.reproduced, c.replays, c.requests), (0, 0, 0));
        assert_eq!(c.shrink_note.as_deref(), Some("the run stopped"));
        assert_eq!(c.violation, v);
        assert!(!c.public);
    }

    /// A step's tag: the index it had in the generated scenario.
    fn tag(step: &Step) -> usize {
        step.args
            .iter()
            .find_map(|(slot, e)| match (slot, e) {
                (Slot::Header(h), Expr::Lit(v)) if h == "x-step" => v.as_u64(),
                _ => None,
            })
            .expect("tagged") as usize
    }

    /// The steps `step` refers to: created ids, echoes and absent ids in its arguments, its
    /// attack's target and control, its read-back's attack.
    fn references(step: &Step) -> Vec<usize> {
        let mut out: Vec<usize> = step.uses().collect();
        match &step.role {
            StepRole::Attack {
                target_step, check, ..
            } => {
                out.extend(*target_step);
                match check {
                    Check::Gate {
                        control: Some(c), ..
                    }
                    | Check::Existence { control: c }
                    | Check::Token { control: c, .. }
                    | Check::Webhook { control: c, .. } => out.push(*c),
                    _ => {}
                }
            }
            StepRole::ReadBack { attack, .. } => out.push(*attack),
            _ => {}
        }
        out
    }

    /// Whether `small` is made of steps of `original` in their order, each reference pointing
    /// to a step that is still there and is the one it pointed to before; arguments, targets
    /// and controls to an earlier step, a read-back to an attack.
    fn well_formed(small: &Scenario, original: &Scenario) -> Result<(), String> {
        let tags: Vec<usize> = small.steps.iter().map(tag).collect();
        if tags.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!("steps out of order: {tags:?}"));
        }
        for (k, step) in small.steps.iter().enumerate() {
            let before = &original.steps[tags[k]];
            let (now, then) = (references(step), references(before));
            if now.len() != then.len() {
                return Err(format!("step {k} lost a reference"));
            }
            for (j, was) in now.iter().zip(&then) {
                if tags.get(*j) != Some(was) {
                    return Err(format!("step {k} refers to {j}, which is not step {was}"));
                }
            }
            let earlier = step.uses().chain(match &step.role {
                StepRole::Attack { target_step, .. } => *target_step,
                _ => None,
            });
            if let Some(j) = earlier.into_iter().find(|j| *j >= k) {
                return Err(format!("step {k} uses step {j}, which is not earlier"));
            }
            if let StepRole::ReadBack { attack, .. } = step.role {
                if !matches!(small.steps[attack].role, StepRole::Attack { .. }) {
                    return Err(format!("step {k} reads back step {attack}, not an attack"));
                }
            }
        }
        Ok(())
    }

    /// Whether `small` still has the attack of `v`: the step tagged `attack` in `original`,
    /// unchanged but for renumbering, and what `v`'s key names.
    fn keeps_attack(small: &Scenario, original: &Scenario, attack: usize, v: &Violation) -> bool {
        let Some(step) = small.steps.iter().find(|s| tag(s) == attack) else {
            return false;
        };
        let StepRole::Attack {
            victim,
            vector,
            effect,
            ..
        } = step.role
        else {
            return false;
        };
        let before = &original.steps[attack];
        step.actor == before.actor
            && step.op == v.op
            && vector == v.vector
            && NAMES[step.actor] == v.attacker
            && NAMES[victim] == v.victim
            && matches!(before.role, StepRole::Attack { effect: e, .. } if e == effect)
    }

    /// One generated step: actor, operation, earlier steps it uses (any numbers, taken modulo
    /// its index), and its kind (setup, read-back of the attack, cleanup).
    type RawStep = (usize, usize, Vec<usize>, u8);

    /// A scenario of `raw.len()` steps, each tagged with its index, the attack at `at` (a read
    /// or a write, of an ownership or an existence check whose control is an earlier step),
    /// an execution in which the steps at `origins` sent markers, and the violation on it.
    fn generated(
        raw: &[RawStep],
        at: usize,
        read: bool,
        existence: bool,
        origins: &[usize],
    ) -> (Scenario, Execution, Violation, usize) {
        let n = raw.len();
        let attack = at % n;
        let mut steps = Vec::new();
        for (i, (actor, op, uses, kind)) in raw.iter().enumerate() {
            let mut args = vec![(Slot::Header("x-step".into()), Expr::Lit(json!(i)))];
            if i > 0 {
                // The attack's first two take its target and its control instead.
                let skip = if i == attack { 2 } else { 0 };
                for (k, u) in uses.iter().enumerate().skip(skip) {
                    let step = u % i;
                    args.push(match k % 3 {
                        0 => (Slot::Path(format!("p{k}")), Expr::Created { step }),
                        1 => (
                            Slot::Body(format!("/b{k}")),
                            Expr::Echo {
                                step,
                                pointer: "/id".into(),
                            },
                        ),
                        _ => (Slot::Query(format!("q{k}")), Expr::Absent { step }),
                    });
                }
            }
            let role = if i == attack {
                let earlier = |k: usize| uses.get(k).filter(|_| i > 0).map(|u| u % i);
                StepRole::Attack {
                    victim: (actor + 1) % 3,
                    effect: if read { Effect::Read } else { Effect::Write },
                    vector: Vector::Path,
                    target_resource: Some(0),
                    target_step: earlier(0),
                    check: match earlier(1) {
                        Some(c) if existence => Check::Existence { control: c },
                        _ => Check::Ownership,
                    },
                }
            } else {
                match kind % 3 {
                    0 => StepRole::Setup { resource: 0 },
                    1 => StepRole::ReadBack {
                        attack,
                        phase: if i < attack {
                            Phase::Before
                        } else {
                            Phase::After
                        },
                    },
                    _ => StepRole::Cleanup,
                }
            };
            steps.push(Step {
                actor: *actor,
                op: *op,
                role,
                args: args.into(),
            });
        }
        let scenario = Scenario { steps };
        let mut exec = Execution {
            steps: vec![StepRecord::default(); n],
        };
        let mut markers = Vec::new();
        for (k, o) in origins.iter().enumerate() {
            let m = format!("m{k}");
            exec.steps[o % n].sent_markers.push(m.clone());
            markers.push(m);
        }
        // And one marker nothing sent.
        markers.push("nowhere".into());
        let a = &scenario.steps[attack];
        let StepRole::Attack { victim, .. } = a.role else {
            unreachable!("the attack")
        };
        let v = Violation {
            kind: if read {
                Kind::BolaRead
            } else {
                Kind::BolaWrite
            },
            vector: Vector::Path,
            op: a.op,
            attacker: NAMES[a.actor].into(),
            victim: NAMES[victim].into(),
            evidence: "generated".into(),
            step: attack,
            markers,
            field: None,
        };
        (scenario, exec, v, attack)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Shrinking never lengthens a scenario and keeps the violation: the slice and every
        /// deletion confirm's passes may accept (one step, or several together) have no more
        /// steps than what they started from, keep the attack and the steps its evidence came
        /// from, and stay well formed; a deletion is refused exactly when a step left uses the
        /// step.
        #[test]
        fn shrinking_never_lengthens_a_scenario_and_keeps_its_violation(
            raw in proptest::collection::vec(
                (0usize..3, 0usize..3, proptest::collection::vec(proptest::prelude::any::<usize>(), 0..4), 0u8..3),
                1..14,
            ),
            at in proptest::prelude::any::<usize>(),
            read in proptest::prelude::any::<bool>(),
            existence in proptest::prelude::any::<bool>(),
            origins in proptest::collection::vec(proptest::prelude::any::<usize>(), 0..3),
            delete in proptest::collection::vec(proptest::prelude::any::<bool>(), 14),
        ) {
            let (scenario, exec, v, attack) = generated(&raw, at, read, existence, &origins);
            proptest::prop_assert_eq!(well_formed(&scenario, &scenario), Ok(()));
            let (mut current, records) = sliced(&scenario, &exec, &v);
            proptest::prop_assert!(current.steps.len() <= scenario.steps.len());
            proptest::prop_assert_eq!(well_formed(&current, &scenario), Ok(()));
            proptest::prop_assert!(keeps_attack(&current, &scenario, attack, &v), "{:?}", current);
            proptest::prop_assert_eq!(records.steps.len(), current.steps.len());
            for m in &v.markers {
                if let Some(origin) = exec.origin_of(m) {
                    let kept = records.origin_of(m).map(|k| tag(&current.steps[k]));
                    proptest::prop_assert_eq!(kept, Some(origin), "marker {}", m);
                }
            }
            // Confirm's deletions: from the last step back, never the attack.
            for i in (0..current.steps.len()).rev() {
                if matches!(current.steps[i].role, StepRole::Attack { .. }) || !delete[i] {
                    continue;
                }
                let used = current.steps.iter().enumerate()
                    .any(|(k, s)| k != i && references(s).contains(&i));
                match without(&current, &[i]) {
                    Some(candidate) => {
                        proptest::prop_assert!(!used, "step {} is used", i);
                        proptest::prop_assert_eq!(candidate.steps.len(), current.steps.len() - 1);
                        proptest::prop_assert_eq!(well_formed(&candidate, &scenario), Ok(()));
                        proptest::prop_assert!(keeps_attack(&candidate, &scenario, attack, &v));
                        current = candidate;
                    }
                    None => proptest::prop_assert!(used, "step {} is not used", i),
                }
            }
            // Several together, as confirm tries those that worked alone.
            let gone: Vec<usize> = (0..current.steps.len())
                .filter(|i| !matches!(current.steps[*i].role, StepRole::Attack { .. }))
                .filter(|i| delete[13 - i])
                .collect();
            if let Some(candidate) = without(&current, &gone) {
                proptest::prop_assert_eq!(candidate.steps.len(), current.steps.len() - gone.len());
                proptest::prop_assert_eq!(well_formed(&candidate, &scenario), Ok(()));
                proptest::prop_assert!(keeps_attack(&candidate, &scenario, attack, &v));
                current = candidate;
            }
            proptest::prop_assert!(current.steps.len() <= scenario.steps.len());
            proptest::prop_assert!(keeps_attack(&current, &scenario, attack, &v));
        }

        /// The slice is exactly the steps the evidence reaches: the attack, where its markers
        /// came from, the read-backs of an attack that is not an ownership read, and every step
        /// those refer to, transitively.
        #[test]
        fn a_slice_is_exactly_what_the_evidence_reaches(
            raw in proptest::collection::vec(
                (0usize..3, 0usize..3, proptest::collection::vec(proptest::prelude::any::<usize>(), 0..4), 0u8..3),
                1..14,
            ),
            at in proptest::prelude::any::<usize>(),
            read in proptest::prelude::any::<bool>(),
            existence in proptest::prelude::any::<bool>(),
            origins in proptest::collection::vec(proptest::prelude::any::<usize>(), 0..3),
        ) {
            let (scenario, exec, v, attack) = generated(&raw, at, read, existence, &origins);
            let ownership_read = read
                && matches!(
                    scenario.steps[attack].role,
                    StepRole::Attack { check: Check::Ownership, .. }
                );
            let mut stack = vec![attack];
            stack.extend(v.markers.iter().filter_map(|m| exec.origin_of(m)));
            if !ownership_read {
                stack.extend(scenario.steps.iter().enumerate().filter_map(|(i, s)| {
                    matches!(s.role, StepRole::ReadBack { attack: a, .. } if a == attack).then_some(i)
                }));
            }
            let mut reached = std::collections::BTreeSet::new();
            while let Some(i) = stack.pop() {
                if reached.insert(i) {
                    stack.extend(references(&scenario.steps[i]));
                }
            }
            let kept: Vec<usize> = slice(&scenario, &exec, &v).steps.iter().map(tag).collect();
            proptest::prop_assert_eq!(kept, reached.into_iter().collect::<Vec<_>>());
        }
    }

    /// A notes API on 127.0.0.1 that lets anyone with a token read any note (and without one
    /// too when `public`), and stops leaking after `leaks` reads of another's note when set.
    /// `POST /notes` keeps a note's text, `PUT /notes/{id}` its extra field; every answer
    /// shows both. Counts the requests it answered.
    #[derive(Clone, Default)]
    struct Notes {
        store: std::sync::Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>,
        requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
        public: bool,
        leaks: Option<u64>,
        leaked: std::sync::Arc<std::sync::atomic::AtomicU64>,
    }

    const NOTES_SPEC: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /notes:\n    post:\n      requestBody: {required: true, content: {application/json: {schema: {type: object, properties: {text: {type: string}}}}}}\n      responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: string}, text: {type: string}}}}}}}\n  /notes/{noteId}:\n    parameters: [{name: noteId, in: path, required: true, schema: {type: string}}]\n    get:\n      responses: {'200': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: string}, text: {type: string}}}}}}}\n    put:\n      requestBody: {content: {application/json: {schema: {type: object, properties: {extra: {type: string}}}}}}\n      responses: {'200': {description: ok}}\n";

    async fn notes_server(notes: Notes) -> String {
        use axum::extract::{Path, State};
        use axum::http::{HeaderMap, StatusCode};
        use axum::routing::{get, post};
        use std::sync::atomic::Ordering;
        type Answer = (StatusCode, axum::Json<serde_json::Value>);
        fn owner(h: &HeaderMap) -> Option<String> {
            h.get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        }
        let app = axum::Router::new()
            .route(
                "/notes",
                post(
                    |State(n): State<Notes>,
                     h: HeaderMap,
                     axum::Json(body): axum::Json<serde_json::Value>| async move {
                        n.requests.fetch_add(1, Ordering::SeqCst);
                        let Some(who) = owner(&h) else {
                            return (StatusCode::UNAUTHORIZED, axum::Json(json!({})));
                        };
                        let mut store = n.store.lock().expect("lock");
                        let note = json!({"id": format!("n{}", store.len()), "text": body["text"]});
                        store.push((who, note.clone()));
                        (StatusCode::CREATED, axum::Json(note))
                    },
                ),
            )
            .route(
                "/notes/{id}",
                get(
                    |State(n): State<Notes>, Path(id): Path<String>, h: HeaderMap| async move {
                        n.requests.fetch_add(1, Ordering::SeqCst);
                        let who = owner(&h);
                        if who.is_none() && !n.public {
                            return (StatusCode::UNAUTHORIZED, axum::Json(json!({})));
                        }
                        let store = n.store.lock().expect("lock");
                        let Some((by, note)) = store.iter().find(|(_, x)| x["id"] == id) else {
                            return (StatusCode::NOT_FOUND, axum::Json(json!({})));
                        };
                        if who.as_ref() != Some(by) {
                            let seen = n.leaked.fetch_add(1, Ordering::SeqCst);
                            if n.leaks.is_some_and(|l| seen >= l) {
                                return (StatusCode::FORBIDDEN, axum::Json(json!({})));
                            }
                        }
                        let answer: Answer = (StatusCode::OK, axum::Json(note.clone()));
                        answer
                    },
                )
                .put(
                    |State(n): State<Notes>,
                     Path(id): Path<String>,
                     axum::Json(body): axum::Json<serde_json::Value>| async move {
                        n.requests.fetch_add(1, Ordering::SeqCst);
                        let mut store = n.store.lock().expect("lock");
                        match store.iter_mut().find(|(_, x)| x["id"] == id) {
                            Some((_, note)) => {
                                note["extra"] = body["extra"].clone();
                                (StatusCode::OK, axum::Json(note.clone()))
                            }
                            None => (StatusCode::NOT_FOUND, axum::Json(json!({}))),
                        }
                    },
                ),
            )
            .with_state(notes);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    /// What `confirm` made of bob reading alice's note on `notes`: alice writes a note (a
    /// marker in its text), sets its extra field (another marker), bob writes one of his own,
    /// then reads hers. Returns the confirmation, the scenario's first execution's violation,
    /// and the requests the server answered during the confirmation.
    async fn confirmed(notes: Notes, confirmations: u32) -> (Confirmed, Violation, u64) {
        use std::sync::atomic::Ordering;
        let base = notes_server(notes.clone()).await;
        let api = crate::spec::load_str(NOTES_SPEC, "notes.yaml").expect("spec");
        let model = crate::model::infer(&api, &[], &crate::model::Overrides::default());
        let create = api.find("POST /notes").expect("op");
        let read = api.find("GET /notes/{noteId}").expect("op");
        let update = api.find("PUT /notes/{noteId}").expect("op");
        let bearer = |t: &str| {
            vec![(
                "Authorization".to_string(),
                crate::config::Secret::new(format!("Bearer {t}")),
            )]
        };
        let identities = [
            ("alice".to_string(), bearer("fake-alice")),
            ("bob".to_string(), bearer("fake-bob")),
            ("carol".to_string(), bearer("fake-carol")),
            ("anonymous".to_string(), Vec::new()),
        ];
        let target =
            crate::exec::Target::new(&base, &identities, std::time::Duration::from_secs(5))
                .expect("target");
        let markers = crate::marker::Markers::with_run("cnfrm");
        let names: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
        let tenants = [Some("a".into()), Some("b".into()), Some("c".into()), None];
        let discovered = crate::exec::Discovered::new();
        let run = crate::exec::Interpreter {
            api: &api,
            model: &model,
            markers: &markers,
            discovered: &discovered,
            target: &target,
            webhooks: &[],
            exclusive: crate::exec::Exclusive::by_tenant(&tenants),
            slots: crate::exec::Slots::new(4),
            created: Default::default(),
            finished: std::sync::Mutex::new(None),
            cleaned: Default::default(),
            solo: Default::default(),
            refusals: Default::default(),
        };
        let ctx = Context {
            api: &api,
            markers: &markers,
            names: &names,
            credentials: &[],
        };
        let text = |owner: usize| Expr::Marker {
            owner,
            format: MarkerFormat::Plain,
        };
        let id = (Slot::Path("noteId".into()), Expr::Created { step: 0 });
        let scenario = Scenario {
            steps: vec![
                Step {
                    actor: 0,
                    op: create,
                    role: StepRole::Setup { resource: 0 },
                    args: vec![(Slot::Body("/text".into()), text(0))].into(),
                },
                Step {
                    actor: 0,
                    op: update,
                    role: StepRole::Setup { resource: 0 },
                    args: vec![id.clone(), (Slot::Body("/extra".into()), text(0))].into(),
                },
                Step {
                    actor: 1,
                    op: create,
                    role: StepRole::Setup { resource: 0 },
                    args: vec![(Slot::Body("/text".into()), text(1))].into(),
                },
                Step {
                    actor: 1,
                    op: read,
                    role: StepRole::Attack {
                        victim: 0,
                        effect: Effect::Read,
                        vector: Vector::Path,
                        target_resource: Some(0),
                        target_step: Some(0),
                        check: Check::Ownership,
                    },
                    args: vec![id].into(),
                },
            ],
        };
        let exec = run.execute(&scenario).await;
        let found = oracle::judge(&ctx, &scenario, &exec);
        let v = found
            .into_iter()
            .find(|f| f.kind == Kind::BolaRead)
            .expect("bob read alice's note");
        assert_eq!(v.markers.len(), 2, "both of alice's markers: {v:?}");
        let bounds = Bounds {
            replays: confirmations,
            shrink_iterations: 16,
            shrink_time: std::time::Duration::from_secs(3600),
        };
        let before = notes.requests.load(Ordering::SeqCst);
        let c = confirm(&run, &ctx, &scenario, &exec, &v, &bounds).await;
        let answered = notes.requests.load(Ordering::SeqCst) - before;
        (c, v, answered)
    }

    #[tokio::test]
    async fn a_leak_is_shrunk_to_the_note_and_the_read_and_confirmed_on_every_replay() {
        let (c, v, answered) = confirmed(Notes::default(), 3).await;
        // The slice drops bob's own note; the shrink drops alice's update (her text alone
        // still shows).
        assert_eq!(c.scenario.steps.len(), 2, "{:?}", c.scenario);
        assert_eq!(c.scenario.steps[0].actor, 0);
        assert!(matches!(c.scenario.steps[0].role, StepRole::Setup { .. }));
        assert!(matches!(c.scenario.steps[1].role, StepRole::Attack { .. }));
        assert_eq!(c.scenario.steps[1].args[0].1, Expr::Created { step: 0 });
        assert_eq!((c.reproduced, c.replays), (3, 3));
        assert_eq!(c.violation.key(), v.key());
        assert_eq!(c.violation.markers.len(), 1, "only her text now");
        assert_eq!(
            c.execution.steps.len(),
            2,
            "the public control's record is not kept"
        );
        assert!(!c.public, "no answer without credentials");
        assert_eq!(c.shrink_note, None);
        // One candidate (2 requests), three replays (2 each) and the public control.
        assert_eq!(c.requests, 9);
        assert_eq!(answered, c.requests);
    }

    #[tokio::test]
    async fn a_leak_anyone_can_read_is_confirmed_as_public() {
        let notes = Notes {
            public: true,
            ..Notes::default()
        };
        let (c, _, _) = confirmed(notes, 2).await;
        assert_eq!((c.reproduced, c.replays), (2, 2));
        assert!(c.public);
    }

    #[tokio::test]
    async fn a_leak_that_does_not_come_back_is_reproduced_on_no_replay() {
        // The first read leaks; every later one is refused.
        let notes = Notes {
            leaks: Some(1),
            ..Notes::default()
        };
        let (c, v, answered) = confirmed(notes, 2).await;
        assert_eq!((c.reproduced, c.replays), (0, 2));
        assert_eq!(c.violation, v, "the violation as first seen");
        assert_eq!(c.scenario.steps.len(), 3, "the slice: nothing shrank");
        assert!(!c.public);
        assert_eq!(
            c.execution.steps[2]
                .exchange
                .as_ref()
                .and_then(|x| x.status),
            Some(403),
            "the last replay's own answer"
        );
        assert_eq!(answered, c.requests);
    }
}
