//! Account probes: another user's account changed or deleted through an operation keyed by
//! that user (`PATCH /users/{name}`, `PUT /users/{name}/password`, `DELETE /users/{id}`, a body
//! `username`). Such a probe may delete an account or change its password, so it never runs on
//! an identity's own: a fresh account, registered through the identity's own login flow, stands
//! in for the victim, and another for the attacker (an API that, given another user's name,
//! changes the caller's own account must not break the attacker's session either). The victim's
//! own answer about itself names it (`GET /me`'s `/username`), and the same answer after the
//! attack, with a login with its password, is the evidence.

use serde_json::json;

use super::{Planner, Probe, deepest, effect_of};
use crate::model::Slot;
use crate::scenario::step::{Args, Check, Effect, Expr, Phase, Scenario, Step, StepRole};

/// A password every common policy accepts (length, classes, not a dictionary word), sent to
/// the victim's fresh account's password fields (and their confirmations alike).
pub(crate) const NEW_PASSWORD: &str = "Tfz-9qK!x7Lw2#Rv";

/// Whether a body field holds a password (`password`, `new_password`, `password_confirmation`,
/// `password1`): a value the victim's next login proves changed.
pub(crate) fn is_password_field(name: &str) -> bool {
    let n = crate::model::normalize(name);
    (n.contains("password") || n.contains("passwd") || n == "pass")
        && !n.starts_with("old")
        && !n.starts_with("current")
}

impl Planner<'_> {
    /// One probe per (attacker, victim, operation keyed by the victim's own user) where fresh
    /// accounts can stand in for both (`login.register`).
    pub(super) fn account_probes(&self) -> Vec<Probe> {
        let anon = self.cast.anonymous();
        let enrolls = |i: usize| self.cast.enrolls.get(i).copied().unwrap_or(false);
        let mut out = Vec::new();
        for (attacker, victim) in self.cast.pairs() {
            if !enrolls(victim) || (attacker != anon && !enrolls(attacker)) {
                continue;
            }
            for me in &self.model.selves {
                if !self.cast.selves.contains(&(victim, me.resource)) {
                    continue;
                }
                for op in 0..self.api.operations.len() {
                    if let Some(p) = self.account_probe(attacker, victim, me, op) {
                        out.push(p);
                    }
                }
            }
        }
        out
    }

    fn account_probe(
        &self,
        attacker: usize,
        victim: usize,
        me: &crate::model::SelfSource,
        op: usize,
    ) -> Option<Probe> {
        let o = &self.api.operations[op];
        if self.model.is_skipped(op)
            || op == me.op
            || self.cast.webhooks.contains(&op)
            || !self.cast.ownership_applies(attacker, op)
        {
            return None;
        }
        let effect = effect_of(self.api, self.model, op);
        if !matches!(effect, Effect::Write | Effect::Delete | Effect::Action) {
            return None;
        }
        // The account must be what the operation acts on: the deepest id it takes
        // (`/users/{name}/keys/{id}` acts on a key, and the ownership probes judge it).
        let consumers: Vec<_> = self.model.consumers_of(op).collect();
        let slots: Vec<&Slot> = consumers.iter().map(|c| &c.slot).collect();
        let target = deepest(o, &slots)?.clone();
        let consumer = consumers.iter().find(|c| c.slot == target)?;
        if consumer.resource != me.resource {
            return None;
        }
        // Every other id it needs would be the attacker's, and an account has none of those.
        if consumers
            .iter()
            .any(|c| c.slot != target && crate::model::is_required(o, &c.slot))
        {
            return None;
        }
        let mut steps = vec![Step {
            actor: victim,
            op: me.op,
            role: StepRole::Enroll,
            args: Args::default(),
        }];
        if attacker != self.cast.anonymous() {
            steps.push(Step {
                actor: attacker,
                op: me.op,
                role: StepRole::Enroll,
                args: Args::default(),
            });
        }
        let read = self.filled(me.op, victim, &|_| None, None)?;
        let before = steps.len();
        let attack = before + 1;
        steps.push(Step {
            actor: victim,
            op: me.op,
            role: StepRole::ReadBack {
                attack,
                phase: Phase::Before,
            },
            args: read.clone(),
        });
        let id = Expr::Echo {
            step: before,
            pointer: pointer_for(self.api, me, &target),
        };
        let mut args: Vec<(Slot, Expr)> = self
            .args(
                op,
                attacker,
                &mut |slot| (*slot == target).then(|| id.clone()),
                None,
            )
            .to_vec();
        if !args.iter().any(|(s, _)| *s == target) {
            return None;
        }
        let props = o.body.as_ref().and_then(|b| b.schema.properties());
        for (slot, expr) in &mut args {
            let Slot::Body(pointer) = slot else {
                continue;
            };
            let field = pointer.rsplit('/').next().unwrap_or_default();
            if is_password_field(field) {
                *expr = Expr::Lit(json!(NEW_PASSWORD));
                continue;
            }
            // A role or plan from an enum: the value that reads as the most privilege (the
            // first would often be what a new account already has).
            let top = props
                .and_then(|p| p.get(field))
                .filter(|_| pointer.matches('/').count() == 1);
            if let Some(value) = top
                .filter(|p| !p.enum_values.is_empty())
                .and_then(|p| super::checks::privileged_value(p))
            {
                *expr = Expr::Lit(value);
            }
        }
        steps.push(Step {
            actor: attacker,
            op,
            role: StepRole::Attack {
                victim,
                effect,
                vector: target.vector(),
                target_resource: Some(me.resource),
                target_step: None,
                check: Check::Account,
            },
            args: args.into(),
        });
        steps.push(Step {
            actor: victim,
            op: me.op,
            role: StepRole::ReadBack {
                attack,
                phase: Phase::After,
            },
            args: read,
        });
        steps.push(Step {
            actor: victim,
            op: me.op,
            role: StepRole::Relogin { attack },
            args: Args::default(),
        });
        Some(Probe {
            attacker,
            victim,
            scenario: Scenario { steps },
        })
    }
}

/// Where the victim's own answer about itself holds the key `slot` takes: the field of the
/// slot's own name beside the one the model found (`/username` for `{username}`, `/id` for
/// `{userId}` or `{id}`), else the model's.
fn pointer_for(api: &crate::spec::Api, me: &crate::model::SelfSource, slot: &Slot) -> String {
    use crate::model::normalize;
    let name = match slot {
        Slot::Path(n) | Slot::Query(n) | Slot::Header(n) => n.as_str(),
        Slot::Body(p) => p.rsplit('/').next().unwrap_or_default(),
    };
    let (parent, _) = me.pointer.rsplit_once('/').unwrap_or(("", ""));
    let Some(mut schema) = api.operations[me.op].success_schema() else {
        return me.pointer.clone();
    };
    for part in parent.split('/').filter(|p| !p.is_empty()) {
        match schema.properties().and_then(|p| p.get(part)) {
            Some(s) => schema = s,
            None => return me.pointer.clone(),
        }
    }
    let Some(props) = schema.properties() else {
        return me.pointer.clone();
    };
    let wanted = normalize(name);
    let id_like =
        crate::model::is_generic_id(name) || crate::model::resource_of_id_name(name).is_some();
    props
        .keys()
        .find(|k| normalize(k) == wanted)
        .or_else(|| {
            id_like
                .then(|| props.keys().find(|k| normalize(k) == "id"))
                .flatten()
        })
        .map(|k| format!("{parent}/{}", crate::spec::escape(k)))
        .unwrap_or_else(|| me.pointer.clone())
}
