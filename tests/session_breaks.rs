//! A probe that breaks its caller's session (issue #23). `PATCH /me` changes the caller's own
//! account; on this server a change of `login` (the name it logs in with) renames the account and signs it out
//! everywhere, as real APIs do on a change of credentials. The probe runs alone, and right
//! after it each identity it involved is checked with its positive control: a broken session
//! is renewed by logging in again, and when that fails (the account no longer has the name it
//! logs in with) the identity is lost. The run then names the identity and the probe, and
//! exits with the incomplete code (4), never 0. The same server where the change only signs
//! the caller out (logging in again works) runs on normally; so does one where it changes
//! nothing of the session.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::support::cmd::{bin, temp_dir};

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: accounts that a profile change signs out, version: '1'}
security: [{bearer: []}]
paths:
  /login:
    post:
      security: []
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties: {username: {type: string}, password: {type: string}}
      responses:
        '200':
          description: a token
          content:
            application/json:
              schema: {type: object, properties: {token: {type: string}}}
  /me:
    get:
      responses:
        '200':
          description: the caller
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Me'}
    patch:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/MeUpdate'}
      responses:
        '200':
          description: the caller
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Me'}
  /notes:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [text], properties: {text: {type: string}}}
      responses:
        '201':
          description: the note
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Note'}
  /notes/{noteId}:
    parameters:
      - {name: noteId, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the note
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Note'}
        '404': {description: no such note}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: no such note}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    Me:
      type: object
      properties:
        id: {type: string}
        login: {type: string}
        is_admin: {type: boolean}
    MeUpdate:
      type: object
      properties:
        login: {type: string, description: the name the account logs in with}
    Note:
      type: object
      properties:
        id: {type: integer}
        text: {type: string}
"#;

/// What a change of the caller's own profile does to its sessions.
#[derive(Clone, Copy, PartialEq, Debug)]
enum OnChange {
    /// Nothing: the session goes on.
    Nothing,
    /// Signs the caller out everywhere; logging in again works.
    SignsOut,
    /// A new `login` renames the account and signs it out: logging in with the old name
    /// fails from then on.
    Renames,
}

#[derive(Default)]
struct Inner {
    /// account id -> (login name, password, display name)
    accounts: BTreeMap<String, (String, String, String)>,
    /// token -> account id
    tokens: BTreeMap<String, String>,
    issued: u64,
    /// note id -> (owner, note)
    notes: BTreeMap<u64, (String, Value)>,
    /// The last note id given: ids are never given twice (a count of the notes was, once one
    /// was deleted, and a new note then overwrote another's).
    last_note: u64,
}

#[derive(Clone)]
struct App {
    inner: Arc<Mutex<Inner>>,
    mode: OnChange,
}

impl App {
    fn caller(&self, h: &HeaderMap) -> Result<String, StatusCode> {
        let token = h
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(StatusCode::UNAUTHORIZED)?;
        self.inner
            .lock()
            .unwrap()
            .tokens
            .get(token)
            .cloned()
            .ok_or(StatusCode::UNAUTHORIZED)
    }

