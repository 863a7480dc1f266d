//! Markers in every free-text field, whatever the schema shape (#22, shape 7): a FastAPI-shaped
//! API, whose every field is `anyOf: [{type: string}, {type: 'null'}]` (as FastAPI writes an
//! `Optional[str]`) and whose one required field is an e-mail of that shape too. The campaign must
//! carry markers in them (the e-mail's in its local part: the server checks it is an e-mail) and
//! find the contact any tenant can read on the vulnerable server; stay silent where each tenant
//! sees only its own; and never report the cards, which anyone may read by design (the spec says
//! so, `security: []`, and the server does so).
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
{"openapi": "3.1.0",
 "info": {"title": "contacts", "version": "0.1.0"},
 "security": [{"key": []}],
 "paths": {
  "/contacts/": {"post": {
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ContactCreate"}}}},
    "responses": {"200": {"description": "Successful Response", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Contact"}}}},
                  "422": {"description": "Validation Error"}}}},
  "/contacts/{contact_id}": {
   "get": {"parameters": [{"name": "contact_id", "in": "path", "required": true, "schema": {"type": "integer", "title": "Contact Id"}}],
    "responses": {"200": {"description": "Successful Response", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Contact"}}}},
                  "404": {"description": "Not Found"}}},
   "delete": {"parameters": [{"name": "contact_id", "in": "path", "required": true, "schema": {"type": "integer", "title": "Contact Id"}}],
    "responses": {"204": {"description": "Successful Response"}}}},
  "/cards/": {"post": {
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ContactCreate"}}}},
    "responses": {"200": {"description": "Successful Response", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Contact"}}}}}}},
  "/cards/{card_id}": {
   "get": {"security": [], "parameters": [{"name": "card_id", "in": "path", "required": true, "schema": {"type": "integer", "title": "Card Id"}}],
    "responses": {"200": {"description": "Successful Response", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Contact"}}}}}},
   "delete": {"parameters": [{"name": "card_id", "in": "path", "required": true, "schema": {"type": "integer", "title": "Card Id"}}],
    "responses": {"204": {"description": "Successful Response"}}}}
 },
 "components": {
  "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
  "schemas": {
   "ContactCreate": {"type": "object", "title": "ContactCreate", "required": ["email"], "properties": {
     "email": {"anyOf": [{"type": "string", "format": "email"}, {"type": "null"}], "title": "Email"},
     "display": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Display"},
     "notes": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Notes"}}},
   "Contact": {"type": "object", "title": "Contact", "required": ["id", "email"], "properties": {
     "id": {"type": "integer", "title": "Id"},
     "email": {"anyOf": [{"type": "string", "format": "email"}, {"type": "null"}], "title": "Email"},
     "display": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Display"},
     "notes": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Notes"}}}
  }}}
"##;

/// id -> (tenant, object)
type Store = Arc<Mutex<BTreeMap<u64, (String, Value)>>>;

#[derive(Clone)]
struct App {
    contacts: Store,
    cards: Store,
    next: Arc<Mutex<u64>>,
    vulnerable: bool,
}

/// Keeps what FastAPI's model keeps: the three fields, the e-mail checked for an `@` with a
/// name before it (422 otherwise, as pydantic's `EmailStr`), nothing else.
fn create(
    app: &App,
    store: &Store,
    headers: &HeaderMap,
    body: &Value,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(headers)?;
    let email = body
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if email
        .split_once('@')
        .is_none_or(|(name, host)| name.is_empty() || !host.contains('.'))
    {
        return Err(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let id = {
        let mut next = app.next.lock().unwrap();
        *next += 1;
        *next
    };
    let field = |k: &str| {
        body.get(k)
            .filter(|v| v.is_string())
            .cloned()
            .unwrap_or(Value::Null)
    };
    let object =
        json!({"id": id, "email": email, "display": field("display"), "notes": field("notes")});
    store.lock().unwrap().insert(id, (me, object.clone()));
    Ok(Json(object))
}

fn remove(store: &Store, headers: &HeaderMap, id: u64) -> StatusCode {
    let Ok(me) = tenant(headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    let mut all = store.lock().unwrap();
    match all.get(&id) {
        Some((t, _)) if *t == me => {
            all.remove(&id);
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::NOT_FOUND,
    }
}

async fn create_contact(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    create(&app, &app.contacts, &headers, &body)
}

async fn read_contact(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    match app.contacts.lock().unwrap().get(&id) {
        // The planted bug: any tenant's contact, by its id.
        Some((t, object)) if *t == me || app.vulnerable => Ok(Json(object.clone())),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn delete_contact(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> StatusCode {
    remove(&app.contacts, &headers, id)
}

async fn create_card(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    create(&app, &app.cards, &headers, &body)
}

/// Public by design: anyone reads any card, with credentials or without.
async fn read_card(State(app): State<App>, Path(id): Path<u64>) -> Result<Json<Value>, StatusCode> {
    app.cards
        .lock()
        .unwrap()
        .get(&id)
        .map(|(_, o)| Json(o.clone()))
        .ok_or(StatusCode::NOT_FOUND)
}

async fn delete_card(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> StatusCode {
    remove(&app.cards, &headers, id)
}

/// The campaign against the server.
async fn campaign(vulnerable: bool) -> CampaignResult {
    let app = App {
        contacts: Arc::default(),
        cards: Arc::default(),
        next: Arc::default(),
        vulnerable,
    };
    let router = Router::new()
        .route("/contacts/", post(create_contact))
        .route(
            "/contacts/{contact_id}",
            get(read_contact).delete(delete_contact),
        )
        .route("/cards/", post(create_card))
        .route("/cards/{card_id}", get(read_card).delete(delete_card))
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let settings = settings(base, "contacts.json");
    let api = tenantfuzz::spec::load_str(SPEC, "contacts.json").unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    result
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
async fn markers_in_nullable_fields_find_the_contact_any_tenant_reads_and_public_cards_stay_silent()
{
    let result = campaign(true).await;
    let found = confirmed(&result);
    assert!(
        found.contains(&(
            "bola-read".into(),
            "GET".into(),
            "/contacts/{contact_id}".into()
        )),
        "{found:?}"
    );
    // Every finding is the planted one: the public cards are never reported.
    assert!(
        found.iter().all(|(_, _, p)| p == "/contacts/{contact_id}"),
        "{found:?}"
    );

    let secure = campaign(false).await;
    assert!(secure.findings.is_empty(), "{:#?}", secure.findings);
    for path in ["/contacts/{contact_id}", "/cards/{card_id}"] {
        let read = secure
            .coverage
            .iter()
            .find(|c| c.method == "GET" && c.path == path)
            .unwrap();
        assert!(read.attacked && read.judged > 0, "{read:?}");
    }
}
