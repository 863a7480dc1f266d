//! Probes beyond ownership: operations the policy denies an identity (`bfla`, `plan-bypass`),
//! fields a request must not set (`mass-assignment`), and webhook receivers that believe anyone
//! (`webhook-unsigned`, `webhook-replay`). Each probe carries its controls: the permitted
//! identity's own call, the read-backs before and after, the signed event whose effect the owner
//! saw.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Args, Holdings, Planner, Probe, effect_of, push_attack};
use crate::finding::Vector;
use crate::model::{
    Decision, Slot, is_privileged_field, normalize, resources_of_id_name, same_field, words,
};
use crate::scenario::cast::TokenShape;
use crate::scenario::step::{
    Check, Effect, Expr, Forgery, NoneSpelling, Phase, Scenario, Step, StepRole, TokenForgery,
};
use crate::spec::{Method, Schema, SchemaKind};

/// Values that read as more privilege, most first.
const PRIVILEGED_VALUES: &[&str] = &[
    "superadmin",
    "admin",
    "administrator",
    "root",
    "owner",
    "enterprise",
    "premium",
    "business",
    "pro",
    "verified",
    "approved",
    "active",
];

impl Planner<'_> {
    /// Identities that are neither anonymous nor administrators.
    fn customers(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.cast.anonymous()).filter(|i| !self.cast.is_admin(*i))
    }

    /// Every operation the policy denies an identity, probed for its effect.
    pub(super) fn gate_probes(&self) -> Vec<Probe> {
        let mut out = Vec::new();
        for index in 0..self.api.operations.len() {
            if self.model.is_skipped(index) || self.cast.webhooks.contains(&index) {
                continue;
            }
            for a in 0..self.cast.anonymous() {
                let plan = match self.cast.decide(a, index) {
                    Decision::DenyRole => false,
                    Decision::DenyPlan => true,
                    _ => continue,
                };
                out.extend(self.gate_probe(a, index, plan));
            }
        }
        out
    }

    /// The permitted identity for a gated call by `a`: one the policy allows, of `a`'s tenant
    /// first.
    fn permitted(&self, a: usize, index: usize) -> Option<usize> {
        let allowed: Vec<usize> = (0..self.cast.anonymous())
            .filter(|p| *p != a && self.cast.decide(*p, index) == Decision::Allow)
            .collect();
        allowed
            .iter()
            .find(|p| self.cast.tenants[**p] == self.cast.tenants[a])
            .or(allowed.first())
            .copied()
    }

    fn gate_probe(&self, a: usize, index: usize, plan: bool) -> Option<Probe> {
        let effect = effect_of(self.api, self.model, index);
        let consumers: Vec<_> = self.model.consumers_of(index).collect();
        // An action on no resource (n8n's `POST /audit`) is judged by its answer, as a read is:
        // the other tenant's data in it. The permitted identity does not make it first (its
        // effect is not this campaign's to cause); the denied call has an effect only where the
        // server is broken.
        let answer_only = effect == Effect::Action && consumers.is_empty();
        let permitted = self.permitted(a, index).filter(|_| !answer_only);
        if effect != Effect::Read && !answer_only {
            // A change: made by the denied identity on its own resource, and seen by its own
            // read-back.
            let mut probe = None;
            for c in &consumers {
                if let Some(p) = self.mutation_probe(a, a, index, &c.slot, false, false) {
                    probe = Some(p);
                    break;
                }
            }
            let mut probe = probe?;
            for step in &mut probe.scenario.steps {
                if let StepRole::Attack { check, vector, .. } = &mut step.role {
                    *check = Check::Gate {
                        plan,
                        control: None,
                    };
                    // The caller's own resource: no parent of anyone else's.
                    if *vector == Vector::Parent {
                        *vector = Vector::Path;
                    }
                }
            }
            return Some(probe);
        }
        // A read: the victim is someone of another tenant whose data the answer may show.
        let victim = self
            .customers()
            .find(|v| self.cast.tenants[*v] != self.cast.tenants[a]);
        let mut steps = Vec::new();
        let vh = victim.map(|v| self.fixture(v, &mut steps));
        let ah = self.fixture(a, &mut steps);
        let ph = permitted.map(|p| {
            if self.cast.is_admin(p) {
                Holdings::new(p)
            } else {
                self.fixture(p, &mut steps)
            }
        });
        let pick_own = |r: usize| {
            ah.memo
                .get(&r)
                .cloned()
                .or_else(|| vh.as_ref().and_then(|h| h.memo.get(&r).cloned()))
        };
        let args = self.filled(index, a, &pick_own, None)?;
        let mut reads: Vec<Step> = Vec::new();
        // What each side owns, from their own lists: ids in the answer that only the victim's
        // lists show are another tenant's data.
        let mut lists: Vec<usize> = self
            .model
            .discoveries
            .iter()
            .map(|d| d.op)
            .filter(|op| {
                *op != index
                    && !self.model.is_skipped(*op)
                    && !self.api.operations[*op].path.contains('{')
            })
            .collect();
        lists.sort_unstable();
        lists.dedup();
        for op in &lists {
            for who in victim.into_iter().chain([a]) {
                reads.push(Step {
                    actor: who,
                    op: *op,
                    role: StepRole::ReadBack {
                        attack: 0,
                        phase: Phase::Before,
                    },
                    args: Args::default(),
                });
            }
        }
        let mut control = None;
        if let (Some(p), Some(ph)) = (permitted, &ph) {
            let pick = |r: usize| {
                if self.cast.is_admin(p) {
                    pick_own(r)
                } else {
                    ph.memo.get(&r).cloned()
                }
            };
            if let Some(pargs) = self.filled(index, p, &pick, None) {
                control = Some(steps.len() + reads.len());
                reads.push(Step {
                    actor: p,
                    op: index,
                    role: StepRole::ReadBack {
                        attack: 0,
                        phase: Phase::Before,
                    },
                    args: pargs,
                });
            }
        }
        let attack = steps.len() + reads.len();
        for mut r in reads {
            r.role = StepRole::ReadBack {
                attack,
                phase: Phase::Before,
            };
            steps.push(r);
        }
        let vector = args
            .iter()
            .find(|(s, e)| {
                matches!(e, Expr::Created { .. } | Expr::Discovered { .. })
                    && !matches!(s, Slot::Body(_))
            })
            .map(|(s, _)| s.vector())
            .unwrap_or(Vector::Path);
        steps.push(Step {
            actor: a,
            op: index,
            role: StepRole::Attack {
                victim: victim.unwrap_or(a),
                effect: Effect::Read,
                vector,
                target_resource: None,
                target_step: None,
                check: Check::Gate { plan, control },
            },
            args,
        });
        Some(Probe {
            attacker: a,
            victim: victim.unwrap_or(a),
            scenario: Scenario { steps },
        })
    }

    /// Mass-assignment probes: owner and tenant ids set to another tenant's, and privilege fields
    /// of the caller's own objects.
    pub(super) fn assign_probes(&self) -> Vec<Probe> {
        let mut out = Vec::new();
        for index in 0..self.api.operations.len() {
            if self.model.is_skipped(index) || self.cast.webhooks.contains(&index) {
                continue;
            }
            let effect = effect_of(self.api, self.model, index);
            if !matches!(effect, Effect::Create | Effect::Write) {
                continue;
            }
            let op = &self.api.operations[index];
            let Some(body) = &op.body else { continue };
            if !body.content_type.contains("json") {
                continue;
            }
            for (field, prop, resource) in self.forbidden_fields(index, &body.schema) {
                match resource {
                    Some(r) => {
                        for (a, v) in self.cast.pairs() {
                            if a == self.cast.anonymous() {
                                continue;
                            }
                            out.extend(self.tenant_move_probe(a, v, index, effect, &field, r));
                        }
                    }
                    None if effect == Effect::Write => {
                        for a in self.customers() {
                            out.extend(self.self_assign_probe(a, index, &field, &prop));
                        }
                    }
                    None => {}
                }
            }
        }
        out
    }

    /// Top-level body fields a caller must not set: read-only ones and privileged ones the
    /// responses show but the request schema leaves out. Each with the resource it names, if
    /// it is an id of one.
    fn forbidden_fields(
        &self,
        index: usize,
        schema: &Schema,
    ) -> Vec<(String, Schema, Option<usize>)> {
        let mut out = Vec::new();
        let request = schema.properties();
        let mut candidates: Vec<(String, Schema)> = Vec::new();
        if let Some(props) = request {
            for (name, prop) in props {
                if prop.read_only {
                    candidates.push((name.clone(), (**prop).clone()));
                }
            }
        }
        // Fields the operation's own answers show that the request schema does not have, and
        // those of its read model: the GET on the same path (`PATCH /me` and `GET /me`).
        let op = &self.api.operations[index];
        let readers = self
            .gets()
            .by_path
            .get(&op.path)
            .map(|&i| &self.api.operations[i]);
        let responses = op
            .responses
            .iter()
            .chain(readers.into_iter().flat_map(|o| &o.responses));
        for response in responses.filter(|r| r.status.starts_with('2')) {
            if let Some(props) = response.schema.as_ref().and_then(|s| s.properties()) {
                for (name, prop) in props {
                    let absent = request.is_none_or(|r| !r.contains_key(name));
                    if absent
                        && is_privileged_field(name)
                        && !candidates.iter().any(|(n, _)| n == name)
                    {
                        candidates.push((name.clone(), (**prop).clone()));
                    }
                }
            }
        }
        for (name, prop) in candidates {
            let pointer = format!("/{}", crate::spec::escape(&name));
            let resource = resources_of_id_name(&name)
                .iter()
                .find_map(|n| self.model.resource(n));
            let n = normalize(&name);
            if let Some(r) = resource {
                // The object's own id is not an owner: the resource a create makes, or the one
                // an update's last path parameter names.
                let own = n == "id"
                    || self
                        .model
                        .producers
                        .iter()
                        .any(|p| p.op == index && p.resource == r)
                    || (effect_of(self.api, self.model, index) == Effect::Write
                        && self.last_path_resource(index) == Some(r));
                if own {
                    continue;
                }
                if matches!(
                    prop.kind,
                    SchemaKind::String | SchemaKind::Integer | SchemaKind::Any
                ) {
                    out.push((pointer, prop, Some(r)));
                }
                continue;
            }
            if n == "id" || n.ends_with("id") || n.ends_with("at") && prop.format.is_some() {
                continue;
            }
            let scalar = matches!(
                prop.kind,
                SchemaKind::String | SchemaKind::Integer | SchemaKind::Number | SchemaKind::Boolean
            );
            let privileged = is_privileged_field(&name)
                || !prop.enum_values.is_empty()
                || prop.kind == SchemaKind::Boolean;
            if scalar && privileged {
                out.push((pointer, prop, None));
            }
        }
        out
    }

    /// The resource the last path parameter of `index` takes.
    fn last_path_resource(&self, index: usize) -> Option<usize> {
        let names = crate::spec::template_names(&self.api.operations[index].path);
        let last = names.last()?;
        self.model
            .consumers_of(index)
            .find(|c| c.slot == Slot::Path(last.clone()))
            .map(|c| c.resource)
    }

    /// The attacker creates (or updates) its own object with `field` set to the victim's id of
    /// `resource`; the victim's list under that resource must not show it.
    fn tenant_move_probe(
        &self,
        a: usize,
        v: usize,
        index: usize,
        effect: Effect,
        field: &str,
        resource: usize,
    ) -> Option<Probe> {
        let mut steps = Vec::new();
        let mut vh = Holdings::new(v);
        let victim_id = self.obtain(resource, &mut vh, &mut steps, 0)?;
        let mut ah = Holdings::new(a);
        let mut own: HashMap<Slot, Expr> = HashMap::new();
        for c in self.model.consumers_of(index) {
            let e = self.obtain(c.resource, &mut ah, &mut steps, 0)?;
            own.insert(c.slot.clone(), e);
        }
        let (target_resource, target_step, readback) = if effect == Effect::Create {
            (Some(resource), None, self.lister(index, &vh)?)
        } else {
            // An update of the attacker's own object, moved under the victim's resource.
            let target = self
                .model
                .consumers_of(index)
                .find(|c| matches!(c.slot, Slot::Path(_)))?;
            let Some(Expr::Created { step }) = own.get(&target.slot).cloned() else {
                return None;
            };
            let producer = self.model.producer_of(target.resource)?;
            if !producer.dependencies.iter().any(|(_, r)| *r == resource) {
                return None;
            }
            (
                Some(target.resource),
                Some(step),
                self.lister(producer.op, &vh)?,
            )
        };
        let mut args = self.args(index, a, &mut |s| own.get(s).cloned(), None);
        args.retain(|(s, _)| s != &Slot::Body(field.to_string()));
        args.push((Slot::Body(field.to_string()), victim_id));
        push_attack(
            &mut steps,
            Step {
                actor: a,
                op: index,
                role: StepRole::Attack {
                    victim: v,
                    effect,
                    vector: Vector::Body,
                    target_resource,
                    target_step,
                    check: Check::Assign {
                        field: field.to_string(),
                        own: false,
                    },
                },
                args,
            },
            Some(readback),
        );
        Some(Probe {
            attacker: a,
            victim: v,
            scenario: Scenario { steps },
        })
    }

    /// The caller sets a privilege field of its own object twice, to a privileged value and then
    /// back to what it was, each time read back with the GET on the same path.
    fn self_assign_probe(
        &self,
        a: usize,
        index: usize,
        field: &str,
        prop: &Schema,
    ) -> Option<Probe> {
        let op = &self.api.operations[index];
        let reader = *self.gets().by_path.get(&op.path)?;
        if self.model.is_skipped(reader) {
            return None;
        }
        // The answer must show the field where the request sets it.
        let shows = self.api.operations[reader]
            .responses
            .iter()
            .filter(|r| r.status.starts_with('2'))
            .filter_map(|r| r.schema.as_ref())
            .any(|s| {
                s.properties()
                    .is_some_and(|p| p.contains_key(field.trim_start_matches('/')))
            });
        if !shows {
            return None;
        }
        let values = self.assign_values(field, prop);
        if values.is_empty() {
            return None;
        }
        let mut steps = Vec::new();
        let mut h = Holdings::new(a);
        let mut own: HashMap<Slot, Expr> = HashMap::new();
        for c in self.model.consumers_of(index) {
            let e = self.obtain(c.resource, &mut h, &mut steps, 0)?;
            // Only the campaign's own objects (or the caller's own profile) are changed.
            if !matches!(e, Expr::Created { .. }) {
                return None;
            }
            own.insert(c.slot.clone(), e);
        }
        let pick = |r: usize| h.memo.get(&r).cloned();
        let read_args = self.filled(reader, a, &pick, None)?;
        let first_read = steps.len();
        // Each value in turn, then the one the caller had (restored): a value equal to the
        // current one changes nothing and proves nothing, which the oracle sees.
        let injected_values: Vec<Expr> = values
            .into_iter()
            .map(Expr::Lit)
            .chain(std::iter::once(Expr::Echo {
                step: first_read,
                pointer: field.to_string(),
            }))
            .collect();
        for (n, injected) in injected_values.into_iter().enumerate() {
            let mut args: Args = self.args(index, a, &mut |s| own.get(s).cloned(), None);
            args.retain(|(s, _)| s != &Slot::Body(field.to_string()));
            args.push((Slot::Body(field.to_string()), injected));
            let attack = Step {
                actor: a,
                op: index,
                role: StepRole::Attack {
                    victim: a,
                    effect: Effect::Write,
                    vector: Vector::Body,
                    target_resource: None,
                    target_step: None,
                    check: Check::Assign {
                        field: field.to_string(),
                        own: true,
                    },
                },
                args,
            };
            if n == 0 {
                push_attack(&mut steps, attack, Some((reader, read_args.clone())));
            } else {
                // The first attack's read-back is this one's "before".
                let at = steps.len();
                steps.push(attack);
                steps.push(Step {
                    actor: a,
                    op: reader,
                    role: StepRole::ReadBack {
                        attack: at,
                        phase: Phase::After,
                    },
                    args: read_args.clone(),
                });
            }
        }
        Some(Probe {
            attacker: a,
            victim: a,
            scenario: Scenario { steps },
        })
    }

    /// Per webhook receiver and tenant: a signed event the owner sees applied, then the same
    /// event unsigned, wrongly signed, stale, and replayed, each followed by the owner's read.
    pub(super) fn webhook_probes(&self) -> Vec<Probe> {
        let mut out = Vec::new();
        let anon = self.cast.anonymous();
        for &index in &self.cast.webhooks {
            let mut tenants_done: Vec<Option<String>> = Vec::new();
            for w in self.customers() {
                // One owner per tenant: the executor runs webhook scenarios one at a time, and
                // more owners of one account would only repeat the same probes.
                if tenants_done.contains(&self.cast.tenants[w]) {
                    continue;
                }
                let forgeries: Vec<Forgery> = [
                    Forgery::Unsigned,
                    Forgery::WrongSecret,
                    Forgery::Stale,
                    Forgery::Replay,
                ]
                .into_iter()
                .filter(|f| *f != Forgery::Stale || self.cast.timestamped.contains(&index))
                .collect();
                // An event that sets a state (an invoice `paid`) is judged on fresh objects;
                // one that changes the owner's read each time (a credit) on the same one.
                let probe = self
                    .webhook_state_probe(w, anon, index, &forgeries)
                    .or_else(|| self.webhook_probe(w, anon, index, &forgeries));
                if let Some(probe) = probe {
                    tenants_done.push(self.cast.tenants[w].clone());
                    out.push(probe);
                }
            }
        }
        out
    }

    /// The owner reads twice (what changes between the two is noise), a correctly signed event
    /// arrives and the owner reads what it changed, then each forged event arrives in turn and
    /// the owner reads again after each. One signed control serves every forgery: these steps
    /// run one after another on the tenant's account (a chain nothing can shorten), so sharing
    /// them halves the chain. A violation's reproduction keeps only its own forgery (see
    /// `confirm::slice`).
    fn webhook_probe(
        &self,
        w: usize,
        anon: usize,
        index: usize,
        forgeries: &[Forgery],
    ) -> Option<Probe> {
        if forgeries.is_empty() {
            return None;
        }
        let mut steps = Vec::new();
        let mut h = Holdings::new(w);
        let consumers: Vec<_> = self.model.consumers_of(index).collect();
        let first = consumers.first()?;
        let mut ids: HashMap<Slot, Expr> = HashMap::new();
        for c in &consumers {
            ids.insert(
                c.slot.clone(),
                self.obtain(c.resource, &mut h, &mut steps, 0)?,
            );
        }
        let (reader, read_args) = self.reader(first.resource, &h)?;
        let event = self.args(index, w, &mut |s| ids.get(s).cloned(), None);
        let attack = steps.len() + 4;
        let read = |phase: Phase| Step {
            actor: w,
            op: reader,
            role: StepRole::ReadBack { attack, phase },
            args: read_args.clone(),
        };
        steps.push(read(Phase::Before));
        steps.push(read(Phase::Before));
        let control = steps.len();
        steps.push(Step {
            actor: anon,
            op: index,
            role: StepRole::ReadBack {
                attack,
                phase: Phase::Before,
            },
            args: event.clone(),
        });
        steps.push(read(Phase::Before));
        for &forgery in forgeries {
            let at = steps.len();
            steps.push(Step {
                actor: anon,
                op: index,
                role: StepRole::Attack {
                    victim: w,
                    effect: Effect::Action,
                    vector: if forgery == Forgery::Replay {
                        Vector::Body
                    } else {
                        Vector::Header
                    },
                    target_resource: None,
                    target_step: None,
                    check: Check::Webhook {
                        forgery,
                        control,
                        state: Vec::new(),
                    },
                },
                // A replay sends the control's request again, byte for byte (the executor
                // copies it).
                args: if forgery == Forgery::Replay {
                    Args::default()
                } else {
                    event.clone()
                },
            });
            steps.push(Step {
                actor: w,
                op: reader,
                role: StepRole::ReadBack {
                    attack: at,
                    phase: Phase::After,
                },
                args: read_args.clone(),
            });
        }
        Some(Probe {
            attacker: anon,
            victim: w,
            scenario: Scenario { steps },
        })
    }
}

