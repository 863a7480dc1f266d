//! Ids that only the caller's own answer carries (issue #22, shape 1): `GET /user` answers the
//! caller's user name and organization id, and nothing else says which user or organization is
//! whose (users cannot be created by these identities: `POST /users` is for admins; no list of
//! organizations exists). Keys live under `/users/{name}/keys`, projects under
//! `/orgs/{orgId}/projects`. The campaign must take each identity's own name and organization
//! from its own answer, create keys and projects there, and attack them: findings where another
//! user's keys or another organization's projects are shown or another user's key is revoked
//! by its path (`/users/{victim}/keys/{victim's key}`), silence where they are not.
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
use tenantfuzz::outcome::CampaignResult;

use crate::support::keyed::{settings, tenant};

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: hub, version: '1'}
security: [{key: []}]
paths:
  /user:
    get:
      responses:
        '200':
          description: the caller
          content:
            application/json:
              schema:
                type: object
                properties:
                  name: {type: string}
                  org_id: {type: integer}
  /users:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string}}}
      responses:
        '201':
          description: the new user (admins only)
          content:
            application/json:
              schema: {type: object, properties: {name: {type: string}}}
        '403': {description: not an admin}
  /users/{name}:
    parameters:
      - {name: name, in: path, required: true, schema: {type: string}}
    patch:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, properties: {display: {type: string}}}
      responses:
        '200': {description: the user, changed}
        '403': {description: not an admin}
  /users/{name}/keys:
    parameters:
      - {name: name, in: path, required: true, schema: {type: string}}
    get:
      responses:
        '200':
          description: the user's keys
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Key'}}
        '404': {description: no such user}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [label], properties: {label: {type: string}}}
      responses:
        '201':
          description: the key
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Key'}
  /users/{name}/keys/{keyId}:
    parameters:
      - {name: name, in: path, required: true, schema: {type: string}}
      - {name: keyId, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the key
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Key'}
        '404': {description: no such key}
    delete:
      responses:
        '204': {description: revoked}
        '404': {description: no such key}
  /orgs/{orgId}/projects:
    parameters:
      - {name: orgId, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the organization's projects
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Project'}}
        '404': {description: no such organization}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [title], properties: {title: {type: string}}}
      responses:
        '201':
          description: the project
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Project'}
  /orgs/{orgId}/projects/{projectId}:
    parameters:
      - {name: orgId, in: path, required: true, schema: {type: integer}}
      - {name: projectId, in: path, required: true, schema: {type: integer}}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: no such project}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    Key:
      type: object
      properties:
        id: {type: integer}
        label: {type: string}
    Project:
      type: object
      properties:
        id: {type: integer}
        title: {type: string}
"#;

/// id -> (owner: user name or org id, object)
type Store = Arc<Mutex<BTreeMap<u64, (String, Value)>>>;

#[derive(Clone)]
struct App {
    keys: Store,
    projects: Store,
    next: Arc<Mutex<u64>>,
    vulnerable: bool,
}

/// The caller's user name and organization, from its key's tenant.
fn me(headers: &HeaderMap) -> Result<(String, u64), StatusCode> {
    Ok(match tenant(headers)?.as_str() {
        "north" => ("alice".into(), 71),
        _ => ("bob".into(), 72),
    })
}

impl App {
    fn id(&self) -> u64 {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        500 + *next
    }

    fn add(&self, store: &Store, owner: String, mut object: Value) -> (StatusCode, Json<Value>) {
        let id = self.id();
        object["id"] = json!(id);
        store.lock().unwrap().insert(id, (owner, object.clone()));
        (StatusCode::CREATED, Json(object))
    }

    fn list(&self, store: &Store, owner: &str) -> Json<Value> {
        let all = store.lock().unwrap();
        Json(Value::Array(
            all.values()
                .filter(|(o, _)| o == owner)
                .map(|(_, v)| v.clone())
                .collect(),
        ))
    }

    fn remove(&self, store: &Store, owner: &str, id: u64) -> StatusCode {
        let mut all = store.lock().unwrap();
        match all.get(&id) {
            Some((o, _)) if o == owner => {
                all.remove(&id);
                StatusCode::NO_CONTENT
            }
            _ => StatusCode::NOT_FOUND,
        }
    }
}

async fn whoami(headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    let (name, org) = me(&headers)?;
    Ok(Json(json!({"name": name, "org_id": org})))
}

async fn create_user(headers: HeaderMap) -> StatusCode {
    match me(&headers) {
        Ok(_) => StatusCode::FORBIDDEN,
        Err(status) => status,
    }
}

