//! `bola-write`: after the attacker writes to (or creates under) the victim's resource, the
//! victim's own read-back shows the attacker's marker. A write the server ignored shows nothing.

use super::evidence::written;
use super::{Context, attacks};
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Effect, Scenario};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, attacker, victim, effect, vector, _) in attacks(scenario) {
        if attacker == ctx.anonymous()
            || !matches!(effect, Effect::Write | Effect::Create | Effect::Action)
        {
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
