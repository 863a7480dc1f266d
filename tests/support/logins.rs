//! A small API that accepts every login shape `tenantfuzz init` recognises, for the tests that
//! run init's configs: a JSON login answering its token nested under another name
//! (`{"data": {"auth_token": ...}}`), an OAuth 2 password grant (form body, `access_token`), a
//! form login setting a session cookie with a CSRF token in a header (writes need it), a
//! registration that answers 409 for a taken name, and fixed API keys. `GET /me` answers the
//! caller's name with any of them; `PATCH /me` checks the CSRF token of cookie sessions.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

/// (name, password, API key) of the accounts that exist when the server starts.
pub const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("alice", "alice-pw-1", "key-alice-1"),
    ("bob", "bob-pw-2", "key-bob-2"),
];

#[derive(Default)]
struct Inner {
    passwords: BTreeMap<String, String>,
    tokens: BTreeMap<String, String>,
    /// session id -> (user, CSRF token)
    sessions: BTreeMap<String, (String, String)>,
    issued: usize,
    /// What happened, in order: `login NAME`, `register NAME`, `me NAME`, `write NAME`.
    log: Vec<String>,
}

/// The running server: its URL and what it saw.
#[derive(Clone)]
pub struct Logins {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl Logins {
    /// The events it saw, in order.
    pub fn log(&self) -> Vec<String> {
        self.inner.lock().unwrap().log.clone()
    }
}

fn form(body: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn login(inner: &Mutex<Inner>, user: &str, password: &str) -> Option<String> {
    let mut i = inner.lock().unwrap();
    if i.passwords.get(user).map(String::as_str) != Some(password) {
        return None;
    }
    i.issued += 1;
    let token = format!("tok-{user}-{}", i.issued);
    i.tokens.insert(token.clone(), user.to_string());
    i.log.push(format!("login {user}"));
    Some(token)
}

fn refused() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "invalid username or password"})),
    )
        .into_response()
}

/// Who sent `headers`: a bearer token, a session cookie (and whether it sent its CSRF token),
/// or an API key.
fn caller(inner: &Mutex<Inner>, headers: &HeaderMap) -> Option<(String, bool)> {
    let i = inner.lock().unwrap();
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if let Some(token) = header("authorization").and_then(|a| a.strip_prefix("Bearer ")) {
        return i.tokens.get(token).map(|u| (u.clone(), true));
    }
    if let Some(key) = header("x-api-key") {
        return ACCOUNTS
            .iter()
            .find(|(_, _, k)| *k == key)
            .map(|(u, _, _)| (u.to_string(), true));
    }
    let sid = header("cookie")?
        .split(';')
        .find_map(|c| c.trim().strip_prefix("sid="))?;
    let (user, csrf) = i.sessions.get(sid)?;
    Some((user.clone(), header("x-csrf-token") == Some(csrf.as_str())))
}

/// Starts the server on 127.0.0.1.
pub async fn start() -> Logins {
    let inner = Arc::new(Mutex::new(Inner {
        passwords: ACCOUNTS
            .iter()
            .map(|(u, p, _)| (u.to_string(), p.to_string()))
            .collect(),
        ..Inner::default()
    }));
    type S = State<Arc<Mutex<Inner>>>;
    let app = Router::new()
        .route(
            "/api/v1/auth/signin",
            post(|State(i): S, Json(b): Json<Value>| async move {
                let (u, p) = (b["username"].as_str(), b["password"].as_str());
                match login(&i, u.unwrap_or(""), p.unwrap_or("")) {
                    Some(t) => {
                        Json(json!({"data": {"auth_token": t, "expires": 3600}})).into_response()
                    }
                    None => refused(),
                }
            }),
        )
        .route(
            "/oauth/token",
            post(|State(i): S, body: String| async move {
                let f = form(&body);
                if f.get("grant_type").map(String::as_str) != Some("password") {
                    return (
                        StatusCode::BAD_REQUEST,
                        Json(json!({"error": "unsupported_grant_type"})),
                    )
                        .into_response();
                }
                let get = |k: &str| f.get(k).cloned().unwrap_or_default();
                match login(&i, &get("username"), &get("password")) {
                    Some(t) => {
                        Json(json!({"access_token": t, "token_type": "bearer"})).into_response()
                    }
                    None => refused(),
                }
            }),
        )
        .route(
            "/session",
            post(|State(i): S, body: String| async move {
                let f = form(&body);
                let get = |k: &str| f.get(k).cloned().unwrap_or_default();
                let Some(t) = login(&i, &get("username"), &get("password")) else {
                    return refused();
                };
                let (sid, csrf) = (format!("sid-{t}"), format!("csrf-{t}"));
                i.lock()
                    .unwrap()
                    .sessions
                    .insert(sid.clone(), (get("username"), csrf.clone()));
                (
                    [
                        ("set-cookie", format!("sid={sid}; HttpOnly; Path=/")),
                        ("x-csrf-token", csrf),
                    ],
                    Json(json!({"ok": true})),
                )
                    .into_response()
            }),
        )
        .route(
            "/signup",
            post(|State(i): S, Json(b): Json<Value>| async move {
                let (Some(u), Some(p), Some(_)) = (
                    b["username"].as_str(),
                    b["password"].as_str(),
                    b["displayName"].as_str(),
                ) else {
                    return (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Json(json!({"detail": "username, password and displayName are required"})),
                    )
                        .into_response();
                };
                let mut inner = i.lock().unwrap();
                if inner.passwords.contains_key(u) {
                    return (
                        StatusCode::CONFLICT,
                        Json(json!({"error": "username already exists"})),
                    )
                        .into_response();
                }
                inner.passwords.insert(u.to_string(), p.to_string());
                inner.log.push(format!("register {u}"));
                (StatusCode::CREATED, Json(json!({"username": u}))).into_response()
            }),
        )
        .route(
            "/me",
            get(|State(i): S, h: HeaderMap| async move {
                match caller(&i, &h) {
                    Some((u, _)) => {
                        i.lock().unwrap().log.push(format!("me {u}"));
                        Json(json!({"username": u})).into_response()
                    }
                    None => refused(),
                }
            })
            .patch(|State(i): S, h: HeaderMap| async move {
                match caller(&i, &h) {
                    Some((u, true)) => {
                        i.lock().unwrap().log.push(format!("write {u}"));
                        Json(json!({"username": u})).into_response()
                    }
                    Some((_, false)) => (
                        StatusCode::FORBIDDEN,
                        Json(json!({"message": "CSRF token missing"})),
                    )
                        .into_response(),
                    None => refused(),
                }
            }),
        )
        .with_state(inner.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Logins { base, inner }
}
