//! A small account API for the account probes: registration, login, `GET /me`, a profile
//! `PATCH /me`, an admin-only `GET /admin/stats`, and tenant-scoped notes. New accounts are
//! `member`s of a tenant of their own (or, by design, `owner`s of it); what registration and
//! the profile update do with a privilege field they were sent (`role` of the enum
//! [member, editor, owner], `is_admin`) is the mode: honour it, ignore it, or only echo it
//! back in the answer. The login says "no such user" or "wrong password", or the same for both.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

/// What a write does with the privilege fields it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Honour {
    /// Drops them.
    Ignore,
    /// Stores `role`.
    Role,
    /// Stores `role`, unless it is `owner` (which it refuses with 400: a check of the top
    /// value alone).
    RoleButOwner,
    /// Stores `is_admin`.
    Admin,
    /// Echoes them in its answer and stores nothing.
    Echo,
}

#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub register: Honour,
    pub patch: Honour,
    /// The login tells an unknown user from a wrong password.
    pub login_leaks: bool,
    /// Every new account owns its tenant by design (`role: owner`).
    pub owners_by_default: bool,
}

impl Mode {
    pub fn secure() -> Mode {
        Mode {
            register: Honour::Ignore,
            patch: Honour::Ignore,
            login_leaks: false,
            owners_by_default: false,
        }
    }
}

#[derive(Clone)]
struct User {
    id: String,
    password: String,
    display_name: String,
    role: String,
    is_admin: bool,
}

#[derive(Default)]
struct Inner {
    users: BTreeMap<String, User>,
    tokens: BTreeMap<String, String>,
    notes: BTreeMap<String, (String, Value)>,
    issued: usize,
}

#[derive(Clone)]
struct App {
    mode: Mode,
    inner: Arc<Mutex<Inner>>,
}

/// The seeded accounts: (name, password).
pub const SEEDED: &[(&str, &str)] = &[("alice", "alice-pw-secret-1"), ("bob", "bob-pw-secret-2")];

pub const SPEC: &str = r#"
openapi: 3.0.3
info: {title: accounts, version: '1'}
security: [{bearer: []}]
components:
  securitySchemes: {bearer: {type: http, scheme: bearer}}
  schemas:
    Me:
      type: object
      properties:
        id: {type: string}
        username: {type: string}
        display_name: {type: string}
        role: {type: string, enum: [member, editor, owner]}
        is_admin: {type: boolean}
    Note:
      type: object
      properties:
        id: {type: string}
        title: {type: string}
paths:
  /me:
    get:
      operationId: getMe
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Me'}}}}
    patch:
      operationId: updateMe
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {display_name: {type: string}}}}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object, properties: {ok: {type: boolean}}}}}}
  /admin/stats:
    get:
      operationId: adminStats
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object, properties: {users: {type: integer}}}}}}
        '403': {description: forbidden}
  /notes:
    get:
      operationId: listNotes
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Note'}}}}}
    post:
      operationId: createNote
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, required: [title], properties: {title: {type: string}}}}}
      responses:
        '201': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Note'}}}}
  /notes/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get:
      operationId: getNote
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Note'}}}}
        '404': {description: not found}
    delete:
      operationId: deleteNote
      responses:
        '204': {description: gone}
        '404': {description: not found}
"#;

fn caller(app: &App, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    app.inner.lock().unwrap().tokens.get(token).cloned()
}

fn me_json(name: &str, u: &User) -> Value {
    json!({"id": u.id, "username": name, "display_name": u.display_name, "role": u.role, "is_admin": u.is_admin})
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "unauthorized"})),
    )
        .into_response()
}

/// Applies what `honour` says to the privilege fields of `body`; the echo to answer with.
fn privilege(honour: Honour, body: &Value, user: &mut User) -> Value {
    let mut echo = json!({});
    for key in ["role", "is_admin"] {
        if let Some(v) = body.get(key) {
            echo[key] = v.clone();
        }
    }
    match honour {
        Honour::Role => {
            if let Some(r) = body["role"].as_str() {
                user.role = r.to_string();
            }
        }
        Honour::RoleButOwner => {
            if let Some(r) = body["role"].as_str().filter(|r| *r != "owner") {
                user.role = r.to_string();
            }
        }
        Honour::Admin => {
            if let Some(b) = body["is_admin"].as_bool() {
                user.is_admin = b;
            }
        }
        Honour::Ignore | Honour::Echo => {}
    }
    if honour == Honour::Echo {
        echo
    } else {
        json!({})
    }
}