async fn list_keys(
    State(app): State<App>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let (mine, _) = me(&headers)?;
    // The planted bug: any user's keys.
    if name != mine && !app.vulnerable {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(app.list(&app.keys, &name))
}

async fn create_key(
    State(app): State<App>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let (mine, _) = me(&headers)?;
    if name != mine {
        return Err(StatusCode::FORBIDDEN);
    }
    let label = body["label"].as_str().ok_or(StatusCode::BAD_REQUEST)?;
    Ok(app.add(&app.keys, name, json!({"label": label})))
}

async fn read_key(
    State(app): State<App>,
    headers: HeaderMap,
    Path((name, key)): Path<(String, u64)>,
) -> Result<Json<Value>, StatusCode> {
    let (mine, _) = me(&headers)?;
    let keys = app.keys.lock().unwrap();
    match keys.get(&key) {
        Some((owner, k)) if *owner == name && name == mine => Ok(Json(k.clone())),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn delete_key(
    State(app): State<App>,
    headers: HeaderMap,
    Path((name, key)): Path<(String, u64)>,
) -> StatusCode {
    match me(&headers) {
        // The planted bug: any user's key, named under that user (the caller's own name with
        // another's key finds nothing: only every id the victim's shows it).
        Ok((mine, _)) if mine == name || app.vulnerable => app.remove(&app.keys, &name, key),
        Ok(_) => StatusCode::NOT_FOUND,
        Err(status) => status,
    }
}

async fn list_projects(
    State(app): State<App>,
    headers: HeaderMap,
    Path(org): Path<u64>,
) -> Result<Json<Value>, StatusCode> {
    let (_, mine) = me(&headers)?;
    // The planted bug: any organization's projects.
    if org != mine && !app.vulnerable {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(app.list(&app.projects, &org.to_string()))
}

async fn create_project(
    State(app): State<App>,
    headers: HeaderMap,
    Path(org): Path<u64>,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let (_, mine) = me(&headers)?;
    if org != mine {
        return Err(StatusCode::NOT_FOUND);
    }
    let title = body["title"].as_str().ok_or(StatusCode::BAD_REQUEST)?;
    Ok(app.add(&app.projects, org.to_string(), json!({"title": title})))
}

async fn delete_project(
    State(app): State<App>,
    headers: HeaderMap,
    Path((org, project)): Path<(u64, u64)>,
) -> StatusCode {
    match me(&headers) {
        Ok((_, mine)) if mine == org => app.remove(&app.projects, &org.to_string(), project),
        Ok(_) => StatusCode::NOT_FOUND,
        Err(status) => status,
    }
}

/// The campaign against the server, and how many keys and projects it left.
async fn campaign(vulnerable: bool) -> (CampaignResult, usize) {
    let app = App {
        keys: Arc::default(),
        projects: Arc::default(),
        next: Arc::default(),
        vulnerable,
    };
    let router = Router::new()
        .route("/user", get(whoami))
        .route("/users", post(create_user))
        .route("/users/{name}", axum::routing::patch(create_user))
        .route("/users/{name}/keys", get(list_keys).post(create_key))
        .route(
            "/users/{name}/keys/{keyId}",
            get(read_key).delete(delete_key),
        )
        .route(
            "/orgs/{orgId}/projects",
            get(list_projects).post(create_project),
        )
        .route(
            "/orgs/{orgId}/projects/{projectId}",
            axum::routing::delete(delete_project),
        )
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut settings = settings(base, "hub.yaml");
    // The systematic plan alone must find them: no exploration to stumble on one.
    settings.campaign.cases = 0;
    let api = tenantfuzz::spec::load_str(SPEC, "hub.yaml").unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    let left = app.keys.lock().unwrap().len() + app.projects.lock().unwrap().len();
    (result, left)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_own_name_and_organization_come_from_its_own_answer() {
    let (result, left) = campaign(true).await;
    let found = crate::support::confirmed_operations(&result);
    assert_eq!(
        found,
        [
            (
                "DELETE".to_string(),
                "/users/{name}/keys/{keyId}".to_string()
            ),
            ("GET".to_string(), "/orgs/{orgId}/projects".to_string()),
            ("GET".to_string(), "/users/{name}/keys".to_string()),
        ],
        "{:#?}",
        result.findings
    );
    assert_eq!(left, 0, "{:?}", result.cleanup);

    let (secure, left) = campaign(false).await;
    assert!(secure.findings.is_empty(), "{:#?}", secure.findings);
    for path in ["/users/{name}/keys", "/orgs/{orgId}/projects"] {
        let list = secure
            .coverage
            .iter()
            .find(|c| c.method == "GET" && c.path == path)
            .unwrap();
        assert!(list.attacked && list.judged > 0, "{list:?}");
    }
    // The user itself is the victim's own account: nothing creates one, and the campaign
    // does not change what it did not create, and says so.
    let account = secure
        .coverage
        .iter()
        .find(|c| c.method == "PATCH" && c.path == "/users/{name}")
        .unwrap();
    assert!(!account.attacked, "{account:?}");
    assert!(
        account
            .note
            .as_deref()
            .is_some_and(|n| n.contains("pre-existing user") && n.contains("mutate_seeded")),
        "{account:?}"
    );
    assert_eq!(left, 0, "{:?}", secure.cleanup);
}
