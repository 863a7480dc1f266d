//! Users as resources (issue #24): another user's account changed or deleted through an
//! operation keyed by that user. The API registers accounts (`POST /register`), logs them in
//! for a bearer token, and answers about the caller at `GET /me` (its numeric id, username,
//! e-mail, display name and role). Users are addressed by username (`PATCH /users/{username}`,
//! `PUT /users/{username}/password`), by the numeric id only `/me` shows
//! (`DELETE /users/{userId}`), and by a body `username` (`POST /roles`). Public profiles
//! (`GET /users/{username}`) show every user's name to everyone, by design.
//!
//! Three modes:
//! - secure: only the caller's own account changes;
//! - vulnerable: the named account changes, whoever asks;
//! - the trap: given another user's name, the API changes the caller's own account (its own
//!   read-back changes, the victim's does not): no finding.
//!
//! Both identities register fresh accounts (`login.register` with `{unique}`), so the
//! campaign may change accounts it made: and for each probe, fresh accounts of their own
//! stand in for both, so the identities' own accounts are never touched (the test checks the
//! identities' own accounts still log in with their passwords, and nothing else changed them).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post, put};
use serde_json::{Value, json};
use tenantfuzz::campaign::Campaign;
use tenantfuzz::config::Settings;
use tenantfuzz::outcome::CampaignResult;

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: accounts, version: '1'}
security: [{bearer: []}]
paths:
  /register:
    post:
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [username, password, email]
              properties:
                username: {type: string}
                password: {type: string, format: password}
                email: {type: string, format: email}
      responses:
        '201': {description: registered}
        '409': {description: the name is taken}
  /login:
    post:
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                username: {type: string}
                password: {type: string}
      responses:
        '200': {description: a token}
        '401': {description: wrong name or password}
  /me:
    get:
      responses:
        '200':
          description: the caller
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Me'}
  /users/{username}:
    parameters:
      - {name: username, in: path, required: true, schema: {type: string}}
    get:
      security: []
      responses:
        '200':
          description: the public profile
          content:
            application/json:
              schema:
                type: object
                properties:
                  username: {type: string}
                  display: {type: string}
        '404': {description: no such user}
    patch:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                email: {type: string, format: email}
                display: {type: string}
      responses:
        '200': {description: changed}
        '403': {description: not yours}
  /users/{username}/password:
    parameters:
      - {name: username, in: path, required: true, schema: {type: string}}
    put:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [password]
              properties:
                password: {type: string, format: password}
      responses:
        '204': {description: changed}
        '403': {description: not yours}
  /accounts/{userId}:
    parameters:
      - {name: userId, in: path, required: true, schema: {type: integer}}
    delete:
      responses:
        '204': {description: deleted}
        '403': {description: not yours}
  /roles:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [username, role]
              properties:
                username: {type: string}
                role: {type: string, enum: [member, editor]}
      responses:
        '200': {description: set}
        '403': {description: administrators only}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    Me:
      type: object
      properties:
        id: {type: integer}
        username: {type: string}
        email: {type: string}
        display: {type: string}
        role: {type: string, enum: [member, editor]}
"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Secure,
    Vulnerable,
    Trap,
}

#[derive(Clone, Debug)]
struct User {
    id: u64,
    username: String,
    password: String,
    email: String,
    display: String,
    role: String,
}

#[derive(Default)]
struct Store {
    users: BTreeMap<u64, User>,
    tokens: BTreeMap<String, u64>,
    next: u64,
}

#[derive(Clone)]
struct App {
    store: Arc<Mutex<Store>>,
    mode: Mode,
}

impl App {
    /// The caller's id, from its bearer token.
    fn caller(&self, headers: &HeaderMap) -> Result<u64, StatusCode> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(StatusCode::UNAUTHORIZED)?;
        let store = self.store.lock().unwrap();
        let id = *store.tokens.get(token).ok_or(StatusCode::UNAUTHORIZED)?;
        store
            .users
            .contains_key(&id)
            .then_some(id)
            .ok_or(StatusCode::UNAUTHORIZED)
    }

    /// The account a request keyed by `named` changes, by the mode.
    fn subject(&self, caller: u64, named: Option<u64>) -> Result<u64, StatusCode> {
        let named = named.ok_or(StatusCode::NOT_FOUND)?;
        match self.mode {
            Mode::Vulnerable => Ok(named),
            Mode::Trap => Ok(caller),
            Mode::Secure if named == caller => Ok(caller),
            Mode::Secure => Err(StatusCode::FORBIDDEN),
        }
    }

    fn by_name(&self, name: &str) -> Option<u64> {
        let store = self.store.lock().unwrap();
        store
            .users
            .values()
            .find(|u| u.username == name)
            .map(|u| u.id)
    }
}

