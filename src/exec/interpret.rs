//! The interpreter of scenarios: runs each step as its identity through the [`Target`], side by
//! side where the steps allow, records what each answered and what it created. Resolving a
//! step's symbolic values into ids lives in `ids.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::Value;

use super::ids::{encode_segment, set_pointer};
use super::sign::sign_event;
use super::target::Target;
use crate::exchange::Capture;
use crate::exchange::{Execution, StepRecord, value_text};
use crate::marker::Markers;
use crate::model::{ResourceModel, Slot};
use crate::scenario::{Scenario, Step, StepRole};
use crate::spec::{Api, Method};

/// Ids each identity owned before the campaign: (identity, resource) -> ids.
pub type Discovered = BTreeMap<(usize, usize), Vec<Value>>;

/// What an execution needs besides the target.
pub struct Interpreter<'a> {
    pub api: &'a Api,
    pub model: &'a ResourceModel,
    pub markers: &'a Markers,
    pub discovered: &'a Discovered,
    pub target: &'a Target,
    /// Webhook receivers and how their events are signed: steps on them are signed correctly
    /// unless the step is a forgery.
    pub webhooks: &'a [(usize, crate::config::WebhookSettings)],
    /// Held while a scenario with webhook events runs: two of them crediting the same account
    /// at once would see each other's effects.
    pub exclusive: Exclusive,
    /// Everything any execution created, in creation order, for the cleanup.
    pub created: std::sync::Mutex<Vec<Created>>,
    /// Where a finished execution hands what it created while the campaign deletes as it goes
    /// (`None`: it stays in `created` for the end).
    pub finished: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Vec<Created>>>>,
    /// What the cleanup found of each object it dealt with: an object two executions were
    /// answered with (an upsert, a singleton) is counted and listed once.
    pub cleaned: std::sync::Mutex<crate::outcome::Ledger>,
    /// One permit per request in flight: the campaign's concurrency. Phases that overlap
    /// (exploration and the confirmation of planned findings) share it instead of each taking
    /// all of it.
    pub slots: crate::exec::Slots,
    /// Held shared by every execution, and alone by one that changes who an identity is (sets
    /// a privilege of its own account, changes its profile): such a probe runs with nothing
    /// else in flight, so no other probe's verdict sees an identity briefly made a superuser.
    pub solo: tokio::sync::RwLock<()>,
    /// Per (identity, creating operation), how its creations as a fixture went: see
    /// [`Refusals`].
    pub refusals: Refusals,
}

/// How a fixture's create that [`Refusals`] keeps back says why.
pub const REFUSED: &str = "answered";

/// Creations an identity is refused: after [`Refusals::ENOUGH`] answers of 403 (or 405) and no
/// success, a fixture's create by that identity through that operation is not sent again. On a
/// large API most of whose resources an ordinary user may not create (NetBox: 1,256 operations),
/// one in six requests was such a create, sent again in every probe that needed it.
#[derive(Debug, Default)]
pub struct Refusals {
    seen: std::sync::Mutex<std::collections::HashMap<(usize, usize), Tally>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    refused: u32,
    status: u16,
    created: bool,
}

impl Refusals {
    /// Refusals in a row, with no success ever, after which a fixture's create is not sent.
    pub const ENOUGH: u32 = 4;

    /// Why `actor`'s create through `op` is not sent, when it has been refused enough.
    fn settled(&self, actor: usize, op: usize) -> Option<(u32, u16)> {
        let seen = self.seen.lock().ok()?;
        let t = seen.get(&(actor, op))?;
        (!t.created && t.refused >= Self::ENOUGH).then_some((t.refused, t.status))
    }

    fn record(&self, actor: usize, op: usize, status: Option<u16>) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        let t = seen.entry((actor, op)).or_default();
        match status {
            Some(s) if (200..300).contains(&s) => t.created = true,
            Some(s @ (403 | 405)) => {
                t.refused += 1;
                t.status = s;
            }
            _ => {}
        }
    }
}

/// Locks for scenarios with webhook events, one per tenant: a webhook event credits its
/// victim's account, so two scenarios on one tenant's account run one at a time, and scenarios
/// on different tenants' accounts run side by side.
#[derive(Debug, Default)]
pub struct Exclusive {
    /// Per identity, the key of its tenant (identities of one tenant share it).
    groups: Vec<usize>,
    locks: std::sync::Mutex<BTreeMap<usize, Arc<tokio::sync::Mutex<()>>>>,
}

