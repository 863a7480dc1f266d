//! `bola-read`: an authenticated attacker's request that names a victim's resource comes back
//! with the victim's marker in it. Public operations are never judged.

use super::evidence::{leaked, list};
use super::{Context, attacks};
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Effect, Scenario};
use crate::spec::Security;

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, attacker, victim, effect, vector, targeted) in attacks(scenario) {
        if attacker == ctx.anonymous()
            || !targeted
            || !matches!(effect, Effect::Read | Effect::Action | Effect::Create)
        {
            continue;
        }
        let op = scenario.steps[i].op;
        if ctx.api.operations[op].security == Security::Public {
            continue;
        }
        let Some(exchange) = exec.steps.get(i).and_then(|r| r.exchange.as_ref()) else {
            continue;
        };
        let found = leaked(ctx.markers, exec, exchange, victim);
        if found.is_empty() {
            continue;
        }
        out.push(Violation {
            kind: Kind::BolaRead,
            vector,
            op,
            attacker: ctx.names[attacker].clone(),
            victim: ctx.names[victim].clone(),
            evidence: format!(
                "{}'s response (status {}) contains {}'s marker {}, which {} never sent",
                ctx.names[attacker],
                exchange.status.unwrap_or(0),
                ctx.names[victim],
                list(&found),
                ctx.names[attacker],
            ),
            step: i,
            markers: found,
            field: None,
        });
    }
    out
}