    fn me(&self, id: &str) -> Value {
        let i = self.inner.lock().unwrap();
        let (login, _, _) = &i.accounts[id];
        json!({"id": id, "login": login, "is_admin": false})
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route(
            "/login",
            post(|State(app): State<App>, Json(b): Json<Value>| async move {
                let mut i = app.inner.lock().unwrap();
                let user = b.get("username").and_then(Value::as_str).unwrap_or("");
                let pass = b.get("password").and_then(Value::as_str).unwrap_or("");
                let Some(id) = i
                    .accounts
                    .iter()
                    .find(|(_, (u, p, _))| u == user && p == pass)
                    .map(|(id, _)| id.clone())
                else {
                    return Err(StatusCode::UNAUTHORIZED);
                };
                i.issued += 1;
                let token = format!("tok-{id}-{}", i.issued);
                i.tokens.insert(token.clone(), id);
                Ok(Json(json!({"token": token})))
            }),
        )
        .route(
            "/me",
            get(|State(app): State<App>, h: HeaderMap| async move {
                let me = app.caller(&h)?;
                Ok::<_, StatusCode>(Json(app.me(&me)))
            })
            .patch(
                |State(app): State<App>, h: HeaderMap, Json(b): Json<Value>| async move {
                    let me = app.caller(&h)?;
                    {
                        let mut i = app.inner.lock().unwrap();
                        let mut changed = false;
                        if let Some(login) = b.get("login").and_then(Value::as_str) {
                            if app.mode == OnChange::Renames {
                                i.accounts.get_mut(&me).unwrap().0 = login.to_string();
                            }
                            changed = true;
                        }
                        if changed && app.mode != OnChange::Nothing {
                            i.tokens.retain(|_, owner| *owner != me);
                        }
                    }
                    // The answer of a signed-out caller still shows the account.
                    Ok::<_, StatusCode>(Json(app.me(&me)))
                },
            ),
        )
        .route(
            "/notes",
            post(
                |State(app): State<App>, h: HeaderMap, Json(b): Json<Value>| async move {
                    let me = app.caller(&h)?;
                    let text = b.get("text").and_then(Value::as_str);
                    let text = text.ok_or(StatusCode::BAD_REQUEST)?.to_string();
                    let mut i = app.inner.lock().unwrap();
                    i.last_note += 1;
                    let id = i.last_note;
                    let note = json!({"id": id, "text": text});
                    i.notes.insert(id, (me, note.clone()));
                    Ok::<_, StatusCode>((StatusCode::CREATED, Json(note)))
                },
            ),
        )
        .route(
            "/notes/{id}",
            get(
                |State(app): State<App>, h: HeaderMap, Path(id): Path<u64>| async move {
                    let me = app.caller(&h)?;
                    let i = app.inner.lock().unwrap();
                    match i.notes.get(&id) {
                        Some((owner, n)) if *owner == me => Ok(Json(n.clone())),
                        _ => Err(StatusCode::NOT_FOUND),
                    }
                },
            )
            .delete(
                |State(app): State<App>, h: HeaderMap, Path(id): Path<u64>| async move {
                    let me = app.caller(&h)?;
                    let mut i = app.inner.lock().unwrap();
                    match i.notes.get(&id) {
                        Some((owner, _)) if *owner == me => {
                            i.notes.remove(&id);
                            Ok(StatusCode::NO_CONTENT)
                        }
                        _ => Err(StatusCode::NOT_FOUND),
                    }
                },
            ),
        )
        .with_state(app)
}

const ACCOUNTS: &[(&str, &str, &str, &str)] = &[
    ("alice", "u-alice", "ALICE_PASSWORD", "alice-pw-7"),
    ("bob", "u-bob", "BOB_PASSWORD", "bob-pw-8"),
];

/// Runs `tenantfuzz run` against the server in `mode`: the exit code, the terminal's text, the
/// JSON report.
async fn run(mode: OnChange) -> (i32, String, Value) {
    let mut inner = Inner::default();
    for (name, id, _, password) in ACCOUNTS {
        inner.accounts.insert(
            id.to_string(),
            (name.to_string(), password.to_string(), name.to_string()),
        );
    }
    let app = App {
        inner: Arc::new(Mutex::new(inner)),
        mode,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router(app)).await });
    let dir = temp_dir(&format!("session-breaks-{mode:?}"));
    let spec = dir.join("spec.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    let mut config = format!(
        "spec = \"{}\"\nbase_url = \"{base}\"\n[campaign]\ncases = 8\n",
        spec.display()
    );
    for (name, _, var, _) in ACCOUNTS {
        config.push_str(&format!(
            "[identities.{name}]\ntenant = \"{name}\"\n[identities.{name}.login]\napply = {{ headers = {{ Authorization = \"Bearer {{token}}\" }} }}\n[[identities.{name}.login.requests]]\npath = \"/login\"\njson = {{ username = \"{name}\", password = \"${{env:{var}}}\" }}\nextract = {{ token = {{ json = \"$.token\" }} }}\n"
        ));
    }
    let config_path = dir.join("tenantfuzz.toml");
    std::fs::write(&config_path, config).unwrap();
    let report = dir.join("report.json");
    let (code, text) = {
        let (config_path, report) = (config_path.clone(), report.clone());
        tokio::task::spawn_blocking(move || {
            let mut cmd = bin();
            cmd.args(["run", "--config"])
                .arg(&config_path)
                .arg("--report-json")
                .arg(&report);
            for (_, _, var, password) in ACCOUNTS {
                cmd.env(var, password);
            }
            let out = cmd.output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            )
        })
        .await
        .unwrap()
    };
    server.abort();
    let report: Value = std::fs::read(&report)
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(Value::Null);
    for (_, _, _, password) in ACCOUNTS {
        assert!(!text.contains(password), "a password in the output: {text}");
    }
    (code, text, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_that_breaks_a_session_for_good_names_the_identity_and_the_probe_and_exits_4() {
    let (code, text, report) = run(OnChange::Renames).await;
    assert_eq!(code, 4, "{text}");
    let broken = report["summary"]["broken_sessions"]
        .as_array()
        .unwrap_or_else(|| panic!("no broken_sessions in the report: {report:#}\n{text}"));
    assert!(!broken.is_empty(), "{text}");
    for b in broken {
        assert!(
            ["alice", "bob"].contains(&b["identity"].as_str().unwrap()),
            "{b}"
        );
        assert_eq!(b["operation"], "PATCH /me", "{b}");
        assert!(b["kind"].as_str().is_some_and(|k| !k.is_empty()), "{b}");
    }
    assert_eq!(report["summary"]["complete"], false);
    let first = broken[0]["identity"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "the session of '{first}' broke after the probe PATCH /me"
        )),
        "{text}"
    );
    assert!(text.contains("INCOMPLETE"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_whose_session_break_a_new_login_mends_leaves_the_run_as_it_was() {
    let (code, text, report) = run(OnChange::SignsOut).await;
    assert_eq!(code, 0, "{text}");
    assert!(report["summary"]["broken_sessions"].is_null(), "{report:#}");
    assert_eq!(report["summary"]["complete"], true, "{text}");
    assert!(
        report["summary"]["session_renewals"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "the sessions the probe signed out were renewed: {report:#}"
    );
    let (code, text, report) = run(OnChange::Nothing).await;
    assert_eq!(code, 0, "{text}");
    assert!(report["summary"]["broken_sessions"].is_null(), "{report:#}");
    assert_eq!(report["summary"]["complete"], true, "{text}");
}
