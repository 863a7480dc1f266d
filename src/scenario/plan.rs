//! The systematic plan: for every ordered pair of identities in different tenants (and the
//! anonymous identity against each), scenarios that put the victim's resources into every slot of
//! every operation that takes them, with the controls and read-backs the oracles need.
//!
//! Reads share one scenario per pair (the victim's full fixture, then every read probe); each
//! mutating probe gets a scenario of its own with only the chain it needs, so one probe's write or
//! delete cannot disturb another's evidence.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::cast::Cast;
use super::step::{Args, Check, Effect, Expr, Phase, Scenario, Step, StepRole};
use super::values::fill_request;
use crate::finding::Vector;
use crate::model::{ResourceModel, Slot};
use crate::spec::{Api, Location, Method, Operation, Security};

/// One probe in the plan: a scenario and the (operation, vector)s it attacks.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub attacker: usize,
    pub victim: usize,
    pub scenario: Scenario,
}

/// Why an (operation) is not attacked in a plan, and the config key that would change it.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub op: usize,
    pub reason: String,
    /// The key as a user writes it in `tenantfuzz.toml` (`campaign.exclude`,
    /// `campaign.mutate_seeded`, `[[model.links]]`, ...).
    pub key: &'static str,
}

/// The systematic plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub probes: Vec<Probe>,
    pub gaps: Vec<Gap>,
}

impl Plan {
    /// Every (operation, vector) attacked, deduplicated.
    pub fn attacked(&self) -> BTreeSet<(usize, Vector)> {
        let mut out = BTreeSet::new();
        for probe in &self.probes {
            for step in &probe.scenario.steps {
                if let StepRole::Attack { vector, .. } = step.role {
                    out.insert((step.op, vector));
                }
            }
        }
        out
    }
}

/// The effect an operation has on the resource whose id it takes.
/// Whether `path` ends in a literal segment after a path parameter: a collection under a
/// parent (`/buckets/{bucket_id}/collections`), not an item (`/buckets/{id}`) nor a top-level
/// collection (`/buckets`).
fn is_collection_under_parent(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    let last = path.rsplit('/').next().unwrap_or_default();
    !last.starts_with('{') && path.contains('{')
}

pub(crate) fn effect_of(api: &Api, model: &ResourceModel, op: usize) -> Effect {
    match api.operations[op].method {
        Method::Get | Method::Head | Method::Options | Method::Trace | Method::Query => {
            Effect::Read
        }
        // A DELETE on a collection under a parent (`/buckets/{id}/collections`) empties the
        // parent's list of children: it acts on the parent, it does not delete it.
        Method::Delete if is_collection_under_parent(&api.operations[op].path) => Effect::Action,
        Method::Delete => Effect::Delete,
        Method::Put | Method::Patch => Effect::Write,
        Method::Post => {
            if model.producer_by_op(op).is_some() {
                Effect::Create
            } else {
                Effect::Action
            }
        }
    }
}

/// Builds the systematic plan.
pub fn plan(api: &Api, model: &ResourceModel, cast: &Cast) -> Plan {
    let planner = Planner::new(api, model, cast);
    let mut probes = Vec::new();
    for (attacker, victim) in cast.pairs() {
        probes.push(planner.read_probe(attacker, victim));
        for op in 0..api.operations.len() {
            if model.is_skipped(op)
                || effect_of(api, model, op) == Effect::Read
                || cast.webhooks.contains(&op)
                || !cast.ownership_applies(attacker, op)
            {
                continue;
            }
            let consumers: Vec<_> = model.consumers_of(op).collect();
            let slots: Vec<&Slot> = consumers.iter().map(|c| &c.slot).collect();
            let deep = deepest(&api.operations[op], &slots).cloned();
            for consumer in &consumers {
                if let Some(p) =
                    planner.mutation_probe(attacker, victim, op, &consumer.slot, false, false)
                {
                    probes.push(p);
                }
                // And with every id the victim's (`/users/{victim}/tokens/{victim's token}`):
                // the plain cross-tenant request, where the one above puts the victim's object
                // under the attacker's own parent.
                if consumers.len() > 1 && deep.as_ref() == Some(&consumer.slot) {
                    if let Some(p) =
                        planner.mutation_probe(attacker, victim, op, &consumer.slot, false, true)
                    {
                        probes.push(p);
                    }
                }
                // With the opt-in, the victim's pre-existing object is attacked too.
                if cast.mutate_seeded && cast.owned.contains(&(victim, consumer.resource)) {
                    if let Some(p) =
                        planner.mutation_probe(attacker, victim, op, &consumer.slot, true, false)
                    {
                        probes.push(p);
                    }
                }
            }
        }
    }
    probes.extend(planner.gate_probes());
    probes.extend(planner.assign_probes());
    probes.extend(planner.webhook_probes());
    probes.extend(planner.after_delete_probes());
    probes.extend(planner.token_probes());
    probes.extend(planner.account_probes());
    if cast.existence_leak {
        probes.extend(planner.existence_probes());
    }
    probes.retain(|p| {
        p.scenario
            .steps
            .iter()
            .any(|s| matches!(s.role, StepRole::Attack { .. }))
            && (cast.mutate_seeded || !changes_seeded(api, model, &p.scenario))
    });
    let attacked: BTreeSet<usize> = probes
        .iter()
        .flat_map(|p| p.scenario.steps.iter())
        .filter(|s| matches!(s.role, StepRole::Attack { .. }))
        .map(|s| s.op)
        .collect();
    let gaps = (0..api.operations.len())
        .filter(|op| !attacked.contains(op))
        .map(|op| {
            let (reason, key) = planner.gap_reason(op);
            Gap { op, reason, key }
        })
        .collect();
    Plan { probes, gaps }
}

/// A read probe: its arguments, vector, targeted resource, and whether it targets it.
type Variant = (Args, Vector, Option<usize>, bool);

mod accounts;
mod checks;
pub(crate) use checks::most_privileged_first;

pub(crate) use accounts::is_password_field;

pub(super) struct Planner<'a> {
    api: &'a Api,
    model: &'a ResourceModel,
    cast: &'a Cast,
    /// The GETs by what they read, built on first use: finding a reader or a lister used to
    /// scan every operation for each scenario, which made planning grow with the square of
    /// the spec.
    gets: std::sync::OnceLock<Gets>,
    /// Requests already filled, by (operation, owner, search term): filling walks the request
    /// body's schema, and on a spec with large bodies (DocuSign's envelopes) the same bodies
    /// were walked again for every scenario, most of the planning time.
    fills: std::cell::RefCell<HashMap<(usize, usize, String), Vec<Fill>>>,
}