impl Planner<'_> {
    /// For an event that sets a state on the object it names (see [`event_states`]): the owner's
    /// object is read twice, the signed control sets its state and the owner reads it again, so
    /// the receiver is shown to work; then each forgery names a fresh object of the owner's,
    /// made through the object's producer and read just before (still in its earlier state),
    /// and the owner reads that object after it. On the control's object a forgery would have
    /// nothing left to change. No replay: the signed event names the control's object, whose
    /// state it already set. `None` when the event sets no state its object's read shows, or
    /// no object of its kind can be made afresh (the same-object probe is left).
    fn webhook_state_probe(
        &self,
        w: usize,
        anon: usize,
        index: usize,
        forgeries: &[Forgery],
    ) -> Option<Probe> {
        let forgeries: Vec<Forgery> = forgeries
            .iter()
            .copied()
            .filter(|f| *f != Forgery::Replay)
            .collect();
        let body = self.api.operations[index].body.as_ref()?;
        if forgeries.is_empty() {
            return None;
        }
        let consumers: Vec<_> = self.model.consumers_of(index).collect();
        let id_slots: Vec<&Slot> = consumers.iter().map(|c| &c.slot).collect();
        let mut steps = Vec::new();
        let mut h = Holdings::new(w);
        let mut ids: HashMap<Slot, Expr> = HashMap::new();
        for c in &consumers {
            ids.insert(
                c.slot.clone(),
                self.obtain(c.resource, &mut h, &mut steps, 0)?,
            );
        }
        // The object: one the event names that this scenario creates, read by an operation
        // that names it (not a list of them), whose read shows a state the event sets.
        let (target, states) = consumers.iter().find_map(|c| {
            let made = ids
                .get(&c.slot)
                .filter(|e| matches!(e, Expr::Created { .. }))?;
            let (reader, args) = self.reader(c.resource, &h)?;
            if !args.iter().any(|(_, e)| e == made) {
                return None;
            }
            let read = self.api.operations[reader].success_schema()?;
            let states = event_states(&body.schema, read, &id_slots);
            (!states.is_empty()).then_some((c.resource, states))
        })?;
        let pointers: Vec<String> = states.iter().map(|(p, _)| p.clone()).collect();
        let event = |ids: &HashMap<Slot, Expr>| {
            let mut args = self.args(index, w, &mut |s| ids.get(s).cloned(), None);
            // The event says the state it sets, as the spec fixes it, even where it may leave
            // it out.
            for (pointer, value) in &states {
                let slot = Slot::Body(pointer.clone());
                match args.iter_mut().find(|(s, _)| *s == slot) {
                    Some(arg) => arg.1 = Expr::Lit(value.clone()),
                    None => args.push((slot, Expr::Lit(value.clone()))),
                }
            }
            args
        };
        let read_of = |reader: usize, args: &Args, attack: usize, phase: Phase| Step {
            actor: w,
            op: reader,
            role: StepRole::ReadBack { attack, phase },
            args: args.clone(),
        };
        let (reader, read_args) = self.reader(target, &h)?;
        let shared = steps.len();
        steps.push(read_of(reader, &read_args, 0, Phase::Before));
        steps.push(read_of(reader, &read_args, 0, Phase::Before));
        let control = steps.len();
        steps.push(Step {
            actor: anon,
            op: index,
            role: StepRole::ReadBack {
                attack: 0,
                phase: Phase::Before,
            },
            args: event(&ids),
        });
        steps.push(read_of(reader, &read_args, 0, Phase::Before));
        let mut first = None;
        for forgery in forgeries {
            // A fresh object of the same owner, under the same parents.
            h.memo.shift_remove(&target);
            let fresh = self
                .obtain(target, &mut h, &mut steps, 0)
                .filter(|e| matches!(e, Expr::Created { .. }))?;
            for c in consumers.iter().filter(|c| c.resource == target) {
                ids.insert(c.slot.clone(), fresh.clone());
            }
            let (reader, read_args) = self.reader(target, &h)?;
            let at = steps.len() + 1;
            first.get_or_insert(at);
            steps.push(read_of(reader, &read_args, at, Phase::Before));
            steps.push(Step {
                actor: anon,
                op: index,
                role: StepRole::Attack {
                    victim: w,
                    effect: Effect::Action,
                    vector: Vector::Header,
                    target_resource: None,
                    target_step: None,
                    check: Check::Webhook {
                        forgery,
                        control,
                        state: pointers.clone(),
                    },
                },
                args: event(&ids),
            });
            steps.push(read_of(reader, &read_args, at, Phase::After));
        }
        // The shared reads and the control belong to the first forgery, as in `webhook_probe`.
        let first = first?;
        for step in &mut steps[shared..=control + 1] {
            if let StepRole::ReadBack { attack, .. } = &mut step.role {
                *attack = first;
            }
        }
        Some(Probe {
            attacker: anon,
            victim: w,
            scenario: Scenario { steps },
        })
    }
}

