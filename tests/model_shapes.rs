//! Model shapes of APIs the team did not write (issue #22): a document store whose creates answer
//! a free-form `{"data": {...}}` that declares no id, whose request bodies are free-form objects
//! (`additionalProperties: {}`) with no field of their own for a marker, and whose item paths take
//! `{pk}` (Django, Flask-AppBuilder) and `{id_or_slug}` (either lookup). The campaign must create
//! notes, find their ids in the actual answers, mark them in a member of its own, and attack
//! `GET /api/v1/notes/{pk}`: a finding where any tenant's note is shown, none where each tenant
//! sees only its own, although the spec calls that read public (a claim the server does not
//! keep: it wants a key). Notices are public by design (anyone reads any notice, credentials or not,
//! as the spec's `security: []` says) and must never be reported, on either server.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tenantfuzz::campaign::Campaign;
use tenantfuzz::finding::Status;
use tenantfuzz::outcome::CampaignResult;

use crate::support::keyed::{settings, tenant};

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: documents, version: '1'}
security: [{key: []}]
paths:
  /api/v1/notes/:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Envelope'}
      responses:
        '201':
          description: the note, as stored
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Envelope'}
  /api/v1/notes/{pk}:
    parameters:
      - {name: pk, in: path, required: true, schema: {type: string}}
    get:
      # The spec claims the read public (as generated specs that document no security do); the
      # server wants a key. A claim, not a verdict: the read is judged all the same.
      security: []
      responses:
        '200':
          description: the note
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Envelope'}
        '404': {description: no such note}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: no such note}
  /api/v1/notices/:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Envelope'}
      responses:
        '201':
          description: the notice, as stored
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Envelope'}
  /api/v1/notices/{id_or_slug}:
    parameters:
      - {name: id_or_slug, in: path, required: true, schema: {type: string}}
    get:
      security: []
      responses:
        '200':
          description: the notice (anyone may read any notice)
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Envelope'}
        '404': {description: no such notice}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: no such notice}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    Envelope:
      type: object
      properties:
        data: {type: object, additionalProperties: {}}
"#;

/// id -> (tenant, data)
type Store = Arc<Mutex<BTreeMap<String, (String, Value)>>>;

#[derive(Clone)]
struct App {
    notes: Store,
    notices: Store,
    next: Arc<Mutex<u64>>,
    vulnerable: bool,
}

/// Stores `data` as the caller's and answers it wrapped, with the id the server chose.
fn store(
    app: &App,
    store: &Store,
    headers: &HeaderMap,
    body: &Value,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let me = tenant(headers)?;
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return Err(StatusCode::BAD_REQUEST);
    };
    let id = {
        let mut next = app.next.lock().unwrap();
        *next += 1;
        format!("{:x}", 0x5a00 + *next)
    };
    let mut data = data.clone();
    data.insert("id".into(), json!(id));
    let data = Value::Object(data);
    store.lock().unwrap().insert(id.clone(), (me, data.clone()));
    Ok((
        StatusCode::CREATED,
        Json(json!({"data": data, "permissions": {"write": [format!("key:{id}")]}})),
    ))
}

fn remove(store: &Store, headers: &HeaderMap, id: &str) -> StatusCode {
    let Ok(me) = tenant(headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    let mut all = store.lock().unwrap();
    match all.get(id) {
        Some((t, _)) if *t == me => {
            all.remove(id);
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::NOT_FOUND,
    }
}

async fn create_note(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    store(&app, &app.notes, &headers, &body)
}

async fn read_note(
    State(app): State<App>,
    headers: HeaderMap,
    Path(pk): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let notes = app.notes.lock().unwrap();
    match notes.get(&pk) {
        // The planted bug: any tenant's note, by its id.
        Some((t, data)) if *t == me || app.vulnerable => Ok(Json(json!({ "data": data }))),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn delete_note(
    State(app): State<App>,
    headers: HeaderMap,
    Path(pk): Path<String>,
) -> StatusCode {
    remove(&app.notes, &headers, &pk)
}

async fn create_notice(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    store(&app, &app.notices, &headers, &body)
}

/// Public by design: anyone reads any notice, with credentials or without.
async fn read_notice(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let notices = app.notices.lock().unwrap();
    notices
        .get(&id)
        .map(|(_, data)| Json(json!({ "data": data })))
        .ok_or(StatusCode::NOT_FOUND)
}

async fn delete_notice(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> StatusCode {
    remove(&app.notices, &headers, &id)
}

/// The campaign against the server, and how many notes and notices it left.
async fn campaign(vulnerable: bool) -> (CampaignResult, usize) {
    let app = App {
        notes: Arc::default(),
        notices: Arc::default(),
        next: Arc::default(),
        vulnerable,
    };
    let router = Router::new()
        .route("/api/v1/notes/", post(create_note))
        .route("/api/v1/notes/{pk}", get(read_note).delete(delete_note))
        .route("/api/v1/notices/", post(create_notice))
        .route(
            "/api/v1/notices/{id_or_slug}",
            get(read_notice).delete(delete_notice),
        )
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let settings = settings(base, "documents.yaml");
    let api = tenantfuzz::spec::load_str(SPEC, "documents.yaml").unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    let left = app.notes.lock().unwrap().len() + app.notices.lock().unwrap().len();
    (result, left)
}

fn confirmed(result: &CampaignResult) -> Vec<(String, String, String)> {
    result
        .findings
        .iter()
        .filter(|f| f.status == Status::Confirmed)
        .map(|f| {
            (
                f.kind.as_str().to_string(),
                f.operation.method.clone(),
                f.operation.path.clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_created_without_a_declared_id_are_attacked_by_pk_and_public_notices_stay_silent() {
    let (result, left) = campaign(true).await;
    let found = confirmed(&result);
    assert!(
        found.contains(&(
            "bola-read".into(),
            "GET".into(),
            "/api/v1/notes/{pk}".into()
        )),
        "{found:?}"
    );
    // Every finding is the planted one: the public notices are never reported.
    assert!(
        found.iter().all(|(_, _, p)| p == "/api/v1/notes/{pk}"),
        "{found:?}"
    );
    // What the campaign created it deleted, by the ids found in the answers.
    assert_eq!(left, 0, "{:?}", result.cleanup);

    let (secure, left) = campaign(false).await;
    assert!(secure.findings.is_empty(), "{:#?}", secure.findings);
    for path in ["/api/v1/notes/{pk}", "/api/v1/notices/{id_or_slug}"] {
        let read = secure
            .coverage
            .iter()
            .find(|c| c.method == "GET" && c.path == path)
            .unwrap();
        assert!(read.attacked && read.judged > 0, "{read:?}");
    }
    assert_eq!(left, 0, "{:?}", secure.cleanup);
}
