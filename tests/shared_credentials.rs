//! Credentials are never shared by design (#23, #24). NetBox's API tokens (`/api/users/tokens/`)
//! are each user's own; with the view constraint removed (field-trial mutant m6) every user reads
//! every token, by id and in the list, exactly as every user reads every bookmark of an API that
//! shares bookmarks. Measured visibility calls both "shared by behaviour", and the token leak was
//! dropped as by design. A credential every identity can read is a leak of it however evenly the
//! API leaks it:
//! - vulnerable: every tenant reads every token (and every bookmark, by design): the token reads
//!   are findings, the bookmarks none;
//! - secure: tokens are their owner's, bookmarks still shared: no finding, the token reads judged.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};

use crate::support::keyed::tenant;
use crate::support::truth::confirmed_ops as confirmed;

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: tokens and bookmarks, version: '1'}
security: [{key: []}]
paths:
  /tokens/:
    get:
      responses:
        '200':
          description: the tokens the caller may see
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Token'}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/New'}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Token'}
  /tokens/{id}/:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the token
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Token'}
        '404': {description: not found}
  /bookmarks/:
    get:
      responses:
        '200':
          description: every bookmark
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Bookmark'}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/New'}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Bookmark'}
  /bookmarks/{id}/:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the bookmark
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Bookmark'}
        '404': {description: not found}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    New:
      type: object
      required: [description]
      properties:
        description: {type: string}
    Token:
      type: object
      properties:
        id: {type: integer}
        description: {type: string}
        key: {type: string, readOnly: true}
    Bookmark:
      type: object
      properties:
        id: {type: integer}
        description: {type: string}
"#;

/// (collection, id) -> (tenant, object)
type Store = Arc<Mutex<BTreeMap<(String, u64), (String, Value)>>>;

#[derive(Clone)]
struct App {
    store: Store,
    next: Arc<Mutex<u64>>,
    /// Every tenant reads every token (the planted bug); bookmarks are shared regardless.
    vulnerable: bool,
}

impl App {
    fn may_read(&self, kind: &str, owner: &str, me: &str) -> bool {
        owner == me || kind == "bookmarks" || self.vulnerable
    }
}

async fn list(
    State(app): State<App>,
    Path(kind): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let store = app.store.lock().unwrap();
    let seen: Vec<Value> = store
        .iter()
        .filter(|((k, _), (owner, _))| *k == kind && app.may_read(&kind, owner, &me))
        .map(|(_, (_, v))| v.clone())
        .collect();
    Ok(Json(Value::Array(seen)))
}

async fn create(
    State(app): State<App>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let me = tenant(&headers)?;
    let description = body
        .get("description")
        .and_then(Value::as_str)
        .ok_or(StatusCode::BAD_REQUEST)?;
    let id = {
        let mut next = app.next.lock().unwrap();
        *next += 1;
        *next
    };
    let mut object = json!({"id": id, "description": description});
    if kind == "tokens" {
        object["key"] = json!(format!("nbt_{id:08}abcdef"));
    }
    app.store
        .lock()
        .unwrap()
        .insert((kind, id), (me, object.clone()));
    Ok((StatusCode::CREATED, Json(object)))
}

async fn read(
    State(app): State<App>,
    Path((kind, id)): Path<(String, u64)>,
    headers: HeaderMap,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let store = app.store.lock().unwrap();
    match store.get(&(kind.clone(), id)) {
        Some((owner, v)) if app.may_read(&kind, owner, &me) => Ok(Json(v.clone())),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

fn router(vulnerable: bool) -> Router {
    let app = App {
        store: Arc::default(),
        next: Arc::default(),
        vulnerable,
    };
    Router::new()
        .route("/{kind}/", get(list).post(create))
        .route("/{kind}/{id}/", get(read))
        .with_state(app)
}

#[tokio::test]
async fn a_token_every_tenant_reads_is_a_leak_a_shared_bookmark_is_not() {
    let result = crate::support::keyed::campaign(router(true), SPEC, "credentials.yaml").await;
    let found = confirmed(&result);
    assert!(
        found
            .iter()
            .any(|(kind, m, p)| kind == "bola-read" && m == "GET" && p == "/tokens/{id}/"),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(_, _, p)| p.starts_with("/bookmarks")),
        "shared bookmarks are no finding: {found:?}"
    );

    let result = crate::support::keyed::campaign(router(false), SPEC, "credentials.yaml").await;
    assert_eq!(confirmed(&result), Vec::<(String, String, String)>::new());
    let judged = result
        .coverage
        .iter()
        .find(|c| c.method == "GET" && c.path == "/tokens/{id}/")
        .map(|c| c.judged);
    assert!(judged.is_some_and(|j| j > 0), "{judged:?}");
}
