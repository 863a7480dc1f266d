//! Singular collections (issue #22), as Flask-AppBuilder writes them (Apache Superset's
//! `/api/v1/chart/`): the collection's path is the resource's singular name, its list answers
//! `{count, ids, result: [...]}`, a POST to it creates. A singular path read without an id looks
//! like the caller's own singleton (`/user`, `/account`), and was taken for one: `plan` said the
//! charts were the identities' own and left their writes alone ("a victim's pre-existing
//! chart"), and `result` was no list wrapper, so no chart was ever discovered. The plan must list
//! charts through `result`, have no self answer, and plan the writes; the campaign must attack
//! `PUT` and `DELETE /api/v1/chart/{pk}`:
//! - vulnerable: any tenant's chart is changed and deleted by id: two findings;
//! - secure: each tenant reaches only its own charts: none, both operations judged;
//! - shared: every tenant reads every chart by design (lists and reads), writes are the owner's:
//!   none either, both operations judged.
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
info: {title: charts, version: '1'}
security: [{key: []}]
paths:
  /api/v1/chart/:
    get:
      responses:
        '200':
          description: the charts the caller may see
          content:
            application/json:
              schema:
                type: object
                properties:
                  count: {type: number}
                  ids: {type: array, items: {type: string}}
                  result: {type: array, items: {$ref: '#/components/schemas/Chart'}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ChartPost'}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: number}
                  result: {$ref: '#/components/schemas/ChartPost'}
  /api/v1/chart/{pk}:
    parameters:
      - {name: pk, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the chart
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: number}
                  result: {$ref: '#/components/schemas/Chart'}
        '404': {description: not found}
    put:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ChartPost'}
      responses:
        '200': {description: changed}
        '404': {description: not found}
    delete:
      responses:
        '200': {description: deleted}
        '404': {description: not found}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    ChartPost:
      type: object
      required: [slice_name]
      properties:
        slice_name: {type: string}
        description: {type: string}
    Chart:
      type: object
      properties:
        id: {type: integer}
        slice_name: {type: string}
        description: {type: string}
"#;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Vulnerable,
    Secure,
    Shared,
}

/// id -> (tenant, chart)
type Charts = Arc<Mutex<BTreeMap<u64, (String, Value)>>>;

#[derive(Clone)]
struct App {
    charts: Charts,
    next: Arc<Mutex<u64>>,
    mode: Mode,
}

impl App {
    fn may_read(&self, owner: &str, me: &str) -> bool {
        owner == me || self.mode == Mode::Shared
    }

    /// The planted bug: writes and deletes of any tenant's chart.
    fn may_write(&self, owner: &str, me: &str) -> bool {
        owner == me || self.mode == Mode::Vulnerable
    }
}

fn chart(id: u64, body: &Value) -> Value {
    json!({
        "id": id,
        "slice_name": body.get("slice_name").cloned().unwrap_or(Value::Null),
        "description": body.get("description").cloned().unwrap_or(Value::Null),
    })
}

async fn list(State(app): State<App>, headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let charts = app.charts.lock().unwrap();
    let seen: Vec<&Value> = charts
        .values()
        .filter(|(t, _)| app.may_read(t, &me))
        .map(|(_, c)| c)
        .collect();
    let ids: Vec<String> = seen.iter().map(|c| c["id"].to_string()).collect();
    Ok(Json(
        json!({"count": seen.len(), "ids": ids, "result": seen}),
    ))
}

async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let me = tenant(&headers)?;
    if !body.get("slice_name").is_some_and(Value::is_string) {
        return Err(StatusCode::BAD_REQUEST);
    }
    let id = {
        let mut next = app.next.lock().unwrap();
        *next += 1;
        *next
    };
    let c = chart(id, &body);
    app.charts.lock().unwrap().insert(id, (me, c.clone()));
    Ok((StatusCode::CREATED, Json(json!({"id": id, "result": c}))))
}

