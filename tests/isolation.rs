//! Probes that change who someone is run alone (issue #23). A caller may make itself a superuser
//! through `PATCH /me` (the planted mass assignment), and a superuser sees every tenant's notes in
//! `GET /notes` by design. While the probe holds alice as a superuser, a list probe running beside
//! it would see bob's notes in alice's list: a list leak that is only the other probe's doing.
//! The findings must be the same at concurrency 1 and 64: the mass assignment, nothing else; and
//! the server sees no request of another probe while a caller is a superuser (confirmation's
//! replays would mostly hide a verdict spoilt that way, so the test asks the server).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};
use tenantfuzz::campaign::Campaign;
use tenantfuzz::finding::Status;

use crate::support::keyed::{settings, tenant};

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: notes with superusers, version: '1'}
security: [{key: []}]
paths:
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
    get:
      responses:
        '200':
          description: "the caller's notes (a superuser's, every note)"
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Note'}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewNote'}
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
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    Me:
      type: object
      properties:
        tenant: {type: string}
        name: {type: string}
        is_superuser: {type: boolean}
    MeUpdate:
      type: object
      properties:
        name: {type: string}
    NewNote:
      type: object
      required: [text]
      properties:
        text: {type: string}
    Note:
      type: object
      properties:
        id: {type: integer}
        text: {type: string}
"#;

#[derive(Clone, Default)]
struct App {
    notes: Arc<Mutex<BTreeMap<u64, (String, Value)>>>,
    superusers: Arc<Mutex<BTreeSet<String>>>,
    names: Arc<Mutex<BTreeMap<String, String>>>,
    next: Arc<Mutex<u64>>,
    /// Requests other than a superuser's own calls of `/me`, served while a flag was set.
    beside: Arc<Mutex<u64>>,
}

impl App {
    /// Counts a request served while some caller is a superuser, unless it is that caller's own
    /// call of `/me` (the probe's own steps).
    fn served(&self, me: &str, own_account: bool) {
        let supers = self.superusers.lock().unwrap();
        let own_step = own_account && supers.contains(me);
        if !supers.is_empty() && !own_step {
            *self.beside.lock().unwrap() += 1;
        }
    }

    fn sees(&self, me: &str, owner: &str) -> bool {
        me == owner || self.superusers.lock().unwrap().contains(me)
    }

    fn me(&self, me: &str) -> Value {
        json!({
            "tenant": me,
            "name": self.names.lock().unwrap().get(me).cloned().unwrap_or_default(),
            "is_superuser": self.superusers.lock().unwrap().contains(me),
        })
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route(
            "/me",
            get(|State(app): State<App>, h: HeaderMap| async move {
                let me = tenant(&h)?;
                app.served(&me, true);
                // Slow enough that other probes run while a superuser flag is set.
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<_, StatusCode>(Json(app.me(&me)))
            })
            .patch(
                |State(app): State<App>, h: HeaderMap, Json(b): Json<Value>| async move {
                    let me = tenant(&h)?;
                    app.served(&me, true);
                    if let Some(name) = b.get("name").and_then(Value::as_str) {
                        app.names
                            .lock()
                            .unwrap()
                            .insert(me.clone(), name.to_string());
                    }
                    // The planted mass assignment: a caller makes itself a superuser.
                    match b.get("is_superuser").and_then(Value::as_bool) {
                        Some(true) => {
                            app.superusers.lock().unwrap().insert(me.clone());
                        }
                        Some(false) => {
                            app.superusers.lock().unwrap().remove(&me);
                        }
                        None => {}
                    }
                    // Slow to answer once the flag is set: the probe holds alice a superuser
                    // long enough for others to run, and replay, beside it.
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    Ok::<_, StatusCode>(Json(app.me(&me)))
                },
            ),
        )
        .route(
            "/notes",
            get(|State(app): State<App>, h: HeaderMap| async move {
                let me = tenant(&h)?;
                app.served(&me, false);
                let notes = app.notes.lock().unwrap();
                Ok::<_, StatusCode>(Json(Value::Array(
                    notes
                        .values()
                        .filter(|(t, _)| app.sees(&me, t))
                        .map(|(_, n)| n.clone())
                        .collect(),
                )))
            })
            .post(
                |State(app): State<App>, h: HeaderMap, Json(b): Json<Value>| async move {
                    let me = tenant(&h)?;
                    app.served(&me, false);
                    let text = b.get("text").and_then(Value::as_str);
                    let text = text.ok_or(StatusCode::BAD_REQUEST)?.to_string();
                    let id = {
                        let mut next = app.next.lock().unwrap();
                        *next += 1;
                        *next
                    };
                    let note = json!({"id": id, "text": text});
                    app.notes.lock().unwrap().insert(id, (me, note.clone()));
                    Ok::<_, StatusCode>((StatusCode::CREATED, Json(note)))
                },
            ),
        )
        .route(
            "/notes/{id}",
            get(
                |State(app): State<App>, h: HeaderMap, Path(id): Path<u64>| async move {
                    let me = tenant(&h)?;
                    app.served(&me, false);
                    let notes = app.notes.lock().unwrap();
                    match notes.get(&id) {
                        Some((t, n)) if app.sees(&me, t) => Ok(Json(n.clone())),
                        _ => Err(StatusCode::NOT_FOUND),
                    }
                },
            )
            .delete(
                |State(app): State<App>, h: HeaderMap, Path(id): Path<u64>| async move {
                    let me = tenant(&h)?;
                    app.served(&me, false);
                    let mut notes = app.notes.lock().unwrap();
                    match notes.get(&id) {
                        Some((t, _)) if *t == me => {
                            notes.remove(&id);
                            Ok(StatusCode::NO_CONTENT)
                        }
                        _ => Err(StatusCode::NOT_FOUND),
                    }
                },
            ),
        )
        .with_state(app)
}

async fn findings(concurrency: usize) -> BTreeSet<(String, String, String)> {
    let app = App::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = router(app.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut settings = settings(base, "superusers.yaml");
    settings.campaign.concurrency = concurrency;
    settings.campaign.cases = 64;
    let api = tenantfuzz::spec::load_str(SPEC, "superusers.yaml").unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    assert!(
        app.superusers.lock().unwrap().is_empty(),
        "every superuser flag the probes set was set back"
    );
    let beside = *app.beside.lock().unwrap();
    assert_eq!(
        beside, 0,
        "at concurrency {concurrency}: {beside} requests of other probes were served while a probe held a caller as superuser"
    );
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
async fn a_probe_that_makes_a_superuser_changes_no_other_probes_verdict() {
    let expected: BTreeSet<(String, String, String)> =
        [("mass-assignment".to_string(), "PATCH".into(), "/me".into())].into();
    let alone = findings(1).await;
    assert_eq!(alone, expected, "at concurrency 1");
    for _ in 0..2 {
        let side_by_side = findings(64).await;
        assert_eq!(side_by_side, expected, "at concurrency 64");
    }
}
