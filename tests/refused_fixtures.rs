//! Fixtures an identity may not create are not asked for again and again. On NetBox (1,256
//! operations) an ordinary user may create few of the resources; every probe that needed one of
//! the others sent its create again and got 403 again: one request in six. After a few refusals
//! and no success, an identity's create through that operation is no longer sent, and what
//! needed it is reported untested with the refusal as its reason.
//!
//! Here nobody may create a project (403), and every project operation needs one; tags are
//! created freely. The forbidden create goes out at most `Refusals::ENOUGH` times per identity
//! (requests go one at a time), where each probe of the project operations used to send it.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::support::keyed::{settings, tenant};

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: projects nobody may create, version: '1'}
security: [{key: []}]
paths:
  /projects:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string}}}
      responses:
        '201': {description: created, content: {application/json: {schema: {type: object, properties: {id: {type: integer}}}}}}
        '403': {description: forbidden}
  /projects/{projectId}:
    parameters: [{name: projectId, in: path, required: true, schema: {type: integer}}]
    get: {responses: {'200': {description: the project}, '404': {description: no}}}
    put:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, properties: {name: {type: string}}}
      responses: {'200': {description: changed}, '404': {description: no}}
    delete: {responses: {'204': {description: deleted}, '404': {description: no}}}
  /projects/{projectId}/members:
    parameters: [{name: projectId, in: path, required: true, schema: {type: integer}}]
    get: {responses: {'200': {description: the members}, '404': {description: no}}}
  /projects/{projectId}/settings:
    parameters: [{name: projectId, in: path, required: true, schema: {type: integer}}]
    get: {responses: {'200': {description: the settings}, '404': {description: no}}}
  /tags:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [label], properties: {label: {type: string}}}
      responses:
        '201': {description: created, content: {application/json: {schema: {type: object, properties: {id: {type: integer}, label: {type: string}}}}}}
  /tags/{tagId}:
    parameters: [{name: tagId, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        '200': {description: the tag, content: {application/json: {schema: {type: object, properties: {id: {type: integer}, label: {type: string}}}}}}
        '404': {description: no}
    delete: {responses: {'204': {description: deleted}, '404': {description: no}}}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
"#;

#[derive(Clone, Default)]
struct App {
    /// Creates of a project asked for, per tenant.
    asked: Arc<Mutex<BTreeMap<String, u64>>>,
    tags: Arc<Mutex<BTreeMap<u64, (String, Value)>>>,
    next: Arc<AtomicU64>,
}

async fn new_project(State(app): State<App>, headers: HeaderMap) -> Result<StatusCode, StatusCode> {
    let me = tenant(&headers)?;
    *app.asked.lock().unwrap().entry(me).or_default() += 1;
    Err(StatusCode::FORBIDDEN)
}

async fn no_project(headers: HeaderMap) -> StatusCode {
    match tenant(&headers) {
        Ok(_) => StatusCode::NOT_FOUND,
        Err(s) => s,
    }
}

async fn new_tag(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let me = tenant(&headers)?;
    let id = app.next.fetch_add(1, Ordering::Relaxed) + 1;
    let tag = json!({"id": id, "label": body["label"]});
    app.tags.lock().unwrap().insert(id, (me, tag.clone()));
    Ok((StatusCode::CREATED, Json(tag)))
}

async fn tag(
    State(app): State<App>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    match app.tags.lock().unwrap().get(&id) {
        Some((owner, t)) if *owner == me => Ok(Json(t.clone())),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn drop_tag(State(app): State<App>, Path(id): Path<u64>, headers: HeaderMap) -> StatusCode {
    let Ok(me) = tenant(&headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    let mut tags = app.tags.lock().unwrap();
    match tags.get(&id) {
        Some((owner, _)) if *owner == me => {
            tags.remove(&id);
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::NOT_FOUND,
    }
}

#[tokio::test]
async fn a_create_refused_enough_times_is_not_sent_again() {
    let app = App::default();
    let router = Router::new()
        .route("/projects", post(new_project))
        .route(
            "/projects/{id}",
            get(no_project).put(no_project).delete(no_project),
        )
        .route("/projects/{id}/members", get(no_project))
        .route("/projects/{id}/settings", get(no_project))
        .route("/tags", post(new_tag))
        .route("/tags/{id}", get(tag).delete(drop_tag))
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let api = tenantfuzz::spec::load_str(SPEC, "refused.yaml").unwrap();
    let mut s = settings(base, "refused.yaml");
    s.campaign.concurrency = 1;
    s.campaign.cases = 0;
    let campaign = tenantfuzz::campaign::Campaign::with_api(s, api).unwrap();
    let probes = campaign
        .plan(None)
        .probes
        .iter()
        .filter(|p| {
            p.scenario
                .steps
                .iter()
                .any(|st| campaign.api.operations[st.op].path == "/projects")
        })
        .count();
    let result = campaign.run().await.unwrap();
    server.abort();

    let asked = app.asked.lock().unwrap().clone();
    let enough = u64::from(tenantfuzz::exec::Refusals::ENOUGH);
    // Each probe of the project operations needs a project: it was asked for in each.
    assert!(probes > 8, "{probes} probes");
    for (who, n) in &asked {
        assert!(
            *n * 2 < probes as u64 && *n <= enough,
            "{who} was refused {n} times in {probes} probes: {asked:?}"
        );
    }
    assert!(!asked.is_empty());
    // What needed a project is untested, and says why.
    let members = result
        .coverage
        .iter()
        .find(|c| c.path == "/projects/{projectId}/members")
        .unwrap();
    assert_eq!(members.judged, 0);
    let note = members.note.clone().unwrap_or_default();
    assert!(note.contains("may not create one"), "{note}");
    // The tags, created freely, are judged as ever.
    let tags = result
        .coverage
        .iter()
        .find(|c| c.method == "GET" && c.path == "/tags/{tagId}")
        .unwrap();
    assert!(tags.judged > 0);
}
