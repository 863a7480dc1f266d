//! `bola-read`: an authenticated attacker's request that names a victim's resource comes back
//! with the victim's marker in it. Public operations are never judged.
//!
//! Write answers are evidence too (#22, shape 8): an update or delete of the victim's object
//! answered with that object (markers the attacker never sent) is a read leak, when the write
//! itself had no effect the victim can see (refused, or ignored). One that had is `bola-write`'s
//! or `bola-delete`'s, and not reported twice.

use super::Context;
use super::evidence::{deleted, written};
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Effect, Scenario, StepRole};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = super::sweep::leaks(
        ctx,
        scenario,
        exec,
        Kind::BolaRead,
        |effect, targeted| {
            targeted && matches!(effect, Effect::Read | Effect::Action | Effect::Create)
        },
        |l| {
            format!(
                "{}'s response (status {}) contains {}'s marker {}, which {} never sent",
                l.attacker, l.status, l.victim, l.markers, l.attacker,
            )
        },
    );
    let writes = super::sweep::leaks(
        ctx,
        scenario,
        exec,
        Kind::BolaRead,
        |effect, targeted| targeted && matches!(effect, Effect::Write | Effect::Delete),
        |l| {
            format!(
                "{}'s write was answered (status {}) with {}'s object: its marker {}, which {} \
                 never sent",
                l.attacker, l.status, l.victim, l.markers, l.attacker,
            )
        },
    );
    out.extend(
        writes
            .into_iter()
            .filter(|v| without_effect(ctx, scenario, exec, v.step)),
    );
    out
}

/// Whether the write or delete at `step` had no effect the victim can see.
fn without_effect(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution, step: usize) -> bool {
    let s = &scenario.steps[step];
    match s.role {
        StepRole::Attack {
            effect: Effect::Delete,
            victim,
            ..
        } => deleted(ctx.markers, scenario, exec, step, victim).is_none(),
        _ => written(ctx.markers, scenario, exec, step, s.actor).is_none(),
    }
}
