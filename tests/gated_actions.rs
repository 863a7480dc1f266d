//! A function-level check on an action that names no resource (field trials: n8n's
//! `POST /audit`, for the instance owner only): `POST /audit` answers a report over every
//! tenant's notes and the policy gives it to administrators; `POST /export` answers the
//! caller's own notes and is every member's by design. A member whose audit call works gets
//! the other tenant's notes in its answer: `bfla`. Silence where the audit is refused, and on
//! the export either way.
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
use tenantfuzz::config::{IdentitySettings, PolicyRule, Secret, Settings};
use tenantfuzz::finding::{Kind, Status};
use tenantfuzz::outcome::CampaignResult;

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: notes, version: '1'}
security: [{key: []}]
paths:
  /notes:
    get:
      responses:
        '200':
          description: the caller's notes
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Note'}}
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
  /notes/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        '200':
          description: the note
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Note'}
        '404': {description: not found}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: not found}
  /audit:
    post:
      summary: the instance's audit report (instance owners)
      responses:
        '200':
          description: every tenant's notes, with their risks
          content:
            application/json:
              schema: {type: object, properties: {notes: {type: array, items: {type: string}}}}
        '403': {description: not an owner}
  /export:
    post:
      summary: the caller's own notes, as one document
      responses:
        '200':
          description: the export
          content:
            application/json:
              schema: {type: object, properties: {notes: {type: array, items: {type: string}}}}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    Note:
      type: object
      properties:
        id: {type: integer}
        text: {type: string}
"#;

/// (identity, tenant, key, role)
const IDENTITIES: &[(&str, &str, &str, &str)] = &[
    ("alice", "north", "key-alice", "member"),
    ("bob", "south", "key-bob", "member"),
    ("root", "platform", "key-root", "admin"),
];

/// The caller's (tenant, role); 401 without a known key.
fn caller(headers: &HeaderMap) -> Result<(String, String), StatusCode> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .ok_or(StatusCode::UNAUTHORIZED)?;
    IDENTITIES
        .iter()
        .find(|i| i.2 == key)
        .map(|i| (i.1.to_string(), i.3.to_string()))
        .ok_or(StatusCode::UNAUTHORIZED)
}

#[derive(Clone)]
struct App {
    /// id -> (tenant, text)
    notes: Arc<Mutex<BTreeMap<u64, (String, String)>>>,
    next: Arc<Mutex<u64>>,
    vulnerable: bool,
}

async fn list(State(app): State<App>, headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    let (tenant, _) = caller(&headers)?;
    let notes = app.notes.lock().unwrap();
    Ok(Json(Value::Array(
        notes
            .iter()
            .filter(|(_, (t, _))| *t == tenant)
            .map(|(id, (_, text))| json!({"id": id, "text": text}))
            .collect(),
    )))
}

async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let (tenant, _) = caller(&headers)?;
    let text = body
        .get("text")
        .and_then(Value::as_str)
        .ok_or(StatusCode::BAD_REQUEST)?
        .to_string();
    let id = {
        let mut next = app.next.lock().unwrap();
        *next += 1;
        *next
    };
    app.notes.lock().unwrap().insert(id, (tenant, text.clone()));
    Ok((StatusCode::CREATED, Json(json!({"id": id, "text": text}))))
}

async fn read(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Result<Json<Value>, StatusCode> {
    let (tenant, _) = caller(&headers)?;
    let notes = app.notes.lock().unwrap();
    match notes.get(&id) {
        Some((t, text)) if *t == tenant => Ok(Json(json!({"id": id, "text": text}))),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn remove(State(app): State<App>, headers: HeaderMap, Path(id): Path<u64>) -> StatusCode {
    let Ok((tenant, _)) = caller(&headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    let mut notes = app.notes.lock().unwrap();
    match notes.get(&id) {
        Some((t, _)) if *t == tenant => {
            notes.remove(&id);
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::NOT_FOUND,
    }
}

async fn audit(State(app): State<App>, headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    let (_, role) = caller(&headers)?;
    if role != "admin" && !app.vulnerable {
        return Err(StatusCode::FORBIDDEN);
    }
    let notes = app.notes.lock().unwrap();
    Ok(Json(
        json!({"notes": notes.values().map(|(_, t)| t.clone()).collect::<Vec<_>>()}),
    ))
}

async fn export(State(app): State<App>, headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    let (tenant, _) = caller(&headers)?;
    let notes = app.notes.lock().unwrap();
    Ok(Json(json!({"notes": notes
        .values()
        .filter(|(t, _)| *t == tenant)
        .map(|(_, t)| t.clone())
        .collect::<Vec<_>>()})))
}

async fn campaign(vulnerable: bool) -> (CampaignResult, usize) {
    let app = App {
        notes: Arc::default(),
        next: Arc::default(),
        vulnerable,
    };
    let router = Router::new()
        .route("/notes", get(list).post(create))
        .route("/notes/{id}", get(read).delete(remove))
        .route("/audit", post(audit))
        .route("/export", post(export))
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut settings = Settings {
        base_url: base,
        identities: IDENTITIES
            .iter()
            .map(|(name, tenant, key, role)| IdentitySettings {
                name: name.to_string(),
                tenant: tenant.to_string(),
                role: Some(role.to_string()),
                headers: vec![("X-Api-Key".to_string(), Secret::new(*key))],
                ..IdentitySettings::default()
            })
            .collect(),
        ..Settings::for_planning(std::path::Path::new("notes.yaml"))
    };
    settings.policy.rules.push(PolicyRule {
        operations: vec!["POST /audit".into()],
        roles: Some(vec!["admin".into()]),
        plans: None,
    });
    settings.campaign.cases = 0;
    let api = tenantfuzz::spec::load_str(SPEC, "notes.yaml").unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    let left = app.notes.lock().unwrap().len();
    (result, left)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_on_no_resource_that_the_policy_denies_is_judged_by_its_answer() {
    let (result, left) = campaign(true).await;
    let found: Vec<(Kind, String, String)> = result
        .findings
        .iter()
        .filter(|f| f.status == Status::Confirmed)
        .map(|f| (f.kind, f.operation.path.clone(), f.attacker.clone()))
        .collect();
    assert!(
        found
            .iter()
            .any(|(k, p, _)| *k == Kind::Bfla && p == "/audit"),
        "{:#?}",
        result.findings
    );
    assert!(
        found.iter().all(|(_, p, _)| p == "/audit"),
        "{:#?}",
        result.findings
    );
    assert_eq!(left, 0, "{:?}", result.cleanup);

    let (secure, left) = campaign(false).await;
    assert!(secure.findings.is_empty(), "{:#?}", secure.findings);
    let audit = secure
        .coverage
        .iter()
        .find(|c| c.method == "POST" && c.path == "/audit")
        .unwrap();
    assert!(audit.attacked && audit.judged > 0, "{audit:?}");
    assert_eq!(left, 0, "{:?}", secure.cleanup);
}
