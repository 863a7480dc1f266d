//! `bola-read`: an authenticated attacker's request that names a victim's resource comes back
//! with the victim's marker in it. Public operations are never judged.

use super::Context;
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Effect, Scenario};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    super::sweep::leaks(
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
    )
}