/// One filled request: the id slots the fill asked for, in order, with the answers it got,
/// and what it made of them. Filling depends on nothing else, so the same answers to the same
/// questions give the same request. It looks at an answer only for its [`shape`] and puts it
/// in its slot as it is, so answers of the same shapes give the same request with the new
/// answers in their places (`holes`): the same create in another scenario, whose steps are
/// numbered otherwise, is not walked again.
struct Fill {
    asked: Vec<(Slot, Option<Expr>)>,
    args: Args,
    /// Where each answer is in `args`, by question (`None` for a question answered with
    /// nothing); `None` when an answer cannot be told apart from the other arguments.
    holes: Option<Vec<Option<usize>>>,
}

/// How many different fills of one (operation, owner, search) are kept; fills of shapes none
/// of those has are kept up to twice as many.
const FILLS_KEPT: usize = 8;

/// What filling a request looks at in an answer: whether there is one, and whether it is a
/// marker (a body that holds one takes no other).
fn shape(answer: &Option<Expr>) -> (bool, bool) {
    (
        answer.is_some(),
        matches!(answer, Some(Expr::Marker { .. })),
    )
}

/// Where each of `asked`'s answers is in `args` (see [`Fill::holes`]).
fn holes(asked: &[(Slot, Option<Expr>)], args: &[(Slot, Expr)]) -> Option<Vec<Option<usize>>> {
    let mut taken = Vec::new();
    asked
        .iter()
        .map(|(slot, answer)| {
            let Some(answer) = answer else {
                return Some(None);
            };
            let mut at = (0..args.len()).filter(|&j| args[j].0 == *slot && args[j].1 == *answer);
            match (at.next(), at.next()) {
                (Some(j), None) if !taken.contains(&j) => {
                    taken.push(j);
                    Some(Some(j))
                }
                _ => None,
            }
        })
        .collect()
}

/// The API's GET operations, indexed for [`Planner::reader`] and [`Planner::lister`]; each list
/// in operation order, as a scan would find them. Exploration builds a planner per case, so
/// there the index is built once per case that needs one (as costly as one scan was).
struct Gets {
    /// By resource: the GETs that read one object of it (those left out of the model
    /// excepted), in the order [`Planner::reader`] weighs them: (rank, the fewest arguments a
    /// request of it can have, operation).
    readers: Vec<Vec<(usize, usize, usize)>>,
    /// By path: the first GET on it.
    by_path: HashMap<String, usize>,
    /// By the singular of the path's last literal segment (`/workspaces/{id}/attachments` ->
    /// `attachment`): every GET, skipped ones included, as the lister filters them itself.
    by_collection: HashMap<Option<String>, Vec<usize>>,
}

impl Gets {
    fn new(api: &Api, model: &ResourceModel) -> Gets {
        let mut gets = Gets {
            readers: vec![Vec::new(); model.resources.len()],
            by_path: HashMap::new(),
            by_collection: HashMap::new(),
        };
        for (index, op) in api.operations.iter().enumerate() {
            if op.method != Method::Get {
                continue;
            }
            gets.by_path.entry(op.path.clone()).or_insert(index);
            gets.by_collection
                .entry(crate::model::last_literal_singular(&op.path))
                .or_default()
                .push(index);
            if model.is_skipped(index) {
                continue;
            }
            let mut seen = Vec::new();
            for c in model.consumers_of(index) {
                if seen.contains(&c.resource) {
                    continue;
                }
                seen.push(c.resource);
                let Some(rank) = reader_rank(api, model, index, c) else {
                    continue;
                };
                // Every path parameter and every other required one takes an argument.
                let least = op
                    .parameters
                    .iter()
                    .filter(|p| p.location != Location::Cookie && p.required)
                    .count();
                if let Some(list) = gets.readers.get_mut(c.resource) {
                    list.push((rank, least, index));
                }
            }
        }
        for list in &mut gets.readers {
            list.sort_unstable();
        }
        gets
    }
}

/// How well GET `index` reads one object of the resource its consumer `c` takes, lower is
/// better; `None` when it does not. A reader shows the object itself: its id ends the path
/// (`/documents/{id}`) or is the query of the collection's own path (`/attachments?id=`). A list
/// under it (`/documents/{id}/comments`) shows something else. The owner's authenticated view
/// shows everything; a public view may filter.
fn reader_rank(
    api: &Api,
    model: &ResourceModel,
    index: usize,
    c: &crate::model::Consumer,
) -> Option<usize> {
    let op = &api.operations[index];
    let name = &model.resources[c.resource].name;
    let rank = match &c.slot {
        Slot::Path(p) if op.path.trim_end_matches('/').ends_with(&format!("{{{p}}}")) => 0,
        Slot::Query(_) | Slot::Header(_)
            if crate::model::last_literal_singular(&op.path).as_deref() == Some(name) =>
        {
            1
        }
        _ => return None,
    };
    Some(rank * 2 + usize::from(op.security == Security::Public))
}

/// The steps an owner has made so far and the ids it holds, by resource.
pub(super) struct Holdings {
    owner: usize,
    /// What the owner holds, in the order it came: a create that fails part way drops what it
    /// obtained by truncating (a copy per create made planning quadratic in the resources).
    pub memo: indexmap::IndexMap<usize, Expr>,
    /// Resources being obtained right now (cycle guard).
    pending: Vec<usize>,
    /// Resources that could not be obtained.
    failed: std::collections::HashSet<usize>,
}

impl Holdings {
    pub(super) fn new(owner: usize) -> Self {
        Holdings {
            owner,
            memo: Default::default(),
            pending: Vec::new(),
            failed: Default::default(),
        }
    }
}

