//! The caller's own answers: `GET /user`, `/users/me`, `/account`, `/session`, `/whoami`. Each
//! identity's answer names resources that are its own by definition: its user (by the name or id
//! that `/users/{name}` takes), and the organization, team or workspace it belongs to
//! (`org_id`, `{account: {id}}`). Lists cannot tell a caller's own user apart from the others it
//! may see; this answer can.

use std::collections::HashMap;

use serde::Serialize;

use super::infer::{ResourceModel, Slot};
use super::naming::{is_generic_id, normalize, path_key, segments, singular};
use crate::spec::{Api, Method, SchemaKind};

/// One resource an identity's own answer names, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelfSource {
    /// The GET (no path parameters) that answers about the caller.
    pub op: usize,
    pub resource: usize,
    /// JSON pointer of the id in its answer (`/name`, `/org_id`, `/account/id`).
    pub pointer: String,
}

/// Last segments that mean "the caller" whatever comes before them.
const SELF_WORDS: &[&str] = &[
    "me",
    "self",
    "myself",
    "current",
    "currentuser",
    "whoami",
    "userinfo",
    "session",
    "profile",
    "account",
];

/// Resource names that are the caller when a self path does not say whose it is (`/whoami`).
const PERSON: &[&str] = &["user", "account", "member", "person", "profile"];

pub(super) fn infer(api: &Api, model: &ResourceModel, excluded: &[usize]) -> Vec<SelfSource> {
    let mut out = Vec::new();
    // Asked for every property of every self answer: scanning every consumer each time made
    // the model grow with the square of the spec (a spec of 20,000 operations has hundreds of
    // self answers).
    let holds = holds_others(api, model);
    // The resources that hold others, by normalized name (in model order): looked up for every
    // property of every self answer.
    let mut holders: HashMap<String, Vec<usize>> = HashMap::new();
    for (r, resource) in model.resources.iter().enumerate() {
        if holds[r] {
            holders
                .entry(normalize(&resource.name))
                .or_default()
                .push(r);
        }
    }
    let mut keys: HashMap<usize, Option<String>> = HashMap::new();
    // The paths that are collections of a resource: created into, or listed.
    let collections: std::collections::HashSet<(&str, usize)> = model
        .producers
        .iter()
        .map(|p| (path_key(&api.operations[p.op].path), p.resource))
        .chain(
            model
                .discoveries
                .iter()
                .map(|d| (path_key(&api.operations[d.op].path), d.resource)),
        )
        .collect();
    for (i, op) in api.operations.iter().enumerate() {
        if excluded.contains(&i)
            || op.method != Method::Get
            || op.path.contains('{')
            || op.parameters.iter().any(|p| p.required)
        {
            continue;
        }
        let segs: Vec<String> = segments(&op.path).iter().map(|s| normalize(s)).collect();
        let Some(last) = segs.last() else {
            continue;
        };
        let schema = op.success_schema();
        if schema.is_some_and(|s| matches!(s.kind, SchemaKind::Array(_))) {
            continue;
        }
        // Whose answer: a singular resource name (`/user`, `/account`, `/organization`), or a
        // self word after the collection (`/users/me`), or alone (`/whoami`: the person).
        // A singular collection (Flask-AppBuilder's `/api/v1/chart/`) is no singleton: its GET
        // lists what a POST to it creates.
        let own = if singular(last) == *last
            && model
                .resource(last)
                .is_some_and(|r| !collections.contains(&(path_key(&op.path), r)))
        {
            model.resource(last)
        } else if SELF_WORDS.contains(&last.as_str()) {
            segs.len()
                .checked_sub(2)
                .and_then(|k| model.resource(&singular(&segs[k])))
                .or_else(|| PERSON.iter().find_map(|p| model.resource(p)))
        } else if describes_the_caller(op) {
            // A path that does not say it (NetBox's `/api/authentication-check/`) whose spec
            // does: "Return the user making the request".
            PERSON.iter().find_map(|p| model.resource(p))
        } else {
            None
        };
        let Some(own) = own else {
            continue;
        };
        let mut found: Vec<SelfSource> = Vec::new();
        let mut push = |resource: usize, pointer: String| {
            if !found.iter().any(|s| s.resource == resource) {
                found.push(SelfSource {
                    op: i,
                    resource,
                    pointer,
                });
            }
        };
        // The caller itself: the field its item path addresses it by, at the top or under the
        // resource's own name (`/session` -> `{user: {name}}`).
        let name = &model.resources[own].name;
        let key = keys
            .entry(own)
            .or_insert_with(|| key_param(api, model, own))
            .clone();
        if let Some(param) = key {
            let props = schema.and_then(|s| s.properties());
            // The field of the parameter's name (`name`, `username`), else `id`.
            let field_in = |p: &indexmap::IndexMap<String, std::sync::Arc<crate::spec::Schema>>| {
                [param.clone(), "id".to_string()]
                    .into_iter()
                    .find(|f| p.contains_key(f))
            };
            let nested = props.and_then(|p| {
                p.iter()
                    .find(|(k, _)| normalize(k) == *name)
                    .and_then(|(k, s)| Some((k, field_in(s.properties()?)?)))
            });
            // An answer the spec describes only in part (an `allOf` of a `oneOf`) or not at
            // all: the field is looked for at run time.
            let guess = if is_generic_id(&param) {
                "id".into()
            } else {
                param.clone()
            };
            match (props, nested) {
                (_, Some((k, field))) => push(own, format!("/{}/{}", esc(k), esc(&field))),
                (Some(p), None) => {
                    let field = field_in(p).unwrap_or(guess);
                    push(own, format!("/{}", esc(&field)));
                }
                (None, None) => push(own, format!("/{}", esc(&guess))),
            }
        }
        // What it belongs to: `org_id`, `orgId`, `{org: {id}}`, of a resource that holds
        // others (an organization, a team, a workspace). A `token_id` (the token the request
        // came with) is the caller's too, but one to create afresh, not to take.
        if let Some(props) = schema.and_then(|s| s.properties()) {
            for (k, prop) in props {
                let n = normalize(k);
                let scalar = matches!(
                    prop.kind,
                    SchemaKind::String | SchemaKind::Integer | SchemaKind::Number
                );
                let by_id = n.strip_suffix("id").and_then(|rn| holders.get(rn));
                // `org_id` of an organization; else `{org: {id}}` (never both: a name is not
                // its own name and `id`).
                if scalar {
                    for &r in by_id.into_iter().flatten().filter(|&&r| r != own) {
                        push(r, format!("/{}", esc(k)));
                    }
                }
                for &r in holders.get(&n).into_iter().flatten().filter(|&&r| r != own) {
                    if let Some(inner) = prop.properties() {
                        if let Some(id) = inner.keys().find(|f| normalize(f) == "id") {
                            push(r, format!("/{}/{}", esc(k), esc(id)));
                        }
                    }
                }
            }
        }
        out.extend(found);
    }
    out
}

