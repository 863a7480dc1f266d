//! `credential-exposure`: an identity's own secret (its password, bearer token, API key,
//! session cookie) in an answer to another identity or to no credentials at all; its private
//! contact fields (e-mail, phone) count only in an answer to no credentials, since a directory
//! of members that every signed-in user sees is a common design. The evidence names whose
//! secret, which one and where (a JSON pointer), never its value; the campaign redacts the value
//! from every recorded answer before a report sees it.

use serde_json::Value;

use super::{Context, Credential};
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Scenario, StepRole};

/// The shortest value that is taken as a marker: shorter ones appear by chance.
pub(crate) const MIN_LEN: usize = 8;

/// Whether `value` may serve as a marker: long enough, and not a word from the weak-key list
/// (`password123` in an answer proves nothing about whose it is).
pub(crate) fn usable(value: &str) -> bool {
    value.chars().count() >= MIN_LEN
        && !crate::identity::jwt::weak_secrets().any(|w| w.eq_ignore_ascii_case(value))
}

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    let anonymous = ctx.anonymous();
    for (i, step) in scenario.steps.iter().enumerate() {
        let StepRole::Attack { vector, .. } = step.role else {
            continue;
        };
        let Some(answer) = exec.steps.get(i).and_then(|r| r.exchange.as_ref()) else {
            continue;
        };
        if !answer.is_success() {
            continue;
        }
        let text = answer.response_text();
        let mine = |c: &Credential| {
            ctx.credentials
                .iter()
                .any(|m| m.owner == step.actor && m.value.expose() == c.value.expose())
        };
        let mut by_owner: std::collections::BTreeMap<usize, Vec<String>> = Default::default();
        for c in ctx.credentials {
            if c.owner == step.actor
                || (c.contact && step.actor != anonymous)
                || !usable(c.value.expose())
                || mine(c)
                || !text.contains(c.value.expose())
                || answer.request_contains(c.value.expose())
            {
                continue;
            }
            let at = answer
                .response_body
                .get()
                .and_then(|b| pointer_of(b, c.value.expose(), ""))
                .unwrap_or_else(|| "the body".into());
            by_owner
                .entry(c.owner)
                .or_default()
                .push(format!("{} at {at}", c.what));
        }
        for (owner, whats) in by_owner {
            out.push(Violation {
                kind: Kind::CredentialExposure,
                vector,
                op: step.op,
                attacker: ctx.names[step.actor].clone(),
                victim: ctx.names[owner].clone(),
                evidence: format!(
                    "the answer ({}) to {} carries {}'s {} (the value is redacted)",
                    answer.status.unwrap_or(0),
                    ctx.names[step.actor],
                    ctx.names[owner],
                    whats.join(", ")
                ),
                step: i,
                markers: Vec::new(),
                field: None,
            });
        }
    }
    out
}

/// The JSON pointer of the first string that contains `value`.
fn pointer_of(v: &Value, value: &str, at: &str) -> Option<String> {
    match v {
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            pointer_of(
                x,
                value,
                &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
            )
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(n, x)| pointer_of(x, value, &format!("{at}/{n}"))),
        Value::String(s) if s.contains(value) => Some(if at.is_empty() {
            "/".into()
        } else {
            at.to_string()
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_common_values_are_no_markers() {
        assert!(!usable("x"));
        assert!(!usable("hunter2"));
        assert!(!usable("password123"), "a word from the list");
        assert!(usable("alice-Very-Own-Pw-42"));
    }
}
