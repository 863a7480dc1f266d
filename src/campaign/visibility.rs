//! Visibility measured rather than assumed (#23): which of the confirmed violations are data the
//! API shares by design. A leak or a write is only evidence of a violation when the API itself
//! treats the object as private somewhere; an object that every access path shows to the other
//! identity (or to anyone) is shared or public by behaviour, and what it shows is no finding.
//!
//! The measure, per kind of resource R and (attacker, victim):
//! - **read by id**: the attacker's read of one of the victim's R (a `bola-read`, or the anonymous
//!   public control of one) showed the victim's markers;
//! - **read in the list**: the attacker's read of R's own collection (`GET /rs` for
//!   `GET /rs/{id}`, or the GET where R's create POSTs; not a search nor another resource's
//!   list) showed them;
//! - **public**: anonymous callers read it in every way the API offers to read one R that was
//!   judged (by id, in its list): where R has only one, that one decides;
//! - **shared**: the attacker reads it both by id and in the list.
//!
//! An API that lets the other identity read an object by id but leaves it out of that identity's
//! list of the same collection (or the reverse) contradicts itself: that is the signature of a
//! missing check, and stays a finding. On an object public or shared by behaviour:
//! - leaks of it (`bola-read`, `list-leak`; `unauthenticated` when it is public) are no finding;
//! - a child created under it (a comment on a public article) is no finding;
//! - a write or delete by another authenticated identity is no finding when the object names no
//!   owner (instance-wide tags), or when the attacker could do everything to it that the API
//!   offers, both change and delete it (every judged writer and deleter of R worked): such an
//!   object is communal.
//!   Otherwise it stays a finding: a public article its author alone may edit.
//!
//! What is dropped is recorded in the coverage of its operation, with the evidence.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::confirm::Confirmed;
use crate::finding::Kind;
use crate::model::{ResourceModel, Slot};
use crate::outcome::Coverage;
use crate::scenario::{Effect, Phase, StepRole};
use crate::spec::{Api, Method};

/// Keys that name whose an object is.
const OWNER_KEYS: &[&str] = &[
    "owner",
    "owners",
    "ownerid",
    "author",
    "authorid",
    "authors",
    "user",
    "userid",
    "createdby",
    "createdbyfk",
    "createdbyid",
    "creator",
    "creatorid",
    "account",
    "accountid",
    "tenant",
    "tenantid",
    "organization",
    "organizationid",
    "orgid",
    "workspace",
    "workspaceid",
    "project",
    "projectid",
    "member",
    "memberid",
];

/// Last words of the names of resources that are credentials: tokens, API and access keys,
/// secrets, passwords, sessions. Never shared or public by behaviour.
const CREDENTIALS: &[&str] = &[
    "token",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "secret",
    "credential",
    "password",
    "session",
];

/// Whether a resource (by its normalized name) is a credential (see [`CREDENTIALS`]).
fn is_credential(name: &str) -> bool {
    let name = crate::model::normalize(name);
    let one = crate::model::singular(&name);
    CREDENTIALS.iter().any(|c| one.ends_with(c))
}

/// What one confirmed violation is about, for this judgement.
struct Access {
    kind: Kind,
    effect: Effect,
    attacker: usize,
    victim: usize,
    /// The resources whose objects it showed (leaks) or acted on (writes).
    resources: Vec<usize>,
    /// Read by id (`true`) or in R's own list (`false`), for leaks.
    by_id: Option<bool>,
}

