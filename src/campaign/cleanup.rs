//! Cleanup: at the end of a campaign, everything it created is deleted by its creator, newest
//! first (children before parents), through the API's own delete operations. Nothing the
//! campaign did not create is ever deleted. What cannot be deleted is listed with its URL or id.
//! A delete is believed only when the owner's read-back (where the API has a read) no longer
//! shows the object: a 2xx delete whose object still reads is left (a soft delete), and a 404
//! is "already gone" (an attack deleted it), never "deleted".

use futures_util::StreamExt;
use serde_json::Value;

use crate::exec::{Created, Interpreter};
use crate::model::Slot;
use crate::outcome::{Cleanup, Fate, LeftBehind};
use crate::scenario::{Expr, Scenario, Step, StepRole};
use crate::spec::Method;

/// The delete step for one created resource, or why there is none.
fn delete_step(rt: &Interpreter<'_>, c: &Created, resource: usize) -> Result<Step, String> {
    item_step(rt, c, resource, Method::Delete)
}

/// The step that calls `method` on one created resource's item (its delete, or its read for
/// the read-back), or why there is none.
fn item_step(
    rt: &Interpreter<'_>,
    c: &Created,
    resource: usize,
    method: Method,
) -> Result<Step, String> {
    let model = rt.model;
    let name = &model.resources[resource].name;
    let deleter = rt.api.operations.iter().enumerate().find(|(i, op)| {
        op.method == method
            && !model.is_skipped(*i)
            && model.consumers_of(*i).any(|k| {
                k.resource == resource
                    && match &k.slot {
                        // `/sites/{id}` and Django's `/sites/{id}/` alike.
                        Slot::Path(p) => {
                            op.path.trim_end_matches('/').ends_with(&format!("{{{p}}}"))
                        }
                        Slot::Query(_) => {
                            crate::model::last_literal_singular(&op.path).as_deref()
                                == Some(name.as_str())
                        }
                        _ => false,
                    }
            })
    });
    let Some((index, op)) = deleter else {
        return Err(format!(
            "the API has no {} operation for {name} resources (or it is excluded)",
            if method == Method::Delete {
                "delete"
            } else {
                "read"
            }
        ));
    };
    // The create's own request holds the parents' ids, by resource.
    let parent_value = |wanted: usize| -> Option<Value> {
        c.args.iter().find_map(|(slot, value)| {
            model
                .consumers_of(c.op)
                .find(|k| &k.slot == slot && k.resource == wanted)
                .map(|_| value.clone())
        })
    };
    let mut args = Vec::new();
    for k in model.consumers_of(index) {
        let value = if k.resource == resource {
            Some(c.id.clone())
        } else {
            parent_value(k.resource)
        };
        match value {
            Some(v) => args.push((k.slot.clone(), Expr::Lit(v))),
            None if crate::model::is_required(op, &k.slot) => {
                return Err(format!(
                    "{} needs a {} id the create did not carry",
                    op.label(),
                    model.resources[k.resource].name
                ));
            }
            None => {}
        }
    }
    Ok(Step {
        actor: c.owner,
        op: index,
        role: StepRole::Cleanup,
        args: args.into(),
    })
}

/// Takes what was created out of `list`, in order; with `unlocked_only` only what scenarios
/// without a webhook lock created (the rest stays for a later pass).
fn take_created(list: &std::sync::Mutex<Vec<Created>>, unlocked_only: bool) -> Vec<Created> {
    let Ok(mut list) = list.lock() else {
        return Vec::new();
    };
    let (taken, kept) = std::mem::take(&mut *list)
        .into_iter()
        .partition(|c| !(unlocked_only && c.locked));
    *list = kept;
    taken
}

impl super::state::Run<'_> {
    /// A pass of the cleanup phase over what the run's executions created (see [`cleanup`]).
    pub(super) async fn clean_up(&self, unlocked_only: bool) -> (Cleanup, u64) {
        let concurrency = self.campaign.settings.campaign.concurrency;
        cleanup(self.interpreter, self.tenants, concurrency, unlocked_only).await
    }
}

/// Deletes everything the interpreter recorded as created, newest first (with `unlocked_only`,
/// only what scenarios without a tenant's webhook lock created: a webhook chain may still be
/// using the rest). When the creator may not delete (a member who may create but not delete),
/// the other identities of its tenant try. Also returns the requests it sent.
pub(crate) async fn cleanup(
    rt: &Interpreter<'_>,
    tenants: &[Option<String>],
    concurrency: usize,
    unlocked_only: bool,
) -> (Cleanup, u64) {
    // Before the last pass, what another tenant's object still refers to (a 409: alice's VLAN
    // on bob's site, from an attack) waits for that pass, when the referrer is gone.
    delete_all(
        rt,
        tenants,
        concurrency,
        take_created(&rt.created, unlocked_only),
        unlocked_only,
    )
    .await
}