impl<'a> Planner<'a> {
    pub(super) fn new(api: &'a Api, model: &'a ResourceModel, cast: &'a Cast) -> Planner<'a> {
        Planner {
            api,
            model,
            cast,
            gets: std::sync::OnceLock::new(),
            fills: Default::default(),
        }
    }

    fn gets(&self) -> &Gets {
        self.gets.get_or_init(|| Gets::new(self.api, self.model))
    }

    /// Why `op` is not attacked, and the config key that would change it.
    fn gap_reason(&self, op: usize) -> (String, &'static str) {
        if let Some((_, reason)) = self.model.skipped.iter().find(|(o, _)| *o == op) {
            let key = if reason.contains("campaign.exclude") {
                "campaign.exclude"
            } else {
                "[[model.links]]"
            };
            return (reason.clone(), key);
        }
        let o = &self.api.operations[op];
        if self.cast.webhooks.contains(&op) {
            return (
                "a webhook receiver: only its signature probes attack it, and none could be \
                 made (its event needs a resource nothing creates; see [[webhooks]])"
                    .into(),
                "[[webhooks]]",
            );
        }
        if self.cast.policy.is_shared(op) {
            return (
                "shared by design (policy.shared): every identity may use it, and no anonymous \
                 probe could be made (remove it from policy.shared if it is not)"
                    .into(),
                "policy.shared",
            );
        }
        if self.model.consumers_of(op).next().is_none() {
            let what = if o.security == Security::Public {
                "public by the spec, and takes no resource id"
            } else if o.method == Method::Get {
                "takes no resource id and lists nothing the victim owns"
            } else {
                "takes no resource id"
            };
            return (
                format!(
                    "{what} (name a parameter that takes one with [[model.links]], or the roles \
                     that may call it with [[policy.rules]])"
                ),
                "[[model.links]]",
            );
        }
        // What it changes is a victim's pre-existing object (its own account, or what
        // discovery found) and nothing creates one afresh.
        let consumers: Vec<_> = self.model.consumers_of(op).collect();
        let slots: Vec<&Slot> = consumers.iter().map(|c| &c.slot).collect();
        let target = deepest(o, &slots).and_then(|d| consumers.iter().find(|c| &c.slot == d));
        let effect = effect_of(self.api, self.model, op);
        if let Some(target) = target.filter(|_| {
            !self.cast.mutate_seeded
                && matches!(effect, Effect::Write | Effect::Delete | Effect::Action)
        }) {
            let seeded =
                (0..self.cast.anonymous()).any(|i| self.cast.owned.contains(&(i, target.resource)));
            if seeded {
                return (
                    format!(
                        "changes a victim's pre-existing {} (its own account, or one discovery \
                         found), left alone while mutate_seeded = false (set \
                         campaign.mutate_seeded = true, or --mutate-seeded)",
                        self.model.resources[target.resource].name
                    ),
                    "campaign.mutate_seeded",
                );
            }
        }
        // Which resource could not be had, and why.
        let wanted = target.or(consumers.first()).map(|c| c.resource);
        if let Some(r) = wanted {
            let name = &self.model.resources[r].name;
            let created = self.model.producers_of(r).next().is_some();
            let listed = self.model.discoveries.iter().any(|d| d.resource == r);
            if !created && !listed {
                return (
                    format!(
                        "nothing creates or lists a {name}, the resource it takes (if its \
                         parameter takes another resource's id, say which with [[model.links]])"
                    ),
                    "[[model.links]]",
                );
            }
        }
        (
            "no victim resource of the kind it takes could be created or discovered (if a \
             create's answer holds the id where inference does not look, name it with \
             [[model.ids]])"
                .into(),
            "[[model.ids]]",
        )
    }

    /// Gets an id of `resource` for `h.owner`: one it already made, one it creates now (pushing
    /// the steps), or one it owned before the campaign.
    pub(super) fn obtain(
        &self,
        resource: usize,
        h: &mut Holdings,
        steps: &mut Vec<Step>,
        depth: usize,
    ) -> Option<Expr> {
        if let Some(e) = h.memo.get(&resource) {
            return Some(e.clone());
        }
        let anonymous = h.owner == self.cast.anonymous();
        // The identity's own user (or organization) is the one it is, never a new one.
        if self.cast.selves.contains(&(h.owner, resource)) {
            let e = Expr::Discovered {
                identity: h.owner,
                resource,
            };
            h.memo.insert(resource, e.clone());
            return Some(e);
        }
        let mut result = None;
        // A resource already being obtained further up (a cycle), or that failed before, is not
        // tried again: specs with hundreds of producers would otherwise explode.
        if depth < 8
            && !anonymous
            && !h.pending.contains(&resource)
            && !h.failed.contains(&resource)
        {
            h.pending.push(resource);
            for producer in self.model.producers_of(resource) {
                if let Some(e) = self.create_with(producer, h, steps, depth) {
                    result = Some(e);
                    break;
                }
            }
            h.pending.pop();
        }
        if result.is_none() && self.cast.owned.contains(&(h.owner, resource)) {
            let e = Expr::Discovered {
                identity: h.owner,
                resource,
            };
            h.memo.insert(resource, e.clone());
            result = Some(e);
        }
        if result.is_none() && !anonymous {
            h.failed.insert(resource);
        }
        result
    }

    /// Creates one `resource` through `producer`, obtaining its dependencies first; on failure
    /// nothing it pushed stays.
    fn create_with(
        &self,
        producer: &crate::model::Producer,
        h: &mut Holdings,
        steps: &mut Vec<Step>,
        depth: usize,
    ) -> Option<Expr> {
        if self.model.is_skipped(producer.op) {
            return None;
        }
        let mark = steps.len();
        // Only new resources enter the memo while the dependencies are obtained (each is
        // looked up before it is obtained), so truncating undoes them.
        let saved = h.memo.len();
        let mut deps = HashMap::new();
        for (slot, dep) in &producer.dependencies {
            match self.obtain(*dep, h, steps, depth + 1) {
                Some(e) => {
                    deps.insert(slot.clone(), self.or_own(e, h.owner, *dep));
                }
                None => {
                    steps.truncate(mark);
                    h.memo.truncate(saved);
                    return None;
                }
            }
        }
        if producer.derived {
            let parents = producer.dependencies.iter().map(|d| d.1).collect();
            self.fill_children(parents, h, steps, depth + 1);
        }
        let args = self.args(
            producer.op,
            h.owner,
            &mut |slot| {
                deps.get(slot)
                    .cloned()
                    .or_else(|| self.held(producer.op, slot, h))
            },
            None,
        );
        steps.push(Step {
            actor: h.owner,
            op: producer.op,
            role: StepRole::Setup {
                resource: producer.resource,
            },
            args,
        });
        let e = Expr::Created {
            step: steps.len() - 1,
        };
        h.memo.insert(producer.resource, e.clone());
        Some(e)
    }

    /// Before a derived resource (an export of a project), creates the ordinary children of its
    /// parents so that it has content with markers.
    fn fill_children(
        &self,
        parents: Vec<usize>,
        h: &mut Holdings,
        steps: &mut Vec<Step>,
        depth: usize,
    ) {
        if depth >= 8 {
            return;
        }
        for producer in self.model.producers_under(&parents) {
            if producer.derived || h.memo.contains_key(&producer.resource) {
                continue;
            }
            let deps: Vec<usize> = producer.dependencies.iter().map(|d| d.1).collect();
            if !deps.is_empty()
                && deps.iter().all(|d| h.memo.contains_key(d))
                && deps.iter().any(|d| parents.contains(d))
            {
                self.create_with(producer, h, steps, depth);
            }
        }
    }

    /// The id an owner already holds for the resource a slot of operation `index` takes: one
    /// this scenario made or took, else one of its own that discovery found (an optional
    /// reference such as NetBox's `tenant`, which a create must name for its owner to be
    /// allowed to make it).
    fn held(&self, index: usize, slot: &Slot, h: &Holdings) -> Option<Expr> {
        let c = self.model.consumers_of(index).find(|c| &c.slot == slot)?;
        match h.memo.get(&c.resource) {
            // Optional (the slot is no dependency): its create may fail, and the request goes
            // without it.
            Some(e) => Some(match self.or_own(e.clone(), h.owner, c.resource) {
                e @ (Expr::Created { .. } | Expr::CreatedOr { .. }) => Expr::Optional(Box::new(e)),
                e => e,
            }),
            None => {
                let own = (h.owner, c.resource);
                (self.cast.owned.contains(&own) || self.cast.selves.contains(&own)).then_some(
                    Expr::Discovered {
                        identity: h.owner,
                        resource: c.resource,
                    },
                )
            }
        }
    }

    /// What a create refers to: the one this scenario creates, or the owner's own pre-existing
    /// one when that create fails (see [`Expr::CreatedOr`]).
    fn or_own(&self, e: Expr, owner: usize, resource: usize) -> Expr {
        match e {
            Expr::Created { step } if self.cast.owned.contains(&(owner, resource)) => {
                Expr::CreatedOr {
                    step,
                    identity: owner,
                    resource,
                }
            }
            e => e,
        }
    }

    /// The request of operation `index` for `owner`; `id_for` gives the id of a slot (only the
    /// operation's consumer slots are asked: no other slot takes an id).
    pub(super) fn args(
        &self,
        index: usize,
        owner: usize,
        id_for: &mut dyn FnMut(&Slot) -> Option<Expr>,
        search: Option<Expr>,
    ) -> Args {
        let op = &self.api.operations[index];
        // Without a body a fill is a few parameters: cheaper made again than kept.
        if op.body.is_none() {
            return fill_request(op, owner, id_for, search).into();
        }
        let key = (index, owner, format!("{search:?}"));
        // A fill whose questions get the same answers now is this one. Asking again is what
        // the fill itself would do, in the same order, so `id_for`'s own bookkeeping (a
        // required slot without an id) sees the same questions.
        let mut shaped = None;
        if let Some(kept) = self.fills.borrow().get(&key) {
            'kept: for fill in kept {
                for (slot, answer) in &fill.asked {
                    if id_for(slot) != *answer {
                        continue 'kept;
                    }
                }
                return fill.args.clone();
            }
            // Else one whose questions get answers of the same shapes, with the new answers.
            'shaped: for fill in kept {
                let Some(holes) = &fill.holes else {
                    continue;
                };
                let mut asked = Vec::with_capacity(fill.asked.len());
                for (slot, answer) in &fill.asked {
                    let now = id_for(slot);
                    if shape(&now) != shape(answer) {
                        continue 'shaped;
                    }
                    asked.push((slot.clone(), now));
                }
                let mut args: Vec<(Slot, Expr)> = fill.args.to_vec();
                for (hole, (_, answer)) in holes.iter().zip(&asked) {
                    if let (Some(at), Some(answer)) = (hole, answer) {
                        args[*at].1 = answer.clone();
                    }
                }
                shaped = Some((asked, Args::from(args), holes.clone()));
                break;
            }
        }
        if let Some((asked, args, holes)) = shaped {
            let mut fills = self.fills.borrow_mut();
            let kept = fills.entry(key).or_default();
            if kept.len() < FILLS_KEPT {
                kept.push(Fill {
                    asked,
                    args: args.clone(),
                    holes: Some(holes),
                });
            }
            return args;
        }
        let consumers: Vec<&Slot> = self.model.consumers_of(index).map(|c| &c.slot).collect();
        let mut asked = Vec::new();
        let args: Args = fill_request(
            op,
            owner,
            &mut |slot| {
                if !consumers.contains(&slot) {
                    return None;
                }
                let answer = id_for(slot);
                asked.push((slot.clone(), answer.clone()));
                answer
            },
            search,
        )
        .into();
        let mut fills = self.fills.borrow_mut();
        let kept = fills.entry(key).or_default();
        let new_shape = || {
            kept.iter().all(|fill| {
                fill.asked.len() != asked.len()
                    || fill
                        .asked
                        .iter()
                        .zip(&asked)
                        .any(|(a, b)| a.0 != b.0 || shape(&a.1) != shape(&b.1))
            })
        };
        if kept.len() < FILLS_KEPT || (kept.len() < 2 * FILLS_KEPT && new_shape()) {
            let holes = holes(&asked, &args);
            kept.push(Fill {
                asked,
                args: args.clone(),
                holes,
            });
        }
        args
    }

    /// The request of operation `index` for `owner` with each id slot filled by `pick`, or
    /// `None` when `pick` has nothing for a required one.
    fn filled(
        &self,
        index: usize,
        owner: usize,
        pick: &dyn Fn(usize) -> Option<Expr>,
        search: Option<Expr>,
    ) -> Option<Args> {
        let op = &self.api.operations[index];
        let mut complete = true;
        let args = self.args(
            index,
            owner,
            &mut |slot| {
                let c = self.model.consumers_of(index).find(|c| &c.slot == slot)?;
                let e = pick(c.resource);
                if e.is_none() && crate::model::is_required(op, slot) {
                    complete = false;
                }
                e
            },
            search,
        );
        complete.then_some(args)
    }

    /// A full fixture: one of every resource the owner can create (ordinary first, derived last).
    fn fixture(&self, owner: usize, steps: &mut Vec<Step>) -> Holdings {
        let mut h = Holdings::new(owner);
        let ordered = self
            .model
            .producers
            .iter()
            .filter(|p| !p.derived)
            .chain(self.model.producers.iter().filter(|p| p.derived));
        for producer in ordered {
            self.obtain(producer.resource, &mut h, steps, 0);
        }
        // Pre-existing resources that nothing creates (the tenant itself) are held too.
        for r in 0..self.model.resources.len() {
            if !h.memo.contains_key(&r) && self.cast.owned.contains(&(owner, r)) {
                h.memo.insert(
                    r,
                    Expr::Discovered {
                        identity: owner,
                        resource: r,
                    },
                );
            }
        }
        h
    }

    /// The pair's read probe: the victim's fixture, the attacker's fixture, then every read of
    /// every operation with the victim's ids in each slot, and every list with the attacker's own.
    fn read_probe(&self, attacker: usize, victim: usize) -> Probe {
        let mut steps = Vec::new();
        let vh = self.fixture(victim, &mut steps);
        let anonymous = attacker == self.cast.anonymous();
        let ah = if anonymous {
            Holdings::new(attacker)
        } else {
            self.fixture(attacker, &mut steps)
        };
        let search = Some(Expr::Stem { owner: victim });
        for (index, op) in self.api.operations.iter().enumerate() {
            if self.model.is_skipped(index)
                || effect_of(self.api, self.model, index) != Effect::Read
                || !self.cast.ownership_applies(attacker, index)
            {
                continue;
            }
            let consumers: Vec<_> = self.model.consumers_of(index).collect();
            let mut variants: Vec<Variant> = Vec::new();
            for c in &consumers {
                let Some(victim_id) = vh.memo.get(&c.resource).cloned() else {
                    continue;
                };
                let mut all_own = true;
                let args = self.args(
                    index,
                    attacker,
                    &mut |slot| {
                        if slot == &c.slot {
                            return Some(victim_id.clone());
                        }
                        let other = consumers.iter().find(|o| &o.slot == slot)?;
                        match ah.memo.get(&other.resource) {
                            Some(e) if !anonymous => Some(e.clone()),
                            _ => {
                                all_own = false;
                                vh.memo.get(&other.resource).cloned()
                            }
                        }
                    },
                    search.clone(),
                );
                let vector = vector_of(
                    op,
                    &c.slot,
                    &consumers.iter().map(|c| &c.slot).collect::<Vec<_>>(),
                    all_own && consumers.len() > 1,
                );
                variants.push((args, vector, Some(c.resource), true));
            }
            if consumers.len() > 1 {
                // Every id the victim's: the plain cross-tenant request.
                let slots: Vec<&Slot> = consumers.iter().map(|c| &c.slot).collect();
                let deep = deepest(op, &slots);
                if let Some(deep) = consumers.iter().find(|c| Some(&c.slot) == deep) {
                    let pick = |r: usize| vh.memo.get(&r).cloned();
                    if let Some(args) = self.filled(index, attacker, &pick, search.clone()) {
                        variants.push((args, deep.slot.vector(), Some(deep.resource), true));
                    }
                }
            }
            // The attacker's own ids everywhere: a list or search that should show only its own.
            // Lists the spec calls public are sent too (a claim, not a verdict); what anyone can
            // read is dropped at confirmation by the replay without credentials.
            if !anonymous || consumers.is_empty() {
                let pick = |r: usize| ah.memo.get(&r).cloned();
                if let Some(args) = self.filled(index, attacker, &pick, search.clone()) {
                    let vector = list_vector(&args);
                    variants.push((args, vector, None, false));
                }
                // And the bare list, with only what it requires: it must show only the
                // caller's own too, and it needs nothing that a creation could fail to make
                // (a scope the attacker's fixture could not create leaves the one above
                // unsent).
                if !consumers.is_empty() {
                    if let Some(args) = self.filled(index, attacker, &|_| None, search.clone()) {
                        let vector = list_vector(&args);
                        variants.push((args, vector, None, false));
                    }
                }
            }
            let mut seen: Vec<Args> = Vec::new();
            // The owner's own request, first: it proves the probes of this operation can be
            // judged at all (an owner who cannot read its own object learns nothing about others).
            if variants.iter().any(|v| v.3) {
                let pick = |r: usize| vh.memo.get(&r).cloned();
                if let Some(args) =
                    self.filled(index, victim, &pick, Some(Expr::Stem { owner: victim }))
                {
                    steps.push(Step {
                        actor: victim,
                        op: index,
                        role: StepRole::ReadBack {
                            attack: steps.len() + 1,
                            phase: Phase::Before,
                        },
                        args,
                    });
                }
            }
            for (args, vector, target_resource, targeted) in variants {
                if seen.contains(&args) {
                    continue;
                }
                seen.push(args.clone());
                let target_step = if targeted {
                    target_resource.and_then(|r| match vh.memo.get(&r) {
                        Some(Expr::Created { step }) => Some(*step),
                        _ => None,
                    })
                } else {
                    None
                };
                steps.push(Step {
                    actor: attacker,
                    op: index,
                    role: StepRole::Attack {
                        victim,
                        effect: Effect::Read,
                        vector,
                        target_resource: if targeted { target_resource } else { None },
                        target_step,
                        check: Check::Ownership,
                    },
                    args,
                });
            }
        }
        Probe {
            attacker,
            victim,
            scenario: Scenario { steps },
        }
    }

    /// A probe that writes, deletes, creates under, or acts on one victim resource in one slot:
    /// one the victim creates for it, or (`seeded`, only with the opt-in) the victim's
    /// pre-existing one. The other slots take the attacker's own ids where it has them, or
    /// (`victims_everywhere`) the victim's.
    fn mutation_probe(
        &self,
        attacker: usize,
        victim: usize,
        index: usize,
        slot: &Slot,
        seeded: bool,
        victims_everywhere: bool,
    ) -> Option<Probe> {
        let op = &self.api.operations[index];
        let effect = effect_of(self.api, self.model, index);
        let consumers: Vec<_> = self.model.consumers_of(index).collect();
        let primary = consumers.iter().find(|c| &c.slot == slot)?;
        let mut steps = Vec::new();
        let mut vh = Holdings::new(victim);
        let victim_id = if seeded {
            let e = Expr::Discovered {
                identity: victim,
                resource: primary.resource,
            };
            vh.memo.insert(primary.resource, e.clone());
            e
        } else {
            self.obtain(primary.resource, &mut vh, &mut steps, 0)?
        };
        // Only what the campaign created is written to or deleted (unless the user opted in);
        // a pre-existing parent may receive a new child (and the cleanup removes it).
        let target_step = match victim_id {
            Expr::Created { step } => Some(step),
            _ if effect == Effect::Create || self.cast.mutate_seeded => None,
            _ => return None,
        };
        let anonymous = attacker == self.cast.anonymous();
        let mut ah = Holdings::new(attacker);
        let mut own = HashMap::new();
        for c in &consumers {
            if &c.slot == slot {
                continue;
            }
            // A reference in the body or query may fall back to the holder's own pre-existing
            // one; a path id names what the request acts on, which is only ever a created one.
            let or_own = |e: Expr, holder: usize| {
                if matches!(c.slot, Slot::Path(_)) {
                    e
                } else {
                    self.or_own(e, holder, c.resource)
                }
            };
            let e = if anonymous || victims_everywhere {
                None
            } else {
                self.obtain(c.resource, &mut ah, &mut steps, 0)
                    .map(|e| or_own(e, attacker))
            };
            let e = match e {
                Some(e) => Some(e),
                None => self
                    .obtain(c.resource, &mut vh, &mut steps, 0)
                    .map(|e| or_own(e, victim)),
            };
            // A reference the request may go without (a VLAN's group, which only
            // administrators create) never stops the attack: left out when it cannot be
            // obtained, and when its create fails at run time.
            let required = crate::model::is_required(op, &c.slot);
            let e = match e {
                Some(e @ (Expr::Created { .. } | Expr::CreatedOr { .. })) if !required => {
                    Expr::Optional(Box::new(e))
                }
                Some(e) => e,
                None if required => return None,
                None => continue,
            };
            own.insert(c.slot.clone(), e);
        }
        // Where the victim looks afterwards.
        // A create with nowhere to look afterwards is still judged on its own answer (a create
        // that copies the victim's data, like an export of the victim's project).
        let mut witness = None;
        let readback = if effect == Effect::Create {
            self.lister(index, &vh)
        } else if let Some(read) = self.reader(primary.resource, &vh) {
            Some(read)
        } else if effect == Effect::Delete && target_step.is_some() {
            // Nothing reads it (a credential, a secret): the owner's own delete tells.
            witness = Some(self.delete_witness(index, primary.resource, &mut vh, &mut steps)?);
            None
        } else {
            return None;
        };
        let is_dependency = self
            .model
            .producers
            .iter()
            .any(|p| p.op == index && p.dependencies.iter().any(|(s, _)| s == slot));
        let vector = if effect == Effect::Create && is_dependency {
            Vector::Parent
        } else {
            let own_slots: Vec<&Slot> = consumers.iter().map(|c| &c.slot).collect();
            vector_of(op, slot, &own_slots, !anonymous && !own.is_empty())
        };
        let args = self.args(
            index,
            attacker,
            &mut |s| {
                if s == slot {
                    Some(victim_id.clone())
                } else {
                    own.get(s).cloned()
                }
            },
            Some(Expr::Stem { owner: victim }),
        );
        let attack = Step {
            actor: attacker,
            op: index,
            role: StepRole::Attack {
                victim,
                effect,
                vector,
                target_resource: Some(primary.resource),
                target_step,
                check: Check::Ownership,
            },
            args,
        };
        match witness {
            Some((control, after)) => {
                let at = steps.len() + 1;
                let own_delete = |args: Args, phase: Phase| Step {
                    actor: victim,
                    op: index,
                    role: StepRole::ReadBack { attack: at, phase },
                    args,
                };
                steps.push(own_delete(control, Phase::Before));
                steps.push(attack);
                steps.push(own_delete(after, Phase::After));
            }
            None => push_attack(&mut steps, attack, readback),
        }
        Some(Probe {
            attacker,
            victim,
            scenario: Scenario { steps },
        })
    }

    /// The owner's own deletes that witness a delete of what no GET reads: of a second object
    /// of its own (created now), before the attack, which must work (the control: the owner may
    /// delete a live one); and of the attacked object after it, which answers 404 or 410 only
    /// if the attacker's delete took it. (The arguments of each: the control's, the attacked
    /// one's.) A delete the server ignored leaves the object for the owner's delete: no finding.
    fn delete_witness(
        &self,
        index: usize,
        resource: usize,
        vh: &mut Holdings,
        steps: &mut Vec<Step>,
    ) -> Option<(Args, Args)> {
        let attacked = vh.memo.get(&resource).cloned()?;
        let after = self.filled(index, vh.owner, &|r| vh.memo.get(&r).cloned(), None)?;
        let mark = steps.len();
        vh.memo.shift_remove(&resource);
        let control = self
            .model
            .producers_of(resource)
            .find_map(|p| self.create_with(p, vh, steps, 0))
            .and_then(|_| self.filled(index, vh.owner, &|r| vh.memo.get(&r).cloned(), None));
        vh.memo.insert(resource, attacked);
        if control.is_none() {
            steps.truncate(mark);
        }
        Some((control?, after))
    }

    /// A GET the owner can read `resource` with: one taking its id in the path, else in the
    /// query, else the list it was created into.
    pub(super) fn reader(&self, resource: usize, h: &Holdings) -> Option<(usize, Args)> {
        // The best is the least (rank, arguments, operation); candidates come in the order of
        // (rank, fewest arguments possible, operation), so once the next cannot beat the best,
        // none after it can: a resource read by a thousand GETs costs one fill, not a thousand.
        let mut best: Option<(usize, usize, usize, Args)> = None;
        for &(rank, least, index) in self.gets().readers.get(resource).into_iter().flatten() {
            if best
                .as_ref()
                .is_some_and(|(r, n, i, _)| (rank, least, index) > (*r, *n, *i))
            {
                break;
            }
            let pick = |r: usize| h.memo.get(&r).cloned();
            let Some(args) = self.filled(index, h.owner, &pick, None) else {
                continue;
            };
            if best
                .as_ref()
                .is_none_or(|(r, n, i, _)| (rank, args.len(), index) < (*r, *n, *i))
            {
                best = Some((rank, args.len(), index, args));
            }
        }
        if let Some((_, _, index, args)) = best {
            return Some((index, args));
        }
        let producer = self.model.producer_of(resource)?;
        self.lister(producer.op, h)
    }

    /// A GET that lists what a producer creates, filled with the owner's ids: the GET on the
    /// producer's own path, else a GET under one of its parents ending in the same collection
    /// (`POST /attachments` with a body `workspaceId` -> `GET /workspaces/{workspaceId}/attachments`).
    pub(super) fn lister(&self, producer_op: usize, h: &Holdings) -> Option<(usize, Args)> {
        let path = &self.api.operations[producer_op].path;
        let collection = crate::model::last_literal_singular(path);
        let pick = |r: usize| h.memo.get(&r).cloned();
        let gets = self.gets();
        let same_path = gets.by_path.get(path.as_str()).copied();
        let candidates = same_path.into_iter().chain(
            gets.by_collection
                .get(&collection)
                .into_iter()
                .flatten()
                .copied()
                .filter(|i| &self.api.operations[*i].path != path),
        );
        for index in candidates {
            if self.model.is_skipped(index) {
                continue;
            }
            if let Some(args) = self.filled(index, h.owner, &pick, None) {
                return Some((index, args));
            }
        }
        None
    }
}