/// Per confirmed violation, `Some(sentence)` when it is data shared by design: not a finding.
pub(super) fn by_design(
    api: &Api,
    model: &ResourceModel,
    names: &[String],
    confirmed: &[Confirmed],
    coverage: &[Coverage],
) -> Vec<Option<String>> {
    let anonymous = names.len().saturating_sub(1);
    let index = |name: &str| names.iter().position(|n| n == name);
    let shape = Shape::of(api, model);
    // (resource, attacker, victim) -> (read by id, read in its list).
    let mut seen: BTreeMap<(usize, usize, usize), (bool, bool)> = BTreeMap::new();
    // (resource, attacker, victim) -> mutation effects confirmed.
    let mut changed: BTreeMap<(usize, usize, usize), BTreeSet<Method>> = BTreeMap::new();
    // (operation, attacker, victim) of every leak, the public control's as anonymous.
    let mut views: BTreeSet<(usize, usize, usize)> = BTreeSet::new();
    let mut accesses: Vec<Option<Access>> = Vec::with_capacity(confirmed.len());
    for done in confirmed {
        let access = (|| {
            if done.reproduced == 0 && done.replays > 0 {
                return None;
            }
            let v = &done.violation;
            let (attacker, victim) = (index(&v.attacker)?, index(&v.victim)?);
            let step = done.scenario.steps.get(v.step)?;
            let StepRole::Attack {
                effect,
                target_resource,
                ..
            } = step.role
            else {
                return None;
            };
            let leak = matches!(v.kind, Kind::BolaRead | Kind::ListLeak)
                || (v.kind == Kind::Unauthenticated && effect == Effect::Read);
            let mut access = Access {
                kind: v.kind,
                effect,
                attacker,
                victim,
                resources: Vec::new(),
                by_id: None,
            };
            if leak {
                views.insert((step.op, attacker, victim));
                if done.public {
                    views.insert((step.op, anonymous, victim));
                }
                for m in &v.markers {
                    let Some(origin) = done.execution.origin_of(m) else {
                        continue;
                    };
                    if let Some(StepRole::Setup { resource }) =
                        done.scenario.steps.get(origin).map(|s| &s.role)
                    {
                        if !access.resources.contains(resource) {
                            access.resources.push(*resource);
                        }
                    }
                }
                if effect == Effect::Read {
                    let item = shape.item_of(step.op);
                    let list = shape.list_of(step.op);
                    for r in &access.resources {
                        let key = (*r, attacker, victim);
                        if target_resource.is_some() && item == Some(*r) {
                            access.by_id = Some(true);
                            seen.entry(key).or_default().0 = true;
                            if done.public {
                                seen.entry((*r, anonymous, victim)).or_default().0 = true;
                            }
                        } else if list.contains(r) {
                            access.by_id = Some(false);
                            seen.entry(key).or_default().1 = true;
                            if done.public {
                                seen.entry((*r, anonymous, victim)).or_default().1 = true;
                            }
                        }
                    }
                } else if target_resource.is_some() {
                    // The answer to a write or an action on the victim's object shows the
                    // object: judged as a read of it by id (its visibility measured elsewhere).
                    access.by_id = Some(true);
                }
            } else if let Some(r) = target_resource {
                access.resources.push(r);
                if matches!(v.kind, Kind::BolaWrite | Kind::BolaDelete) {
                    changed
                        .entry((r, attacker, victim))
                        .or_default()
                        .insert(api.operations[step.op].method);
                }
            }
            Some(access)
        })();
        accesses.push(access);
    }
    let judged = |op: usize| coverage.get(op).is_some_and(|c| c.judged > 0);
    // Anonymous callers saw it in every way the API offers to read one (that was judged).
    let public = |r: usize, victim: usize| {
        let (by_id, listed) = seen
            .get(&(r, anonymous, victim))
            .copied()
            .unwrap_or_default();
        let item_judged = shape.readers(r).iter().any(|op| judged(*op));
        let list_judged = shape.lists(r).iter().any(|op| judged(*op));
        let ways = [(by_id, item_judged), (listed, list_judged)];
        ways.iter().any(|(seen, _)| *seen) && ways.iter().all(|(seen, judged)| *seen || !judged)
    };
    let shared = |r: usize, attacker: usize, victim: usize| {
        seen.get(&(r, attacker, victim))
            .is_some_and(|(by_id, listed)| *by_id && *listed)
    };
    let visible = |r: usize, attacker: usize, victim: usize| {
        if is_credential(&model.resources[r].name) {
            // A credential every identity can read is a leak of it, however evenly the API
            // leaks it: no API shares its users' tokens by design.
            None
        } else if public(r, victim) {
            Some("public")
        } else if attacker != anonymous && shared(r, attacker, victim) {
            Some("shared")
        } else {
            None
        }
    };
    confirmed
        .iter()
        .zip(&accesses)
        .map(|(done, access)| {
            let access = access.as_ref()?;
            let (who, whose) = (&names[access.attacker], &names[access.victim]);
            let r_name = |r: usize| model.resources[r].name.as_str();
            let leak = matches!(access.kind, Kind::BolaRead | Kind::ListLeak)
                || (access.kind == Kind::Unauthenticated && access.effect == Effect::Read);
            if leak {
                let op = done.violation.op;
                if access.by_id.is_none() {
                    // Another view than R's own (a search, a catalogue, a report): it is public
                    // when anonymous callers see it there too, and for them, when an identity of
                    // another tenant does, or the spec says the view is public.
                    let others = (0..anonymous)
                        .any(|a| a != access.victim && views.contains(&(op, a, access.victim)));
                    let public = if access.attacker == anonymous {
                        others || api.operations[op].security == crate::spec::Security::Public
                    } else {
                        done.public
                    };
                    return public.then(|| {
                        format!(
                            "public by behaviour: anonymous callers and other tenants see {whose}'s data in this view"
                        )
                    });
                }
                let mut how = Vec::new();
                for r in &access.resources {
                    let v = if access.kind == Kind::Unauthenticated {
                        (public(*r, access.victim) && !is_credential(r_name(*r)))
                            .then_some("public")
                    } else {
                        visible(*r, access.attacker, access.victim)
                    };
                    how.push((v?, *r));
                }
                let (word, r) = how[0];
                return Some(format!(
                    "{word} by behaviour: {} reads {whose}'s {} both by id and in its list{}",
                    if word == "public" { "anyone" } else { who },
                    r_name(r),
                    if access.by_id == Some(true) || done.public {
                        ""
                    } else {
                        " (seen here in the list)"
                    },
                ));
            }
            if access.attacker == anonymous {
                return None;
            }
            let r = *access.resources.first()?;
            let word = visible(r, access.attacker, access.victim)?;
            match access.effect {
                Effect::Create => Some(format!(
                    "{word} by behaviour: {whose}'s {} is {word}, and {who} adding to it is by design",
                    r_name(r)
                )),
                Effect::Write | Effect::Delete | Effect::Action => {
                    // Communal: it offers a change and a delete, and the attacker did both.
                    let offered: Vec<(usize, Method)> = shape
                        .mutators(r)
                        .into_iter()
                        .filter(|(op, _)| judged(*op))
                        .collect();
                    let done_all = offered.iter().any(|(_, m)| *m == Method::Delete)
                        && offered.iter().any(|(_, m)| *m != Method::Delete)
                        && offered.iter().all(|(_, method)| {
                            changed
                                .get(&(r, access.attacker, access.victim))
                                .is_some_and(|m| m.contains(method))
                        });
                    let owned = names_owner(done, api, model, r);
                    (done_all || owned == Some(false)).then(|| {
                        format!(
                            "{word} by behaviour: {whose}'s {} is {word} and {}, so {who}'s change is by design",
                            r_name(r),
                            if owned == Some(false) {
                                "names no owner"
                            } else {
                                "every identity may change and delete it"
                            }
                        )
                    })
                }
                Effect::Read => None,
            }
        })
        .collect()
}