/// The fields of a webhook event's body that name the state it sets on the object it names,
/// each with its value: a scalar the spec fixes (an enum of one value, a `const`, or the value
/// its example gives, its own or its object's) whose name the object's read also has (`status:
/// paid` for an invoice whose read shows a `status`), and that is none of the event's id slots.
/// A credit's `type: credit.granted` is no state of the workspace it names, whose read has no
/// `type`: that event is judged by what it changes each time it is applied.
fn event_states(body: &Schema, read: &Schema, ids: &[&Slot]) -> Vec<(String, Value)> {
    let mut names = Vec::new();
    property_names(read, 0, &mut names);
    let mut fixed = Vec::new();
    fixed_fields(body, "", None, 0, &mut fixed);
    fixed
        .into_iter()
        .filter(|(pointer, name, _)| {
            // An event's own id or key (`id: evt_123`) names the delivery, not a state, and
            // each event needs its own.
            let key = words(name).last().is_some_and(|w| {
                ["id", "ids", "uuid", "key", "token", "nonce"].contains(&w.to_lowercase().as_str())
            });
            !key && !ids
                .iter()
                .any(|s| matches!(s, Slot::Body(p) if p == pointer))
                && names.iter().any(|n| same_field(n, name))
        })
        .map(|(pointer, _, value)| (pointer, value))
        .collect()
}

