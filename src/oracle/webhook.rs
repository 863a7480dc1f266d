//! `webhook-unsigned` and `webhook-replay`: a webhook receiver applied an event it should have
//! refused. The signed control event shows which fields of the owner's read an event changes
//! (minus what changes between two reads with nothing in between); a forged event (unsigned,
//! wrongly signed, stale) or a replay of the control that changes one of those fields again was
//! applied. An event that sets a state (an invoice `paid`) has nothing left to change once the
//! control set it: its forgeries name fresh objects, each read before, and one whose read moves
//! to the state the event names was applied. A receiver that applies not even the signed
//! control cannot be judged, and says so (see [`unjudged`]).

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
            check: Check::Webhook { forgery, .. },
            ..
        } = &step.role
        else {
            continue;
        };
        let Some(Verdict::Applied { why, field }) = judge_forgery(scenario, exec, i) else {
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

/// Why the webhook forgery of step `attack` cannot be judged, when it cannot: the receiver
/// refused the signed control, or applied not even that one where the owner can see it, or the
/// fresh object was already in the state the event sets. Coverage counts it as not judged, so
/// a receiver that ignores every event is never a silent clean.
pub(crate) fn unjudged(scenario: &Scenario, exec: &Execution, attack: usize) -> Option<String> {
    match judge_forgery(scenario, exec, attack)? {
        Verdict::Unjudged(reason) => Some(reason),
        _ => None,
    }
}

/// What the owner's reads say of one forgery.
enum Verdict {
    /// The receiver applied it: why, and the field of the owner's read that shows it.
    Applied { why: String, field: String },
    /// Judged, and not applied.
    NotApplied,
    /// Nothing here can tell (why).
    Unjudged(String),
}

/// The owner's reads of the scenario, in order: (step index, exchange).
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

/// The owner's reads around the signed control: the two before it (the noise between them, the
/// last as the baseline) and the first after it, with the fields the control changed (minus the
/// noise). `Err` says why they cannot tell anything.
struct Control<'e> {
    baseline: &'e Exchange,
    after: &'e Exchange,
    effect: BTreeSet<String>,
}

fn control_effect<'e>(
    scenario: &Scenario,
    exec: &'e Execution,
    control: usize,
    attack: usize,
    owner: usize,
) -> Result<Control<'e>, Option<String>> {
    let signed = exec
        .steps
        .get(control)
        .and_then(|r| r.exchange.as_ref())
        .ok_or(None::<String>)?;
    if signed.is_unjudgeable() {
        return Err(None);
    }
    if !signed.is_success() {
        return Err(Some(format!(
            "the receiver refused the correctly signed control event ({}): check the \
             [[webhooks]] entry's secret and signing settings",
            signed.status.unwrap_or(0)
        )));
    }
    let reads = owner_reads(scenario, exec, owner);
    let before: Vec<&Exchange> = reads
        .iter()
        .filter(|(i, _)| *i < control)
        .map(|(_, x)| *x)
        .collect();
    let after = reads
        .iter()
        .find(|(i, _)| *i > control && *i < attack)
        .map(|(_, x)| *x)
        .ok_or(None::<String>)?;
    let baseline = *before.last().ok_or(None::<String>)?;
    if let Some(failed) = before.iter().chain([&after]).find(|x| !x.is_success()) {
        return Err(Some(format!(
            "the owner's read around the signed control answered {}",
            failed.status.unwrap_or(0)
        )));
    }
    let body = |x: &'e Exchange| -> Result<&'e Value, Option<String>> {
        x.response_body.get().ok_or(None)
    };
    let mut noise = BTreeSet::new();
    if before.len() >= 2 {
        diff(
            body(before[before.len() - 2])?,
            body(baseline)?,
            "",
            &mut noise,
        );
    }
    let mut effect = BTreeSet::new();
    diff(body(baseline)?, body(after)?, "", &mut effect);
    let effect: BTreeSet<String> = effect.difference(&noise).cloned().collect();
    if effect.is_empty() {
        return Err(Some(
            "the receiver applied not even the correctly signed control event where its owner \
             can read it: forgeries prove nothing here (check the [[webhooks]] entry's secret \
             and signing settings, and that the event's object is the one read)"
                .into(),
        ));
    }
    Ok(Control {
        baseline,
        after,
        effect,
    })
}

/// The verdict on the webhook forgery of step `attack`; `None` when it is none, or was not sent.
fn judge_forgery(scenario: &Scenario, exec: &Execution, attack: usize) -> Option<Verdict> {
    let StepRole::Attack {
        victim,
        check: Check::Webhook { control, state, .. },
        ..
    } = &scenario.steps.get(attack)?.role
    else {
        return None;
    };
    let sent = exec.steps.get(attack)?.exchange.as_ref()?;
    if sent.is_unjudgeable() {
        return None;
    }
    let c = match control_effect(scenario, exec, *control, attack, *victim) {
        Ok(c) => c,
        Err(Some(why)) => return Some(Verdict::Unjudged(why)),
        Err(None) => return None,
    };
    if state.is_empty() {
        applied(scenario, exec, attack, *victim, sent, &c)
    } else {
        state_set(scenario, exec, attack, *victim, sent, &c, state)
    }
}

