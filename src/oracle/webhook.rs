//! `webhook-unsigned` and `webhook-replay`: a webhook receiver applied an event it should have
//! refused. The signed control event shows which fields of the owner's read an event changes
//! (minus what changes between two reads with nothing in between); a forged event (unsigned,
//! wrongly signed, stale) or a replay of the control that changes one of those fields again was
//! applied.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Context;
use crate::exchange::{Exchange, Execution};
use crate::finding::{Kind, Violation};
use crate::scenario::{Check, Forgery, Phase, Scenario, StepRole};

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let StepRole::Attack {
            victim,
            vector,
            check: Check::Webhook { forgery, control },
            ..
        } = &step.role
        else {
            continue;
        };
        let Some((why, field)) = applied(scenario, exec, i, *control, *victim) else {
            continue;
        };
        let (kind, what) = match forgery {
            Forgery::Unsigned => (Kind::WebhookUnsigned, "an unsigned event"),
            Forgery::WrongSecret => (Kind::WebhookUnsigned, "an event signed with a wrong secret"),
            Forgery::Stale => (
                Kind::WebhookUnsigned,
                "an event signed with a stale timestamp",
            ),
            Forgery::Replay => (Kind::WebhookReplay, "the signed event sent a second time"),
        };
        out.push(Violation {
            kind,
            vector: *vector,
            op: step.op,
            attacker: ctx.names[step.actor].clone(),
            victim: ctx.names[*victim].clone(),
            evidence: format!("the receiver applied {what}: {why}"),
            step: i,
            markers: Vec::new(),
            field: Some(field),
        });
    }
    out
}

/// The owner's reads of the scenario, in order: (step index, exchange), successful only.
fn owner_reads<'e>(
    scenario: &Scenario,
    exec: &'e Execution,
    owner: usize,
) -> Vec<(usize, &'e Exchange)> {
    scenario
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.actor == owner && matches!(s.role, StepRole::ReadBack { .. }))
        .filter_map(|(i, _)| Some((i, exec.steps.get(i)?.exchange.as_ref()?)))
        .collect()
}

/// Why the event of `attack` was applied, if it was, and the field of the owner's read that
/// shows it.
fn applied(
    scenario: &Scenario,
    exec: &Execution,
    attack: usize,
    control: usize,
    owner: usize,
) -> Option<(String, String)> {
    let sent = exec.steps.get(attack)?.exchange.as_ref()?;
    if sent.is_unjudgeable() {
        return None;
    }
    let signed = exec.steps.get(control)?.exchange.as_ref()?;
    if !signed.is_success() {
        return None;
    }
    let reads = owner_reads(scenario, exec, owner);
    if reads.iter().any(|(_, x)| !x.is_success()) {
        return None;
    }
    // Reads before the control: the last two give the noise, the last the baseline.
    let before: Vec<&Exchange> = reads
        .iter()
        .filter(|(i, _)| *i < control)
        .map(|(_, x)| *x)
        .collect();
    let after_control = reads.iter().find(|(i, _)| *i > control && *i < attack)?.1;
    let baseline = *before.last()?;
    let mut noise = BTreeSet::new();
    if before.len() >= 2 {
        diff(
            before[before.len() - 2].response_body.get()?,
            baseline.response_body.get()?,
            "",
            &mut noise,
        );
    }
    let mut effect = BTreeSet::new();
    diff(
        baseline.response_body.get()?,
        after_control.response_body.get()?,
        "",
        &mut effect,
    );
    let effect: BTreeSet<String> = effect.difference(&noise).cloned().collect();
    if effect.is_empty() {
        // The signed event changed nothing the owner can see: nothing to judge by.
        return None;
    }
    let prior = reads.iter().rev().find(|(i, _)| *i < attack)?.1;
    let (_, after) = super::evidence::read_back(scenario, exec, attack, Phase::After)?;
    if !after.is_success() {
        return None;
    }
    let mut changed = BTreeSet::new();
    diff(
        prior.response_body.get()?,
        after.response_body.get()?,
        "",
        &mut changed,
    );
    let hit: Vec<String> = changed.intersection(&effect).cloned().collect();
    if hit.is_empty() {
        return None;
    }
    let show = |x: &Exchange, p: &str| {
        x.response_body
            .get()
            .and_then(|b| b.pointer(p))
            .map(Value::to_string)
            .unwrap_or_default()
    };
    let p = &hit[0];
    let why = format!(
        "it answered {}, and the owner's read shows {p} going from {} to {} (the signed control moved it from {} to {})",
        sent.status.unwrap_or(0),
        show(prior, p),
        show(after, p),
        show(baseline, p),
        show(after_control, p)
    );
    Some((why, p.clone()))
}

/// JSON pointers of the scalar leaves that differ between `a` and `b`.
fn diff(a: &Value, b: &Value, at: &str, out: &mut BTreeSet<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match y.get(k) {
                    Some(vb) => diff(va, vb, &here, out),
                    None => {
                        out.insert(here);
                    }
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                out.insert(format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (n, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(va, vb, &format!("{at}/{n}"), out);
            }
        }
        _ if a != b => {
            out.insert(at.to_string());
        }
        _ => {}
    }
}
