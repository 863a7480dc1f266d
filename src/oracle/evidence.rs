//! The evidence the checks share: markers that crossed from one identity to another, a change the
//! victim can see, an object the victim no longer has. Pure functions over recorded data.

use crate::exchange::{Exchange, Execution};
use crate::marker::Markers;
use crate::scenario::{Phase, Scenario, StepRole};

/// A list of markers for a sentence: the first three, then how many more.
pub(crate) fn list(markers: &[String]) -> String {
    match markers.len() {
        0..=3 => markers.join(", "),
        n => format!("{} and {} more", markers[..3].join(", "), n - 3),
    }
}

/// The victim's markers in an attack's response that the attacker did not itself send. Only
/// markers this execution wrote count: a server that cannot be reset also holds the markers of
/// other scenarios, and evidence must come from the steps that will be reported.
pub(crate) fn leaked(
    markers: &Markers,
    exec: &Execution,
    exchange: &Exchange,
    victim: usize,
) -> Vec<String> {
    if exchange.status.is_none() {
        return Vec::new();
    }
    markers
        .find_all(exchange.response_text())
        .into_iter()
        .filter(|(m, owner)| {
            *owner == victim && exec.origin_of(m).is_some() && !exchange.request_contains(m)
        })
        .map(|(m, _)| m)
        .collect()
}

/// The read-back of `attack` in `phase`, if it ran.
pub(crate) fn read_back<'e>(
    scenario: &Scenario,
    exec: &'e Execution,
    attack: usize,
    phase: Phase,
) -> Option<(usize, &'e Exchange)> {
    scenario
        .steps
        .iter()
        .enumerate()
        .find_map(|(i, s)| match s.role {
            StepRole::ReadBack {
                attack: a,
                phase: p,
            } if a == attack && p == phase => exec.steps.get(i)?.exchange.as_ref().map(|e| (i, e)),
            _ => None,
        })
}

/// The attacker's markers from the attack that the victim's later read-back shows.
pub(crate) fn written(
    markers: &Markers,
    scenario: &Scenario,
    exec: &Execution,
    attack: usize,
    attacker: usize,
) -> Option<(Vec<String>, &'static str)> {
    let attack_record = exec.steps.get(attack)?;
    attack_record.exchange.as_ref()?;
    let (_, after) = read_back(scenario, exec, attack, Phase::After)?;
    if !after.is_success() {
        return None;
    }
    let shown = after.response_text();
    let found: Vec<String> = attack_record
        .sent_markers
        .iter()
        .filter(|m| {
            markers
                .find_all(m)
                .first()
                .is_some_and(|(_, owner)| *owner == attacker)
        })
        .filter(|m| shown.contains(m.as_str()))
        .cloned()
        .collect();
    if !found.is_empty() {
        return Some((found, "the victim's read-back shows the attacker's marker"));
    }
    // By reference: the attack named an object of the attacker's own by its id (n8n's
    // `PUT /workflows/{id}/tags [{"id": tag}]`), and the victim's object now shows that
    // object's markers, which its read-back before the attack did not.
    let (_, before) = read_back(scenario, exec, attack, Phase::Before)?;
    if !before.is_success() {
        return None;
    }
    let before = before.response_text();
    let mut found: Vec<String> = Vec::new();
    for (_, e) in scenario.steps.get(attack)?.args.iter() {
        let Some(origin) = e.step() else { continue };
        let (Some(step), Some(record)) = (scenario.steps.get(origin), exec.steps.get(origin))
        else {
            continue;
        };
        if step.actor != attacker || !matches!(step.role, StepRole::Setup { .. }) {
            continue;
        }
        for m in &record.sent_markers {
            let own = markers
                .find_all(m)
                .first()
                .is_some_and(|(_, owner)| *owner == attacker);
            if own
                && shown.contains(m.as_str())
                && !before.contains(m.as_str())
                && !found.contains(m)
            {
                found.push(m.clone());
            }
        }
    }
    (!found.is_empty()).then_some((
        found,
        "the victim's read-back shows the marker of an object of the attacker's that the attack \
         named by its id, which it did not show before",
    ))
}