/// How a spec says that an operation answers about the caller itself: the caller is what the
/// first sentence of its summary or description returns ("Return the user making the request",
/// "Get the authenticated user", "Retrieve information about the current user"), not what
/// something is for ("Get public key for the authenticated user") or what it may see.
static ABOUT_THE_CALLER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"^(?:returns?|gets?|shows?|retrieves?|fetch(?:es)?|reads?|describes?)\s+(?:(?:information|info|details|data)\s+(?:about|on|of)\s+)?(?:the\s+|your\s+)?(?:currently\s+)?(?:user\s+(?:making|who\s+made|who\s+makes)\s+the\s+request|(?:current|authenticated|requesting|logged[- ]in|signed[- ]in|calling)\s+(?:user|account|principal|identity)|caller)\s*(?:[,;(]|$|if\b|who\b|that\b)",
    )
    .expect("a valid pattern")
});

/// Whether an operation's summary or description says it answers about the caller (see
/// [`ABOUT_THE_CALLER`]).
fn describes_the_caller(op: &crate::spec::Operation) -> bool {
    [&op.summary, &op.description]
        .into_iter()
        .flatten()
        .any(|text| {
            let first = text
                .split(['.', '\n'])
                .next()
                .unwrap_or_default()
                .trim()
                .to_lowercase();
            ABOUT_THE_CALLER.is_match(&first)
        })
}

/// The path parameter a resource is addressed by in its item paths: `name` for
/// `/users/{name}`, `id` for `/users/{id}`, `userId` for `/users/{userId}`.
fn key_param(api: &Api, model: &ResourceModel, resource: usize) -> Option<String> {
    model
        .consumers
        .iter()
        .filter(|c| c.resource == resource)
        .find_map(|c| match &c.slot {
            Slot::Path(p) if api.operations[c.op].path.contains(&format!("{{{p}}}")) => {
                Some(p.clone())
            }
            _ => None,
        })
}

/// Whether each resource holds others: something is created under it, or a path goes on past
/// its id (`/orgs/{orgId}/projects`).
fn holds_others(api: &Api, model: &ResourceModel) -> Vec<bool> {
    let mut holds = vec![false; model.resources.len()];
    for parent in model.resources.iter().flat_map(|o| &o.parents) {
        if let Some(h) = holds.get_mut(*parent) {
            *h = true;
        }
    }
    for c in &model.consumers {
        if let Slot::Path(p) = &c.slot {
            if api.operations[c.op].path.contains(&format!("{{{p}}}/")) {
                if let Some(h) = holds.get_mut(c.resource) {
                    *h = true;
                }
            }
        }
    }
    holds
}

fn esc(s: &str) -> String {
    crate::spec::escape(s)
}

