//! Account probes (`Check::Account`): another user's account changed or deleted through an
//! operation keyed by that user, judged the way the user would notice:
//! - a deletion (`bola-delete`): its own answer about itself worked before and is refused after
//!   (401, 403, 404, 410), or its password no longer logs in;
//! - a password change (`bola-write`): its password no longer logs in after the attacker sent
//!   a new one;
//! - any other change (`bola-write`): its own answer about itself shows a value the attacker
//!   sent (a marker, or a field such as `role` now holding the attacker's value and not before).
//!
//! Both accounts are fresh ones, so an API that changes the caller's own account when given
//! another's name changes the attacker's, and the victim's answers show nothing: no finding.

use serde_json::Value;

use super::Context;
use super::evidence::read_back;
use crate::exchange::{Exchange, Execution};
use crate::finding::{Kind, Violation};
use crate::scenario::{Check, Effect, Phase, Scenario, StepRole};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let StepRole::Attack {
            victim,
            effect,
            vector,
            check: Check::Account,
            ..
        } = step.role
        else {
            continue;
        };
        let Some(attack) = exec.steps.get(i).and_then(|r| r.exchange.as_ref()) else {
            continue;
        };
        if attack.status.is_none() {
            continue;
        }
        let Some((_, before)) = read_back(scenario, exec, i, Phase::Before) else {
            continue;
        };
        let Some((_, after)) = read_back(scenario, exec, i, Phase::After) else {
            continue;
        };
        if !before.is_success() || after.is_unjudgeable() {
            continue;
        }
        let relogin = relogin(scenario, exec, i);
        let refused = relogin.filter(|r| r.error.is_some() && r.status.is_some_and(|s| s < 500));
        let login_gone = refused.map(|r| {
            format!(
                "its password no longer logs in ({} answered {})",
                r.url,
                r.status.unwrap_or(0)
            )
        });
        let why = match effect {
            Effect::Delete => {
                let status = after.status.unwrap_or(0);
                let gone = matches!(status, 401 | 403 | 404 | 410).then(|| {
                    format!(
                        "its own answer about itself was {} before and {status} after",
                        before.status.unwrap_or(0)
                    )
                });
                let why = match (gone, login_gone) {
                    (Some(a), Some(b)) => Some(format!("{a}, and {b}")),
                    (Some(a), None) | (None, Some(a)) => Some(a),
                    (None, None) => None,
                };
                why.map(|why| {
                    (
                        Kind::BolaDelete,
                        Change {
                            why,
                            field: Some("account".into()),
                            markers: Vec::new(),
                        },
                    )
                })
            }
            _ => {
                let password = attack_fields(attack)
                    .iter()
                    .any(|(k, _)| crate::scenario::is_password_field(k));
                match login_gone.filter(|_| password) {
                    Some(b) => Some((
                        Kind::BolaWrite,
                        Change {
                            why: format!("the attacker sent a new password, and {b}"),
                            field: Some("password".into()),
                            markers: Vec::new(),
                        },
                    )),
                    None => changed(ctx, exec, i, step.actor, attack, before, after)
                        .map(|c| (Kind::BolaWrite, c)),
                }
            }
        };
        let Some((kind, change)) = why else {
            continue;
        };
        out.push(Violation {
            kind,
            vector,
            op: step.op,
            attacker: ctx.names[step.actor].clone(),
            victim: ctx.names[victim].clone(),
            evidence: format!(
                "{}'s account (a fresh one, registered for this probe): {}",
                ctx.names[victim], change.why
            ),
            step: i,
            markers: change.markers,
            field: change.field,
        });
    }
    out
}

/// The login check after attack `attack`, if it ran.
fn relogin<'e>(scenario: &Scenario, exec: &'e Execution, attack: usize) -> Option<&'e Exchange> {
    scenario
        .steps
        .iter()
        .enumerate()
        .find_map(|(k, s)| match s.role {
            StepRole::Relogin { attack: a } if a == attack => exec.steps.get(k)?.exchange.as_ref(),
            _ => None,
        })
}

/// The top-level fields of the attack's JSON body (and one level down: `{user: {...}}`).
fn attack_fields(attack: &Exchange) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Some(Value::Object(map)) = &attack.request_body {
        for (k, v) in map {
            if let Value::Object(inner) = v {
                out.extend(inner.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            out.push((k.clone(), v.clone()));
        }
    }
    out
}

/// The value of field `key` in an answer about the caller: at its top, or one level down
/// (`{user: {...}}`, `{data: {...}}`).
fn field<'v>(answer: &'v Value, key: &str) -> Option<(String, &'v Value)> {
    let map = answer.as_object()?;
    let escaped = crate::spec::escape(key);
    if let Some(v) = map.get(key) {
        return Some((format!("/{escaped}"), v));
    }
    map.iter().find_map(|(k, v)| {
        let inner = v.as_object()?.get(key)?;
        Some((format!("/{}/{escaped}", crate::spec::escape(k)), inner))
    })
}

/// A change the victim's own answer shows: why, the field (its pointer in the answer) or the
/// markers.
struct Change {
    why: String,
    field: Option<String>,
    markers: Vec<String>,
}

/// What of the attacker's request the victim's own answer about itself shows after and not
/// before: the attacker's markers, or a field now holding the value the attacker sent.
fn changed(
    ctx: &Context<'_>,
    exec: &Execution,
    attack: usize,
    attacker: usize,
    sent: &Exchange,
    before: &Exchange,
    after: &Exchange,
) -> Option<Change> {
    if !after.is_success() {
        return None;
    }
    let record = exec.steps.get(attack)?;
    let markers: Vec<&String> = record
        .sent_markers
        .iter()
        .filter(|m| {
            ctx.markers
                .find_all(m)
                .first()
                .is_some_and(|(_, owner)| *owner == attacker)
        })
        .filter(|m| {
            after.response_text().contains(m.as_str())
                && !before.response_text().contains(m.as_str())
        })
        .collect();
    if !markers.is_empty() {
        let list: Vec<String> = markers.into_iter().cloned().collect();
        let why = format!(
            "its own answer about itself shows the attacker's {}",
            super::evidence::list(&list)
        );
        return Some(Change {
            why,
            field: None,
            markers: list,
        });
    }
    let (Some(b), Some(a)) = (before.response_body.get(), after.response_body.get()) else {
        return None;
    };
    for (key, value) in attack_fields(sent) {
        if value.is_object() || value.is_array() || value.is_null() {
            continue;
        }
        let (Some((_, was)), Some((pointer, now))) = (field(b, &key), field(a, &key)) else {
            continue;
        };
        if *now == value && *was != value {
            let why = format!(
                "its own answer about itself shows {key} = {} (it was {}) after the attacker's request",
                crate::exchange::value_text(now),
                crate::exchange::value_text(was)
            );
            return Some(Change {
                why,
                field: Some(pointer),
                markers: Vec::new(),
            });
        }
    }
    None
}
