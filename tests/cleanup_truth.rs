//! Cleanup tells the truth (issue #25): a delete is counted only when the owner's read-back no
//! longer shows the object; a delete that answered 404 is "already gone", or left when the
//! object still reads; an object of a resource without a delete operation is listed as left;
//! an object two creates were answered with (an upsert) is dealt with once; and the counts add
//! up to the objects the server saw created. The API keeps notes (deletable), memos (no delete
//! operation) and profiles (one per tenant: every create answers the same one; no delete either,
//! as a deletable singleton that parallel probes share makes one probe's victim vanish under
//! another: #23's isolation, not this test's subject).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
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
info: {title: jot, version: '1'}
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
          content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}
  /notes/{noteId}:
    parameters: [{name: noteId, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        '200':
          description: the note
          content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}
        '404': {description: not found}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: not found}
  /memos:
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, required: [text], properties: {text: {type: string}}}}}
      responses:
        '201':
          description: the memo
          content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}
  /memos/{memoId}:
    parameters: [{name: memoId, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        '200':
          description: the memo
          content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}
        '404': {description: not found}
  /profiles:
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, required: [text], properties: {text: {type: string}}}}}
      responses:
        '201':
          description: the caller's one profile, made or updated
          content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}
  /profiles/{profileId}:
    parameters: [{name: profileId, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        '200':
          description: the profile
          content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}
        '404': {description: not found}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    Thing:
      type: object
      properties: {id: {type: string}, text: {type: string}}
"#;

/// How the server's deletes of notes behave.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Deletes {
    /// Deleted, 204.
    Correct,
    /// 204, and the note stays readable (a soft delete that hides nothing).
    Soft,
    /// 404, and the note stays (the delete route looks the note up wrongly).
    Refused,
    /// Deleted, but answered 404 (as if someone had deleted it before).
    Vanished,
}

#[derive(Clone)]
struct App {
    /// Objects by id: (tenant, object).
    objects: Arc<Mutex<BTreeMap<String, (String, Value)>>>,
    /// Every id the server ever created.
    made: Arc<Mutex<BTreeSet<String>>>,
    deletes: Deletes,
}

fn create(
    app: &App,
    headers: &HeaderMap,
    body: &Value,
    prefix: &str,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let me = tenant(headers)?;
    let mut objects = app.objects.lock().unwrap();
    let mut made = app.made.lock().unwrap();
    let id = if prefix == "p" {
        format!("p-{me}")
    } else {
        format!("{prefix}{}", made.len() + 1)
    };
    let object = json!({"id": id, "text": body["text"]});
    objects.insert(id.clone(), (me, object.clone()));
    made.insert(id);
    Ok((StatusCode::CREATED, Json(object)))
}

