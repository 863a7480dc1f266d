//! Write-only resources (issue #22): n8n's credentials, like many secrets, API keys and
//! webhook endpoints, are created and deleted but never read back (`POST /credentials`,
//! `DELETE /credentials/{id}`, no GET). A delete was only ever judged by the owner's read-back,
//! so another tenant's credential deleted by id was never tried ("no victim resource could be
//! created"). The owner's own delete is the witness: its delete of a second credential of its
//! own works (the control), and after the attack its delete of the attacked one answers 404
//! only if the attacker's delete took it.
//! - vulnerable: any tenant deletes any credential by id: one `bola-delete`;
//! - secure: another tenant's delete answers 404 and leaves it: none, the delete judged;
//! - ignoring: every delete answers 204, another tenant's deletes nothing (an ignored write):
//!   none either.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, post};
use serde_json::{Value, json};
use tenantfuzz::finding::Status;
use tenantfuzz::outcome::CampaignResult;

use crate::support::keyed::tenant;

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: credentials, version: '1'}
security: [{key: []}]
paths:
  /credentials:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name, type, data]
              properties:
                name: {type: string}
                type: {type: string}
                data: {type: object, additionalProperties: {}}
      responses:
        '200':
          description: created (the secret is never shown again)
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: string}
                  name: {type: string}
                  type: {type: string}
  /credentials/{id}:
    delete:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200': {description: deleted}
        '404': {description: not found}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
"#;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Vulnerable,
    Secure,
    Ignoring,
}

/// id -> tenant
type Credentials = Arc<Mutex<BTreeMap<String, String>>>;

#[derive(Clone)]
struct App {
    credentials: Credentials,
    next: Arc<Mutex<u64>>,
    mode: Mode,
}

async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let (Some(name), Some(kind)) = (body["name"].as_str(), body["type"].as_str()) else {
        return Err(StatusCode::BAD_REQUEST);
    };
    let id = {
        let mut next = app.next.lock().unwrap();
        *next += 1;
        format!("cred{:04}", *next)
    };
    app.credentials.lock().unwrap().insert(id.clone(), me);
    Ok(Json(json!({"id": id, "name": name, "type": kind})))
}

async fn remove(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let mut all = app.credentials.lock().unwrap();
    let mine = all.get(&id).is_some_and(|t| *t == me);
    match app.mode {
        // The planted bug: anyone's, by id.
        Mode::Vulnerable if all.remove(&id).is_some() => Ok(Json(json!({"id": id}))),
        Mode::Vulnerable | Mode::Secure if !mine => Err(StatusCode::NOT_FOUND),
        Mode::Vulnerable | Mode::Secure => {
            all.remove(&id);
            Ok(Json(json!({"id": id})))
        }
        // Every delete "works": the caller's own is removed, another's stays.
        Mode::Ignoring => {
            if mine {
                all.remove(&id);
            }
            Ok(Json(json!({"id": id})))
        }
    }
}

/// The campaign against the server, and how many credentials it left.
async fn campaign(mode: Mode) -> (CampaignResult, usize) {
    let app = App {
        credentials: Arc::default(),
        next: Arc::default(),
        mode,
    };
    let router = Router::new()
        .route("/credentials", post(create))
        .route("/credentials/{id}", delete(remove))
        .with_state(app.clone());
    let result = crate::support::keyed::campaign(router, SPEC, "credentials.yaml").await;
    let left = app.credentials.lock().unwrap().len();
    (result, left)
}

fn judged(result: &CampaignResult) -> u64 {
    result
        .coverage
        .iter()
        .find(|c| c.method == "DELETE" && c.path == "/credentials/{id}")
        .map(|c| {
            assert!(c.attacked, "{c:?}");
            c.judged
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_no_get_reads_is_deleted_by_another_tenant_and_its_owner_tells() {
    let (result, left) = campaign(Mode::Vulnerable).await;
    let found: Vec<_> = result
        .findings
        .iter()
        .filter(|f| f.status == Status::Confirmed)
        .map(|f| {
            (
                f.kind.as_str(),
                f.operation.method.as_str(),
                f.operation.path.as_str(),
            )
        })
        .collect();
    assert!(
        !found.is_empty()
            && found
                .iter()
                .all(|f| *f == ("bola-delete", "DELETE", "/credentials/{id}")),
        "{:#?}",
        result.findings
    );
    assert!(
        result.findings[0].evidence.contains("deleted it itself"),
        "{}",
        result.findings[0].evidence
    );
    assert_eq!(left, 0, "{:?}", result.cleanup);

    for mode in [Mode::Secure, Mode::Ignoring] {
        let (result, left) = campaign(mode).await;
        assert!(result.findings.is_empty(), "{:#?}", result.findings);
        assert!(judged(&result) > 0);
        assert_eq!(left, 0, "{:?}", result.cleanup);
    }
}
