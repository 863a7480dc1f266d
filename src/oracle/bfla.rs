//! `bfla`: an identity whose role the policy denies an operation gets its effect: another
//! tenant's data in the answer (compared with what the victim's and the caller's own lists
//! show), or a change its own read-back sees. The permitted role's call is the positive control.

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
            check: Check::Gate { plan: false, .. },
            ..
        } = step.role
        else {
            continue;
        };
        let Some((markers, why)) = gated(ctx.markers, scenario, exec, i) else {
            continue;
        };
        out.push(Violation {
            kind: Kind::Bfla,
            vector,
            op: step.op,
            attacker: ctx.names[step.actor].clone(),
            victim: ctx.names[victim].clone(),
            evidence: format!("the policy allows this operation only to other roles; {why}"),
            step: i,
            markers,
            field: None,
        });
    }
    out
}
