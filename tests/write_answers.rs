//! Write answers are evidence too (#22, shape 8): a server that ignores another tenant's update
//! but answers it with the victim's note, unchanged, leaks the note. The write had no effect (no
//! `bola-write`), the read is only ever the owner's (no leak there); the update's answer is the
//! leak, a `bola-read` on the PATCH. Silent where the update of another tenant's note is a 404.
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

const SPEC: &str = r##"
{"openapi": "3.0.3",
 "info": {"title": "notes", "version": "1"},
 "security": [{"key": []}],
 "paths": {
  "/notes": {"post": {
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NoteIn"}}}},
    "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Note"}}}}}}},
  "/notes/{noteId}": {
   "parameters": [{"name": "noteId", "in": "path", "required": true, "schema": {"type": "integer"}}],
   "get": {"responses": {"200": {"description": "the note", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Note"}}}}, "404": {"description": "none"}}},
   "patch": {
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NoteIn"}}}},
    "responses": {"200": {"description": "the note", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Note"}}}}, "404": {"description": "none"}}},
   "delete": {"responses": {"204": {"description": "deleted"}, "404": {"description": "none"}}}}
 },
 "components": {
  "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
  "schemas": {
   "NoteIn": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}},
   "Note": {"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}}
  }}}
"##;

/// id -> (tenant, note)
type Store = Arc<Mutex<BTreeMap<u64, (String, Value)>>>;

#[derive(Clone)]
struct App {
    notes: Store,
    next: Arc<Mutex<u64>>,
    vulnerable: bool,
}

async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let me = tenant(&headers)?;
    let title = body
        .get("title")
        .and_then(Value::as_str)
        .ok_or(StatusCode::UNPROCESSABLE_ENTITY)?;
    let id = {
        let mut next = app.next.lock().unwrap();
        *next += 1;
        *next
    };
    let note = json!({"id": id, "title": title});
    app.notes.lock().unwrap().insert(id, (me, note.clone()));
    Ok((StatusCode::CREATED, Json(note)))
}

async fn read(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    match app.notes.lock().unwrap().get(&id) {
        Some((t, note)) if *t == me => Ok(Json(note.clone())),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn update(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let mut notes = app.notes.lock().unwrap();
    match notes.get_mut(&id) {
        Some((t, note)) if *t == me => {
            if let Some(title) = body.get("title").filter(|v| v.is_string()) {
                note["title"] = title.clone();
            }
            Ok(Json(note.clone()))
        }
        // The planted bug: another tenant's update changes nothing, and answers the note.
        Some((_, note)) if app.vulnerable => Ok(Json(note.clone())),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn remove(State(app): State<App>, headers: HeaderMap, Path(id): Path<u64>) -> StatusCode {
    let Ok(me) = tenant(&headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    let mut notes = app.notes.lock().unwrap();
    match notes.get(&id) {
        Some((t, _)) if *t == me => {
            notes.remove(&id);
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::NOT_FOUND,
    }
}

async fn campaign(vulnerable: bool) -> CampaignResult {
    let app = App {
        notes: Arc::default(),
        next: Arc::default(),
        vulnerable,
    };
    let router = Router::new()
        .route("/notes", post(create))
        .route("/notes/{noteId}", get(read).patch(update).delete(remove))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let api = tenantfuzz::spec::load_str(SPEC, "notes.json").unwrap();
    let result = Campaign::with_api(settings(base, "notes.json"), api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    result
}

fn confirmed(result: &CampaignResult) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = result
        .findings
        .iter()
        .filter(|f| f.status == Status::Confirmed)
        .map(|f| (f.kind.as_str().to_string(), f.operation.method.clone()))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignored_update_answered_with_the_victims_note_is_a_read_leak() {
    let result = campaign(true).await;
    // Only the update's answer leaks: no read leak on GET, no write the victim can see.
    assert_eq!(
        confirmed(&result),
        [("bola-read".into(), "PATCH".into())],
        "{:#?}",
        result.findings
    );

    let secure = campaign(false).await;
    assert!(secure.findings.is_empty(), "{:#?}", secure.findings);
    let patch = secure
        .coverage
        .iter()
        .find(|c| c.method == "PATCH")
        .unwrap();
    assert!(patch.attacked && patch.judged > 0, "{patch:?}");
}
