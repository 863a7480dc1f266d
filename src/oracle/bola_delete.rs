//! `bola-delete`: after the attacker's delete, the victim's own read-back no longer shows an
//! object it showed just before. A delete the server ignored (204 and nothing gone) is no finding.

use super::evidence::deleted;
use super::{Context, attacks};
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Effect, Scenario};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, attacker, victim, effect, vector, _) in attacks(scenario) {
        if attacker == ctx.anonymous() || effect != Effect::Delete {
            continue;
        }
        let Some((found, why)) = deleted(ctx.markers, scenario, exec, i, victim) else {
            continue;
        };
        out.push(Violation {
            kind: Kind::BolaDelete,
            vector,
            op: scenario.steps[i].op,
            attacker: ctx.names[attacker].clone(),
            victim: ctx.names[victim].clone(),
            evidence: why,
            step: i,
            markers: found,
            field: None,
        });
    }
    out
}
