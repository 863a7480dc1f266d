//! `unauthenticated`: with no credentials at all, a request returns the victim's marker, or makes
//! a change (write, create, delete) the victim sees. The spec's security is a claim, not the
//! verdict: operations it calls public are judged too (Kinto's declares no security at all), and
//! what anonymous callers may see by design is measured by the campaign (public by behaviour:
//! anyone reads it by id and in its list), which then reports no finding.

use super::evidence::{deleted, leaked, list, written};
use super::{Context, attacks};
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::{Effect, Scenario};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    let anon = ctx.anonymous();
    for (i, attacker, victim, effect, vector, _) in attacks(scenario) {
        let op = scenario.steps[i].op;
        if attacker != anon {
            continue;
        }
        let Some(exchange) = exec.steps.get(i).and_then(|r| r.exchange.as_ref()) else {
            continue;
        };
        let mut evidence = None;
        if matches!(effect, Effect::Read | Effect::Action | Effect::Create) {
            let found = leaked(ctx.markers, exec, exchange, victim);
            if !found.is_empty() {
                evidence = Some((
                    format!(
                        "a request without credentials (status {}) returns {}'s marker {}",
                        exchange.status.unwrap_or(0),
                        ctx.names[victim],
                        list(&found)
                    ),
                    found,
                ));
            }
        }
        if evidence.is_none() && matches!(effect, Effect::Write | Effect::Create | Effect::Action) {
            if let Some((found, why)) = written(ctx.markers, scenario, exec, i, anon) {
                evidence = Some((
                    format!("without credentials: {why}: {}", list(&found)),
                    found,
                ));
            }
        }
        if evidence.is_none() && effect == Effect::Delete {
            if let Some((found, why)) = deleted(ctx.markers, scenario, exec, i, victim) {
                evidence = Some((format!("without credentials: {why}"), found));
            }
        }
        if let Some((text, found)) = evidence {
            out.push(Violation {
                kind: Kind::Unauthenticated,
                vector,
                op,
                attacker: ctx.names[attacker].clone(),
                victim: ctx.names[victim].clone(),
                evidence: text,
                step: i,
                markers: found,
                field: None,
            });
        }
    }
    out
}
