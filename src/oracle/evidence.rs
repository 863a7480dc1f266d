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
    let sent = exchange.request_text();
    markers
        .find_all(&exchange.response_text())
        .into_iter()
        .filter(|(m, owner)| {
            *owner == victim && !sent.contains(m.as_str()) && exec.origin_of(m).is_some()
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
    (!found.is_empty()).then_some((found, "the victim's read-back shows the attacker's marker"))
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
    let (_, after) = read_back(scenario, exec, attack, Phase::After)?;
    if !before.is_success() || after.is_unjudgeable() {
        return None;
    }
    let status = after.status.unwrap_or(0);
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