/// Every property name of an object schema, its items' and its members', a few levels down.
fn property_names(s: &Schema, depth: usize, out: &mut Vec<String>) {
    if depth > 4 {
        return;
    }
    if let SchemaKind::Array(items) = &s.kind {
        property_names(items, depth + 1, out);
    }
    for (name, prop) in s.properties().into_iter().flatten() {
        out.push(name.clone());
        property_names(prop, depth + 1, out);
    }
}

/// The scalar body fields whose value the spec fixes: (pointer, name, value). `example` is what
/// the enclosing object's example gives this object.
fn fixed_fields(
    s: &Schema,
    at: &str,
    example: Option<&Value>,
    depth: usize,
    out: &mut Vec<(String, String, Value)>,
) {
    let example = s.example.as_ref().filter(|e| e.is_object()).or(example);
    for (name, prop) in s.properties().into_iter().flatten() {
        if prop.read_only {
            continue;
        }
        let here = format!("{at}/{}", name.replace('~', "~0").replace('/', "~1"));
        let given = prop
            .example
            .as_ref()
            .or_else(|| example.and_then(|e| e.get(name)));
        match &prop.kind {
            SchemaKind::Object { .. } | SchemaKind::OneOf(_) if depth < 4 => {
                fixed_fields(prop, &here, given, depth + 1, out)
            }
            SchemaKind::String | SchemaKind::Boolean | SchemaKind::Integer => {
                let value = match prop.enum_values.as_slice() {
                    [one] => Some(one.clone()),
                    // An example names a state by a word or a flag, not a quantity; among an
                    // enum's values, only one of them.
                    values => given
                        .filter(|v| v.is_string() || v.is_boolean())
                        .filter(|v| values.is_empty() || values.contains(*v))
                        .cloned(),
                };
                if let Some(value) = value.filter(|v| !v.is_null()) {
                    out.push((here, name.clone(), value));
                }
            }
            _ => {}
        }
    }
}

impl Planner<'_> {
    /// Per delete operation: its owner deletes a resource it created, then reads it again.
    pub(super) fn after_delete_probes(&self) -> Vec<Probe> {
        let mut out = Vec::new();
        for index in 0..self.api.operations.len() {
            // A delete of a collection under a parent (`/buckets/{id}/collections`) empties
            // the list: the parent it names is not deleted, and reading it again proves nothing.
            if effect_of(self.api, self.model, index) != Effect::Delete
                || self.model.is_skipped(index)
                || self.cast.webhooks.contains(&index)
            {
                continue;
            }
            let Some(r) = self.last_path_resource(index) else {
                continue;
            };
            // One owner is enough: the question is about the resource, not who owns it.
            if let Some(p) = self
                .customers()
                .find_map(|v| self.after_delete_probe(v, index, r))
            {
                out.push(p);
            }
        }
        out
    }

    fn after_delete_probe(&self, v: usize, index: usize, resource: usize) -> Option<Probe> {
        let mut steps = Vec::new();
        let mut h = Holdings::new(v);
        let id = self.obtain(resource, &mut h, &mut steps, 0)?;
        let Expr::Created { step: created } = id else {
            return None;
        };
        let (reader, read_args) = self.reader(resource, &h)?;
        let pick = |r: usize| h.memo.get(&r).cloned();
        let delete_args = self.filled(index, v, &pick, None)?;
        let attack = steps.len() + 2;
        steps.push(Step {
            actor: v,
            op: reader,
            role: StepRole::ReadBack {
                attack,
                phase: Phase::Before,
            },
            args: read_args.clone(),
        });
        steps.push(Step {
            actor: v,
            op: index,
            role: StepRole::ReadBack {
                attack,
                phase: Phase::Before,
            },
            args: delete_args,
        });
        steps.push(Step {
            actor: v,
            op: reader,
            role: StepRole::Attack {
                victim: v,
                effect: Effect::Read,
                vector: Vector::Path,
                target_resource: Some(resource),
                target_step: Some(created),
                check: Check::AfterDelete,
            },
            args: read_args,
        });
        Some(Probe {
            attacker: v,
            victim: v,
            scenario: Scenario { steps },
        })
    }

    /// Per read operation that takes a resource's id last in its path: a foreign id and an id
    /// that does not exist, asked by the same identity.
    pub(super) fn existence_probes(&self) -> Vec<Probe> {
        let mut out = Vec::new();
        for index in 0..self.api.operations.len() {
            let op = &self.api.operations[index];
            if op.method != Method::Get || self.model.is_skipped(index) {
                continue;
            }
            let Some(r) = self.last_path_resource(index) else {
                continue;
            };
            if let Some(p) = self
                .cast
                .pairs()
                .into_iter()
                .filter(|(a, _)| *a != self.cast.anonymous())
                .find_map(|(a, v)| self.existence_probe(a, v, index, r))
            {
                out.push(p);
            }
        }
        out
    }

    fn existence_probe(&self, a: usize, v: usize, index: usize, resource: usize) -> Option<Probe> {
        let mut steps = Vec::new();
        let mut h = Holdings::new(v);
        let Expr::Created { step: created } = self.obtain(resource, &mut h, &mut steps, 0)? else {
            return None;
        };
        let pick = |r: usize| h.memo.get(&r).cloned();
        let own = self.filled(index, v, &pick, None)?;
        let foreign = self.filled(index, a, &pick, None)?;
        let absent: Args = foreign
            .iter()
            .map(|(s, e)| match e {
                Expr::Created { step } if *step == created => {
                    (s.clone(), Expr::Absent { step: created })
                }
                other => (s.clone(), other.clone()),
            })
            .collect();
        let attack = steps.len() + 2;
        let control = steps.len() + 1;
        for (actor, args) in [(v, own), (a, absent)] {
            steps.push(Step {
                actor,
                op: index,
                role: StepRole::ReadBack {
                    attack,
                    phase: Phase::Before,
                },
                args,
            });
        }
        steps.push(Step {
            actor: a,
            op: index,
            role: StepRole::Attack {
                victim: v,
                effect: Effect::Read,
                vector: Vector::Path,
                target_resource: Some(resource),
                target_step: Some(created),
                check: Check::Existence { control },
            },
            args: foreign,
        });
        Some(Probe {
            attacker: a,
            victim: v,
            scenario: Scenario { steps },
        })
    }
}

