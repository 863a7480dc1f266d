//! `mass-assignment`: a request sets a field its caller must not set, and a read-back shows the
//! server honoured it. Two forms:
//! - an owner or tenant id set to another tenant's: the victim's own list shows the attacker's
//!   object (its marker);
//! - a privilege field of the caller's own object: its read-back follows the injected values
//!   (each value of its enum, a flag's `true`, the declared roles), then the original set back,
//!   which rules out coincidence;
//! - a throwaway account registered with a privilege field reads itself with it, where one
//!   registered without it does not, or is answered where that one is refused.

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
        // The original value set back must be among them: a change never undone proves as
        // much but leaves the caller changed, so shrinking may not drop the restoration.
        let original = honoured.first().map(|(_, before)| before);
        if distinct.len() < 2 || !original.is_some_and(|o| honoured.iter().any(|(v, _)| v == o)) {
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

/// A throwaway account registered with `field` (a JSON pointer into its own answer about
/// itself) set to `value`, judged against one registered without it: the evidence when the
/// first reads itself with the value and the second does not, or when an operation the
/// second is refused (401, 403) answers the first. `plain` and `probed` are the two
/// accounts' answers to the same reads, the first the one about itself. An answer to the
/// registration that only echoes the field is no evidence: only what the account reads
/// afterwards is.
pub(crate) fn registered_privilege(
    field: &str,
    value: &Value,
    plain: &[crate::exchange::Exchange],
    probed: &[crate::exchange::Exchange],
) -> Option<String> {
    let (Some(me_plain), Some(me_probed)) = (plain.first(), probed.first()) else {
        return None;
    };
    if !me_plain.is_success() || !me_probed.is_success() {
        return None;
    }
    let shown = |x: &crate::exchange::Exchange| x.response_body.get()?.pointer(field).cloned();
    let before = shown(me_plain);
    if before.as_ref() == Some(value) {
        // Every new account has it: by design, not assigned.
        return None;
    }
    if shown(me_probed).as_ref() == Some(value) {
        let had = before.map_or("nothing".to_string(), |v| v.to_string());
        return Some(format!(
            "a new account registered with {field} = {value} reads itself with {field} = {value}; one registered without it reads {had}"
        ));
    }
    for (p, q) in plain.iter().zip(probed).skip(1) {
        if matches!(p.status, Some(401 | 403)) && q.is_success() {
            let url = &q.url;
            return Some(format!(
                "a new account registered with {field} = {value} is answered {} by GET {url}, which refuses one registered without it ({})",
                q.status.unwrap_or(0),
                p.status.unwrap_or(0)
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{Body, Exchange};

    fn answer(status: u16, body: Value) -> Exchange {
        Exchange {
            method: "GET".into(),
            url: "http://x/me".into(),
            request_headers: Vec::new(),
            request_body: None,
            status: Some(status),
            response_headers: Vec::new(),
            response_body: Body::from(body),
            error: None,
            duration_ms: 0,
        }
    }

    #[test]
    fn a_registered_privilege_counts_only_when_the_account_then_has_it() {
        let plain = [
            answer(
                200,
                serde_json::json!({"role": "member", "is_admin": false}),
            ),
            answer(403, serde_json::json!({"error": "admins only"})),
        ];
        let owner = [
            answer(200, serde_json::json!({"role": "owner", "is_admin": false})),
            answer(403, serde_json::json!({"error": "admins only"})),
        ];
        let role = serde_json::json!("owner");
        assert!(registered_privilege("/role", &role, &plain, &owner).is_some());
        // Ignored: the new account reads itself as the plain one does.
        assert_eq!(registered_privilege("/role", &role, &plain, &plain), None);
        // Every new account has it by design.
        assert_eq!(registered_privilege("/role", &role, &owner, &owner), None);
        // Not shown, but an operation the plain account is refused now answers.
        let admin = [
            answer(200, serde_json::json!({"role": "member"})),
            answer(200, serde_json::json!({"users": 3})),
        ];
        let flag = serde_json::json!(true);
        let found = registered_privilege("/is_admin", &flag, &plain, &admin);
        assert!(found.is_some_and(|e| e.contains("refuses")));
    }
}
