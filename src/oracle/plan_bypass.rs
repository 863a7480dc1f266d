//! `plan-bypass`: an identity on a plan the policy denies an operation (a paid feature on a free
//! plan) gets its effect: the feature's data in the answer, or a change its own read-back sees.

use super::Context;
use super::evidence::gated;
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Check, Scenario, StepRole};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let StepRole::Attack {
            victim,
            vector,
            check: Check::Gate { plan: true, .. },
            ..
        } = step.role
        else {
            continue;
        };
        let Some((markers, why)) = gated(ctx.markers, scenario, exec, i) else {
            continue;
        };
        out.push(Violation {
            kind: Kind::PlanBypass,
            vector,
            op: step.op,
            attacker: ctx.names[step.actor].clone(),
            victim: ctx.names[victim].clone(),
            evidence: format!("the policy allows this operation only to other plans; {why}"),
            step: i,
            markers,
            field: None,
        });
    }
    out
}