/// Whether the victim's object is gone after the attack: its read-back showed the object before
/// (its markers, or a 2xx when it has none) and no longer does (its markers absent from a 2xx
/// answer, or a 404/410).
pub(crate) fn deleted(
    markers: &Markers,
    scenario: &Scenario,
    exec: &Execution,
    attack: usize,
    victim: usize,
) -> Option<(Vec<String>, String)> {
    let StepRole::Attack {
        target_step,
        target_resource: Some(_),
        ..
    } = scenario.steps.get(attack)?.role
    else {
        return None;
    };
    exec.steps.get(attack)?.exchange.as_ref()?;
    // A pre-existing object (attacked only with `mutate_seeded`) carries no marker of this run:
    // only its read-back's 404/410 can tell that it is gone.
    let own: Vec<String> = match target_step {
        Some(target) => exec
            .steps
            .get(target)?
            .sent_markers
            .iter()
            .filter(|m| {
                markers
                    .find_all(m)
                    .first()
                    .is_some_and(|(_, owner)| *owner == victim)
            })
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let (_, before) = read_back(scenario, exec, attack, Phase::Before)?;
    let (after_at, after) = read_back(scenario, exec, attack, Phase::After)?;
    if !before.is_success() || after.is_unjudgeable() {
        return None;
    }
    let status = after.status.unwrap_or(0);
    // What no GET reads is witnessed by the owner's own delete (the planner's delete witness):
    // of a second object before the attack (it works on a live one), of the attacked one after.
    if scenario.steps.get(after_at)?.op == scenario.steps[attack].op {
        let gone = status == 404 || status == 410;
        return gone.then(|| {
            (
                Vec::new(),
                format!(
                    "nothing reads the object, so the victim deleted it itself: its delete of \
                     another of its own answered {} before the attack, and of this one {status} \
                     after it (the attacker's delete had taken it)",
                    before.status.unwrap_or(0)
                ),
            )
        });
    }
    if own.is_empty() {
        let gone = status == 404 || status == 410;
        return gone.then(|| {
            (
                Vec::new(),
                format!(
                    "the victim's read-back answered {} before the attack and {status} after it",
                    before.status.unwrap_or(0)
                ),
            )
        });
    }
    let before_text = before.response_text();
    let shown_before: Vec<String> = own
        .iter()
        .filter(|m| before_text.contains(m.as_str()))
        .cloned()
        .collect();
    if shown_before.is_empty() {
        return None;
    }
    let after_text = after.response_text();
    let gone = (after.is_success() || status == 404 || status == 410)
        && shown_before
            .iter()
            .all(|m| !after_text.contains(m.as_str()));
    gone.then(|| {
        (
            shown_before.clone(),
            format!(
                "the victim's read-back showed its object ({}) before the attack; after it the read-back answered {status} without it",
                list(&shown_before)
            ),
        )
    })
}

/// Evidence that a call the policy denies had its effect (attack `attack` with a gate check):
/// for a read, its answer shows the victim's data (the victim's markers, or ids only the victim's
/// own lists show) — or, for a plan gate, the caller's own data; for a change, the caller's own
/// read-back shows it. The permitted identity's call, when there is one, must have worked.
pub(crate) fn gated(
    markers: &Markers,
    scenario: &Scenario,
    exec: &Execution,
    attack: usize,
) -> Option<(Vec<String>, String)> {
    use crate::scenario::{Check, Effect};
    let step = scenario.steps.get(attack)?;
    let StepRole::Attack {
        victim,
        effect,
        check: Check::Gate { plan, control },
        ..
    } = &step.role
    else {
        return None;
    };
    let attacker = step.actor;
    let answer = exec.steps.get(attack)?.exchange.as_ref()?;
    if let Some(c) = control {
        let shown = exec.steps.get(*c)?.exchange.as_ref()?;
        if !shown.is_success() {
            return None;
        }
    }
    match effect {
        Effect::Read => {
            if !answer.is_success() {
                return None;
            }
            let mut found = leaked(markers, exec, answer, *victim);
            if *plan && *victim != attacker {
                found.extend(leaked(markers, exec, answer, attacker));
            }
            if !found.is_empty() {
                return Some((
                    found.clone(),
                    format!(
                        "the denied call answered {} with data of this run: {}",
                        answer.status.unwrap_or(0),
                        list(&found)
                    ),
                ));
            }
            if *victim == attacker {
                return None;
            }
            // Ids only the victim's own lists show.
            let mut theirs = std::collections::BTreeSet::new();
            let mut mine = std::collections::BTreeSet::new();
            for (i, s) in scenario.steps.iter().enumerate() {
                let StepRole::ReadBack { attack: a, .. } = s.role else {
                    continue;
                };
                if a != attack || s.op == step.op {
                    continue;
                }
                let Some(x) = exec.steps.get(i).and_then(|r| r.exchange.as_ref()) else {
                    continue;
                };
                if !x.is_success() {
                    continue;
                }
                if let Some(body) = x.response_body.get() {
                    if s.actor == *victim {
                        crate::exchange::ids_in(body, &mut theirs);
                    } else if s.actor == attacker {
                        crate::exchange::ids_in(body, &mut mine);
                    }
                }
            }
            let mut shown = std::collections::BTreeSet::new();
            if let Some(body) = answer.response_body.get() {
                crate::exchange::ids_in(body, &mut shown);
            }
            let foreign: Vec<String> = theirs
                .difference(&mine)
                .filter(|id| shown.contains(*id))
                .cloned()
                .collect();
            (!foreign.is_empty()).then(|| {
                (
                    Vec::new(),
                    format!(
                        "the denied call answered {} with ids that only the other tenant's own lists show: {}",
                        answer.status.unwrap_or(0),
                        list(&foreign)
                    ),
                )
            })
        }
        Effect::Delete => deleted(markers, scenario, exec, attack, *victim),
        _ => written(markers, scenario, exec, attack, attacker).map(|(m, why)| {
            (
                m,
                format!(
                    "the denied call answered {}: {why}",
                    answer.status.unwrap_or(0)
                ),
            )
        }),
    }
}