impl Planner<'_> {
    /// Per identity with a bearer token: its own token tampered with (cut, changed, stripped of
    /// its signature, expired under a guessed key), judged against no credentials at all; and
    /// for a JWT, another tenant's identity forging it for this one (`alg: none`, an unverified
    /// subject, a guessed key), judged against that attacker's own token.
    pub(super) fn token_probes(&self) -> Vec<Probe> {
        let anon = self.cast.anonymous();
        let shape = |i: usize| self.cast.tokens.get(i).copied().flatten();
        let mut out = Vec::new();
        for v in self.customers() {
            let Some(mine) = shape(v) else {
                continue;
            };
            let own: Vec<TokenForgery> = match mine {
                TokenShape::Opaque => vec![TokenForgery::Truncated, TokenForgery::Altered],
                TokenShape::Jwt { cracked } => std::iter::once(TokenForgery::Stripped)
                    .chain(cracked.map(|entry| TokenForgery::Expired { entry }))
                    .collect(),
            };
            out.extend(self.token_probe(v, anon, v, &own));
            if !matches!(mine, TokenShape::Jwt { .. }) {
                continue;
            }
            // One attacker per victim: another tenant's identity whose token is a JWT too.
            let attacker = self
                .cast
                .pairs()
                .into_iter()
                .find_map(|(a, w)| match shape(a) {
                    Some(TokenShape::Jwt { cracked }) if w == v && a != anon => Some((a, cracked)),
                    _ => None,
                });
            let Some((a, cracked)) = attacker else {
                continue;
            };
            let mut cross: Vec<TokenForgery> = [
                NoneSpelling::Lower,
                NoneSpelling::Title,
                NoneSpelling::Upper,
            ]
            .into_iter()
            .map(|spelling| TokenForgery::AlgNone { spelling })
            .chain([TokenForgery::Unverified])
            .collect();
            if let Some(entry) = cracked {
                cross.push(TokenForgery::WeakKey { entry });
                cross.push(TokenForgery::WeakKeyRole { entry });
            }
            out.extend(self.token_probe(a, a, v, &cross));
        }
        out
    }

    /// The victim creates a resource and reads it; `control` (the attacker with its own token,
    /// or no credentials) reads it; then `actor` reads it with each forged token.
    fn token_probe(
        &self,
        actor: usize,
        control_actor: usize,
        v: usize,
        forgeries: &[TokenForgery],
    ) -> Option<Probe> {
        if forgeries.is_empty() {
            return None;
        }
        (0..self.model.resources.len()).find_map(|r| {
            let mut steps = Vec::new();
            let mut h = Holdings::new(v);
            let Expr::Created { step: created } = self.obtain(r, &mut h, &mut steps, 0)? else {
                return None;
            };
            let (reader, read_args) = self.reader(r, &h)?;
            if self.cast.webhooks.contains(&reader) {
                return None;
            }
            let attack = steps.len() + 2;
            steps.push(Step {
                actor: v,
                op: reader,
                role: StepRole::ReadBack {
                    attack,
                    phase: Phase::Before,
                },
                args: read_args.clone(),
            });
            let control = steps.len();
            steps.push(Step {
                actor: control_actor,
                op: reader,
                role: StepRole::ReadBack {
                    attack,
                    phase: Phase::Before,
                },
                args: read_args.clone(),
            });
            for &forgery in forgeries {
                steps.push(Step {
                    actor,
                    op: reader,
                    role: StepRole::Attack {
                        victim: v,
                        effect: Effect::Read,
                        vector: Vector::Header,
                        target_resource: Some(r),
                        target_step: Some(created),
                        check: Check::Token { forgery, control },
                    },
                    args: read_args.clone(),
                });
            }
            Some(Probe {
                attacker: actor,
                victim: v,
                scenario: Scenario { steps },
            })
        })
    }
}

/// How many values one privilege field is set to, besides the restoration.
const MAX_ASSIGN_VALUES: usize = 8;

impl Planner<'_> {
    /// The values to set a privilege field to, most privileged first: every value of its enum,
    /// `true` for a flag, the roles the identities are declared with (and the administrator
    /// roles) for a role field, else the most privileged value the schema allows.
    fn assign_values(&self, field: &str, prop: &Schema) -> Vec<Value> {
        let mut out: Vec<Value> = privileged_value(prop).into_iter().collect();
        let push = |v: Value, out: &mut Vec<Value>| {
            if !out.contains(&v) {
                out.push(v);
            }
        };
        for v in &prop.enum_values {
            push(v.clone(), &mut out);
        }
        let name = normalize(field.trim_start_matches('/'));
        if prop.enum_values.is_empty() && prop.kind == SchemaKind::String {
            let declared: Vec<String> = match name.as_str() {
                "role" | "roles" | "group" => (self.cast.policy.admin_roles.iter())
                    .chain(self.cast.roles.iter().flatten())
                    .cloned()
                    .collect(),
                "plan" | "tier" => self.cast.plans.iter().flatten().cloned().collect(),
                _ => Vec::new(),
            };
            for r in declared {
                push(Value::String(r), &mut out);
            }
        }
        out.truncate(MAX_ASSIGN_VALUES);
        out
    }
}

/// `values` with the most privileged first (as [`PRIVILEGED_VALUES`] ranks them), the others
/// after them in their order.
pub(crate) fn most_privileged_first(values: &mut [Value]) {
    let rank = |v: &Value| {
        v.as_str()
            .and_then(|s| PRIVILEGED_VALUES.iter().position(|w| normalize(s) == *w))
            .unwrap_or(PRIVILEGED_VALUES.len())
    };
    values.sort_by_key(rank);
}

/// The value to inject into a privilege field: the most privileged enum value, `true`, `admin`,
/// or a large number within bounds.
pub(super) fn privileged_value(prop: &Schema) -> Option<Value> {
    if !prop.enum_values.is_empty() {
        for want in PRIVILEGED_VALUES {
            if let Some(v) = prop
                .enum_values
                .iter()
                .find(|v| v.as_str().is_some_and(|s| normalize(s) == *want))
            {
                return Some(v.clone());
            }
        }
        return prop.enum_values.last().cloned();
    }
    match prop.kind {
        SchemaKind::Boolean => Some(json!(true)),
        SchemaKind::String if prop.format.is_none() => Some(json!("admin")),
        SchemaKind::Integer | SchemaKind::Number => {
            let max = prop.maximum.unwrap_or(1_000_000.0).min(1_000_000.0);
            Some(json!(max as i64))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::{Cast, Planner};
    use super::*;
    use crate::config::{PolicyRule, PolicySettings};
    use crate::model::{Overrides, Policy, ResourceModel, infer};
    use crate::spec::{Api, load_str};

    const SPEC: &str = r#"
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /projects:
    get:
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Project'}}}}}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/NewProject'}}}}
      responses:
        '201': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Project'}}}}
  /projects/{projectId}:
    parameters: [{name: projectId, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Project'}}}}
    put:
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/NewProject'}}}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Project'}}}}
    delete:
      responses: {'204': {description: ok}}
  /projects/{projectId}/tasks:
    parameters: [{name: projectId, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Task'}}}}}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/NewTask'}}}}
      responses:
        '201': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Task'}}}}
  /projects/{projectId}/tasks/{taskId}:
    parameters:
      - {name: projectId, in: path, required: true, schema: {type: string}}
      - {name: taskId, in: path, required: true, schema: {type: string}}
    get:
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Task'}}}}
    put:
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/MovedTask'}}}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Task'}}}}
  /reports:
    get:
      responses: {'200': {description: ok}}
  /hooks/payment:
    post:
      requestBody: {required: true, content: {application/json: {schema: {type: object, properties: {projectId: {type: string}, amount: {type: integer}}}}}}
      responses: {'200': {description: ok}}
components:
  schemas:
    NewProject:
      type: object
      properties:
        name: {type: string}
    Project:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
        role: {type: string, enum: [viewer, admin, member]}
    NewTask:
      type: object
      properties:
        title: {type: string}
        ownerId: {type: string, readOnly: true}
        projectId: {type: string, readOnly: true}
    MovedTask:
      type: object
      properties:
        title: {type: string}
        projectId: {type: string, readOnly: true}
    Task:
      type: object
      properties:
        id: {type: string}
        title: {type: string}
