//! `list-leak`: a list or search the attacker runs over its own scope (no victim id anywhere in
//! the request) comes back with the victim's marker. Public operations are never judged.

use super::evidence::{leaked, list};
use super::{Context, attacks};
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Effect, Scenario};
use crate::spec::Security;

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, attacker, victim, effect, vector, targeted) in attacks(scenario) {
        if attacker == ctx.anonymous() || targeted || effect != Effect::Read {
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
            kind: Kind::ListLeak,
            vector,
            op,
            attacker: ctx.names[attacker].clone(),
            victim: ctx.names[victim].clone(),
            evidence: format!(
                "{}'s list/search over its own scope (status {}) returns {}'s marker {}",
                ctx.names[attacker],
                exchange.status.unwrap_or(0),
                ctx.names[victim],
                list(&found),
            ),
            step: i,
            markers: found,
            field: None,
        });
    }
    out
}