impl Exclusive {
    /// Identities with the same tenant share a lock; those without one (anonymous) share
    /// another.
    pub fn by_tenant(tenants: &[Option<String>]) -> Exclusive {
        let groups = tenants
            .iter()
            .map(|t| match t {
                Some(_) => tenants.iter().position(|u| u == t).unwrap_or(usize::MAX),
                None => usize::MAX,
            })
            .collect();
        Exclusive {
            groups,
            locks: Default::default(),
        }
    }

    /// The key of `identity`'s tenant (identities of one tenant share it).
    pub(crate) fn tenant_of(&self, identity: usize) -> usize {
        self.groups.get(identity).copied().unwrap_or(usize::MAX)
    }

    /// Holds the locks of every tenant whose account the scenario's attacks are on, taken in
    /// key order (so two scenarios never wait for each other in a cycle). A scenario without
    /// an attack takes the lock of identities without a tenant.
    async fn hold(&self, scenario: &Scenario) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
        let mut keys: Vec<usize> = scenario
            .steps
            .iter()
            .filter_map(|s| match s.role {
                StepRole::Attack { victim, .. } => Some(self.tenant_of(victim)),
                _ => None,
            })
            .collect();
        if keys.is_empty() {
            keys.push(usize::MAX);
        }
        keys.sort_unstable();
        keys.dedup();
        let locks: Vec<_> = {
            let mut all = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter()
                .map(|k| all.entry(*k).or_default().clone())
                .collect()
        };
        let mut held = Vec::with_capacity(locks.len());
        for lock in locks {
            held.push(lock.lock_owned().await);
        }
        held
    }
}

/// A resource some step created: who, through which operation, its id, and the values the
/// request carried (the ids of its parents among them).
#[derive(Debug, Clone)]
pub struct Created {
    pub owner: usize,
    pub op: usize,
    pub id: Value,
    pub args: Vec<(Slot, Value)>,
    /// Created by a scenario holding a tenant's webhook lock (one of a chain that may still
    /// be running).
    pub locked: bool,
}

