//! `use-after-delete` (low severity): the owner deleted a resource (the delete answered 2xx and
//! its read before showed the resource), and a read afterwards still shows it.

use super::Context;
use super::evidence::list;
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Check, Phase, Scenario, StepRole};
use crate::spec::Method;

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let StepRole::Attack {
            victim,
            vector,
            target_step: Some(target),
            check: Check::AfterDelete,
            ..
        } = step.role
        else {
            continue;
        };
        let record = |n: usize| exec.steps.get(n).and_then(|r| r.exchange.as_ref());
        let before: Vec<usize> = scenario
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                matches!(s.role, StepRole::ReadBack { attack, phase: Phase::Before } if attack == i)
            })
            .map(|(n, _)| n)
            .collect();
        let delete = before
            .iter()
            .find(|n| ctx.api.operations[scenario.steps[**n].op].method == Method::Delete);
        let read = before
            .iter()
            .find(|n| ctx.api.operations[scenario.steps[**n].op].method == Method::Get);
        let (Some(delete), Some(read)) = (delete, read) else {
            continue;
        };
        let (Some(deleted), Some(shown), Some(after)) = (record(*delete), record(*read), record(i))
        else {
            continue;
        };
        if !deleted.is_success() || !shown.is_success() || !after.is_success() {
            continue;
        }
        let own: Vec<String> = exec
            .steps
            .get(target)
            .map(|r| r.sent_markers.clone())
            .unwrap_or_default();
        let (shown_text, after_text) = (shown.response_text(), after.response_text());
        let still: Vec<String> = own
            .into_iter()
            .filter(|m| shown_text.contains(m.as_str()) && after_text.contains(m.as_str()))
            .collect();
        if still.is_empty() {
            continue;
        }
        out.push(Violation {
            kind: Kind::UseAfterDelete,
            vector,
            op: step.op,
            attacker: ctx.names[step.actor].clone(),
            victim: ctx.names[victim].clone(),
            evidence: format!(
                "the owner's delete answered {}, yet a read afterwards answered {} with the deleted object ({})",
                deleted.status.unwrap_or(0),
                after.status.unwrap_or(0),
                list(&still)
            ),
            step: i,
            markers: still,
            field: None,
        });
    }
    out
}