async fn register(State(app): State<App>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let (Some(username), Some(password), Some(email)) = (
        body["username"].as_str(),
        body["password"].as_str(),
        body["email"].as_str(),
    ) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "missing"})));
    };
    let mut store = app.store.lock().unwrap();
    if store.users.values().any(|u| u.username == username) {
        return (
            StatusCode::CONFLICT,
            Json(json!({"error": "that name is already registered"})),
        );
    }
    store.next += 1;
    let id = 100 + store.next;
    store.users.insert(
        id,
        User {
            id,
            username: username.into(),
            password: password.into(),
            email: email.into(),
            display: username.into(),
            role: "member".into(),
        },
    );
    (StatusCode::CREATED, Json(json!({"username": username})))
}

async fn login(
    State(app): State<App>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let mut store = app.store.lock().unwrap();
    let found = store
        .users
        .values()
        .find(|u| {
            Some(u.username.as_str()) == body["username"].as_str()
                && Some(u.password.as_str()) == body["password"].as_str()
        })
        .map(|u| u.id);
    let Some(id) = found else {
        return Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "wrong name or password"})),
        ));
    };
    let token = format!("t{}x{id}", store.tokens.len() + 1000);
    store.tokens.insert(token.clone(), id);
    Ok(Json(json!({"token": token})))
}

fn me_of(u: &User) -> Value {
    json!({"id": u.id, "username": u.username, "email": u.email, "display": u.display, "role": u.role})
}

async fn me(State(app): State<App>, headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    let id = app.caller(&headers)?;
    let store = app.store.lock().unwrap();
    Ok(Json(me_of(&store.users[&id])))
}

async fn profile(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let store = app.store.lock().unwrap();
    store
        .users
        .values()
        .find(|u| u.username == name)
        .map(|u| Json(json!({"username": u.username, "display": u.display})))
        .ok_or(StatusCode::NOT_FOUND)
}

async fn update(
    State(app): State<App>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let caller = app.caller(&headers)?;
    let id = app.subject(caller, app.by_name(&name))?;
    let mut store = app.store.lock().unwrap();
    let user = store.users.get_mut(&id).ok_or(StatusCode::NOT_FOUND)?;
    if let Some(e) = body["email"].as_str() {
        user.email = e.into();
    }
    if let Some(d) = body["display"].as_str() {
        user.display = d.into();
    }
    Ok(Json(json!({"username": user.username})))
}

