//! `token-forgery`: a forged or tampered bearer token was believed. A token made out for the
//! victim (`alg: none`, an unverified subject, a guessed key) read the victim's data, which the
//! attacker's own token did not; or the caller's own token, tampered with (cut, changed,
//! stripped of its signature, expired), still read its own data, which no credentials did not.
//! The evidence is the victim's marker; the forged token itself is never in it, only its recipe.

use super::Context;
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Check, Scenario, StepRole};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let StepRole::Attack {
            victim,
            vector,
            check: Check::Token { forgery, control },
            ..
        } = step.role
        else {
            continue;
        };
        let record = |n: usize| exec.steps.get(n).and_then(|r| r.exchange.as_ref());
        let (Some(forged), Some(unforged)) = (record(i), record(control)) else {
            continue;
        };
        if !forged.is_success() || unforged.is_unjudgeable() {
            continue;
        }
        let found = super::evidence::leaked(ctx.markers, exec, forged, victim);
        if found.is_empty()
            || !super::evidence::leaked(ctx.markers, exec, unforged, victim).is_empty()
        {
            continue;
        }
        let who = &ctx.names[scenario.steps[control].actor];
        let without = if forgery.is_own() {
            format!("the same request without credentials ({who}) answered")
        } else {
            format!("{who}'s own token answered")
        };
        out.push(Violation {
            kind: Kind::TokenForgery,
            vector,
            op: step.op,
            attacker: ctx.names[step.actor].clone(),
            victim: ctx.names[victim].clone(),
            evidence: format!(
                "a forged token ({}) answered {} with {}'s data ({}); {without} {} without it",
                forgery.recipe(&ctx.names[victim]),
                forged.status.unwrap_or(0),
                ctx.names[victim],
                super::evidence::list(&found),
                unforged.status.unwrap_or(0),
            ),
            step: i,
            markers: found,
            field: None,
        });
    }
    out
}
