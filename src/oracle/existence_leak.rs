//! `existence-leak` (low severity, off by default): the same identity asks for a foreign id and
//! for an id of the same shape that does not exist, and gets two different refusals (403 and
//! 404): an attacker can tell which ids exist. The owner's own read of the id is the control that
//! it exists.

use super::Context;
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Check, Phase, Scenario, StepRole};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let StepRole::Attack {
            victim,
            vector,
            check: Check::Existence { control },
            ..
        } = step.role
        else {
            continue;
        };
        let record = |n: usize| exec.steps.get(n).and_then(|r| r.exchange.as_ref());
        let owner = scenario.steps.iter().enumerate().find(|(n, s)| {
            *n != control
                && s.actor == victim
                && matches!(s.role, StepRole::ReadBack { attack, phase: Phase::Before } if attack == i)
        });
        let Some((owner, _)) = owner else { continue };
        let (Some(own), Some(absent), Some(foreign)) = (record(owner), record(control), record(i))
        else {
            continue;
        };
        let refused = |s: Option<u16>| s.is_some_and(|s| (400..500).contains(&s) && s != 429);
        if !own.is_success() || !refused(absent.status) || !refused(foreign.status) {
            continue;
        }
        if absent.status == foreign.status {
            continue;
        }
        out.push(Violation {
            kind: Kind::ExistenceLeak,
            vector,
            op: step.op,
            attacker: ctx.names[step.actor].clone(),
            victim: ctx.names[victim].clone(),
            evidence: format!(
                "another tenant's existing id answered {}, an id of the same shape that does not exist answered {}",
                foreign.status.unwrap_or(0),
                absent.status.unwrap_or(0)
            ),
            step: i,
            markers: Vec::new(),
            field: None,
        });
    }
    out
}