#[cfg(test)]
mod tests {
    use crate::spec::load_str;

    /// (path of the self answer, resource, pointer) for a spec.
    fn selves(spec: &str) -> Vec<(String, String, String)> {
        let api = load_str(spec, "t.yaml").expect("the test spec loads");
        let model = super::super::infer(&api, &[], &Default::default());
        model
            .selves
            .iter()
            .map(|s| {
                (
                    api.operations[s.op].path.clone(),
                    model.resources[s.resource].name.clone(),
                    s.pointer.clone(),
                )
            })
            .collect()
    }

    const ITEMS: &str = r#"
  /users/{name}/keys:
    parameters: [{name: name, in: path, required: true, schema: {type: string}}]
    get: {responses: {'200': {description: ok}}}
  /orgs/{orgId}/projects:
    parameters: [{name: orgId, in: path, required: true, schema: {type: integer}}]
    get: {responses: {'200': {description: ok}}}
  /workspaces/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get: {responses: {'200': {description: ok}}}
"#;

    #[test]
    fn the_callers_own_answer_names_its_user_and_what_it_belongs_to() {
        let spec = format!(
            r#"
openapi: 3.0.3
info: {{title: t, version: '1'}}
paths:
  /user:
    get:
      responses:
        '200':
          description: the caller
          content:
            application/json:
              schema:
                type: object
                properties:
                  name: {{type: string}}
                  org_id: {{type: integer}}
                  workspace: {{type: object, properties: {{id: {{type: integer}}}}}}
                  token_id: {{type: string}}
{ITEMS}"#
        );
        let found = selves(&spec);
        assert!(
            found.contains(&("/user".into(), "user".into(), "/name".into())),
            "{found:?}"
        );
        assert!(
            found.contains(&("/user".into(), "org".into(), "/org_id".into())),
            "{found:?}"
        );
        // Workspaces hold nothing here: only resources that hold others are taken as what the
        // caller belongs to.
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn me_after_a_collection_and_answers_the_spec_leaves_open() {
        let spec = format!(
            r#"
openapi: 3.0.3
info: {{title: t, version: '1'}}
paths:
  /api/v2/users/me:
    get: {{responses: {{'200': {{description: the caller}}}}}}
  /api/v2/users:
    get:
      responses:
        '200':
          description: everyone
          content:
            application/json:
              schema: {{type: array, items: {{type: object}}}}
{ITEMS}"#
        );
        // No schema: the item path's parameter is looked for at run time.
        assert_eq!(
            selves(&spec),
            [("/api/v2/users/me".into(), "user".into(), "/name".into())]
        );
    }

    #[test]
    fn a_list_or_an_unrelated_singleton_is_no_self_answer() {
        let spec = format!(
            r#"
openapi: 3.0.3
info: {{title: t, version: '1'}}
paths:
  /users:
    get:
      responses:
        '200':
          description: everyone
          content:
            application/json:
              schema: {{type: array, items: {{type: object, properties: {{name: {{type: string}}}}}}}}
  /config:
    get: {{responses: {{'200': {{description: settings}}}}}}
{ITEMS}"#
        );
        assert!(selves(&spec).is_empty(), "{:?}", selves(&spec));
    }

    #[test]
    fn an_answer_the_spec_says_is_about_the_caller_is_its_own() {
        // NetBox: `/api/authentication-check/` says nothing by its path; its description does.
        // Its answer is described as any object: the id is looked for at run time.
        let spec = r#"
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /api/users/users/{id}/:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get: {responses: {'200': {description: ok}}}
  /api/authentication-check/:
    get:
      description: Return the user making the request, if authenticated successfully.
      responses: {'200': {description: ok, content: {application/json: {schema: {type: object, additionalProperties: {}}}}}}
  /api/users/config/:
    get:
      summary: Get public key for the authenticated user
      responses: {'200': {description: ok, content: {application/json: {schema: {type: object, properties: {key: {type: string}}}}}}}
  /api/status/:
    get:
      description: Objects the current user can see. Return the authenticated user.
      responses: {'200': {description: ok, content: {application/json: {schema: {type: object}}}}}
"#;
        assert_eq!(
            selves(spec),
            [(
                "/api/authentication-check/".to_string(),
                "user".to_string(),
                "/id".to_string()
            )]
        );
        for (text, about) in [
            ("Get the authenticated user", true),
            ("Returns the currently authenticated user.", true),
            ("Retrieve information about the current user", true),
            ("Get public key for the authenticated user", false),
            (
                "List the repositories the authenticated user can see",
                false,
            ),
            ("Get the authenticated user's settings", false),
        ] {
            let mut op = crate::spec::load_str(spec, "t")
                .expect("loads")
                .operations
                .remove(0);
            op.summary = Some(text.into());
            assert_eq!(super::describes_the_caller(&op), about, "{text}");
        }
    }
}