/// Whether the victim's object names an owner: its own read of it before the attack (the
/// write's control), else the schema of its item read. `None` when neither is known.
fn names_owner(done: &Confirmed, api: &Api, model: &ResourceModel, r: usize) -> Option<bool> {
    let attack = done.violation.step;
    let before = done
        .scenario
        .steps
        .iter()
        .zip(&done.execution.steps)
        .find_map(|(s, rec)| match s.role {
            StepRole::ReadBack {
                attack: a,
                phase: Phase::Before,
            } if a == attack => rec.exchange.as_ref(),
            _ => None,
        })
        .filter(|e| e.is_success())
        .and_then(|e| e.response_body.get());
    if let Some(body @ (Value::Object(_) | Value::Array(_))) = before {
        return Some(has_owner_key(body, 0));
    }
    let shape = Shape::of(api, model);
    let op = shape.items.iter().find(|(_, res)| *res == r)?.0;
    let schema = api.operations[op].success_schema()?;
    Some(schema_has_owner(schema, 0))
}

fn owner_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    OWNER_KEYS.contains(&k.as_str())
}

fn has_owner_key(v: &Value, depth: usize) -> bool {
    if depth > 3 {
        return false;
    }
    match v {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| owner_key(k) || has_owner_key(v, depth + 1)),
        Value::Array(items) => items.first().is_some_and(|v| has_owner_key(v, depth + 1)),
        _ => false,
    }
}

fn schema_has_owner(s: &crate::spec::Schema, depth: usize) -> bool {
    use crate::spec::SchemaKind;
    if depth > 3 {
        return false;
    }
    match &s.kind {
        SchemaKind::Object { properties, .. } => properties
            .iter()
            .any(|(k, v)| owner_key(k) || schema_has_owner(v, depth + 1)),
        SchemaKind::Array(item) => schema_has_owner(item, depth + 1),
        SchemaKind::OneOf(alts) => alts.iter().any(|a| schema_has_owner(a, depth + 1)),
        _ => false,
    }
}