impl Interpreter<'_> {
    /// Executes a scenario step by step. Every request takes a slot of the concurrency while it
    /// is in flight, so the bound holds however many scenarios run at once; a scenario between
    /// two requests holds none.
    pub async fn execute(&self, scenario: &Scenario) -> Execution {
        self.execute_as(scenario, self.slots.ticket()).await
    }

    /// Executes a scenario as part of a chain of executions (a confirmation's replays, a
    /// shrink's candidates) that took `ticket` when it started: its requests wait for slots
    /// as long as the chain's first did, not behind everything that started since.
    pub async fn execute_as(&self, scenario: &Scenario, ticket: u64) -> Execution {
        let webhook = self.has_webhook(scenario);
        // The locks are taken before any slot, the solo lock first: a scenario waiting for one
        // holds no slot, and nothing holding a slot ever waits for a lock, so they cannot
        // deadlock.
        let alone = self.changes_identity(scenario);
        let (_shared, _alone) = if alone {
            (None, Some(self.solo.write().await))
        } else {
            (Some(self.solo.read().await), None)
        };
        let _guard = if webhook {
            self.exclusive.hold(scenario).await
        } else {
            Vec::new()
        };
        if alone {
            let (operation, kind) = self.probe_name(scenario);
            self.target.begin_solo_probe(operation, kind);
        }
        let priority = crate::exec::Priority::new(ticket, webhook);
        let mut exec = Execution::default();
        let steps = &scenario.steps;
        // The identities a fresh account stands in for, and their own accounts to put back.
        let mut enrolled: Vec<(usize, super::session::Stash)> = Vec::new();
        let mut i = 0;
        while i < steps.len() {
            if let Some(record) = self.account_step(&steps[i], &mut enrolled).await {
                exec.steps.push(record);
                i += 1;
                continue;
            }
            // Consecutive creations of different tenants (the victim's fixture and the
            // attacker's) go out side by side, each tenant's in order; consecutive reads that
            // use nothing among themselves go out together; each request takes its own slot.
            // Webhook scenarios stay strictly in order (their quiet reads measure noise over
            // time).
            if !webhook && matches!(steps[i].role, StepRole::Setup { .. }) {
                let end = setups_from(steps, i);
                if end > i + 1
                    && self
                        .execute_setups(steps, i..end, &mut exec, priority)
                        .await
                {
                    i = end;
                    continue;
                }
            }
            let end = if webhook {
                i + 1
            } else {
                self.reads_from(steps, i)
            };
            if end == i + 1 {
                let record = self.execute_step(&steps[i], &exec, priority).await;
                exec.steps.push(record);
                i += 1;
                continue;
            }
            // Within the run, the owners' reads before an attack still go before it, and those
            // after it after: an answer may depend on what was read first (a cache an owner's
            // read fills). Each of the three waves goes out at once.
            let wave = |step: &Step| match step.role {
                StepRole::ReadBack {
                    phase: crate::scenario::Phase::Before,
                    ..
                } => 0,
                StepRole::ReadBack {
                    phase: crate::scenario::Phase::After,
                    ..
                } => 2,
                _ => 1,
            };
            let mut records: Vec<Option<StepRecord>> = vec![None; end - i];
            for w in 0..3 {
                let so_far = &exec;
                let sent: Vec<(usize, StepRecord)> =
                    futures_util::stream::iter((i..end).filter(|k| wave(&steps[*k]) == w))
                        .map(|k| async move {
                            (k, self.execute_step(&steps[k], so_far, priority).await)
                        })
                        .buffer_unordered(end - i)
                        .collect()
                        .await;
                for (k, record) in sent {
                    records[k - i] = Some(record);
                }
            }
            exec.steps
                .extend(records.into_iter().map(Option::unwrap_or_default));
            i = end;
        }
        for (identity, stash) in enrolled.into_iter().rev() {
            self.target.restore(identity, stash).await;
        }
        if alone {
            // Still alone: a session the probe broke is found (and renewed, or reported as
            // the probe's doing) before any other probe sends with it.
            let mut actors: Vec<usize> = scenario.steps.iter().map(|s| s.actor).collect();
            actors.sort_unstable();
            actors.dedup();
            for identity in actors {
                self.target.check_after_probe(identity).await;
            }
            self.target.end_solo_probe();
        }
        if !webhook {
            self.release(scenario, &exec);
        }
        exec
    }

    /// Runs a step of an account probe: a fresh account for its actor (`Enroll`), a login with
    /// its password (`Relogin`), or an `Account` attack, which is sent only when both accounts
    /// are fresh ones (a shrink that left an `Enroll` out must never reach an identity's own
    /// account). `None` for every other step.
    async fn account_step(
        &self,
        step: &Step,
        enrolled: &mut Vec<(usize, super::session::Stash)>,
    ) -> Option<StepRecord> {
        let is_enrolled = |i: usize| enrolled.iter().any(|(e, _)| *e == i);
        match &step.role {
            StepRole::Enroll => {
                let mut record = StepRecord::default();
                if !is_enrolled(step.actor) {
                    match self.target.enroll(step.actor).await {
                        Ok(stash) => enrolled.push((step.actor, stash)),
                        Err(e) => record.skipped = Some(e),
                    }
                }
                Some(record)
            }
            StepRole::Relogin { .. } => {
                let mut record = StepRecord::default();
                if !is_enrolled(step.actor) {
                    record.skipped = Some("its account is not a fresh one".into());
                    return Some(record);
                }
                let (label, url) = self.target.login_request(step.actor);
                let started = std::time::Instant::now();
                let (status, error) = match self.target.logs_in(step.actor).await {
                    Ok(status) => (Some(status), None),
                    Err((status, reason)) => (status, Some(reason)),
                };
                record.exchange = Some(crate::exchange::Exchange {
                    method: label,
                    url,
                    status,
                    error,
                    duration_ms: started.elapsed().as_millis() as u64,
                    ..Default::default()
                });
                Some(record)
            }
            StepRole::Attack {
                victim,
                check: crate::scenario::Check::Account,
                ..
            } if !(is_enrolled(*victim) && is_enrolled(step.actor)) => Some(StepRecord {
                skipped: Some("an account probe runs only on fresh accounts".into()),
                ..Default::default()
            }),
            _ => None,
        }
    }

    /// A probe by its first attack: the operation (`PATCH /me`) and the kind of check
    /// (`mass-assignment`, `bola-write`).
    fn probe_name(&self, scenario: &Scenario) -> (String, String) {
        use crate::scenario::{Check, Effect};
        scenario
            .steps
            .iter()
            .find_map(|s| match &s.role {
                StepRole::Attack { check, effect, .. } => {
                    let kind = match (check, effect) {
                        (Check::Ownership, Effect::Read) => "bola-read",
                        (Check::Ownership, Effect::Delete) => "bola-delete",
                        (Check::Ownership, _) => "bola-write",
                        (other, _) => other.name(),
                    };
                    Some((self.api.operations[s.op].label(), kind.to_string()))
                }
                _ => None,
            })
            .unwrap_or_else(|| ("a scenario without an attack".into(), "setup".into()))
    }

    /// Hands what a finished execution created to the running cleanup, if there is one: no
    /// other execution uses it (each creates what it uses; judging reads only the records).
    /// What a scenario holding a webhook lock created stays for the end.
    fn release(&self, scenario: &Scenario, exec: &Execution) {
        let made: Vec<(usize, &Value)> = exec
            .steps
            .iter()
            .zip(&scenario.steps)
            .filter_map(|(r, s)| r.created.as_ref().map(|id| (s.op, id)))
            .collect();
        if made.is_empty() {
            return;
        }
        let Ok(finished) = self.finished.lock() else {
            return;
        };
        let Some(tx) = finished.as_ref() else {
            return;
        };
        let mine: Vec<Created> = {
            let Ok(mut created) = self.created.lock() else {
                return;
            };
            let (mine, rest): (Vec<Created>, Vec<Created>) =
                std::mem::take(&mut *created).into_iter().partition(|c| {
                    !c.locked && made.iter().any(|(op, id)| c.op == *op && c.id == **id)
                });
            *created = rest;
            mine
        };
        if let Err(back) = tx.send(mine) {
            if let Ok(mut created) = self.created.lock() {
                created.extend(back.0);
            }
        }
    }

    /// Whether a step only reads (GET or HEAD, not a setup): leaving it out, or sending it
    /// beside another read, changes no other answer.
    pub(crate) fn only_reads(&self, step: &Step) -> bool {
        !matches!(
            step.role,
            StepRole::Setup { .. } | StepRole::Enroll | StepRole::Relogin { .. }
        ) && self
            .api
            .operations
            .get(step.op)
            .is_some_and(|op| matches!(op.method, Method::Get | Method::Head))
    }

    /// Whether a step of the scenario sends a webhook event.
    /// Whether the scenario changes who one of the identities is: it sets a privilege field of
    /// the caller's own object (`role`, `is_admin`), or changes the caller's own account through
    /// the operation that answers about the caller (`PATCH /me`, `PUT /users/me`).
    pub(crate) fn changes_identity(&self, scenario: &Scenario) -> bool {
        use crate::scenario::Check;
        scenario.steps.iter().any(|s| {
            let own_privilege = matches!(
                &s.role,
                StepRole::Attack {
                    check: Check::Assign { own: true, .. },
                    ..
                }
            );
            let op = &self.api.operations[s.op];
            let own_account = !op.method.is_safe()
                && self
                    .model
                    .selves
                    .iter()
                    .any(|me| self.api.operations[me.op].path == op.path);
            // A fresh account standing in for an identity changes who it is until the end.
            matches!(s.role, StepRole::Enroll)
                || own_privilege
                || (own_account && !matches!(s.role, StepRole::Setup { .. }))
        })
    }

    pub(crate) fn has_webhook(&self, scenario: &Scenario) -> bool {
        scenario
            .steps
            .iter()
            .any(|s| self.webhooks.iter().any(|(op, _)| *op == s.op))
    }

    /// Runs the creations `run` (consecutive setup steps) in the lanes [`setup_lanes`] gives,
    /// side by side; `false` (nothing sent) when it gives none. Records land at their steps'
    /// places in `exec`, so references by index stay as in a sequential run.
    async fn execute_setups(
        &self,
        steps: &[Step],
        run: std::ops::Range<usize>,
        exec: &mut Execution,
        priority: crate::exec::Priority,
    ) -> bool {
        let Some(lanes) = setup_lanes(steps, run.clone(), |i| self.exclusive.tenant_of(i)) else {
            return false;
        };
        let done = futures_util::future::join_all(lanes.into_iter().map(|lane| {
            let mut local = exec.clone();
            local.steps.resize(run.end, StepRecord::default());
            async move {
                for k in &lane {
                    local.steps[*k] = self.execute_step(&steps[*k], &local, priority).await;
                }
                (lane, local)
            }
        }))
        .await;
        exec.steps.resize(run.end, StepRecord::default());
        for (lane, mut local) in done {
            for k in lane {
                exec.steps[k] = std::mem::take(&mut local.steps[k]);
            }
        }
        true
    }

    /// The end of the run of reads starting at `start` (at least `start + 1`): steps that read
    /// (GET or HEAD, not a setup) and use no step of the run itself.
    fn reads_from(&self, steps: &[Step], start: usize) -> usize {
        let mut end = start;
        while let Some(step) = steps.get(end) {
            if !self.only_reads(step) || step.uses().any(|u| u >= start) {
                break;
            }
            end += 1;
        }
        end.max(start + 1)
    }

    async fn execute_step(
        &self,
        step: &Step,
        so_far: &Execution,
        priority: crate::exec::Priority,
    ) -> StepRecord {
        let mut record = StepRecord::default();
        let op = &self.api.operations[step.op];
        let fixture = matches!(step.role, StepRole::Setup { .. });
        let refused = |record: &mut StepRecord| {
            let (n, status) = self.refusals.settled(step.actor, step.op)?;
            record.skipped = Some(format!(
                "{REFUSED} {status} each of the {n} times it was sent before, and never created \
                 one"
            ));
            Some(())
        };
        if fixture && refused(&mut record).is_some() {
            return record;
        }
        let mut path = op.path.clone();
        let mut query: Vec<(String, String)> = Vec::new();
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut body: Option<Value> = None;
        let creates = matches!(step.role, StepRole::Setup { .. })
            || matches!(
                step.role,
                StepRole::Attack {
                    effect: crate::scenario::Effect::Create,
                    ..
                }
            );
        // What a creation was sent, for cleanup to find what it made; kept only by creations.
        let mut sent: Vec<(Slot, Value)> = Vec::new();
        for (slot, expr) in &step.args {
            let value = match self.resolve(expr, so_far) {
                Ok((v, capture)) => {
                    if let Some((from_step, pointer)) = capture {
                        record.captures.push(Capture {
                            value: value_text(&v),
                            from_step,
                            pointer,
                        });
                    }
                    v
                }
                // An optional reference whose create failed is left out.
                Err(_) if matches!(expr, crate::scenario::Expr::Optional(_)) => continue,
                Err(reason) => {
                    record.skipped = Some(reason);
                    return record;
                }
            };
            if creates {
                sent.push((slot.clone(), value.clone()));
            }
            match slot {
                Slot::Path(name) => {
                    let encoded = encode_segment(&value_text(&value));
                    path = path.replace(&format!("{{{name}}}"), &encoded);
                }
                Slot::Query(name) => query.push((name.clone(), value_text(&value))),
                Slot::Header(name) => headers.push((name.clone(), value_text(&value))),
                Slot::Body(pointer) => set_pointer(body.get_or_insert(Value::Null), pointer, value),
            }
        }
        if body.is_none() && op.body.as_ref().is_some_and(|b| b.required) {
            body = Some(Value::Object(serde_json::Map::new()));
        }
        if let Some((_, w)) = self.webhooks.iter().find(|(o, _)| *o == step.op) {
            if let Err(reason) = sign_event(w, step, so_far, &mut body, &mut headers) {
                record.skipped = Some(reason);
                return record;
            }
        }
        let mut url = format!("{}{}", self.target.base, path);
        if !query.is_empty() {
            let encoded: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query.iter())
                .finish();
            url.push('?');
            url.push_str(&encoded);
        }
        let form = op.body.as_ref().is_some_and(|b| {
            b.content_type
                .starts_with("application/x-www-form-urlencoded")
        });
        let forged = match &step.role {
            StepRole::Attack {
                victim,
                check: crate::scenario::Check::Token { forgery, .. },
                ..
            } => Some((*victim, *forgery)),
            _ => None,
        };
        let exchange = {
            let _slot = self.slots.acquire(priority).await;
            // Asked again with the slot: a refusal may have come in while this waited for it.
            if fixture && refused(&mut record).is_some() {
                return record;
            }
            match forged {
                Some((victim, forgery)) => match self
                    .target
                    .send_forged(
                        step.actor,
                        victim,
                        forgery,
                        op.method,
                        &url,
                        &headers,
                        body.as_ref(),
                        form,
                    )
                    .await
                {
                    Ok(exchange) => exchange,
                    Err(reason) => {
                        record.skipped = Some(format!("no forged token: {reason}"));
                        return record;
                    }
                },
                None => {
                    let exchange = self
                        .target
                        .send(step.actor, op.method, &url, &headers, body.as_ref(), form)
                        .await;
                    // Told while the slot is held: the next to take it knows.
                    if fixture {
                        self.refusals.record(step.actor, step.op, exchange.status);
                    }
                    exchange
                }
            }
        };
        record.sent_markers = self
            .markers
            .find_in_request(&exchange)
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        if creates && exchange.is_success() {
            if let Some((id, from)) = self.created_id(step.op, &exchange, &sent) {
                if let Ok(mut created) = self.created.lock() {
                    created.push(Created {
                        owner: step.actor,
                        op: step.op,
                        id: id.clone(),
                        args: sent,
                        locked: priority.locked(),
                    });
                }
                record.created = Some(id);
                record.created_from = Some(from);
            }
        }
        record.exchange = Some(exchange);
        record
    }
}