/// Whether a step with these arguments would change a pre-existing (discovered) object: a write,
/// delete or action whose most specific id (the last path parameter holding an id, else the
/// first id slot) is one the campaign did not create. Creating a child under a pre-existing
/// parent does not count (the cleanup removes the child).
pub(super) fn seeded_object(
    api: &Api,
    model: &ResourceModel,
    op: usize,
    args: &[(Slot, Expr)],
) -> bool {
    if !matches!(
        effect_of(api, model, op),
        Effect::Write | Effect::Delete | Effect::Action
    ) {
        return false;
    }
    let ids: Vec<&Slot> = args
        .iter()
        .filter(|(_, e)| matches!(e, Expr::Created { .. } | Expr::Discovered { .. }))
        .map(|(s, _)| s)
        .collect();
    let Some(object) = deepest(&api.operations[op], &ids) else {
        return false;
    };
    args.iter()
        .any(|(s, e)| s == object && matches!(e, Expr::Discovered { .. }))
}

/// Whether any attack of a scenario would change a pre-existing object (see [`seeded_object`]).
pub(crate) fn changes_seeded(api: &Api, model: &ResourceModel, scenario: &Scenario) -> bool {
    scenario.steps.iter().any(|s| {
        // Events to a configured webhook receiver are opted in by its configuration.
        matches!(&s.role, StepRole::Attack { check, .. } if !matches!(check, Check::Webhook { .. }))
            && seeded_object(api, model, s.op, &s.args)
    })
}

