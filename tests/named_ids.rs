//! Resources addressed by a name rather than an id (`/tags/{name}`, as Kubernetes objects, tags
//! or user names are): the campaign creates tags with names of its own, finds them by the name
//! the answer gives back, and attacks `GET /tags/{name}` with the other tenant's. Against a
//! server that shows any tenant's tag it confirms that; against one that shows each tenant only
//! its own it finds nothing.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};
use tenantfuzz::campaign::Campaign;
use tenantfuzz::finding::Status;
use tenantfuzz::outcome::CampaignResult;

use crate::support::keyed::{settings, tenant};

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: tags, version: '1'}
security: [{key: []}]
paths:
  /tags:
    get:
      responses:
        '200':
          description: the caller's tags
          content:
            application/json:
              schema:
                type: object
                properties:
                  tags:
                    type: array
                    items: {$ref: '#/components/schemas/Tag'}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name, note]
              properties:
                name: {type: string}
                note: {type: string}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Tag'}
        '409': {description: the name is taken}
  /tags/{name}:
    parameters:
      - {name: name, in: path, required: true, schema: {type: string}}
    get:
      responses:
        '200':
          description: the tag
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Tag'}
        '404': {description: no such tag}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: no such tag}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    Tag:
      type: object
      properties:
        name: {type: string}
        note: {type: string}
"#;

/// name -> (tenant, note)
type Tags = Arc<Mutex<BTreeMap<String, (String, String)>>>;

#[derive(Clone)]
struct App {
    tags: Tags,
    vulnerable: bool,
}

async fn list(State(app): State<App>, headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let tags = app.tags.lock().unwrap();
    let mine: Vec<Value> = tags
        .iter()
        .filter(|(_, (t, _))| *t == me)
        .map(|(n, (_, note))| json!({"name": n, "note": note}))
        .collect();
    Ok(Json(json!({ "tags": mine })))
}

async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let me = tenant(&headers)?;
    let (Some(name), Some(note)) = (body["name"].as_str(), body["note"].as_str()) else {
        return Err(StatusCode::BAD_REQUEST);
    };
    let mut tags = app.tags.lock().unwrap();
    if name.is_empty() || tags.contains_key(name) {
        return Err(StatusCode::CONFLICT);
    }
    tags.insert(name.to_string(), (me, note.to_string()));
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": name, "note": note})),
    ))
}

async fn read(
    State(app): State<App>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let tags = app.tags.lock().unwrap();
    match tags.get(&name) {
        // The planted bug: any tenant's tag, by its name.
        Some((t, note)) if *t == me || app.vulnerable => {
            Ok(Json(json!({"name": name, "note": note})))
        }
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn delete(
    State(app): State<App>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> StatusCode {
    let Ok(me) = tenant(&headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    let mut tags = app.tags.lock().unwrap();
    match tags.get(&name) {
        Some((t, _)) if *t == me => {
            tags.remove(&name);
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::NOT_FOUND,
    }
}

async fn campaign(vulnerable: bool) -> (CampaignResult, usize) {
    let app = App {
        tags: Arc::default(),
        vulnerable,
    };
    let router = Router::new()
        .route("/tags", get(list).post(create))
        .route("/tags/{name}", get(read).delete(delete))
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let settings = settings(base, "tags.yaml");
    settings.validate().unwrap();
    let api = tenantfuzz::spec::load_str(SPEC, "tags.yaml").unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    let left = app.tags.lock().unwrap().len();
    (result, left)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_read_by_another_tenants_name_is_found_and_nothing_on_the_correct_server() {
    let (result, left) = campaign(true).await;
    let found: Vec<(String, String, String)> = result
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
        .collect();
    assert!(
        found
            .iter()
            .any(|(_, m, p)| m == "GET" && p == "/tags/{name}"),
        "{found:?}"
    );
    assert!(
        found.iter().all(|(_, _, p)| p == "/tags/{name}"),
        "{found:?}"
    );
    // The campaign deleted the tags it made, by their names.
    assert_eq!(left, 0, "{:?}", result.cleanup);
    let (secure, left) = campaign(false).await;
    assert!(secure.findings.is_empty(), "{:#?}", secure.findings);
    assert!(
        secure
            .coverage
            .iter()
            .any(|c| c.attacked && c.path == "/tags/{name}"),
        "{:?}",
        secure.coverage
    );
    assert_eq!(left, 0);
}
