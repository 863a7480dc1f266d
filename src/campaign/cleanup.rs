//! Cleanup: at the end of a campaign, everything it created is deleted by its creator, newest
//! first (children before parents), through the API's own delete operations. Nothing the
//! campaign did not create is ever deleted. What cannot be deleted is listed with its URL or id.

use serde::Serialize;
use serde_json::Value;

use crate::exec::{Created, Runtime};
use crate::model::Slot;
use crate::scenario::{Expr, Scenario, Step, StepRole};
use crate::spec::Method;

/// What the cleanup did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cleanup {
    /// Resources deleted (or already gone).
    pub deleted: usize,
    /// Resources left on the target, with why.
    pub left: Vec<LeftBehind>,
}

/// A resource the campaign created and could not delete.
#[derive(Debug, Clone, Serialize)]
pub struct LeftBehind {
    pub resource: String,
    pub id: String,
    /// The delete request that failed, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub reason: String,
}

/// The delete step for one created resource, or why there is none.
fn delete_step(rt: &Runtime<'_>, c: &Created, resource: usize) -> Result<Step, String> {
    let model = rt.model;
    let name = &model.resources[resource].name;
    let deleter = rt.api.operations.iter().enumerate().find(|(i, op)| {
        op.method == Method::Delete
            && !model.is_skipped(*i)
            && model.consumers_of(*i).any(|k| {
                k.resource == resource
                    && match &k.slot {
                        Slot::Path(p) => op.path.ends_with(&format!("{{{p}}}")),
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
            "the API has no delete operation for {name} resources (or it is excluded)"
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
        args,
    })
}

/// Deletes everything the runtime recorded as created, newest first. When the creator may not
/// delete (a member who may create but not delete), the other identities of its tenant try.
pub(crate) async fn cleanup(rt: &Runtime<'_>, tenants: &[Option<String>]) -> Cleanup {
    let created: Vec<Created> = rt
        .created
        .lock()
        .map(|mut list| std::mem::take(&mut *list))
        .unwrap_or_default();
    let mut result = Cleanup::default();
    for c in created.iter().rev() {
        let Some(producer) = rt.model.producers.iter().find(|p| p.op == c.op) else {
            continue;
        };
        let resource = producer.resource;
        let id = crate::exec::value_text(&c.id);
        let name = rt.model.resources[resource].name.clone();
        let step = match delete_step(rt, c, resource) {
            Ok(step) => step,
            Err(reason) => {
                result.left.push(LeftBehind {
                    resource: name,
                    id,
                    url: None,
                    reason,
                });
                continue;
            }
        };
        let colleagues: Vec<usize> = (0..tenants.len())
            .filter(|i| *i != c.owner && tenants[*i].is_some() && tenants[*i] == tenants[c.owner])
            .collect();
        let mut step = step;
        let mut exchange = None;
        for actor in std::iter::once(c.owner).chain(colleagues) {
            step.actor = actor;
            let exec = rt
                .execute(&Scenario {
                    steps: vec![step.clone()],
                })
                .await;
            exchange = exec.steps.into_iter().next().and_then(|r| r.exchange);
            if !matches!(
                exchange.as_ref().and_then(|e| e.status),
                Some(401) | Some(403)
            ) {
                break;
            }
        }
        match exchange {
            Some(e) if e.is_success() || matches!(e.status, Some(404) | Some(410)) => {
                result.deleted += 1;
            }
            Some(e) => result.left.push(LeftBehind {
                resource: name,
                id,
                reason: match e.status {
                    Some(s) => format!("the delete answered {s}"),
                    None => e.error.unwrap_or_else(|| "no answer".into()),
                },
                url: Some(e.url),
            }),
            None => result.left.push(LeftBehind {
                resource: name,
                id,
                url: None,
                reason: "the delete could not be sent".into(),
            }),
        }
    }
    result
}