/// The text of the value at `p` of an exchange's body (empty when there is none).
fn show(x: &Exchange, p: &str) -> String {
    x.response_body
        .get()
        .and_then(|b| b.pointer(p))
        .map(Value::to_string)
        .unwrap_or_default()
}

/// An event that changes the owner's read each time: the forgery changed, between the read just
/// before it and the one after, a field the signed control changed.
fn applied(
    scenario: &Scenario,
    exec: &Execution,
    attack: usize,
    owner: usize,
    sent: &Exchange,
    c: &Control<'_>,
) -> Option<Verdict> {
    let reads = owner_reads(scenario, exec, owner);
    let prior = reads.iter().rev().find(|(i, _)| *i < attack)?.1;
    let (_, after) = super::evidence::read_back(scenario, exec, attack, Phase::After)?;
    if !prior.is_success() || !after.is_success() {
        return None;
    }
    let mut changed = BTreeSet::new();
    diff(
        prior.response_body.get()?,
        after.response_body.get()?,
        "",
        &mut changed,
    );
    let Some(p) = changed.intersection(&c.effect).next() else {
        return Some(Verdict::NotApplied);
    };
    let why = format!(
        "it answered {}, and the owner's read shows {p} going from {} to {} (the signed control moved it from {} to {})",
        sent.status.unwrap_or(0),
        show(prior, p),
        show(after, p),
        show(c.baseline, p),
        show(c.after, p)
    );
    Some(Verdict::Applied {
        why,
        field: p.clone(),
    })
}

/// Whether two values are one state: equal, or the same word in another case (`PAID`, `paid`).
fn same_state(a: Option<&Value>, b: &Value) -> bool {
    match (a, b) {
        (Some(Value::String(x)), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Some(a), b) => a == b,
        (None, _) => false,
    }
}

/// The last token of a JSON pointer, unescaped.
fn leaf(pointer: &str) -> String {
    pointer
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .replace("~1", "/")
        .replace("~0", "~")
}

/// An event that sets a state (`state` are the pointers of its fields naming it): the forgery
/// names a fresh object, read just before it, and that object's read moved to the state the
/// event sent, in a field of its name that the signed control moved to that same state on the
/// control's object.
fn state_set(
    scenario: &Scenario,
    exec: &Execution,
    attack: usize,
    owner: usize,
    sent: &Exchange,
    c: &Control<'_>,
    state: &[String],
) -> Option<Verdict> {
    // The fresh object's read: the last of this attack's before it (the shared reads of the
    // first forgery are its too, and come first).
    let prior = scenario
        .steps
        .iter()
        .enumerate()
        .take(attack)
        .rev()
        .find(|(_, s)| {
            s.actor == owner
                && s.role
                    == StepRole::ReadBack {
                        attack,
                        phase: Phase::Before,
                    }
        })
        .and_then(|(i, _)| exec.steps.get(i)?.exchange.as_ref())?;
    let (_, after) = super::evidence::read_back(scenario, exec, attack, Phase::After)?;
    if !prior.is_success() || !after.is_success() {
        return None;
    }
    let event = sent.request_body.as_ref()?;
    let body = |x: &Exchange, p: &str| x.response_body.get().and_then(|b| b.pointer(p).cloned());
    // The fields the signed control moved to a state the event names.
    let mut moved: Vec<(&String, Value)> = Vec::new();
    for s in state {
        let Some(value) = event.pointer(s) else {
            continue;
        };
        let name = leaf(s);
        for p in &c.effect {
            if crate::model::same_field(&leaf(p), &name)
                && same_state(body(c.after, p).as_ref(), value)
            {
                moved.push((p, value.clone()));
            }
        }
    }
    if moved.is_empty() {
        return Some(Verdict::Unjudged(
            "the correctly signed control event set none of the states it names where its \
             owner can read it: forgeries prove nothing here (check the [[webhooks]] entry's \
             secret and signing settings)"
                .into(),
        ));
    }
    let fresh: Vec<&(&String, Value)> = moved
        .iter()
        .filter(|(p, value)| !same_state(body(prior, p).as_ref(), value))
        .collect();
    if fresh.is_empty() {
        return Some(Verdict::Unjudged(
            "the fresh object was already in the state the event sets before the forgery".into(),
        ));
    }
    let Some((p, _)) = fresh
        .iter()
        .find(|(p, value)| same_state(body(after, p).as_ref(), value))
    else {
        return Some(Verdict::NotApplied);
    };
    let why = format!(
        "it answered {}, and the read of a fresh object of the owner's shows {p} going from {} \
         to {} (the signed control moved the owner's other one from {} to {})",
        sent.status.unwrap_or(0),
        show(prior, p),
        show(after, p),
        show(c.baseline, p),
        show(c.after, p)
    );
    Some(Verdict::Applied {
        why,
        field: (*p).clone(),
    })
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