async fn password(
    State(app): State<App>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> StatusCode {
    let caller = match app.caller(&headers) {
        Ok(c) => c,
        Err(s) => return s,
    };
    let id = match app.subject(caller, app.by_name(&name)) {
        Ok(id) => id,
        Err(s) => return s,
    };
    let Some(new) = body["password"].as_str() else {
        return StatusCode::BAD_REQUEST;
    };
    let mut store = app.store.lock().unwrap();
    if let Some(user) = store.users.get_mut(&id) {
        user.password = new.into();
    }
    StatusCode::NO_CONTENT
}

async fn remove(State(app): State<App>, headers: HeaderMap, Path(named): Path<u64>) -> StatusCode {
    let caller = match app.caller(&headers) {
        Ok(c) => c,
        Err(s) => return s,
    };
    let exists = app.store.lock().unwrap().users.contains_key(&named);
    let id = match app.subject(caller, exists.then_some(named)) {
        Ok(id) => id,
        Err(s) => return s,
    };
    let mut store = app.store.lock().unwrap();
    store.users.remove(&id);
    store.tokens.retain(|_, u| *u != id);
    StatusCode::NO_CONTENT
}

async fn role(State(app): State<App>, headers: HeaderMap, Json(body): Json<Value>) -> StatusCode {
    let caller = match app.caller(&headers) {
        Ok(c) => c,
        Err(s) => return s,
    };
    let named = body["username"].as_str().and_then(|n| app.by_name(n));
    // Roles are an administrator's to set: the secure API refuses everyone here.
    let id = match app.mode {
        Mode::Secure => return StatusCode::FORBIDDEN,
        _ => match app.subject(caller, named) {
            Ok(id) => id,
            Err(s) => return s,
        },
    };
    let Some(r) = body["role"]
        .as_str()
        .filter(|r| ["member", "editor"].contains(r))
    else {
        return StatusCode::BAD_REQUEST;
    };
    let mut store = app.store.lock().unwrap();
    if let Some(user) = store.users.get_mut(&id) {
        user.role = r.into();
    }
    StatusCode::OK
}

fn config(base: &str, spec: &FsPath) -> String {
    let identity = |name: &str, tenant: &str| {
        format!(
            r#"
[identities.{name}]
tenant = "{tenant}"
[identities.{name}.login]
vars = {{ password = "{name}-Secret-pass-1" }}
apply = {{ headers = {{ Authorization = "Bearer {{token}}" }} }}
[[identities.{name}.login.register]]
path = "/register"
json = {{ username = "{name}-{{unique}}", password = "{{password}}", email = "{name}-{{unique}}@example.test" }}
[[identities.{name}.login.requests]]
path = "/login"
json = {{ username = "{name}-{{unique}}", password = "{{password}}" }}
extract = {{ token = {{ json = "/token" }} }}
"#
        )
    };
    format!(
        "spec = \"{}\"\nbase_url = \"{base}\"\n{}{}\n[campaign]\ncases = 0\n",
        spec.display(),
        identity("alice", "north"),
        identity("bob", "south"),
    )
}

/// The campaign against the API in `mode`, and the accounts the server holds afterwards.
async fn campaign(mode: Mode) -> (CampaignResult, Vec<User>) {
    let app = App {
        store: Arc::default(),
        mode,
    };
    let router = Router::new()
        .route("/register", post(register))
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/users/{username}", get(profile).patch(update))
        .route("/users/{username}/password", put(password))
        .route("/accounts/{userId}", delete(remove))
        .route("/roles", post(role))
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let dir = std::env::temp_dir().join(format!("tfz-users-{}-{mode:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("accounts.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    let text = config(&base, &spec);
    let settings = Settings::parse(&text, "accounts.toml", &dir, &|_| None).unwrap();
    settings.validate().unwrap();
    let result = Campaign::new(settings).unwrap().run().await.unwrap();
    server.abort();
    let users = app.store.lock().unwrap().users.values().cloned().collect();
    (result, users)
}

/// The identities' own accounts: the first each registered (named `<name>-<unique>`, unique
/// to the run) is still there, with its own password, e-mail and role.
fn own_accounts_untouched(users: &[User]) {
    for name in ["alice", "bob"] {
        let own = users
            .iter()
            .find(|u| u.username.starts_with(&format!("{name}-")))
            .unwrap_or_else(|| panic!("{name}'s own account is gone: {users:#?}"));
        assert_eq!(own.password, format!("{name}-Secret-pass-1"), "{own:?}");
        assert_eq!(own.role, "member", "{own:?}");
        assert!(own.email.starts_with(&format!("{name}-")), "{own:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_account_is_changed_or_deleted_through_its_name_or_id() {
    let (result, users) = campaign(Mode::Vulnerable).await;
    let found = crate::support::truth::confirmed_ops(&result);
    for want in [
        ("bola-write", "PATCH", "/users/{username}"),
        ("bola-write", "PUT", "/users/{username}/password"),
        ("bola-delete", "DELETE", "/accounts/{userId}"),
        ("bola-write", "POST", "/roles"),
    ] {
        assert!(
            found.contains(&(want.0.to_string(), want.1.to_string(), want.2.to_string())),
            "{want:?} not in {found:?}\n{:#?}",
            result.findings
        );
    }
    // Every finding is about one of these four, and none is a read of the public profiles.
    assert_eq!(found.len(), 4, "{found:?}");
    own_accounts_untouched(&users);
    // The evidence says how the victim would notice, and names no password.
    for f in &result.findings {
        let text = serde_json::to_string(f).unwrap();
        assert!(!text.contains("Secret-pass"), "{text}");
        let how = match (f.kind.as_str(), f.operation.path.as_str()) {
            ("bola-delete", _) => "was 200 before and 401 after",
            (_, "/users/{username}/password") => "its password no longer logs in",
            (_, "/roles") => "role = editor (it was member)",
            _ => "shows the attacker's tfz",
        };
        assert!(f.evidence.contains(how), "{}", f.evidence);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secure_api_and_one_that_changes_the_callers_own_account_give_nothing() {
    for mode in [Mode::Secure, Mode::Trap] {
        let (result, users) = campaign(mode).await;
        assert!(
            result.findings.is_empty(),
            "{mode:?}: {:#?}",
            result.findings
        );
        own_accounts_untouched(&users);
        // The account operations were judged, not skipped.
        for (method, path) in [
            ("PATCH", "/users/{username}"),
            ("PUT", "/users/{username}/password"),
            ("DELETE", "/accounts/{userId}"),
            ("POST", "/roles"),
        ] {
            let c = result
                .coverage
                .iter()
                .find(|c| c.method == method && c.path == path)
                .unwrap();
            assert!(c.attacked && c.judged > 0, "{mode:?}: {c:?}");
        }
    }
}
