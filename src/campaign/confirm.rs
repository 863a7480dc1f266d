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
        if let StepRole::ReadBack { attack, .. } = s.role {
            if attacks.contains(&attack) && !reads {
                roots.push(i);
            }
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
/// control made read-backs of `attack` instead; `None` when `attack` is no later forgery.
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
    for step in s.steps.iter_mut().take(first) {
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

fn matching(found: Vec<Violation>, v: &Violation) -> Option<Violation> {
    found.into_iter().find(|f| f.key() == v.key())
}

/// The attack step of a sliced scenario (the only one whose key matches).
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