/// Pushes an attack with the victim's read-backs around it: before (a control, except for a
/// create, which has nothing to show yet) and after. `readback` is the victim's reading request.
pub(super) fn push_attack(steps: &mut Vec<Step>, attack: Step, readback: Option<(usize, Args)>) {
    let StepRole::Attack { victim, effect, .. } = attack.role else {
        steps.push(attack);
        return;
    };
    let read = |op: usize, args: Args, attack: usize, phase: Phase| Step {
        actor: victim,
        op,
        role: StepRole::ReadBack { attack, phase },
        args,
    };
    if let (Some((op, args)), false) = (&readback, effect == Effect::Create) {
        let step = read(*op, args.clone(), steps.len() + 1, Phase::Before);
        steps.push(step);
    }
    steps.push(attack);
    if let Some((op, args)) = readback {
        let step = read(op, args, steps.len() - 1, Phase::After);
        steps.push(step);
    }
}

/// The vector of a list or search over the attacker's own scope: `query` when it searches for
/// the victim's markers in a query parameter, else `path` (the list itself).
pub(super) fn list_vector(args: &[(Slot, Expr)]) -> Vector {
    if args
        .iter()
        .any(|(s, e)| matches!(s, Slot::Query(_)) && matches!(e, Expr::Stem { .. }))
    {
        Vector::Query
    } else {
        Vector::Path
    }
}