async fn read(
    State(app): State<App>,
    headers: HeaderMap,
    Path(pk): Path<u64>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let charts = app.charts.lock().unwrap();
    match charts.get(&pk) {
        Some((t, c)) if app.may_read(t, &me) => Ok(Json(json!({"id": pk, "result": c}))),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn update(
    State(app): State<App>,
    headers: HeaderMap,
    Path(pk): Path<u64>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let mut charts = app.charts.lock().unwrap();
    match charts.get_mut(&pk) {
        Some((t, c)) if app.may_write(t, &me) => {
            *c = chart(pk, &body);
            Ok(Json(json!({"id": pk, "result": c})))
        }
        Some((t, _)) if app.may_read(t, &me) => Err(StatusCode::FORBIDDEN),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn delete(
    State(app): State<App>,
    headers: HeaderMap,
    Path(pk): Path<u64>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let mut charts = app.charts.lock().unwrap();
    match charts.get(&pk) {
        Some((t, _)) if app.may_write(t, &me) => {
            charts.remove(&pk);
            Ok(Json(json!({"message": "OK"})))
        }
        Some((t, _)) if app.may_read(t, &me) => Err(StatusCode::FORBIDDEN),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

/// The campaign against the server, and how many charts it left.
async fn campaign(mode: Mode) -> (CampaignResult, usize) {
    let app = App {
        charts: Arc::default(),
        next: Arc::default(),
        mode,
    };
    let router = Router::new()
        .route("/api/v1/chart/", get(list).post(create))
        .route("/api/v1/chart/{pk}", get(read).put(update).delete(delete))
        .with_state(app.clone());
    let result = crate::support::keyed::campaign(router, SPEC, "charts.yaml").await;
    let left = app.charts.lock().unwrap().len();
    (result, left)
}

fn confirmed(result: &CampaignResult) -> Vec<(String, String, String)> {
    let mut found: Vec<_> = result
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
    found.sort();
    found.dedup();
    found
}

/// Both writes of another tenant's chart were tried and judged.
fn writes_judged(result: &CampaignResult) {
    for method in ["PUT", "DELETE"] {
        let c = result
            .coverage
            .iter()
            .find(|c| c.method == method && c.path == "/api/v1/chart/{pk}")
            .unwrap();
        assert!(c.attacked && c.judged > 0, "{c:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_singular_collection_is_no_singleton_and_its_charts_are_attacked() {
    let (result, left) = campaign(Mode::Vulnerable).await;
    let found = confirmed(&result);
    assert_eq!(
        found,
        vec![
            (
                "bola-delete".to_string(),
                "DELETE".to_string(),
                "/api/v1/chart/{pk}".to_string()
            ),
            (
                "bola-write".to_string(),
                "PUT".to_string(),
                "/api/v1/chart/{pk}".to_string()
            ),
        ],
        "{:#?}",
        result.findings
    );
    assert_eq!(left, 0, "{:?}", result.cleanup);

    for mode in [Mode::Secure, Mode::Shared] {
        let (result, left) = campaign(mode).await;
        assert!(result.findings.is_empty(), "{:#?}", result.findings);
        writes_judged(&result);
        assert_eq!(left, 0, "{:?}", result.cleanup);
    }
}

/// What `plan` shows before anything is sent: the collection lists charts (through `result`),
/// it is no self answer, and the writes are planned, not "a victim's pre-existing chart".
#[test]
fn the_plan_lists_charts_through_result_and_attacks_their_writes() {
    let api = tenantfuzz::spec::load_str(SPEC, "charts.yaml").unwrap();
    let c = Campaign::with_api(settings("http://127.0.0.1:9".into(), "charts.yaml"), api).unwrap();
    let label = |op: usize| c.api.operations[op].label();
    let chart = c.model.resource("chart").unwrap();
    let lists: Vec<(String, String)> = c
        .model
        .discoveries
        .iter()
        .filter(|d| d.resource == chart)
        .map(|d| (label(d.op), d.array_pointer.clone()))
        .collect();
    assert_eq!(
        lists,
        [("GET /api/v1/chart/".to_string(), "/result".to_string())]
    );
    assert!(c.model.selves.is_empty(), "{:?}", c.model.selves);
    let plan = c.plan(None);
    let gaps: Vec<String> = plan.gaps.iter().map(|g| label(g.op)).collect();
    assert_eq!(gaps, ["POST /api/v1/chart/"], "{:?}", plan.gaps);
}
