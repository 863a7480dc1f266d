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
    pub confirmations: u32,
    pub shrink_iterations: u32,
    pub shrink_time: std::time::Duration,
}

/// Whether the target disturbed an execution: a step could not run, or an answer cannot be
/// judged (no answer, 5xx, 429, a body cut short).
fn disturbed(exec: &Execution) -> bool {
    exec.steps
        .iter()
        .any(|s| s.skipped.is_some() || s.exchange.as_ref().is_some_and(|x| x.is_unjudgeable()))
}

fn sent(exec: &Execution) -> u64 {
    exec.steps.iter().filter(|s| s.exchange.is_some()).count() as u64
}

/// The steps the evidence of `v` stands on: the attack, its read-backs, where its markers came
/// from, and everything those depend on.
pub(crate) fn slice(scenario: &Scenario, exec: &Execution, v: &Violation) -> Scenario {
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
    scenario.retain(&keep).unwrap_or_else(|| scenario.clone())
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

pub(crate) async fn confirm(
    run: &crate::exec::Runtime<'_>,
    ctx: &Context<'_>,
    scenario: &Scenario,
    exec: &Execution,
    v: &Violation,
    bounds: &Bounds,
) -> Confirmed {
    let started = Instant::now();
    let mut requests = 0;
    let mut current = slice(scenario, exec, v);
    let mut shrink_note = None;
    // Deletion pass: drop any single step the evidence survives without.
    let mut iterations = 0;
    let mut i = 0;
    while i < current.steps.len() {
        if matches!(current.steps[i].role, StepRole::Attack { .. }) {
            i += 1;
            continue;
        }
        if iterations >= bounds.shrink_iterations || started.elapsed() >= bounds.shrink_time {
            shrink_note = Some(format!(
                "shrinking stopped at its bound after {iterations} candidates; raise campaign.shrink_iterations or campaign.shrink_seconds"
            ));
            break;
        }
        let keep: Vec<usize> = (0..current.steps.len()).filter(|k| *k != i).collect();
        let Some(candidate) = current.retain(&keep) else {
            i += 1;
            continue;
        };
        iterations += 1;
        let e = run.execute(&candidate).await;
        requests += sent(&e);
        if matching(oracle::judge(ctx, &candidate, &e), v).is_some() {
            current = candidate;
        } else {
            i += 1;
        }
    }
    let attack = current
        .steps
        .iter()
        .position(|s| matches!(s.role, StepRole::Attack { .. }) && s.op == v.op)
        .unwrap_or(0);
    let leak = matches!(
        v.kind,
        crate::finding::Kind::BolaRead | crate::finding::Kind::ListLeak
    );
    let mut reproduced = 0;
    let mut last: Option<(Execution, Violation)> = None;
    let mut last_exec = None;
    let mut public = false;
    // A replay disturbed by the target (an answer that cannot be judged, a step that could not
    // run) that did not reproduce proves nothing either way: it is run again, a bounded number
    // of times, instead of counting against the finding.
    let mut replay = 0;
    let mut reruns = 0;
    while replay < bounds.confirmations {
        let is_last = replay + 1 == bounds.confirmations;
        let runnable = if leak && is_last {
            with_public_control(&current, attack, ctx.anonymous())
        } else {
            current.clone()
        };
        let mut e = run.execute(&runnable).await;
        requests += sent(&e);
        let mut control_judged = true;
        if runnable.steps.len() > current.steps.len() {
            let control = e.steps.pop();
            match control.and_then(|c| c.exchange) {
                Some(ex) if !ex.is_unjudgeable() => {
                    let victim = ctx.names.iter().position(|n| *n == v.victim).unwrap_or(0);
                    public = !oracle::leaked_markers(ctx, &e, &ex, victim).is_empty();
                }
                _ => control_judged = false,
            }
        }
        match matching(oracle::judge(ctx, &current, &e), v) {
            Some(found) if control_judged => {
                reproduced += 1;
                replay += 1;
                last = Some((e, found));
            }
            found => {
                if (disturbed(&e) || !control_judged) && reruns < bounds.confirmations * 3 {
                    reruns += 1;
                    continue;
                }
                replay += 1;
                match found {
                    Some(f) => {
                        reproduced += 1;
                        last = Some((e, f));
                    }
                    None => last_exec = Some(e),
                }
            }
        }
    }
    let (execution, violation) = match last {
        Some(pair) => pair,
        None => (last_exec.unwrap_or_default(), v.clone()),
    };
    Confirmed {
        scenario: current,
        execution,
        violation,
        reproduced,
        replays: bounds.confirmations,
        requests,
        shrink_note,
        public,
    }
}
