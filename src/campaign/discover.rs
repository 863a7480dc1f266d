//! Discovery: what each identity already owns, read from its list endpoints before any probe.
//! An id that identities of different tenants both see is nobody's own and is dropped.

use futures_util::{FutureExt, StreamExt};
use std::collections::BTreeMap;

use serde_json::Value;

use crate::exchange::Exchange;
use crate::exec::{Discovered, Target};
use crate::model::ResourceModel;
use crate::spec::Api;

/// The result of discovery: owned ids, and every identity's answers (for health checks).
pub(crate) struct Discovery {
    pub owned: Discovered,
    /// identity -> (operation, exchange) of each discovery request it sent.
    pub answers: BTreeMap<usize, Vec<(usize, Exchange)>>,
    /// (identity, resource) -> the operation and JSON pointer its first owned id was read from.
    pub sources: BTreeMap<(usize, usize), (usize, String)>,
    /// (identity, resource) whose first owned id the identity's own answer (`GET /user`) named:
    /// the identity's own user, organization or workspace, not one it merely sees.
    pub selves: std::collections::BTreeSet<(usize, usize)>,
}

pub(crate) async fn discover(
    api: &Api,
    model: &ResourceModel,
    target: &Target,
    tenants: &[Option<String>],
    admins: &[bool],
    concurrency: usize,
) -> Discovery {
    let mut owned: Discovered = BTreeMap::new();
    let mut answers: BTreeMap<usize, Vec<(usize, Exchange)>> = BTreeMap::new();
    let mut ops: Vec<usize> = model.discoveries.iter().map(|d| d.op).collect();
    ops.extend(model.selves.iter().map(|s| s.op));
    ops.sort_unstable();
    ops.dedup();
    let identities: Vec<usize> = (0..tenants.len())
        .filter(|i| tenants[*i].is_some())
        .collect();
    let requests = identities
        .iter()
        .flat_map(|i| ops.iter().map(move |o| (*i, *o)));
    // `concurrency` at a time, like every other phase (a large spec lists hundreds of lists).
    let results: Vec<(usize, usize, Exchange)> = futures_util::stream::iter(requests)
        .map(|(identity, op)| async move {
            let o = &api.operations[op];
            let url = format!("{}{}", target.base_url(), o.path);
            (
                identity,
                op,
                target
                    .send(identity, o.method, &url, &[], None, false)
                    .await,
            )
        })
        .buffered(concurrency)
        .collect::<Vec<_>>()
        // Boxed as `Send`: rustc can prove it here (see `Campaign::run_as_task`).
        .boxed()
        .await;
    // (op, identity, resource) -> ids, before deciding which lists are the caller's own.
    let mut seen: BTreeMap<(usize, usize, usize), Vec<(Value, String)>> = BTreeMap::new();
    // (identity, resource) -> the id its own answer named, the operation and the pointer.
    let mut own: BTreeMap<(usize, usize), (Value, usize, String)> = BTreeMap::new();
    for (identity, op, exchange) in results {
        if exchange.is_success() {
            for s in model.selves.iter().filter(|s| s.op == op) {
                let id = exchange
                    .response_body
                    .get()
                    .and_then(|b| b.pointer(&s.pointer))
                    .filter(|v| v.is_number() || v.as_str().is_some_and(|t| !t.is_empty()));
                if let Some(id) = id {
                    own.entry((identity, s.resource))
                        .or_insert_with(|| (id.clone(), op, s.pointer.clone()));
                }
            }
            for d in model.discoveries.iter().filter(|d| d.op == op) {
                let items = exchange
                    .response_body
                    .get()
                    .and_then(|b| {
                        if d.array_pointer.is_empty() {
                            Some(b)
                        } else {
                            b.pointer(&d.array_pointer)
                        }
                    })
                    .and_then(Value::as_array);
                for (n, item) in items.into_iter().flatten().enumerate() {
                    if let Some(id) = item
                        .get(&d.id_field)
                        .filter(|v| v.is_string() || v.is_number())
                    {
                        let ids = seen.entry((op, identity, d.resource)).or_default();
                        if !ids.iter().any(|(v, _)| v == id) {
                            let pointer = format!(
                                "{}/{n}/{}",
                                d.array_pointer,
                                crate::spec::escape(&d.id_field)
                            );
                            ids.push((id.clone(), pointer));
                        }
                    }
                }
            }
        }
        answers.entry(identity).or_default().push((op, exchange));
    }
    // A list that shows the same id to two tenants is not scoped to its caller (a global or
    // admin list, or public data): none of what it shows counts as anyone's own. An
    // administrator seeing everyone's is by design (NetBox's superuser lists every tenant): it
    // says nothing of what the others' lists show, while to the administrator such a list is
    // never its own.
    let admin = |i: usize| admins.get(i).copied().unwrap_or(false);
    let shares = |op: usize, a: usize, r: usize, b: usize| {
        seen.get(&(op, b, r)).is_some_and(|ids| {
            tenants[a] != tenants[b]
                && ids
                    .iter()
                    .any(|(id, _)| seen[&(op, a, r)].iter().any(|(v, _)| v == id))
        })
    };
    let global: std::collections::BTreeSet<(usize, usize)> = seen
        .keys()
        .filter(|(op, a, r)| {
            (0..tenants.len()).any(|b| (admin(*a) || !admin(b)) && shares(*op, *a, *r, b))
        })
        .map(|(op, a, _)| (*op, *a))
        .collect();
    let mut sources = BTreeMap::new();
    // The identity's own first: what its own answer named is its own even where a list shows
    // it to others too (a hub admin lists every user).
    let mut selves = std::collections::BTreeSet::new();
    for (key, (id, op, pointer)) in own {
        owned.entry(key).or_default().push(id);
        sources.insert(key, (op, pointer));
        selves.insert(key);
    }
    for ((op, identity, resource), ids) in seen {
        if global.contains(&(op, identity)) {
            continue;
        }
        let owned_ids = owned.entry((identity, resource)).or_default();
        for (id, pointer) in ids {
            if owned_ids.is_empty() {
                sources.insert((identity, resource), (op, pointer.clone()));
            }
            if !owned_ids.contains(&id) {
                owned_ids.push(id);
            }
        }
    }
    Discovery {
        owned,
        answers,
        sources,
        selves,
    }
}

impl super::Campaign {
    /// Fails when an identity's session does not work: every discovery request it sent was
    /// refused (401/403) or got no answer.
    pub(super) fn check_sessions(
        &self,
        answers: &BTreeMap<usize, Vec<(usize, crate::exchange::Exchange)>>,
        names: &[String],
    ) -> Result<(), super::CampaignError> {
        for (identity, list) in answers {
            if list.is_empty() {
                continue;
            }
            if list.iter().all(|(_, e)| e.status.is_none()) {
                let e = &list[0].1;
                return Err(super::CampaignError::Target(format!(
                    "the target at {} could not be reached: {} ({})",
                    self.settings.base_url,
                    e.error.as_deref().unwrap_or("no answer"),
                    e.url
                )));
            }
            if list
                .iter()
                .all(|(_, e)| matches!(e.status, Some(401) | Some(403) | None))
            {
                let (op, e) = &list[0];
                return Err(super::CampaignError::Target(format!(
                    "identity '{}' cannot use its session: {} answered {} (check its credentials)",
                    names[*identity],
                    self.api.operations[*op].label(),
                    e.status.unwrap_or(0)
                )));
            }
        }
        Ok(())
    }
}