/// Deletes what finished executions hand over, each batch as it comes (beside the rest of
/// the campaign, in the slots it leaves idle), until the sending side is gone; also returns the
/// requests it sent.
pub(crate) async fn deleting(
    rt: &Interpreter<'_>,
    tenants: &[Option<String>],
    concurrency: usize,
    mut batches: tokio::sync::mpsc::UnboundedReceiver<Vec<Created>>,
) -> (Cleanup, u64) {
    let mut total = Cleanup::default();
    let mut requests = 0;
    let mut running = futures_util::stream::FuturesUnordered::new();
    let mut open = true;
    loop {
        tokio::select! {
            batch = batches.recv(), if open => match batch {
                Some(batch) => running.push(delete_all(rt, tenants, concurrency, batch, true)),
                None => open = false,
            },
            Some((done, sent)) = running.next(), if !running.is_empty() => {
                total.absorb(done);
                requests += sent;
            }
            else => break,
        }
    }
    (total, requests)
}

/// Deletes `created` (objects some finished executions made, in creation order), newest first;
/// also returns the requests it sent. With `defer_conflicts`, an object whose delete answered
/// 409 (something else still refers to it) goes back to the interpreter's list for a later
/// pass instead of being reported left.
async fn delete_all(
    rt: &Interpreter<'_>,
    tenants: &[Option<String>],
    concurrency: usize,
    created: Vec<Created>,
    defer_conflicts: bool,
) -> (Cleanup, u64) {
    // Children before parents: an object waits until everything created with its id in the
    // request (its children) has been dealt with. Objects with no child left go together.
    // Who was created with whose id: an index of ids, so this stays linear in what was created.
    let mut by_id: std::collections::HashMap<String, Vec<usize>> = Default::default();
    let mut children = vec![0usize; created.len()];
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); created.len()];
    for (i, c) in created.iter().enumerate() {
        for (_, v) in &c.args {
            for &j in by_id.get(&v.to_string()).into_iter().flatten() {
                if !parents[i].contains(&j) {
                    children[j] += 1;
                    parents[i].push(j);
                }
            }
        }
        by_id.entry(c.id.to_string()).or_default().push(i);
    }
    // An object is deleted as soon as every object made with its id is gone (latest first among
    // those ready), `concurrency` at a time: no wave waits for its slowest delete.
    let mut ready: std::collections::BinaryHeap<usize> =
        (0..created.len()).filter(|i| children[*i] == 0).collect();
    let mut outcomes: Vec<(usize, Outcome)> = Vec::with_capacity(created.len());
    let mut running = futures_util::stream::FuturesUnordered::new();
    loop {
        while running.len() < concurrency {
            let Some(i) = ready.pop() else { break };
            let c = &created[i];
            running.push(async move { (i, delete_one(rt, tenants, c).await) });
        }
        let Some((i, outcome)) = running.next().await else {
            break;
        };
        for &p in &parents[i] {
            children[p] -= 1;
            if children[p] == 0 {
                ready.push(p);
            }
        }
        outcomes.push((i, outcome));
    }
    // In the order the waves used to give (latest created first), whatever order they finished.
    outcomes.sort_by_key(|(i, _)| std::cmp::Reverse(*i));
    let mut result = Cleanup::default();
    let mut requests = 0;
    let mut deferred = Vec::new();
    for (i, (outcome, sent)) in outcomes {
        requests += sent;
        let deferring =
            matches!(&outcome, Fate::Left(left) if defer_conflicts && left.reason == CONFLICT);
        if !deferring && let Ok(mut ledger) = rt.cleaned.lock() {
            let (resource, id) = key(rt, &created[i]);
            ledger.record(&resource, &id, outcome.clone());
        }
        match outcome {
            Fate::Deleted => result.deleted += 1,
            Fate::AlreadyGone => result.already_gone += 1,
            Fate::Left(left) if defer_conflicts && left.reason == CONFLICT => {
                deferred.push(created[i].clone())
            }
            Fate::Left(left) => result.left.push(left),
        }
    }
    if !deferred.is_empty() {
        // Oldest first, as the list keeps them (parents before their children).
        deferred.reverse();
        match rt.created.lock() {
            Ok(mut list) => list.extend(deferred),
            Err(_) => {
                for c in &deferred {
                    let (resource, id) = key(rt, c);
                    let left = LeftBehind {
                        resource,
                        id,
                        url: None,
                        reason: CONFLICT.into(),
                    };
                    if let Ok(mut ledger) = rt.cleaned.lock() {
                        ledger.record(&left.resource, &left.id, Fate::Left(left.clone()));
                    }
                    result.left.push(left);
                }
            }
        }
    }
    (result, requests)
}

/// The resource name and id text an object is counted and listed by.
fn key(rt: &Interpreter<'_>, c: &Created) -> (String, String) {
    let resource = match rt.model.producers.iter().find(|p| p.op == c.op) {
        Some(p) => rt.model.resources[p.resource].name.clone(),
        None => rt.api.operations[c.op].label(),
    };
    (resource, crate::exchange::value_text(&c.id))
}