"#;

    struct Fixture {
        api: Api,
        model: ResourceModel,
        cast: Cast,
    }

    fn fixture() -> Fixture {
        let api = load_str(SPEC, "t.yaml").expect("loads");
        let model = infer(&api, &[], &Overrides::default());
        // Members 0 (tenant a) and 1 (tenant b), managers 2 (a) and 3 (b), anonymous 4; only
        // 1 and the managers pay for the pro plan.
        let mut cast = Cast::of_tenants(
            vec![
                Some("a".into()),
                Some("b".into()),
                Some("a".into()),
                Some("b".into()),
                None,
            ],
            BTreeSet::new(),
        );
        cast.roles = vec![
            Some("member".into()),
            Some("member".into()),
            Some("manager".into()),
            Some("manager".into()),
            None,
        ];
        cast.plans = vec![
            Some("free".into()),
            Some("pro".into()),
            Some("pro".into()),
            Some("pro".into()),
            None,
        ];
        let rule = |op: &str, roles: Option<&str>, plans: Option<&str>| PolicyRule {
            operations: vec![op.into()],
            roles: roles.map(|r| vec![r.into()]),
            plans: plans.map(|p| vec![p.into()]),
        };
        let settings = PolicySettings {
            rules: vec![
                rule("GET /reports", Some("manager"), None),
                rule(
                    "PUT /projects/{projectId}/tasks/{taskId}",
                    Some("manager"),
                    None,
                ),
                rule("POST /projects/{projectId}/tasks", None, Some("pro")),
            ],
            ..PolicySettings::default()
        };
        cast.policy =
            Policy::resolve(&api, &settings, &["free".into(), "pro".into()]).expect("valid");
        cast.webhooks = vec![api.find("POST /hooks/payment").expect("op")];
        Fixture { api, model, cast }
    }

    fn planner(f: &Fixture) -> Planner<'_> {
        Planner::new(&f.api, &f.model, &f.cast)
    }

    fn op(f: &Fixture, label: &str) -> usize {
        f.api.find(label).expect("op")
    }

    /// The attack steps of a probe, with their indexes.
    fn attacks(p: &Probe) -> Vec<(usize, &Step)> {
        p.scenario
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.role, StepRole::Attack { .. }))
            .collect()
    }

    fn check_of(step: &Step) -> &Check {
        match &step.role {
            StepRole::Attack { check, .. } => check,
            other => panic!("not an attack: {other:?}"),
        }
    }

    #[test]
    fn a_denied_read_is_controlled_by_a_permitted_identity_of_the_attackers_tenant() {
        let f = fixture();
        let reports = op(&f, "GET /reports");
        let probes: Vec<Probe> = planner(&f)
            .gate_probes()
            .into_iter()
            .filter(|p| attacks(p).iter().any(|(_, s)| s.op == reports))
            .collect();
        // The two members are denied it; the managers are not probed.
        let who: Vec<(usize, usize)> = probes.iter().map(|p| (p.attacker, p.victim)).collect();
        assert_eq!(who, vec![(0, 1), (1, 0)]);
        for p in &probes {
            let [(at, attack)] = attacks(p)[..] else {
                panic!("one attack: {p:?}");
            };
            assert_eq!(at, p.scenario.steps.len() - 1);
            assert_eq!(attack.actor, p.attacker);
            let Check::Gate {
                plan: false,
                control: Some(c),
            } = *check_of(attack)
            else {
                panic!("a role gate with a control: {attack:?}");
            };
            let control = &p.scenario.steps[c];
            assert_eq!(control.op, reports);
            // Manager 2 shares member 0's tenant, manager 3 member 1's.
            assert_eq!(control.actor, p.attacker + 2);
            // Before the attack, both sides list what they own.
            let lists: Vec<usize> = p
                .scenario
                .steps
                .iter()
                .filter(|s| s.op == op(&f, "GET /projects"))
                .map(|s| s.actor)
                .collect();
            assert_eq!(lists, vec![p.victim, p.attacker]);
            for s in &p.scenario.steps[..at] {
                assert!(
                    matches!(
                        s.role,
                        StepRole::Setup { .. }
                            | StepRole::ReadBack {
                                phase: Phase::Before,
                                ..
                            }
                    ),
                    "{s:?}"
                );
                if let StepRole::ReadBack { attack, .. } = s.role {
                    assert_eq!(attack, at);
                }
            }
        }
    }

    #[test]
    fn a_denied_change_is_made_on_the_callers_own_resource_and_judged_by_its_gate() {
        let f = fixture();
        let update = op(&f, "PUT /projects/{projectId}/tasks/{taskId}");
        let create = op(&f, "POST /projects/{projectId}/tasks");
        let mut seen = Vec::new();
        for p in planner(&f).gate_probes() {
            for (_, a) in attacks(&p) {
                let StepRole::Attack {
                    victim,
                    vector,
                    check: Check::Gate { plan, control },
                    ..
                } = &a.role
                else {
                    panic!("a gate: {a:?}");
                };
                if a.op != update && a.op != create {
                    continue;
                }
                assert_eq!((a.actor, *victim), (p.attacker, p.attacker), "its own");
                assert_eq!(*control, None);
                assert_eq!(*vector, Vector::Path, "never a parent of anyone else's");
                // Everything it uses the caller made itself.
                for id in a.uses() {
                    assert_eq!(p.scenario.steps[id].actor, a.actor);
                }
                seen.push((a.op, a.actor, *plan));
            }
        }
        seen.sort();
        // The members are denied the update by role; only member 0 lacks the plan to create.
        let mut want = vec![(update, 0, false), (update, 1, false), (create, 0, true)];
        want.sort();
        assert_eq!(seen, want);
    }

    #[test]
    fn a_privilege_field_is_set_to_every_value_of_its_enum_most_privileged_first_and_back_by_the_caller()
     {
        let f = fixture();
        let put = op(&f, "PUT /projects/{projectId}");
        let get = op(&f, "GET /projects/{projectId}");
        let own: Vec<Probe> = planner(&f)
            .assign_probes()
            .into_iter()
            .filter(|p| {
                attacks(p)
                    .iter()
                    .any(|(_, s)| matches!(check_of(s), Check::Assign { own: true, .. }))
            })
            .collect();
        // Every customer, nobody anonymous.
        let who: Vec<(usize, usize)> = own.iter().map(|p| (p.attacker, p.victim)).collect();
        assert_eq!(who, vec![(0, 0), (1, 1), (2, 2), (3, 3)]);
        for p in &own {
            let steps = &p.scenario.steps;
            let found = attacks(p);
            assert_eq!(found.len(), 4);
            let field = Slot::Body("/role".into());
            let injected: Vec<&Expr> = found
                .iter()
                .map(|(_, a)| {
                    assert_eq!(a.op, put);
                    assert_eq!(
                        check_of(a),
                        &Check::Assign {
                            field: "/role".into(),
                            own: true
                        }
                    );
                    let values: Vec<&Expr> = a
                        .args
                        .iter()
                        .filter(|(s, _)| *s == field)
                        .map(|(_, e)| e)
                        .collect();
                    assert_eq!(values.len(), 1, "set once: {a:?}");
                    values[0]
                })
                .collect();
            // First the most privileged value, then the enum's others, then what the first
            // read showed.
            let first_read = found[0].0 - 1;
            assert_eq!(
                steps[first_read].role,
                StepRole::ReadBack {
                    attack: found[0].0,
                    phase: Phase::Before
                }
            );
            assert_eq!(steps[first_read].op, get);
            assert_eq!(
                injected[..3],
                [
                    &Expr::Lit(json!("admin")),
                    &Expr::Lit(json!("viewer")),
                    &Expr::Lit(json!("member"))
                ]
            );
            assert_eq!(
                injected[3],
                &Expr::Echo {
                    step: first_read,
                    pointer: "/role".into()
                }
            );
            for (at, _) in &found {
                let after = &steps[at + 1];
                assert_eq!(after.op, get);
                assert_eq!(after.actor, p.attacker);
                assert_eq!(
                    after.role,
                    StepRole::ReadBack {
                        attack: *at,
                        phase: Phase::After
                    }
                );
            }
        }
    }

    #[test]
    fn an_owner_field_is_pointed_at_another_tenants_resource_and_judged_by_its_owners_list() {
        let f = fixture();
        let create = op(&f, "POST /projects/{projectId}/tasks");
        let tasks = op(&f, "GET /projects/{projectId}/tasks");
        let moves: Vec<Probe> = planner(&f)
            .assign_probes()
            .into_iter()
            .filter(|p| {
                attacks(p)
                    .iter()
                    .any(|(_, s)| matches!(check_of(s), Check::Assign { own: false, .. }))
            })
            .collect();
        let mut who: Vec<(usize, usize)> = moves.iter().map(|p| (p.attacker, p.victim)).collect();
        who.sort();
        // Every pair across tenants a (0, 2) and b (1, 3); `ownerId` names no resource.
        assert_eq!(
            who,
            vec![
                (0, 1),
                (0, 3),
                (1, 0),
                (1, 2),
                (2, 1),
                (2, 3),
                (3, 0),
                (3, 2)
            ]
        );
        for p in &moves {
            let steps = &p.scenario.steps;
            let [(at, a)] = attacks(p)[..] else {
                panic!("one attack: {p:?}");
            };
            assert_eq!(a.op, create);
            assert_eq!(a.actor, p.attacker);
            assert_eq!(
                check_of(a),
                &Check::Assign {
                    field: "/projectId".into(),
                    own: false
                }
            );
            let value = a
                .args
                .iter()
                .find(|(s, _)| *s == Slot::Body("/projectId".into()))
                .map(|(_, e)| e.clone());
            let Some(Expr::Created { step: theirs }) = value else {
                panic!("the victim's id: {a:?}");
            };
            assert_eq!(steps[theirs].actor, p.victim);
            // Created under its own project.
            let Some((_, Expr::Created { step: mine })) = a
                .args
                .iter()
                .find(|(s, _)| *s == Slot::Path("projectId".into()))
            else {
                panic!("its own parent: {a:?}");
            };
            assert_eq!(steps[*mine].actor, p.attacker);
            // A create has nothing to read before; the victim lists its project's tasks after.
            assert_eq!(at + 2, steps.len());
            let after = &steps[at + 1];
            assert_eq!((after.op, after.actor), (tasks, p.victim));
            assert_eq!(
                after.args,
                vec![(
                    Slot::Path("projectId".into()),
                    Expr::Created { step: theirs }
                )]
            );
            assert_eq!(
                after.role,
                StepRole::ReadBack {
                    attack: at,
                    phase: Phase::After
                }
            );
        }
    }

    fn forgeries(p: &Probe) -> Vec<(Forgery, usize)> {
        attacks(p)
            .iter()
            .map(|(_, a)| match check_of(a) {
                Check::Webhook {
                    forgery, control, ..
                } => (*forgery, *control),
                other => panic!("a webhook check: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn webhook_forgeries_share_one_signed_control_and_each_is_followed_by_the_owners_read() {
        let mut f = fixture();
        let hook = op(&f, "POST /hooks/payment");
        let read = op(&f, "GET /projects/{projectId}");
        let probes = planner(&f).webhook_probes();
        // One owner per tenant: members 0 and 1, not the managers of the same tenants.
        let who: Vec<(usize, usize)> = probes.iter().map(|p| (p.attacker, p.victim)).collect();
        assert_eq!(who, vec![(4, 0), (4, 1)]);
        for p in &probes {
            let steps = &p.scenario.steps;
            let found = forgeries(p);
            assert_eq!(
                found.iter().map(|f| f.0).collect::<Vec<_>>(),
                vec![Forgery::Unsigned, Forgery::WrongSecret, Forgery::Replay],
                "no stale event without a signed timestamp"
            );
            let control = found[0].1;
            assert!(found.iter().all(|(_, c)| *c == control), "one control");
            let first = attacks(p)[0].0;
            assert_eq!(control, first - 2);
            assert_eq!(steps[control].op, hook);
            assert_eq!(steps[control].actor, 4, "sent by no one");
            // The owner reads twice, the control, a read, then each forgery and a read.
            for k in [first - 4, first - 3, first - 1] {
                assert_eq!((steps[k].op, steps[k].actor), (read, p.victim));
                assert_eq!(
                    steps[k].role,
                    StepRole::ReadBack {
                        attack: first,
                        phase: Phase::Before
                    }
                );
            }
            for (at, a) in attacks(p) {
                let StepRole::Attack { vector, .. } = a.role else {
                    unreachable!()
                };
                let replay = matches!(
                    check_of(a),
                    Check::Webhook {
                        forgery: Forgery::Replay,
                        ..
                    }
                );
                if replay {
                    assert_eq!(vector, Vector::Body);
                    assert!(a.args.is_empty(), "the control is sent again as it was");
                } else {
                    assert_eq!(vector, Vector::Header);
                    assert_eq!(a.args, steps[control].args);
                }
                assert_eq!(
                    steps[at + 1].role,
                    StepRole::ReadBack {
                        attack: at,
                        phase: Phase::After
                    }
                );
                assert_eq!((steps[at + 1].op, steps[at + 1].actor), (read, p.victim));
            }
            assert_eq!(steps.len(), attacks(p).last().expect("some").0 + 2);
        }
        f.cast.timestamped = vec![hook];
        let stale = planner(&f).webhook_probes();
        assert_eq!(
            forgeries(&stale[0]).iter().map(|f| f.0).collect::<Vec<_>>(),
            vec![
                Forgery::Unsigned,
                Forgery::WrongSecret,
                Forgery::Stale,
                Forgery::Replay
            ]
        );
    }

    #[test]
    fn a_delete_is_followed_by_its_owners_read_of_what_it_deleted() {
        let f = fixture();
        let delete = op(&f, "DELETE /projects/{projectId}");
        let read = op(&f, "GET /projects/{projectId}");
        let probes = planner(&f).after_delete_probes();
        assert_eq!(probes.len(), 1, "one owner per delete operation");
        let p = &probes[0];
        assert_eq!((p.attacker, p.victim), (0, 0));
        let steps = &p.scenario.steps;
        let [(at, a)] = attacks(p)[..] else {
            panic!("one attack: {p:?}");
        };
        assert_eq!(at, steps.len() - 1);
        assert_eq!((a.op, a.actor), (read, 0));
        let StepRole::Attack {
            target_step: Some(made),
            check: Check::AfterDelete,
            ..
        } = a.role
        else {
            panic!("a use-after-delete check: {a:?}");
        };
        assert!(matches!(steps[made].role, StepRole::Setup { .. }));
        assert_eq!(steps[made].actor, 0);
        let id = (Slot::Path("projectId".into()), Expr::Created { step: made });
        assert_eq!(a.args, vec![id.clone()]);
        // Read, deleted, then read again.
        assert_eq!(
            (steps[at - 2].op, &*steps[at - 2].args),
            (read, &vec![id.clone()])
        );
        assert_eq!(
            (steps[at - 1].op, &*steps[at - 1].args),
            (delete, &vec![id])
        );
        for k in [at - 2, at - 1] {
            assert_eq!(steps[k].actor, 0);
            assert_eq!(
                steps[k].role,
                StepRole::ReadBack {
                    attack: at,
                    phase: Phase::Before
                }
            );
        }
    }

    #[test]
    fn existence_is_asked_with_a_foreign_id_and_an_absent_one_by_the_same_attacker() {
        let f = fixture();
        let read = op(&f, "GET /projects/{projectId}");
        let probes = planner(&f).existence_probes();
        let p = probes
            .iter()
            .find(|p| attacks(p).iter().any(|(_, a)| a.op == read))
            .expect("a probe of GET /projects/{projectId}");
        // The first pair across tenants.
        assert_eq!((p.attacker, p.victim), (1, 0));
        let steps = &p.scenario.steps;
        let [(at, a)] = attacks(p)[..] else {
            panic!("one attack: {p:?}");
        };
        let StepRole::Attack {
            victim: 0,
            target_step: Some(made),
            check: Check::Existence { control },
            ..
        } = a.role
        else {
            panic!("an existence check: {a:?}");
        };
        assert_eq!(steps[made].actor, 0, "the victim's");
        assert_eq!(a.actor, 1);
        assert_eq!(
            a.args,
            vec![(Slot::Path("projectId".into()), Expr::Created { step: made })]
        );
        assert_eq!(control, at - 1);
        let absent = &steps[control];
        assert_eq!(
            (absent.op, absent.actor),
            (read, 1),
            "asked by the attacker"
        );
        assert_eq!(
            absent.args,
            vec![(Slot::Path("projectId".into()), Expr::Absent { step: made })]
        );
        // The owner reads its own first, proving the id names something.
        let own = &steps[at - 2];
        assert_eq!((own.op, own.actor), (read, 0));
        assert_eq!(own.args, a.args);
        for s in [own, absent] {
            assert_eq!(
                s.role,
                StepRole::ReadBack {
                    attack: at,
                    phase: Phase::Before
                }
            );
        }
    }

    #[test]
    fn every_check_probe_refers_only_to_earlier_steps_and_to_its_own_attacks() {
        let f = fixture();
        let p = planner(&f);
        let all: Vec<Probe> = [
            p.gate_probes(),
            p.assign_probes(),
            p.webhook_probes(),
            p.after_delete_probes(),
            p.existence_probes(),
        ]
        .concat();
        assert!(all.len() > 20, "{}", all.len());
        for probe in &all {
            let steps = &probe.scenario.steps;
            for (i, s) in steps.iter().enumerate() {
                assert!(s.uses().all(|u| u < i), "step {i} of {probe:?}");
                match &s.role {
                    StepRole::ReadBack { attack, .. } => {
                        assert!(matches!(steps[*attack].role, StepRole::Attack { .. }));
                    }
                    StepRole::Attack {
                        target_step, check, ..
                    } => {
                        assert!(target_step.is_none_or(|t| t < i));
                        if let Check::Gate {
                            control: Some(c), ..
                        }
                        | Check::Webhook { control: c, .. }
                        | Check::Existence { control: c } = check
                        {
                            assert!(*c < i);
                            assert!(matches!(steps[*c].role, StepRole::ReadBack { .. }));
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn privileged_values_are_the_most_privileged_the_schema_allows() {
        let with = |kind: SchemaKind, f: &dyn Fn(&mut Schema)| {
            let mut s = Schema::of(kind);
            f(&mut s);
            privileged_value(&s)
        };
        let roles = |s: &mut Schema| {
            s.enum_values = vec![
                json!("viewer"),
                json!("Owner"),
                json!("Admin"),
                json!("member"),
            ]
        };
        assert_eq!(with(SchemaKind::String, &roles), Some(json!("Admin")));
        let plain = |s: &mut Schema| s.enum_values = vec![json!("red"), json!("blue")];
        assert_eq!(
            with(SchemaKind::String, &plain),
            Some(json!("blue")),
            "the last"
        );
        assert_eq!(with(SchemaKind::Boolean, &|_| {}), Some(json!(true)));
        assert_eq!(with(SchemaKind::String, &|_| {}), Some(json!("admin")));
        let dated = |s: &mut Schema| s.format = Some("date-time".into());
        assert_eq!(with(SchemaKind::String, &dated), None);
        let small = |s: &mut Schema| s.maximum = Some(10.0);
        assert_eq!(with(SchemaKind::Integer, &small), Some(json!(10)));
        let huge = |s: &mut Schema| s.maximum = Some(5e12);
        assert_eq!(with(SchemaKind::Number, &huge), Some(json!(1_000_000)));
        assert_eq!(with(SchemaKind::Integer, &|_| {}), Some(json!(1_000_000)));
        assert_eq!(with(SchemaKind::Any, &|_| {}), None);
    }

    const INVOICES: &str = r#"
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /invoices:
    post:
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [description], properties: {description: {type: string}}}}}}
      responses: {'201': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Invoice'}}}}}
  /invoices/{invoiceId}:
    get:
      parameters: [{name: invoiceId, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Invoice'}}}}}
  /hooks/paid:
    post:
      requestBody: {required: true, content: {application/json: {schema: EVENT}}}
      responses: {'200': {description: ok}}
components:
  schemas:
    Invoice:
      type: object
      properties:
        id: {type: string}
        description: {type: string}
        status: {type: string, enum: [open, paid]}
        balance: {type: integer}
"#;

    fn invoices(event: &str) -> Fixture {
        let api = load_str(&INVOICES.replace("EVENT", event), "t.yaml").expect("loads");
        let model = infer(&api, &[], &Overrides::default());
        let mut cast = Cast::of_tenants(
            vec![Some("a".into()), Some("b".into()), None],
            BTreeSet::new(),
        );
        cast.webhooks = vec![api.find("POST /hooks/paid").expect("op")];
        Fixture { api, model, cast }
    }

    #[test]
    fn an_event_that_sets_a_state_sends_each_forgery_to_a_fresh_object_read_just_before() {
        let f = invoices(
            "{type: object, required: [invoiceId, status], properties: {invoiceId: {type: string}, status: {type: string, enum: [paid]}}}",
        );
        let hook = op(&f, "POST /hooks/paid");
        let create = op(&f, "POST /invoices");
        let read = op(&f, "GET /invoices/{invoiceId}");
        let probes = planner(&f).webhook_probes();
        assert_eq!(probes.len(), 2, "one per tenant");
        for p in &probes {
            let steps = &p.scenario.steps;
            let found = forgeries(p);
            assert_eq!(
                found.iter().map(|f| f.0).collect::<Vec<_>>(),
                vec![Forgery::Unsigned, Forgery::WrongSecret],
                "no replay of an event that sets a state"
            );
            let control = found[0].1;
            assert_eq!(steps[control].op, hook);
            let named = |s: &Step| {
                s.args
                    .iter()
                    .find(|(slot, _)| *slot == Slot::Body("/invoiceId".into()))
                    .map(|(_, e)| e.clone())
                    .expect("names its invoice")
            };
            let mut objects = vec![named(&steps[control])];
            let first = attacks(p)[0].0;
            // The control's reads and the one after it are the first forgery's.
            for k in [control - 2, control - 1, control + 1] {
                assert_eq!(steps[k].op, read);
                assert_eq!(
                    steps[k].role,
                    StepRole::ReadBack {
                        attack: first,
                        phase: Phase::Before
                    }
                );
            }
            for (at, a) in attacks(p) {
                let Check::Webhook { forgery, .. } = check_of(a) else {
                    unreachable!("a webhook forgery")
                };
                assert_eq!(
                    check_of(a),
                    &Check::Webhook {
                        forgery: *forgery,
                        control,
                        state: vec!["/status".into()],
                    }
                );
                assert!(
                    a.args
                        .iter()
                        .any(|(s, e)| *s == Slot::Body("/status".into())
                            && *e == Expr::Lit(json!("paid"))),
                    "{:?}",
                    a.args
                );
                // A fresh invoice, made just before its own read and the forgery.
                let object = named(a);
                assert!(!objects.contains(&object), "{object:?} used twice");
                objects.push(object.clone());
                assert_eq!(object, Expr::Created { step: at - 2 });
                assert_eq!(steps[at - 2].op, create);
                assert_eq!(steps[at - 2].actor, p.victim);
                for (k, phase) in [(at - 1, Phase::Before), (at + 1, Phase::After)] {
                    assert_eq!((steps[k].op, steps[k].actor), (read, p.victim));
                    assert_eq!(steps[k].role, StepRole::ReadBack { attack: at, phase });
                    assert!(steps[k].args.iter().any(|(_, e)| *e == object));
                }
            }
        }
    }

    #[test]
    fn a_state_is_a_field_the_spec_fixes_that_the_objects_read_shows() {
        let states = |event: &str| -> Vec<(String, Value)> {
            let f = invoices(event);
            let hook = op(&f, "POST /hooks/paid");
            let read = op(&f, "GET /invoices/{invoiceId}");
            let body = &f.api.operations[hook].body.as_ref().expect("body").schema;
            let ids: Vec<Slot> = f.model.consumers_of(hook).map(|c| c.slot.clone()).collect();
            let ids: Vec<&Slot> = ids.iter().collect();
            event_states(
                body,
                f.api.operations[read].success_schema().expect("read"),
                &ids,
            )
        };
        let paid = |p: &str| vec![(p.to_string(), json!("paid"))];
        // An enum of one value; its own example; its object's example, nested.
        assert_eq!(
            states(
                "{type: object, properties: {invoiceId: {type: string}, status: {type: string, enum: [paid]}}}"
            ),
            paid("/status")
        );
        assert_eq!(
            states(
                "{type: object, properties: {invoiceId: {type: string}, payment_status: {type: string, example: paid}}}"
            ),
            paid("/payment_status")
        );
        assert_eq!(
            states(
                "{type: object, properties: {data: {type: object, example: {invoiceId: x, status: paid}, properties: {invoiceId: {type: string}, status: {type: string}}}}}"
            ),
            paid("/data/status")
        );
        // An example among an enum's values is the state; an enum of many without one is not.
        assert_eq!(
            states(
                "{type: object, properties: {invoiceId: {type: string}, status: {type: string, enum: [paid, void], example: paid}}}"
            ),
            paid("/status")
        );
        assert!(states("{type: object, properties: {invoiceId: {type: string}, status: {type: string, enum: [paid, void]}}}").is_empty());
        // What the read does not show, a quantity, and the id naming the object are no state.
        assert!(states("{type: object, properties: {invoiceId: {type: string}, type: {type: string, enum: [credit.granted]}, balance: {type: integer, example: 5}}}").is_empty());
        assert!(
            states("{type: object, properties: {invoiceId: {type: string, example: inv_1}}}")
                .is_empty()
        );
        // The event's own id is no state of the object, though the read has an `id`.
        assert!(states("{type: object, properties: {id: {type: string, example: evt_1}, invoiceId: {type: string}}}").is_empty());
    }
}