async fn read(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    match app.objects.lock().unwrap().get(&id) {
        Some((owner, object)) if *owner == me => Ok(Json(object.clone())),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn delete(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> StatusCode {
    let Ok(me) = tenant(&headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    let mut objects = app.objects.lock().unwrap();
    if objects.get(&id).is_none_or(|(owner, _)| *owner != me) {
        return StatusCode::NOT_FOUND;
    }
    let mode = if id.starts_with('n') {
        app.deletes
    } else {
        Deletes::Correct
    };
    match mode {
        Deletes::Correct => {
            objects.remove(&id);
            StatusCode::NO_CONTENT
        }
        Deletes::Soft => StatusCode::NO_CONTENT,
        Deletes::Refused => StatusCode::NOT_FOUND,
        Deletes::Vanished => {
            objects.remove(&id);
            StatusCode::NOT_FOUND
        }
    }
}

/// A campaign against the API; also the ids the server created.
async fn campaign(deletes: Deletes) -> (CampaignResult, BTreeSet<String>) {
    let app = App {
        objects: Arc::default(),
        made: Arc::default(),
        deletes,
    };
    let made = app.made.clone();
    let router = Router::new()
        .route(
            "/notes",
            post(
                |State(app): State<App>, h: HeaderMap, Json(b): Json<Value>| async move {
                    create(&app, &h, &b, "n")
                },
            ),
        )
        .route("/notes/{id}", get(read).delete(delete))
        .route(
            "/memos",
            post(
                |State(app): State<App>, h: HeaderMap, Json(b): Json<Value>| async move {
                    create(&app, &h, &b, "m")
                },
            ),
        )
        .route("/memos/{id}", get(read))
        .route(
            "/profiles",
            post(
                |State(app): State<App>, h: HeaderMap, Json(b): Json<Value>| async move {
                    create(&app, &h, &b, "p")
                },
            ),
        )
        .route("/profiles/{id}", get(read))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut settings = settings(base, "jot.yaml");
    settings.campaign.cases = 0;
    let api = tenantfuzz::spec::load_str(SPEC, "jot.yaml").unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    let made = made.lock().unwrap().clone();
    (result, made)
}

fn left<'a>(result: &'a CampaignResult, resource: &str) -> Vec<&'a str> {
    result
        .cleanup
        .left
        .iter()
        .filter(|l| l.resource == resource)
        .map(|l| l.reason.as_str())
        .collect()
}

/// Every object the server created is counted once: deleted, already gone, or listed left.
fn counts_add_up(result: &CampaignResult, made: &BTreeSet<String>) {
    let c = &result.cleanup;
    let listed: BTreeSet<&str> = c.left.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        listed.len(),
        c.left.len(),
        "each id listed once: {:?}",
        c.left
    );
    assert_eq!(
        c.deleted + c.already_gone + c.left.len(),
        made.len(),
        "{c:?} for {made:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_counts_only_what_the_owners_read_back_no_longer_shows() {
    let (correct, made) = campaign(Deletes::Correct).await;
    assert!(
        correct
            .findings
            .iter()
            .all(|f| f.status != tenantfuzz::finding::Status::Confirmed),
        "{:#?}",
        correct.findings
    );
    counts_add_up(&correct, &made);
    let notes = made.iter().filter(|id| id.starts_with('n')).count();
    let memos = made.iter().filter(|id| id.starts_with('m')).count();
    assert!(notes > 0 && memos > 0, "{made:?}");
    // Notes are deleted (a delete probe's owner control deletes some before the cleanup comes:
    // those are already gone); memos and profiles have no delete operation, and each tenant's
    // one profile, however many creates answered it, is listed once.
    let c = &correct.cleanup;
    assert_eq!(c.deleted + c.already_gone, notes, "{c:?}");
    assert!(c.deleted > c.already_gone, "{c:?}");
    assert_eq!(left(&correct, "profile").len(), 2, "{c:?}");
    let memo_reasons = left(&correct, "memo");
    assert_eq!(memo_reasons.len(), memos);
    assert!(
        memo_reasons
            .iter()
            .all(|r| r.contains("no delete operation for memo")),
        "{memo_reasons:?}"
    );

    // A 204 whose note still reads is not a deletion; a 404 whose note still reads is left,
    // not "already gone".
    for (deletes, said) in [
        (
            Deletes::Soft,
            "answered 204, but the owner's read still shows it",
        ),
        (
            Deletes::Refused,
            "answered 404, but the owner's read still shows it",
        ),
    ] {
        let (result, made) = campaign(deletes).await;
        counts_add_up(&result, &made);
        let reasons = left(&result, "note");
        let notes = made.iter().filter(|id| id.starts_with('n')).count();
        assert_eq!(reasons.len(), notes, "{deletes:?}: {:?}", result.cleanup);
        assert!(reasons.iter().all(|r| r.contains(said)), "{reasons:?}");
        let c = &result.cleanup;
        assert_eq!((c.deleted, c.already_gone), (0, 0), "{deletes:?}: {c:?}");
    }

    // A 404 whose note no longer reads was already gone: not a deletion of the cleanup's.
    let (vanished, made) = campaign(Deletes::Vanished).await;
    counts_add_up(&vanished, &made);
    assert!(left(&vanished, "note").is_empty(), "{:?}", vanished.cleanup);
    let notes = made.iter().filter(|id| id.starts_with('n')).count();
    let c = &vanished.cleanup;
    assert_eq!(c.deleted, 0, "no note was deleted by the cleanup: {c:?}");
    assert_eq!(c.already_gone, notes, "{c:?}");
}
