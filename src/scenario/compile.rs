//! Explored drafts into scenarios: the same planner as the systematic plan obtains the chains a
//! draft's creates and attacks need, and every mutating attack gets the victim's read-backs.

use super::cast::Cast;
use super::explore::{Draft, Move};
use super::plan::{
    Holdings, Planner, Probe, deepest, effect_of, list_vector, push_attack, seeded_object,
    vector_of,
};
use super::step::{Check, Effect, Expr, Scenario, Step, StepRole};
use crate::finding::Vector;
use crate::model::{ResourceModel, Slot};
use crate::spec::Api;

/// Compiles an explored draft into a scenario: creates pull in the chains they need, attacks
/// take each slot's id from the victim or the attacker as the draft says, and every mutating
/// attack gets the victim's read-backs around it. `None` when no move could be compiled.
pub fn compile(api: &Api, model: &ResourceModel, cast: &Cast, draft: &Draft) -> Option<Probe> {
    let planner = Planner::new(api, model, cast);
    let (attacker, victim) = *cast.pairs().get(draft.pair)?;
    let anonymous = attacker == cast.anonymous();
    let mut steps = Vec::new();
    let mut vh = Holdings::new(victim);
    let mut ah = Holdings::new(attacker);
    for m in &draft.moves {
        match m {
            Move::Create {
                by_victim,
                producer,
            } => {
                let Some(p) = model.producers.get(*producer) else {
                    continue;
                };
                let h = if *by_victim || anonymous {
                    &mut vh
                } else {
                    &mut ah
                };
                // A second create of the same kind makes another one.
                h.memo.shift_remove(&p.resource);
                planner.obtain(p.resource, h, &mut steps, 0);
            }
            Move::Attack { op, fill, search } => {
                let index = *op;
                if !cast.ownership_applies(attacker, index) {
                    continue;
                }
                let o = &api.operations[index];
                let effect = effect_of(api, model, index);
                let consumers: Vec<_> = model.consumers_of(index).collect();
                let mut chosen: Vec<(Slot, Expr, bool, usize)> = Vec::new();
                let mut ok = true;
                for (i, c) in consumers.iter().enumerate() {
                    let victims =
                        anonymous || fill.get(i % fill.len().max(1)).is_none_or(|b| b % 2 == 0);
                    let e = if victims {
                        planner.obtain(c.resource, &mut vh, &mut steps, 0)
                    } else {
                        planner.obtain(c.resource, &mut ah, &mut steps, 0)
                    };
                    match e {
                        Some(e) => chosen.push((c.slot.clone(), e, victims, c.resource)),
                        None if crate::model::is_required(o, &c.slot) => ok = false,
                        None => {}
                    }
                }
                if !ok {
                    continue;
                }
                let victim_slots: Vec<&Slot> =
                    chosen.iter().filter(|c| c.2).map(|c| &c.0).collect();
                let all: Vec<&Slot> = chosen.iter().map(|c| &c.0).collect();
                let primary = deepest(o, &victim_slots).cloned();
                let target = primary
                    .as_ref()
                    .and_then(|p| chosen.iter().find(|c| &c.0 == p));
                if effect.mutates()
                    && effect != Effect::Create
                    && !cast.mutate_seeded
                    && !matches!(target, Some((_, Expr::Created { .. }, _, _)))
                {
                    // Only what the campaign created is written to or deleted.
                    continue;
                }
                let vector = match &primary {
                    Some(p) => {
                        let is_dependency = model.producers.iter().any(|pr| {
                            pr.op == index && pr.dependencies.iter().any(|(s, _)| s == p)
                        });
                        if effect == Effect::Create && is_dependency {
                            Vector::Parent
                        } else {
                            vector_of(o, p, &all, victim_slots.len() < all.len())
                        }
                    }
                    None => Vector::Path,
                };
                let (target_resource, target_step) = match target {
                    Some((_, Expr::Created { step }, _, r)) => (Some(*r), Some(*step)),
                    Some((_, _, _, r)) => (Some(*r), None),
                    None => (None, None),
                };
                let readback = if !effect.mutates() {
                    None
                } else if effect == Effect::Create {
                    planner.lister(index, &vh)
                } else {
                    target_resource.and_then(|r| planner.reader(r, &vh))
                };
                if effect.mutates() && effect != Effect::Create && readback.is_none() {
                    continue;
                }
                let term = search.then_some(Expr::Stem { owner: victim });
                let args = planner.args(
                    index,
                    attacker,
                    &mut |slot| chosen.iter().find(|c| &c.0 == slot).map(|c| c.1.clone()),
                    term,
                );
                let vector = if primary.is_none() {
                    list_vector(&args)
                } else {
                    vector
                };
                if !cast.mutate_seeded && seeded_object(api, model, index, &args) {
                    continue;
                }
                push_attack(
                    &mut steps,
                    Step {
                        actor: attacker,
                        op: index,
                        role: StepRole::Attack {
                            victim,
                            effect,
                            vector,
                            target_resource,
                            target_step,
                            check: Check::Ownership,
                        },
                        args,
                    },
                    readback,
                );
            }
        }
    }
    steps
        .iter()
        .any(|s| matches!(s.role, StepRole::Attack { .. }))
        .then_some(Probe {
            attacker,
            victim,
            scenario: Scenario { steps },
        })
}
