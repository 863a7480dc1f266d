//! The loops more than one check runs, so that checks which differ only in what they select and
//! how they word the evidence cannot drift apart in how they judge: the gate checks (`bfla`,
//! `plan-bypass`) and the marker leaks of ownership attacks (`bola-read`, `list-leak`). Each check
//! keeps its own file with its selection, its kind and its sentence.

use super::evidence::{gated, leaked, list};
use super::{Context, attacks};
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Check, Effect, Scenario, StepRole};

/// Every attack step with a gate check on `plan` (`false`: a role gate, `true`: a plan gate) whose
/// denied call had its effect, as a `kind` violation. `others` names whom the policy allows
/// instead ("roles", "plans").
pub(crate) fn gates(
    ctx: &Context<'_>,
    scenario: &Scenario,
    exec: &Execution,
    plan: bool,
    kind: Kind,
    others: &str,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let StepRole::Attack {
            victim,
            vector,
            check: Check::Gate { plan: p, .. },
            ..
        } = step.role
        else {
            continue;
        };
        if p != plan {
            continue;
        }
        let Some((markers, why)) = gated(ctx.markers, scenario, exec, i) else {
            continue;
        };
        out.push(Violation {
            kind,
            vector,
            op: step.op,
            attacker: ctx.names[step.actor].clone(),
            victim: ctx.names[victim].clone(),
            evidence: format!("the policy allows this operation only to other {others}; {why}"),
            step: i,
            markers,
            field: None,
        });
    }
    out
}

/// What a marker leak's sentence is made of.
pub(crate) struct Leak<'a> {
    pub attacker: &'a str,
    pub victim: &'a str,
    /// The status of the attack's answer (0 for none).
    pub status: u16,
    /// The leaked markers, listed for a sentence.
    pub markers: String,
}

/// Every ownership attack by an authenticated identity (on any operation, public by the spec or
/// not), that `select` picks by (effect, whether it names a victim's resource), and whose answer shows the
/// victim's markers that the attacker never sent, as a `kind` violation worded by `evidence`.
pub(crate) fn leaks(
    ctx: &Context<'_>,
    scenario: &Scenario,
    exec: &Execution,
    kind: Kind,
    select: impl Fn(Effect, bool) -> bool,
    evidence: impl Fn(&Leak<'_>) -> String,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, attacker, victim, effect, vector, targeted) in attacks(scenario) {
        if attacker == ctx.anonymous() || !select(effect, targeted) {
            continue;
        }
        // An operation the spec calls public is judged too: the spec's security is a claim, and
        // many specs document none at all. Data anyone can read is dropped at confirmation,
        // whose last replay sends the attack without credentials.
        let op = scenario.steps[i].op;
        let Some(exchange) = exec.steps.get(i).and_then(|r| r.exchange.as_ref()) else {
            continue;
        };
        let found = leaked(ctx.markers, exec, exchange, victim);
        if found.is_empty() {
            continue;
        }
        out.push(Violation {
            kind,
            vector,
            op,
            attacker: ctx.names[attacker].clone(),
            victim: ctx.names[victim].clone(),
            evidence: evidence(&Leak {
                attacker: &ctx.names[attacker],
                victim: &ctx.names[victim],
                status: exchange.status.unwrap_or(0),
                markers: list(&found),
            }),
            step: i,
            markers: found,
            field: None,
        });
    }
    out
}