/// The slot that names the most specific resource: the last path parameter, else the first slot.
pub(super) fn deepest<'s>(op: &Operation, slots: &[&'s Slot]) -> Option<&'s Slot> {
    let names = crate::spec::template_names(&op.path);
    names
        .iter()
        .rev()
        .find_map(|n| {
            slots
                .iter()
                .find(|s| **s == &Slot::Path(n.clone()))
                .copied()
        })
        .or_else(|| slots.first().copied())
}

/// The vector of a victim id in `slot` when the other slots hold the attacker's own ids
/// (`others_own`): a victim parent above the attacker's own child is `parent`.
pub(super) fn vector_of(op: &Operation, slot: &Slot, slots: &[&Slot], others_own: bool) -> Vector {
    if others_own {
        if let Some(deep) = deepest(op, slots) {
            if deep != slot && matches!(slot, Slot::Path(_)) {
                return Vector::Parent;
            }
        }
    }
    slot.vector()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicySettings;
    use crate::model::{Overrides, Policy, infer};
    use crate::spec::load_str;

    const SPEC: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /notes:\n    get:\n      responses: {'200': {description: ok, content: {application/json: {schema: {type: array, items: {type: object, properties: {id: {type: string}, text: {type: string}}}}}}}}\n    post:\n      requestBody: {content: {application/json: {schema: {type: object, properties: {text: {type: string}}}}}}\n      responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: string}, text: {type: string}}}}}}}\n  /notes/{noteId}:\n    delete:\n      tags: [admin]\n      parameters: [{name: noteId, in: path, required: true, schema: {type: string}}]\n      responses: {'204': {description: ok}}\n  /ops/report:\n    get:\n      tags: [internal]\n      responses: {'200': {description: ok}}\n";

    #[test]
    fn a_fill_kept_for_answers_of_the_same_shapes_gives_what_filling_gives() {
        let api = load_str(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /projects:\n    post:\n      requestBody: {content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}}\n      responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: string}}}}}}}\n  /projects/{projectId}/docs:\n    post:\n      parameters: [{name: projectId, in: path, required: true, schema: {type: string}}]\n      requestBody: {content: {application/json: {schema: {type: object, required: [kind], properties: {title: {type: string}, kind: {type: string, enum: [a, b]}, parentId: {type: string}}}}}}\n      responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: string}}}}}}}\n",
            "t.yaml",
        )
        .expect("loads");
        let model = infer(&api, &[], &Overrides::default());
        let cast = Cast::of_tenants(
            vec![Some("a".into()), Some("b".into()), None],
            BTreeSet::new(),
        );
        let planner = Planner::new(&api, &model, &cast);
        let index = api.find("POST /projects/{projectId}/docs").expect("op");
        let answers = [
            Some(Expr::Created { step: 0 }),
            Some(Expr::Created { step: 3 }),
            None,
            Some(Expr::Discovered {
                identity: 0,
                resource: 0,
            }),
            Some(Expr::Created { step: 0 }),
            None,
        ];
        for answer in &answers {
            let id_for = |slot: &Slot| {
                (*slot == Slot::Path("projectId".into()))
                    .then(|| answer.clone())
                    .flatten()
            };
            let kept = planner.args(index, 0, &mut |s| id_for(s), None);
            let filled = fill_request(&api.operations[index], 0, &mut |s| id_for(s), None);
            assert_eq!(kept, filled);
        }
        // The later answers came from a kept fill with the answers' places in it.
        let fills = planner.fills.borrow();
        let kept = fills.values().next().expect("kept");
        assert!(kept.iter().all(|fill| fill.holes.is_some()));
        assert!(kept.len() < answers.len());
    }

    #[test]
    fn a_delete_of_a_collection_under_a_parent_acts_on_the_parent_and_deletes_nothing_it_names() {
        for (path, kind) in [
            ("/buckets/{bucket_id}/collections", Effect::Action),
            ("/buckets/{bucket_id}/collections/", Effect::Action),
            ("/buckets/{id}", Effect::Delete),
            ("/api/ipam/vrfs/{id}/", Effect::Delete),
            ("/attachments", Effect::Delete),
        ] {
            let spec = format!(
                "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  {path}:\n    delete:\n      responses: {{'204': {{description: ok}}}}\n"
            );
            let api = load_str(&spec, "t.yaml").expect("loads");
            let model = infer(&api, &[], &Overrides::default());
            assert_eq!(effect_of(&api, &model, 0), kind, "{path}");
        }
    }

    #[test]
    fn a_list_scoped_by_an_optional_id_is_also_probed_bare() {
        // `GET /workflows?projectId=` lists the caller's workflows, optionally of one project;
        // a project is made by `POST /projects`, which may fail (an enterprise feature). The
        // bare list must be probed too, or a leak on it hides behind the failed scope.
        let spec = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /projects:\n    post:\n      requestBody: {content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}}\n      responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: string}}}}}}}\n  /workflows:\n    get:\n      parameters: [{name: projectId, in: query, schema: {type: string}}]\n      responses: {'200': {description: ok, content: {application/json: {schema: {type: array, items: {type: object, properties: {id: {type: string}, name: {type: string}}}}}}}}\n    post:\n      requestBody: {content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}}\n      responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: string}}}}}}}\n";
        let api = load_str(spec, "t.yaml").expect("loads");
        let model = infer(&api, &[], &Overrides::default());
        let cast = Cast::of_tenants(
            vec![Some("a".into()), Some("b".into()), None],
            BTreeSet::new(),
        );
        let list = api.find("GET /workflows").expect("op");
        let lists: Vec<Vec<Slot>> = plan(&api, &model, &cast)
            .probes
            .iter()
            .filter(|p| p.attacker == 0)
            .flat_map(|p| p.scenario.steps.iter())
            .filter(|s| s.op == list && matches!(s.role, StepRole::Attack { .. }))
            .map(|s| s.args.iter().map(|(slot, _)| slot.clone()).collect())
            .collect();
        let scoped = Slot::Query("projectId".into());
        assert!(lists.iter().any(|a| a.contains(&scoped)), "{lists:?}");
        assert!(lists.iter().any(|a| !a.contains(&scoped)), "{lists:?}");
    }

    #[test]
    fn data_shared_by_design_is_attacked_by_anonymous_callers_only() {
        let api = load_str(SPEC, "t.yaml").expect("loads");
        let model = infer(&api, &[], &Overrides::default());
        let attackers_of = |shared: Vec<String>| {
            let mut cast = Cast::of_tenants(
                vec![Some("a".into()), Some("b".into()), None],
                BTreeSet::new(),
            );
            let settings = PolicySettings {
                shared,
                ..PolicySettings::default()
            };
            cast.policy = Policy::resolve(&api, &settings, &[]).expect("valid");
            let delete = api.find("DELETE /notes/{noteId}").expect("op");
            let mut who: Vec<usize> = plan(&api, &model, &cast)
                .probes
                .iter()
                .filter(|p| {
                    p.scenario
                        .steps
                        .iter()
                        .any(|s| s.op == delete && matches!(s.role, StepRole::Attack { .. }))
                })
                .map(|p| p.attacker)
                .collect();
            who.sort();
            who.dedup();
            who
        };
        assert_eq!(attackers_of(Vec::new()), [0, 1, 2]);
        assert_eq!(attackers_of(vec!["/notes/*".into()]), [2]);
        let unknown = PolicySettings {
            shared: vec!["/nothing".into()],
            ..PolicySettings::default()
        };
        let err = Policy::resolve(&api, &unknown, &[]).expect_err("names nothing");
        assert_eq!(err.key, "policy.shared");
    }

    #[test]
    fn operations_denied_to_a_role_are_judged_by_the_gate_probes_only() {
        let api = load_str(SPEC, "t.yaml").expect("loads");
        let model = infer(&api, &[], &Overrides::default());
        let mut cast = Cast::of_tenants(
            vec![Some("a".into()), Some("b".into()), Some("ops".into()), None],
            BTreeSet::new(),
        );
        cast.roles = vec![
            Some("member".into()),
            Some("member".into()),
            Some("admin".into()),
            None,
        ];
        cast.policy = Policy::resolve(&api, &PolicySettings::default(), &[]).expect("valid");
        let report = api.find("GET /ops/report").expect("op");
        let delete = api.find("DELETE /notes/{noteId}").expect("op");
        let list = api.find("GET /notes").expect("op");
        assert!(!cast.ownership_applies(0, report));
        assert!(cast.ownership_applies(3, report), "anonymous has no role");
        let plan = plan(&api, &model, &cast);
        let mut ownership = BTreeSet::new();
        let mut gated = BTreeSet::new();
        for step in plan.probes.iter().flat_map(|p| p.scenario.steps.iter()) {
            if let StepRole::Attack { check, .. } = &step.role {
                match check {
                    Check::Ownership if step.actor != cast.anonymous() => {
                        ownership.insert(step.op);
                    }
                    Check::Gate { .. } => {
                        gated.insert(step.op);
                    }
                    _ => {}
                }
            }
        }
        assert!(ownership.contains(&list), "{ownership:?}");
        assert!(!ownership.contains(&report) && !ownership.contains(&delete));
        assert!(
            gated.contains(&report) && gated.contains(&delete),
            "{gated:?}"
        );
    }
}
