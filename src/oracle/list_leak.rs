//! `list-leak`: a list or search the attacker runs over its own scope (no victim id anywhere in
//! the request) comes back with the victim's marker. Public operations are never judged.

use super::Context;
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Effect, Scenario};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    super::sweep::leaks(
        ctx,
        scenario,
        exec,
        Kind::ListLeak,
        |effect, targeted| !targeted && effect == Effect::Read,
        |l| {
            format!(
                "{}'s list/search over its own scope (status {}) returns {}'s marker {}",
                l.attacker, l.status, l.victim, l.markers,
            )
        },
    )
}
