//! Honest results (issue #25): a run that could not test an operation that takes a resource id
//! says so, with the reason and the key that would change it, and is not a pass. The API keeps
//! notes (which both tenants may create and read back: tested), vaults (which only an
//! administrator may create: every member's create answers 403) and tickets (whose create
//! answers 201 with no id anywhere). Notes are checked correctly, or (`vulnerable`) any tenant
//! reads any note: the finding is still confirmed beside the untested operations.
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
use tenantfuzz::config::{Allowance, Settings};
use tenantfuzz::outcome::CampaignResult;

use crate::support::keyed::{settings, tenant};

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: desk, version: '1'}
security: [{key: []}]
paths:
  /notes:
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, required: [text], properties: {text: {type: string}}}}}
      responses:
        '201':
          description: the note
          content: {application/json: {schema: {$ref: '#/components/schemas/Note'}}}
  /notes/{noteId}:
    parameters: [{name: noteId, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        '200':
          description: the note
          content: {application/json: {schema: {$ref: '#/components/schemas/Note'}}}
        '404': {description: not found}
  /vaults:
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, required: [name], properties: {name: {type: string}}}}}
      responses:
        '201':
          description: the vault
          content: {application/json: {schema: {$ref: '#/components/schemas/Vault'}}}
        '403': {description: administrators only}
  /vaults/{vaultId}:
    parameters: [{name: vaultId, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        '200':
          description: the vault
          content: {application/json: {schema: {$ref: '#/components/schemas/Vault'}}}
        '404': {description: not found}
  /tickets:
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, required: [subject], properties: {subject: {type: string}}}}}
      responses:
        '201':
          description: accepted
          content: {application/json: {schema: {type: object, properties: {ok: {type: boolean}}}}}
  /tickets/{ticketId}:
    parameters: [{name: ticketId, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        '200':
          description: the ticket
          content: {application/json: {schema: {$ref: '#/components/schemas/Ticket'}}}
        '404': {description: not found}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    Note:
      type: object
      properties: {id: {type: string}, text: {type: string}}
    Vault:
      type: object
      properties: {id: {type: string}, name: {type: string}}
    Ticket:
      type: object
      properties: {id: {type: string}, subject: {type: string}}
"#;

/// Notes by id: (tenant, note).
type Notes = Arc<Mutex<BTreeMap<String, (String, Value)>>>;

#[derive(Clone)]
struct App {
    notes: Notes,
    vulnerable: bool,
}

async fn create_note(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let me = tenant(&headers)?;
    let mut notes = app.notes.lock().unwrap();
    let id = format!("n{}", notes.len() + 1);
    let note = json!({"id": id, "text": body["text"]});
    notes.insert(id, (me, note.clone()));
    Ok((StatusCode::CREATED, Json(note)))
}

async fn read_note(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let notes = app.notes.lock().unwrap();
    match notes.get(&id) {
        Some((owner, note)) if *owner == me || app.vulnerable => Ok(Json(note.clone())),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn create_vault(headers: HeaderMap) -> StatusCode {
    match tenant(&headers) {
        Ok(_) => StatusCode::FORBIDDEN,
        Err(status) => status,
    }
}

async fn create_ticket(headers: HeaderMap) -> Result<(StatusCode, Json<Value>), StatusCode> {
    tenant(&headers)?;
    Ok((StatusCode::CREATED, Json(json!({"ok": true}))))
}

async fn not_found(headers: HeaderMap) -> StatusCode {
    match tenant(&headers) {
        Ok(_) => StatusCode::NOT_FOUND,
        Err(status) => status,
    }
}

async fn campaign(vulnerable: bool, tune: impl FnOnce(&mut Settings)) -> CampaignResult {
    let app = App {
        notes: Arc::default(),
        vulnerable,
    };
    let router = Router::new()
        .route("/notes", post(create_note))
        .route("/notes/{id}", get(read_note))
        .route("/vaults", post(create_vault))
        .route("/vaults/{id}", get(not_found))
        .route("/tickets", post(create_ticket))
        .route("/tickets/{id}", get(not_found))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut settings = settings(base, "desk.yaml");
    settings.campaign.cases = 0;
    tune(&mut settings);
    let api = tenantfuzz::spec::load_str(SPEC, "desk.yaml").unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    result
}

fn note<'a>(result: &'a CampaignResult, path: &str) -> &'a str {
    let c = result
        .coverage
        .iter()
        .find(|c| c.method == "GET" && c.path == path)
        .unwrap();
    assert!(c.untested(), "{c:?}");
    c.note.as_deref().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_could_not_be_tested_is_named_with_its_reason_and_is_not_a_pass() {
    let secure = campaign(false, |_| {}).await;
    assert!(secure.findings.is_empty(), "{:#?}", secure.findings);
    let notes = secure
        .coverage
        .iter()
        .find(|c| c.path == "/notes/{noteId}")
        .unwrap();
    assert!(notes.in_scope && notes.judged > 0, "{notes:?}");
    // Every member's create of a vault answered 403: no vault, so no probe of one.
    let vault = note(&secure, "/vaults/{vaultId}");
    assert!(
        vault.contains("POST /vaults, which it needs, answered 403")
            && vault.contains("campaign.exclude"),
        "{vault}"
    );
    // A ticket's create answered 201 with no id anywhere.
    let ticket = note(&secure, "/tickets/{ticketId}");
    assert!(
        ticket.contains("POST /tickets, which it needs, answered 201 but no id was found")
            && ticket.contains("[[model.ids]]"),
        "{ticket}"
    );
    // Creates take no id: never in scope.
    assert!(
        secure
            .coverage
            .iter()
            .filter(|c| c.method == "POST")
            .all(|c| !c.in_scope)
    );
    assert_eq!(secure.untested().count(), 2);
    let why = secure.incomplete();
    assert!(
        why.len() == 1 && why[0].starts_with("2 of 3 operations that take a resource id"),
        "{why:?}"
    );
    assert!(tenantfuzz::failure_message(&secure).is_some_and(|m| m.contains("untested")));

    // The vulnerable twin: the finding beside the same two untested operations.
    let vulnerable = campaign(true, |_| {}).await;
    assert_eq!(
        crate::support::confirmed_operations(&vulnerable),
        [("GET".to_string(), "/notes/{noteId}".to_string())]
    );
    assert_eq!(vulnerable.untested().count(), 2);

    // Allowed (by count or share) or excluded, the rest is a pass.
    for tune in [
        |s: &mut Settings| s.campaign.max_untested = Allowance::Count(2),
        |s: &mut Settings| s.campaign.max_untested = Allowance::Percent(70.0),
        |s: &mut Settings| {
            s.campaign.exclude = vec!["GET /vaults/{vaultId}".into(), "GET /tickets/*".into()]
        },
    ] {
        let result = campaign(false, tune).await;
        assert!(result.incomplete().is_empty(), "{:?}", result.incomplete());
        assert!(tenantfuzz::failure_message(&result).is_none());
    }
    // A share rounds down: 60% of 3 operations allows 1.
    let result = campaign(false, |s| {
        s.campaign.max_untested = Allowance::Percent(60.0)
    })
    .await;
    assert_eq!(result.untested_allowed, 1);
    assert!(!result.incomplete().is_empty());
}