/// Item and collection operations of each resource, from the paths: `GET /rs/{id}` reads one R
/// (its last path parameter takes an R), `GET /rs` is R's own list.
struct Shape {
    /// (operation, resource) of the GETs that read one object.
    items: Vec<(usize, usize)>,
    /// (operation, resource) of the GETs of a collection whose item path reads an R.
    collections: Vec<(usize, usize)>,
    /// (operation, resource, method) of the PUT, PATCH and DELETE of one object.
    changes: Vec<(usize, usize, Method)>,
}

/// A path with its parameters blanked and no trailing slash: `/a/{}/b`.
fn template(path: &str) -> String {
    let mut out = String::new();
    for seg in path
        .trim_end_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
    {
        out.push('/');
        if seg.starts_with('{') {
            out.push_str("{}");
        } else {
            out.push_str(seg);
        }
    }
    out
}

impl Shape {
    fn of(api: &Api, model: &ResourceModel) -> Shape {
        let mut items = Vec::new();
        let mut changes = Vec::new();
        for (i, op) in api.operations.iter().enumerate() {
            let Some(last) = op
                .path
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .and_then(|s| s.strip_prefix('{'))
                .and_then(|s| s.strip_suffix('}'))
            else {
                continue;
            };
            let Some(r) = model
                .consumers_of(i)
                .find(|c| c.slot == Slot::Path(last.to_string()))
                .map(|c| c.resource)
            else {
                continue;
            };
            match op.method {
                Method::Get => items.push((i, r)),
                Method::Put | Method::Patch | Method::Delete => changes.push((i, r, op.method)),
                _ => {}
            }
        }
        let mut collections = Vec::new();
        for (i, op) in api.operations.iter().enumerate() {
            if op.method != Method::Get {
                continue;
            }
            let t = template(&op.path);
            for (item, r) in &items {
                let it = template(&api.operations[*item].path);
                if it.strip_suffix("/{}") == Some(t.as_str()) && !collections.contains(&(i, *r)) {
                    collections.push((i, *r));
                }
            }
            // The GET where R's create POSTs (`/articles/{id}/comments`), with or without an
            // item path.
            for p in &model.producers {
                let made = &api.operations[p.op];
                if made.method == Method::Post
                    && template(&made.path) == t
                    && !collections.contains(&(i, p.resource))
                {
                    collections.push((i, p.resource));
                }
            }
        }
        Shape {
            items,
            collections,
            changes,
        }
    }

    /// The resource an item GET reads.
    fn item_of(&self, op: usize) -> Option<usize> {
        self.items.iter().find(|(o, _)| *o == op).map(|(_, r)| *r)
    }

    /// The resources whose own collection `op` lists.
    fn list_of(&self, op: usize) -> Vec<usize> {
        self.collections
            .iter()
            .filter(|(o, _)| *o == op)
            .map(|(_, r)| *r)
            .collect()
    }

    /// R's reads of one object.
    fn readers(&self, r: usize) -> Vec<usize> {
        self.items
            .iter()
            .filter(|(_, res)| *res == r)
            .map(|(o, _)| *o)
            .collect()
    }

    /// R's own collection lists.
    fn lists(&self, r: usize) -> Vec<usize> {
        self.collections
            .iter()
            .filter(|(_, res)| *res == r)
            .map(|(o, _)| *o)
            .collect()
    }

    /// R's writers and deleters of one object.
    fn mutators(&self, r: usize) -> Vec<(usize, Method)> {
        self.changes
            .iter()
            .filter(|(_, res, _)| *res == r)
            .map(|(o, _, m)| (*o, *m))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_blanks_parameters_and_ignores_a_trailing_slash() {
        assert_eq!(template("/a/{id}/b/"), "/a/{}/b");
        assert_eq!(template("/sites/{id}/"), "/sites/{}");
        assert_eq!(template("/"), "");
    }

    #[test]
    fn owner_keys_are_found_in_answers_and_schemas_whatever_their_case() {
        assert!(has_owner_key(
            &serde_json::json!({"data": {"title": "x", "created_by": {"id": 1}}}),
            0
        ));
        assert!(has_owner_key(&serde_json::json!({"authorId": 3}), 0));
        assert!(has_owner_key(&serde_json::json!([{"owners": []}]), 0));
        assert!(!has_owner_key(
            &serde_json::json!({"id": 1, "name": "t", "createdAt": "2026-01-01"}),
            0
        ));
    }
}
