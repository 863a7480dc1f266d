//! Writes whose evidence comes by reference (issue #22), as n8n's `PUT /workflows/{id}/tags`
//! takes `[{"id": tag}]`: the attack carries no marker of its own, only the id of an object of
//! the attacker's (a tag it created, with its marker in the name). The victim's private workflow
//! then shows the attacker's tag, which its read-back before the attack did not: a `bola-write`.
//! Tags are instance-wide by design (every tenant lists and reads every tag), so they are never
//! a finding themselves.
//! - vulnerable: any tenant sets the tags of any workflow: one `bola-write` on the tags;
//! - secure: only a workflow's owner sets its tags: none, the write judged.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};
use serde_json::{Value, json};
use tenantfuzz::finding::Status;
use tenantfuzz::outcome::CampaignResult;

use crate::support::keyed::tenant;

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: workflows, version: '1'}
security: [{key: []}]
paths:
  /tags:
    get:
      responses:
        '200':
          description: every tag of the instance
          content:
            application/json:
              schema:
                type: object
                properties:
                  data: {type: array, items: {$ref: '#/components/schemas/Tag'}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string}}}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Tag'}
  /tags/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: the tag
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Tag'}
  /workflows:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string}}}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Workflow'}
  /workflows/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: the workflow
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Workflow'}
        '404': {description: not found}
  /workflows/{id}/tags:
    put:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: array
              items: {type: object, required: [id], properties: {id: {type: string}}}
      responses:
        '200':
          description: the workflow's tags now
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Tag'}}
        '404': {description: not found}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    Tag:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
    Workflow:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
        tags: {type: array, items: {$ref: '#/components/schemas/Tag'}}
"#;

/// id -> (tenant, name, tag ids)
type Workflows = Arc<Mutex<BTreeMap<String, (String, Value, Vec<String>)>>>;

#[derive(Clone, Default)]
struct App {
    /// id -> tag (instance-wide)
    tags: Arc<Mutex<BTreeMap<String, Value>>>,
    workflows: Workflows,
    next: Arc<Mutex<u64>>,
    vulnerable: bool,
}

impl App {
    fn id(&self, prefix: &str) -> String {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        format!("{prefix}{:04}", *next)
    }

    fn workflow(&self, id: &str) -> Option<Value> {
        let tags = self.tags.lock().unwrap();
        let all = self.workflows.lock().unwrap();
        let (_, name, ids) = all.get(id)?;
        let shown: Vec<&Value> = ids.iter().filter_map(|t| tags.get(t)).collect();
        Some(json!({"id": id, "name": name, "tags": shown}))
    }
}

async fn list_tags(State(app): State<App>, headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    tenant(&headers)?;
    let tags: Vec<Value> = app.tags.lock().unwrap().values().cloned().collect();
    Ok(Json(json!({ "data": tags })))
}

async fn create_tag(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    tenant(&headers)?;
    let name = body["name"].as_str().ok_or(StatusCode::BAD_REQUEST)?;
    let id = app.id("tag");
    let tag = json!({"id": id, "name": name});
    app.tags.lock().unwrap().insert(id, tag.clone());
    Ok((StatusCode::CREATED, Json(tag)))
}

async fn read_tag(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    tenant(&headers)?;
    let tags = app.tags.lock().unwrap();
    tags.get(&id)
        .cloned()
        .map(Json)
        .ok_or(StatusCode::NOT_FOUND)
}

async fn create_workflow(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let me = tenant(&headers)?;
    let name = body
        .get("name")
        .filter(|n| n.is_string())
        .ok_or(StatusCode::BAD_REQUEST)?;
    let id = app.id("wf");
    app.workflows
        .lock()
        .unwrap()
        .insert(id.clone(), (me, name.clone(), Vec::new()));
    Ok((StatusCode::CREATED, Json(app.workflow(&id).unwrap())))
}

fn owner(app: &App, id: &str) -> Option<String> {
    app.workflows.lock().unwrap().get(id).map(|w| w.0.clone())
}

async fn read_workflow(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    match owner(&app, &id) {
        Some(t) if t == me => Ok(Json(app.workflow(&id).unwrap())),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn set_tags(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    match owner(&app, &id) {
        // The planted bug: anyone's workflow.
        Some(t) if t == me || app.vulnerable => {}
        _ => return Err(StatusCode::NOT_FOUND),
    }
    let ids: Vec<String> = body
        .as_array()
        .ok_or(StatusCode::BAD_REQUEST)?
        .iter()
        .filter_map(|t| t["id"].as_str().map(str::to_string))
        .collect();
    if ids
        .iter()
        .any(|t| !app.tags.lock().unwrap().contains_key(t))
    {
        return Err(StatusCode::BAD_REQUEST);
    }
    app.workflows.lock().unwrap().get_mut(&id).unwrap().2 = ids;
    Ok(Json(app.workflow(&id).unwrap()["tags"].clone()))
}

async fn campaign(vulnerable: bool) -> CampaignResult {
    let app = App {
        vulnerable,
        ..App::default()
    };
    let router = Router::new()
        .route("/tags", get(list_tags).post(create_tag))
        .route("/tags/{id}", get(read_tag))
        .route("/workflows", axum::routing::post(create_workflow))
        .route("/workflows/{id}", get(read_workflow))
        .route("/workflows/{id}/tags", put(set_tags))
        .with_state(app);
    crate::support::keyed::campaign(router, SPEC, "workflows.yaml").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_victims_workflow_showing_the_attackers_tag_is_a_write_and_shared_tags_are_none() {
    let result = campaign(true).await;
    let found: Vec<_> = result
        .findings
        .iter()
        .filter(|f| f.status == Status::Confirmed)
        .map(|f| (f.kind.as_str(), f.operation.path.as_str()))
        .collect();
    assert!(
        !found.is_empty()
            && found
                .iter()
                .all(|f| *f == ("bola-write", "/workflows/{id}/tags")),
        "{:#?}",
        result.findings
    );
    assert!(
        result.findings[0].evidence.contains("named by its id"),
        "{}",
        result.findings[0].evidence
    );

    let secure = campaign(false).await;
    assert!(secure.findings.is_empty(), "{:#?}", secure.findings);
    let c = secure
        .coverage
        .iter()
        .find(|c| c.method == "PUT" && c.path == "/workflows/{id}/tags")
        .unwrap();
    assert!(c.attacked && c.judged > 0, "{c:?}");
}