/// Why an object is left when its delete answered 409 Conflict.
const CONFLICT: &str = "the delete answered 409";

/// What became of one object, and the requests that took.
type Outcome = (Fate, u64);

/// Deletes one created object, as its creator and then its colleagues; also the requests it
/// sent.
async fn delete_one(rt: &Interpreter<'_>, tenants: &[Option<String>], c: &Created) -> Outcome {
    let mut sent = 0;
    let outcome = match try_delete(rt, tenants, c, &mut sent).await {
        Ok(fate) => fate,
        Err(left) => Fate::Left(left),
    };
    (outcome, sent)
}

async fn try_delete(
    rt: &Interpreter<'_>,
    tenants: &[Option<String>],
    c: &Created,
    sent: &mut u64,
) -> Result<Fate, LeftBehind> {
    let id = crate::exchange::value_text(&c.id);
    let Some(producer) = rt.model.producers.iter().find(|p| p.op == c.op) else {
        return Err(LeftBehind {
            resource: rt.api.operations[c.op].label(),
            id,
            url: None,
            reason: "created by an operation the model knows no resource of".into(),
        });
    };
    let resource = producer.resource;
    let name = rt.model.resources[resource].name.clone();
    let left = |reason: String, url: Option<String>| LeftBehind {
        resource: name.clone(),
        id: id.clone(),
        url,
        reason,
    };
    let mut step = delete_step(rt, c, resource).map_err(|reason| left(reason, None))?;
    // A target that stopped answering is not sent a delete per object, each waiting for its
    // timeout: what is left is listed for the user to remove.
    if rt.target.lost().is_some() {
        return Err(left(
            "not deleted: the target stopped answering".into(),
            None,
        ));
    }
    let colleagues: Vec<usize> = (0..tenants.len())
        .filter(|i| *i != c.owner && tenants[*i].is_some() && tenants[*i] == tenants[c.owner])
        .collect();
    let mut exchange = None;
    for actor in std::iter::once(c.owner).chain(colleagues) {
        step.actor = actor;
        let exec = rt
            .execute(&Scenario {
                steps: vec![step.clone()],
            })
            .await;
        *sent += exec.sent();
        exchange = exec.steps.into_iter().next().and_then(|r| r.exchange);
        if !matches!(
            exchange.as_ref().and_then(|e| e.status),
            Some(401) | Some(403)
        ) {
            break;
        }
    }
    let Some(e) = exchange else {
        return Err(left("the delete could not be sent".into(), None));
    };
    let status = match e.status {
        Some(s) if (200..300).contains(&s) || matches!(s, 404 | 410) => s,
        Some(s) => return Err(left(format!("the delete answered {s}"), Some(e.url))),
        None => {
            return Err(left(
                e.error.unwrap_or_else(|| "no answer".into()),
                Some(e.url),
            ));
        }
    };
    // The owner's read-back decides; an API without a read is taken at its delete's word.
    if let Ok(read) = item_step(rt, c, resource, Method::Get) {
        let read = Step {
            actor: c.owner,
            ..read
        };
        let exec = rt.execute(&Scenario { steps: vec![read] }).await;
        *sent += exec.sent();
        let shows = exec
            .steps
            .first()
            .and_then(|r| r.exchange.as_ref())
            .is_some_and(|r| {
                r.is_success()
                    && r.response_body
                        .get()
                        .is_some_and(|body| mentions(body, &c.id))
            });
        if shows {
            return Err(left(
                if status == 404 || status == 410 {
                    format!("the delete answered {status}, but the owner's read still shows it")
                } else {
                    format!(
                        "the delete answered {status}, but the owner's read still shows it (a soft delete?)"
                    )
                },
                Some(e.url),
            ));
        }
    }
    Ok(if (200..300).contains(&status) {
        Fate::Deleted
    } else {
        Fate::AlreadyGone
    })
}

/// Whether a read's answer still holds the object with `id`: the id as a value anywhere in
/// it (an error body with 200 does not).
fn mentions(body: &Value, id: &Value) -> bool {
    let text = crate::exchange::value_text(id);
    match body {
        Value::Object(map) => map.values().any(|v| mentions(v, id)),
        Value::Array(items) => items.iter().any(|v| mentions(v, id)),
        Value::String(s) => s == &text,
        Value::Number(_) | Value::Bool(_) => {
            body == id || crate::exchange::value_text(body) == text
        }
        Value::Null => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_first_pass_leaves_what_webhook_chains_created_for_the_last() {
        let made = |id: u64, locked| Created {
            owner: 0,
            op: 0,
            id: Value::from(id),
            args: Vec::new(),
            locked,
        };
        let list = std::sync::Mutex::new(vec![made(1, false), made(2, true), made(3, false)]);
        let ids = |v: Vec<Created>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(take_created(&list, true)), [1, 3]);
        list.lock().unwrap().push(made(4, true));
        assert_eq!(ids(take_created(&list, false)), [2, 4]);
        assert!(list.lock().unwrap().is_empty());
    }
}