async fn register(State(app): State<App>, Json(body): Json<Value>) -> Response {
    let (Some(name), Some(password)) = (body["username"].as_str(), body["password"].as_str())
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "username and password"})),
        )
            .into_response();
    };
    let mut i = app.inner.lock().unwrap();
    if i.users.contains_key(name) {
        return (
            StatusCode::CONFLICT,
            Json(json!({"error": "username already taken"})),
        )
            .into_response();
    }
    let role = if app.mode.owners_by_default {
        "owner"
    } else {
        "member"
    };
    let mut user = User {
        id: format!("u-{}", i.users.len() + 1),
        password: password.to_string(),
        display_name: name.to_string(),
        role: role.to_string(),
        is_admin: false,
    };
    let echo = privilege(app.mode.register, &body, &mut user);
    let mut answer = me_json(name, &user);
    if let (Value::Object(a), Value::Object(e)) = (&mut answer, echo) {
        a.extend(e);
    }
    i.users.insert(name.to_string(), user);
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn login(State(app): State<App>, Json(body): Json<Value>) -> Response {
    let name = body["username"].as_str().unwrap_or("");
    let password = body["password"].as_str().unwrap_or("");
    let mut i = app.inner.lock().unwrap();
    let refuse =
        |what: &str| (StatusCode::UNAUTHORIZED, Json(json!({"error": what}))).into_response();
    match i.users.get(name) {
        None if app.mode.login_leaks => return refuse("no such user"),
        Some(u) if u.password != password && app.mode.login_leaks => {
            return refuse("wrong password");
        }
        Some(u) if u.password == password => {}
        _ => return refuse("invalid username or password"),
    }
    i.issued += 1;
    let token = format!("tok-{}-{}", i.issued, name.len());
    i.tokens.insert(token.clone(), name.to_string());
    Json(json!({"token": token})).into_response()
}

async fn me(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(name) = caller(&app, &headers) else {
        return unauthorized();
    };
    let i = app.inner.lock().unwrap();
    Json(me_json(&name, &i.users[&name])).into_response()
}

async fn patch_me(State(app): State<App>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let Some(name) = caller(&app, &headers) else {
        return unauthorized();
    };
    let mut i = app.inner.lock().unwrap();
    let user = i.users.get_mut(&name).unwrap();
    if let Some(d) = body["display_name"].as_str() {
        user.display_name = d.to_string();
    }
    if app.mode.patch == Honour::RoleButOwner && body["role"] == "owner" {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "only an owner makes owners"})),
        )
            .into_response();
    }
    let mut answer = privilege(app.mode.patch, &body, user);
    answer["ok"] = json!(true);
    Json(answer).into_response()
}

async fn admin_stats(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(name) = caller(&app, &headers) else {
        return unauthorized();
    };
    let i = app.inner.lock().unwrap();
    let u = &i.users[&name];
    if !u.is_admin {
        return (StatusCode::FORBIDDEN, Json(json!({"error": "admins only"}))).into_response();
    }
    Json(json!({"users": i.users.len()})).into_response()
}

async fn list_notes(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(name) = caller(&app, &headers) else {
        return unauthorized();
    };
    let i = app.inner.lock().unwrap();
    let mine: Vec<Value> = i
        .notes
        .values()
        .filter(|(o, _)| *o == name)
        .map(|(_, n)| n.clone())
        .collect();
    Json(mine).into_response()
}

async fn create_note(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some(name) = caller(&app, &headers) else {
        return unauthorized();
    };
    let mut i = app.inner.lock().unwrap();
    i.issued += 1;
    let id = format!("n{}", i.issued);
    let note = json!({"id": id, "title": body["title"]});
    i.notes.insert(id, (name, note.clone()));
    (StatusCode::CREATED, Json(note)).into_response()
}

async fn get_note(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let Some(name) = caller(&app, &headers) else {
        return unauthorized();
    };
    let i = app.inner.lock().unwrap();
    match i.notes.get(&id) {
        Some((o, n)) if *o == name => Json(n.clone()).into_response(),
        _ => (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response(),
    }
}

async fn delete_note(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(name) = caller(&app, &headers) else {
        return unauthorized();
    };
    let mut i = app.inner.lock().unwrap();
    match i.notes.get(&id) {
        Some((o, _)) if *o == name => {
            i.notes.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response(),
    }
}

/// `GET /me` of a seeded account, logged in afresh.
pub async fn me_of(base: &str, name: &str) -> Value {
    let password = SEEDED.iter().find(|(n, _)| *n == name).unwrap().1;
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/login"))
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    http.get(format!("{base}/me"))
        .bearer_auth(login["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Starts the API on 127.0.0.1; its base URL.
pub async fn start(mode: Mode) -> String {
    let mut inner = Inner::default();
    for (n, (name, password)) in SEEDED.iter().enumerate() {
        inner.users.insert(
            name.to_string(),
            User {
                id: format!("seed-{n}"),
                password: password.to_string(),
                display_name: name.to_string(),
                role: "member".into(),
                is_admin: false,
            },
        );
    }
    let app = App {
        mode,
        inner: Arc::new(Mutex::new(inner)),
    };
    let router = Router::new()
        .route("/register", post(register))
        .route("/login", post(login))
        .route("/me", get(me).patch(patch_me))
        .route("/admin/stats", get(admin_stats))
        .route("/notes", get(list_notes).post(create_note))
        .route("/notes/{id}", get(get_note).delete(delete_note))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{addr}")
}
