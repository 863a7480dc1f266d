//! A tiny multi-tenant notes API whose users already own a note each when it starts (seeded,
//! pre-existing data that its list endpoint shows), for the tests of what a campaign may touch.
//! `Authorization: Bearer <user>`; every check is correct (no planted bug). Its spec's `servers`
//! point at whatever URL the test passes, never at the server itself.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// (user, tenant) pairs; each user starts with one seeded note, ids 1, 2, 3 in this order.
pub const USERS: &[(&str, &str)] = &[("ann", "north"), ("ben", "south"), ("cat", "south")];

/// The spec, with `servers` pointing at `servers_url`.
pub fn spec(servers_url: &str) -> String {
    format!(
        r##"openapi: 3.0.3
info: {{title: Notes, version: "1"}}
servers:
  - url: {servers_url}
security:
  - bearer: []
paths:
  /notes:
    get:
      operationId: listNotes
      responses:
        '200':
          description: the caller's notes
          content:
            application/json:
              schema:
                type: object
                properties:
                  notes: {{type: array, items: {{$ref: '#/components/schemas/Note'}}}}
    post:
      operationId: createNote
      requestBody:
        required: true
        content:
          application/json:
            schema: {{$ref: '#/components/schemas/NoteInput'}}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: {{$ref: '#/components/schemas/Note'}}
  /notes/{{noteId}}:
    parameters:
      - {{name: noteId, in: path, required: true, schema: {{type: integer}}}}
    get:
      operationId: getNote
      responses:
        '200':
          description: the note
          content:
            application/json:
              schema: {{$ref: '#/components/schemas/Note'}}
        '404': {{description: not found}}
    put:
      operationId: updateNote
      requestBody:
        required: true
        content:
          application/json:
            schema: {{$ref: '#/components/schemas/NoteInput'}}
      responses:
        '200':
          description: updated
          content:
            application/json:
              schema: {{$ref: '#/components/schemas/Note'}}
        '404': {{description: not found}}
    delete:
      operationId: deleteNote
      responses:
        '204': {{description: deleted}}
        '404': {{description: not found}}
components:
  securitySchemes:
    bearer: {{type: http, scheme: bearer}}
  schemas:
    NoteInput:
      type: object
      required: [title]
      properties:
        title: {{type: string}}
        body: {{type: string}}
    Note:
      type: object
      properties:
        id: {{type: integer}}
        title: {{type: string}}
        body: {{type: string}}
"##
    )
}

#[derive(Default)]
struct Store {
    /// id -> (tenant, note)
    notes: BTreeMap<u64, (String, Value)>,
    next: u64,
    /// The planted bug of [`NotesServer::start_with_read_cache`]: notes as their owners last
    /// read them, answered to anyone who asks for the id.
    cache: Option<BTreeMap<u64, Value>>,
}

type Shared = Arc<Mutex<Store>>;

fn tenant(headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    USERS
        .iter()
        .find(|(u, _)| *u == token)
        .map(|(_, t)| t.to_string())
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "unauthorized"})),
    )
        .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response()
}

async fn list(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let Some(t) = tenant(&headers) else {
        return unauthorized();
    };
    let store = s.lock().expect("store");
    let notes: Vec<Value> = store
        .notes
        .values()
        .filter(|(owner, _)| *owner == t)
        .map(|(_, n)| n.clone())
        .collect();
    Json(json!({ "notes": notes })).into_response()
}

fn note(id: u64, input: &Value) -> Value {
    json!({"id": id, "title": input["title"].as_str().unwrap_or(""),
           "body": input["body"].as_str().unwrap_or("")})
}

async fn create(State(s): State<Shared>, headers: HeaderMap, Json(input): Json<Value>) -> Response {
    let Some(t) = tenant(&headers) else {
        return unauthorized();
    };
    let mut store = s.lock().expect("store");
    store.next += 1;
    let id = store.next;
    let n = note(id, &input);
    store.notes.insert(id, (t, n.clone()));
    (StatusCode::CREATED, Json(n)).into_response()
}

async fn read(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    let Some(t) = tenant(&headers) else {
        return unauthorized();
    };
    let mut store = s.lock().expect("store");
    let own = match store.notes.get(&id) {
        Some((owner, n)) if *owner == t => Some(n.clone()),
        _ => None,
    };
    match (own, store.cache.as_mut()) {
        (Some(n), Some(cache)) => {
            cache.insert(id, n.clone());
            Json(n).into_response()
        }
        (Some(n), None) => Json(n).into_response(),
        (None, Some(cache)) => match cache.get(&id) {
            Some(n) => Json(n.clone()).into_response(),
            None => not_found(),
        },
        (None, None) => not_found(),
    }
}

async fn update(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Json(input): Json<Value>,
) -> Response {
    let Some(t) = tenant(&headers) else {
        return unauthorized();
    };
    let mut store = s.lock().expect("store");
    match store.notes.get_mut(&id) {
        Some((owner, n)) if *owner == t => {
            *n = note(id, &input);
            Json(n.clone()).into_response()
        }
        _ => not_found(),
    }
}

async fn delete(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    let Some(t) = tenant(&headers) else {
        return unauthorized();
    };
    let mut store = s.lock().expect("store");
    match store.notes.get(&id) {
        Some((owner, _)) if *owner == t => {
            store.notes.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => not_found(),
    }
}

/// A running notes API on `127.0.0.1`.
pub struct NotesServer {
    addr: SocketAddr,
    store: Shared,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl NotesServer {
    pub async fn start() -> NotesServer {
        NotesServer::start_with(false).await
    }

    /// The API with one planted bug that only a read with a side effect shows: an owner's read
    /// of a note caches it, and the cache answers anyone asking for that id (the ownership
    /// check runs only when the cache misses). A foreign read leaks the note only after its
    /// owner read it.
    pub async fn start_with_read_cache() -> NotesServer {
        NotesServer::start_with(true).await
    }

    async fn start_with(read_cache: bool) -> NotesServer {
        let mut store = Store {
            cache: read_cache.then(BTreeMap::new),
            ..Store::default()
        };
        for (user, tenant) in USERS {
            store.next += 1;
            let id = store.next;
            let seeded = json!({"title": format!("{user}'s seeded note"), "body": "pre-existing"});
            store
                .notes
                .insert(id, (tenant.to_string(), note(id, &seeded)));
        }
        let store: Shared = Arc::new(Mutex::new(store));
        let app = Router::new()
            .route("/notes", get(list).post(create))
            .route("/notes/{noteId}", get(read).put(update).delete(delete))
            .with_state(store.clone());
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        NotesServer {
            addr,
            store,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The seeded note of `user` (ids 1, 2, 3 in `USERS` order) as it is now, if it still exists.
    pub fn seeded_note(&self, user: &str) -> Option<Value> {
        let index = USERS.iter().position(|(u, _)| *u == user)? as u64 + 1;
        self.store
            .lock()
            .expect("store")
            .notes
            .get(&index)
            .map(|(_, n)| n.clone())
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for NotesServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
