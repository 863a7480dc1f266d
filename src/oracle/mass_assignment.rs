//! `mass-assignment`: a request sets a field its caller must not set, and a read-back shows the
//! server honoured it. Two forms:
//! - an owner or tenant id set to another tenant's: the victim's own list shows the attacker's
//!   object (its marker);
//! - a privilege field of the caller's own object: its read-back follows two different injected
//!   values (the privileged one, then the original), which rules out coincidence.

use serde_json::Value;

use super::Context;
use super::evidence::{list, read_back, written};
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Check, Phase, Scenario, StepRole};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut judged_own: Vec<(usize, String)> = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let StepRole::Attack {
            victim,
            vector,
            check: Check::Assign { field, own },
            ..
        } = &step.role
        else {
            continue;
        };
        let attacker = step.actor;
        if attacker == ctx.anonymous() {
            continue;
        }
        if !own {
            let Some((found, why)) = written(ctx.markers, scenario, exec, i, attacker) else {
                continue;
            };
            out.push(Violation {
                kind: Kind::MassAssignment,
                vector: *vector,
                op: step.op,
                attacker: ctx.names[attacker].clone(),
                victim: ctx.names[*victim].clone(),
                evidence: format!(
                    "the attacker set the field {field}, which it must not set, to the victim's id; {why}: {}",
                    list(&found)
                ),
                step: i,
                markers: found,
                field: None,
            });
            continue;
        }
        if judged_own.contains(&(step.op, field.clone())) {
            continue;
        }
        judged_own.push((step.op, field.clone()));
        let honoured = honoured_values(scenario, exec, step.op, field, attacker);
        let mut distinct: Vec<&Value> = Vec::new();
        for (v, _) in &honoured {
            if !distinct.contains(&v) {
                distinct.push(v);
            }
        }
        if distinct.len() < 2 {
            continue;
        }
        let shown: Vec<String> = honoured
            .iter()
            .map(|(v, before)| format!("{before} -> {v}"))
            .collect();
        out.push(Violation {
            kind: Kind::MassAssignment,
            vector: *vector,
            op: step.op,
            attacker: ctx.names[attacker].clone(),
            victim: ctx.names[*victim].clone(),
            evidence: format!(
                "the caller set the field {field}, which it must not set, and its own read-back followed each value it injected ({})",
                shown.join(", ")
            ),
            step: i,
            markers: Vec::new(),
            field: Some(field.clone()),
        });
    }
    out
}

/// The values injected into `field` by the caller's own-object attacks on `op` that its
/// read-back then showed, each with the value shown before.
fn honoured_values(
    scenario: &Scenario,
    exec: &Execution,
    op: usize,
    field: &str,
    attacker: usize,
) -> Vec<(Value, Value)> {
    let mut out = Vec::new();
    let mut last_read: Option<Value> = None;
    for (i, step) in scenario.steps.iter().enumerate() {
        let Some(x) = exec.steps.get(i).and_then(|r| r.exchange.as_ref()) else {
            continue;
        };
        match &step.role {
            StepRole::ReadBack { .. } if step.actor == attacker && x.is_success() => {
                if let Some(v) = x.response_body.get().and_then(|b| b.pointer(field)) {
                    last_read = Some(v.clone());
                }
            }
            StepRole::Attack {
                check:
                    Check::Assign {
                        field: f,
                        own: true,
                    },
                ..
            } if step.op == op && f == field => {
                let sent = x
                    .request_body
                    .as_ref()
                    .and_then(|b| b.pointer(field))
                    .cloned();
                let after = read_back(scenario, exec, i, Phase::After)
                    .filter(|(_, r)| r.is_success())
                    .and_then(|(_, r)| r.response_body.get()?.pointer(field).cloned());
                if let (Some(sent), Some(before), Some(after)) = (sent, last_read.clone(), after) {
                    if before != sent && after == sent {
                        out.push((sent, before));
                    }
                }
            }
            _ => {}
        }
    }
    out
}