/// The end of the run of setup steps (creations) that starts at `start`.
fn setups_from(steps: &[Step], start: usize) -> usize {
    start
        + steps[start..]
            .iter()
            .take_while(|s| matches!(s.role, StepRole::Setup { .. }))
            .count()
}

/// How the creations `run` (consecutive setup steps) may go out: one lane per tenant of their
/// actors (`tenant_of`), each lane its tenant's steps in planned order, the lanes side by side.
/// `None` (in order, one by one) when they are all one tenant's, or when one uses another
/// tenant's creation. Within a tenant the order stays: a creation may depend on what came
/// before without naming it (an export of a project holds the documents created before it),
/// and a parent's creation still finishes before its children's start (the cleanup deletes
/// children first). Tenants' fixtures are independent: a server must take two accounts'
/// requests at once.
fn setup_lanes(
    steps: &[Step],
    run: std::ops::Range<usize>,
    tenant_of: impl Fn(usize) -> usize,
) -> Option<Vec<Vec<usize>>> {
    let tenant = |k: usize| tenant_of(steps[k].actor);
    let crossed = run.clone().any(|k| {
        steps[k]
            .uses()
            .any(|u| run.contains(&u) && tenant(u) != tenant(k))
    });
    if crossed {
        return None;
    }
    let mut lanes: Vec<(usize, Vec<usize>)> = Vec::new();
    for k in run {
        match lanes.iter_mut().find(|(t, _)| *t == tenant(k)) {
            Some((_, lane)) => lane.push(k),
            None => lanes.push((tenant(k), vec![k])),
        }
    }
    (lanes.len() > 1).then(|| lanes.into_iter().map(|(_, lane)| lane).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::scenario::test_setup as setup;
    #[test]
    fn each_tenants_creations_keep_their_order_in_a_lane_of_their_own() {
        // Identities 0 and 2 share a tenant; 1 is another's.
        let tenant_of = |i: usize| if i == 1 { 1 } else { 0 };
        let steps = vec![
            setup(0, None),
            setup(1, None),
            setup(2, Some(0)),
            setup(1, Some(1)),
            setup(0, None),
        ];
        assert_eq!(
            setup_lanes(&steps, 0..5, tenant_of),
            Some(vec![vec![0, 2, 4], vec![1, 3]])
        );
        // Only part of the run: the steps before it are done.
        assert_eq!(
            setup_lanes(&steps, 2..5, tenant_of),
            Some(vec![vec![2, 4], vec![3]])
        );
        // One tenant alone: in order, one by one.
        assert_eq!(setup_lanes(&steps, 0..1, tenant_of), None);
        assert_eq!(setup_lanes(&steps[..3], 0..3, |_| 0), None);
        // A tenant's creation that uses another's: in order, one by one.
        let crossed = vec![setup(0, None), setup(1, Some(0))];
        assert_eq!(setup_lanes(&crossed, 0..2, tenant_of), None);
    }
}
