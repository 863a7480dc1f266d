//! Probes beyond ownership: operations the policy denies an identity (`bfla`, `plan-bypass`),
//! fields a request must not set (`mass-assignment`), and webhook receivers that believe anyone
//! (`webhook-unsigned`, `webhook-replay`). Each probe carries its controls: the permitted
//! identity's own call, the read-backs before and after, the signed event whose effect the owner
//! saw.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Args, Holdings, Planner, Probe, effect_of, push_attack};
use crate::finding::Vector;
use crate::model::{Decision, Slot, is_privileged_field, normalize, resources_of_id_name};
use crate::scenario::step::{Check, Effect, Expr, Forgery, Phase, Scenario, Step, StepRole};
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
        let permitted = self.permitted(a, index);
        if effect != Effect::Read {
            // A change: made by the denied identity on its own resource, and seen by its own
            // read-back.
            let consumers: Vec<_> = self.model.consumers_of(index).collect();
            let mut probe = None;
            for c in &consumers {
                if let Some(p) = self.mutation_probe(a, a, index, &c.slot, false) {
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
                    args: Vec::new(),
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
        // Fields the operation's own answers show that the request schema does not have.
        let op = &self.api.operations[index];
        for response in op.responses.iter().filter(|r| r.status.starts_with('2')) {
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
        let op = &self.api.operations[index];
        let mut args = self.args(op, a, &mut |s| own.get(s).cloned(), None);
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
        let reader = self
            .api
            .operations
            .iter()
            .position(|o| o.method == Method::Get && o.path == op.path)?;
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
        let value = privileged_value(prop)?;
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
        for (n, injected) in [
            Expr::Lit(value),
            Expr::Echo {
                step: first_read,
                pointer: field.to_string(),
            },
        ]
        .into_iter()
        .enumerate()
        {
            let mut args: Args = self.args(op, a, &mut |s| own.get(s).cloned(), None);
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
                if let Some(probe) = self.webhook_probe(w, anon, index, &forgeries) {
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
        let op = &self.api.operations[index];
        let event = self.args(op, w, &mut |s| ids.get(s).cloned(), None);
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
                    check: Check::Webhook { forgery, control },
                },
                // A replay sends the control's request again, byte for byte (the executor
                // copies it).
                args: if forgery == Forgery::Replay {
                    Vec::new()
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
    /// Per delete operation: its owner deletes a resource it created, then reads it again.
    pub(super) fn after_delete_probes(&self) -> Vec<Probe> {
        let mut out = Vec::new();
        for index in 0..self.api.operations.len() {
            let op = &self.api.operations[index];
            if op.method != Method::Delete
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

/// The value to inject into a privilege field: the most privileged enum value, `true`, `admin`,
/// or a large number within bounds.
fn privileged_value(prop: &Schema) -> Option<Value> {
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
