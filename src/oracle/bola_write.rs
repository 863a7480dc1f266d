//! `bola-write`: after the attacker writes to (or creates under) the victim's resource, the
//! victim's own read-back shows the attacker's marker. A write the server ignored shows nothing.
//!
//! A create or action that names no resource of the victim's is never one: what the attacker
//! created is its own, even when it then shows in a list the victim reads (a list that shows
//! every tenant's objects is a list leak, and `list-leak` reports it as one).

use super::evidence::written;
use super::{Context, attacks};
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Effect, Scenario};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, attacker, victim, effect, vector, targeted) in attacks(scenario) {
        let judged = match effect {
            Effect::Write => true,
            Effect::Create | Effect::Action => targeted,
            Effect::Read | Effect::Delete => false,
        };
        if attacker == ctx.anonymous() || !judged {
            continue;
        }
        let Some((found, why)) = written(ctx.markers, scenario, exec, i, attacker) else {
            continue;
        };
        out.push(Violation {
            kind: Kind::BolaWrite,
            vector,
            op: scenario.steps[i].op,
            attacker: ctx.names[attacker].clone(),
            victim: ctx.names[victim].clone(),
            evidence: format!("{why}: {}", super::evidence::list(&found)),
            step: i,
            markers: found,
            field: None,
        });
    }
    out
}
