//! Webhook signatures on events that set a state (#24): a payment provider's event marks an
//! invoice `paid`. Once the signed control has paid the owner's invoice a forged event has
//! nothing left to change there, so each forgery names a fresh invoice of the owner's, still
//! `open`, and its read moving to `paid` is the evidence. Two shapes of event: a flat one whose
//! `status` is an enum of one value, and a nested one (`data.invoice_id`, `data.status`) whose
//! state is what the spec's example gives. The receiver verifies nothing (`webhook-unsigned`),
//! verifies the signature (silent), answers 200 to any event but applies only signed ones and
//! counts every delivery on the invoice (silent: accepted is not applied), or ignores every
//! event (not judged, and the run says so).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tenantfuzz::campaign::Campaign;
use tenantfuzz::config::{
    DigestEncoding, HmacAlgorithm, IdentitySettings, Secret, Settings, WebhookSettings,
};
use tenantfuzz::finding::{Kind, Status, Vector};
use tenantfuzz::outcome::CampaignResult;

const SECRET: &str = "whsec-payments-7f3a";

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: invoices, version: '1'}
security: [{key: []}]
paths:
  /invoices:
    get:
      responses:
        '200':
          description: the caller's invoices
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Invoice'}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [description]
              properties: {description: {type: string}}
      responses:
        '201':
          description: the invoice, open
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Invoice'}
  /invoices/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        '200':
          description: the invoice
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Invoice'}
        '404': {description: not found}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: not found}
  /webhooks/payments:
    post:
      summary: a payment provider's event, signed with the shared secret
      security: []
      parameters:
        - {name: X-Signature, in: header, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/PaymentEvent'}
      responses:
        '200':
          description: received
          content:
            application/json:
              schema: {type: object, properties: {received: {type: boolean}}}
        '401': {description: bad signature}
        '404': {description: no such invoice}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    Invoice:
      type: object
      properties:
        id: {type: integer}
        description: {type: string}
        status: {type: string, enum: [open, paid]}
        deliveries: {type: integer}
    PaymentEvent: EVENT
"#;

/// The flat event: `status` is an enum of one value.
const FLAT: &str = "{type: object, required: [event_id, invoice_id, status], properties: \
    {event_id: {type: string, format: uuid}, invoice_id: {type: integer}, \
    status: {type: string, enum: [paid]}}}";

/// The nested event: a `type` of one value the invoice does not have, and the state in `data`
/// as its example gives it.
const NESTED: &str = "{type: object, required: [event_id, type, data], properties: \
    {event_id: {type: string, format: uuid}, type: {type: string, enum: [invoice.payment_succeeded]}, \
    data: {type: object, required: [invoice_id, status], properties: {invoice_id: {type: integer}, \
    status: {type: string, example: paid}}}}}";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Receiver {
    /// Applies any event, signed or not.
    Vulnerable,
    /// Refuses an event without a valid signature (401).
    Secure,
    /// Answers 200 to any event and counts it on the invoice, but pays only on a valid one.
    Quiet,
    /// Answers 200 to every event and changes nothing.
    Ignores,
}

/// (identity, tenant, key)
const IDENTITIES: &[(&str, &str, &str)] =
    &[("alice", "north", "key-alice"), ("bob", "south", "key-bob")];

fn tenant_of(headers: &HeaderMap) -> Result<String, StatusCode> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .ok_or(StatusCode::UNAUTHORIZED)?;
    IDENTITIES
        .iter()
        .find(|i| i.2 == key)
        .map(|i| i.1.to_string())
        .ok_or(StatusCode::UNAUTHORIZED)
}

#[derive(Clone, Debug)]
struct Invoice {
    tenant: String,
    description: String,
    status: String,
    deliveries: u64,
}

impl Invoice {
    fn json(&self, id: u64) -> Value {
        json!({"id": id, "description": self.description, "status": self.status,
               "deliveries": self.deliveries})
    }
}

#[derive(Clone)]
struct App {
    invoices: Arc<Mutex<BTreeMap<u64, Invoice>>>,
    next: Arc<Mutex<u64>>,
    receiver: Receiver,
    nested: bool,
}

async fn list(State(app): State<App>, headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    let tenant = tenant_of(&headers)?;
    let invoices = app.invoices.lock().unwrap();
    Ok(Json(Value::Array(
        invoices
            .iter()
            .filter(|(_, i)| i.tenant == tenant)
            .map(|(id, i)| i.json(*id))
            .collect(),
    )))
}

async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let tenant = tenant_of(&headers)?;
    let description = body
        .get("description")
        .and_then(Value::as_str)
        .ok_or(StatusCode::BAD_REQUEST)?
        .to_string();
    let id = {
        let mut next = app.next.lock().unwrap();
        *next += 1;
        *next
    };
    let invoice = Invoice {
        tenant,
        description,
        status: "open".into(),
        deliveries: 0,
    };
    let out = invoice.json(id);
    app.invoices.lock().unwrap().insert(id, invoice);
    Ok((StatusCode::CREATED, Json(out)))
}

async fn read(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Result<Json<Value>, StatusCode> {
    let tenant = tenant_of(&headers)?;
    let invoices = app.invoices.lock().unwrap();
    match invoices.get(&id) {
        Some(i) if i.tenant == tenant => Ok(Json(i.json(id))),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn remove(State(app): State<App>, headers: HeaderMap, Path(id): Path<u64>) -> StatusCode {
    let Ok(tenant) = tenant_of(&headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    let mut invoices = app.invoices.lock().unwrap();
    match invoices.get(&id) {
        Some(i) if i.tenant == tenant => {
            invoices.remove(&id);
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::NOT_FOUND,
    }
}

/// `X-Signature`: the hex HMAC-SHA256 of the raw body under the shared secret.
fn signed(headers: &HeaderMap, body: &[u8]) -> bool {
    use hmac::{KeyInit, Mac};
    let Some(given) = headers
        .get("x-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

async fn payment(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, StatusCode> {
    let valid = signed(&headers, &body);
    if app.receiver == Receiver::Secure && !valid {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let event: Value = serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let at = if app.nested { "/data" } else { "" };
    let id = event
        .pointer(&format!("{at}/invoice_id"))
        .and_then(Value::as_u64)
        .ok_or(StatusCode::BAD_REQUEST)?;
    let status = event
        .pointer(&format!("{at}/status"))
        .and_then(Value::as_str)
        .ok_or(StatusCode::BAD_REQUEST)?;
    if status != "paid" {
        return Err(StatusCode::BAD_REQUEST);
    }
    let mut invoices = app.invoices.lock().unwrap();
    let invoice = invoices.get_mut(&id).ok_or(StatusCode::NOT_FOUND)?;
    match app.receiver {
        Receiver::Ignores => {}
        Receiver::Quiet => {
            invoice.deliveries += 1;
            if valid {
                invoice.status = "paid".into();
            }
        }
        // Only the state moves: the same event again changes nothing the owner reads.
        Receiver::Vulnerable | Receiver::Secure => invoice.status = "paid".into(),
    }
    Ok(Json(json!({"received": true})))
}

/// A campaign against the invoice API with `receiver`, the event `nested` or flat: the result
/// and how many invoices are left once it is done.
async fn campaign(receiver: Receiver, nested: bool) -> (CampaignResult, usize) {
    let app = App {
        invoices: Arc::default(),
        next: Arc::default(),
        receiver,
        nested,
    };
    let router = Router::new()
        .route("/invoices", get(list).post(create))
        .route("/invoices/{id}", get(read).delete(remove))
        .route("/webhooks/payments", post(payment))
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut settings = Settings {
        base_url: base,
        identities: IDENTITIES
            .iter()
            .map(|(name, tenant, key)| IdentitySettings {
                name: name.to_string(),
                tenant: tenant.to_string(),
                headers: vec![("X-Api-Key".to_string(), Secret::new(*key))],
                ..IdentitySettings::default()
            })
            .collect(),
        ..Settings::for_planning(std::path::Path::new("invoices.yaml"))
    };
    settings.webhooks.push(WebhookSettings {
        operation: "POST /webhooks/payments".into(),
        secret: Secret::new(SECRET),
        signature_header: "X-Signature".into(),
        algorithm: HmacAlgorithm::Sha256,
        encoding: DigestEncoding::Hex,
        prefix: String::new(),
        timestamp_header: None,
        signed: "{body}".into(),
        tolerance: Duration::from_secs(300),
    });
    settings.campaign.cases = 0;
    let spec = SPEC.replace("EVENT", if nested { NESTED } else { FLAT });
    let api = tenantfuzz::spec::load_str(&spec, "invoices.yaml").unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    let left = app.invoices.lock().unwrap().len();
    (result, left)
}

fn receiver_coverage(result: &CampaignResult) -> &tenantfuzz::outcome::Coverage {
    result
        .coverage
        .iter()
        .find(|c| c.method == "POST" && c.path == "/webhooks/payments")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_event_that_pays_a_fresh_invoice_is_found_by_its_read_back() {
    for nested in [false, true] {
        let (result, left) = campaign(Receiver::Vulnerable, nested).await;
        let found: Vec<_> = result
            .findings
            .iter()
            .map(|f| (f.kind, f.vector, f.status, f.operation.path.as_str()))
            .collect();
        assert!(!found.is_empty(), "nested {nested}: {:#?}", result.findings);
        assert!(
            found.iter().all(|f| *f
                == (
                    Kind::WebhookUnsigned,
                    Vector::Header,
                    Status::Confirmed,
                    "/webhooks/payments"
                )),
            "nested {nested}: {:#?}",
            result.findings
        );
        // The invoice's read says it, whichever way the event names it.
        let pointer = "/status";
        for f in &result.findings {
            assert_eq!(f.evidence_field.as_deref(), Some(pointer), "{f:#?}");
            assert!(
                f.evidence
                    .contains(&format!("{pointer} going from \"open\" to \"paid\"")),
                "{}",
                f.evidence
            );
            // The reproduction: the signed control on one invoice, the forgery on another.
            let events: Vec<_> = f
                .steps
                .iter()
                .filter(|s| s.exchange.url.ends_with("/webhooks/payments"))
                .collect();
            assert_eq!(events.len(), 2, "{:#?}", f.steps);
            let id = |s: &tenantfuzz::finding::ReproStep| {
                let body = s.exchange.request_body.clone().unwrap();
                body.pointer(if nested {
                    "/data/invoice_id"
                } else {
                    "/invoice_id"
                })
                .cloned()
                .unwrap()
            };
            assert_ne!(id(events[0]), id(events[1]), "a fresh invoice");
        }
        assert!(receiver_coverage(&result).judged > 0);
        assert_eq!(left, 0, "{:?}", result.cleanup);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_verifies_signatures_or_applies_only_signed_events_is_silent() {
    for receiver in [Receiver::Secure, Receiver::Quiet] {
        let (result, left) = campaign(receiver, false).await;
        assert!(
            result.findings.is_empty(),
            "{receiver:?}: {:#?}",
            result.findings
        );
        let c = receiver_coverage(&result);
        assert!(c.attacked && c.judged > 0 && c.unjudged == 0, "{c:?}");
        assert!(c.checks.contains(&Kind::WebhookUnsigned), "{c:?}");
        assert_eq!(left, 0, "{:?}", result.cleanup);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_ignores_even_the_signed_event_is_not_judged_and_says_why() {
    let (result, left) = campaign(Receiver::Ignores, false).await;
    assert!(result.findings.is_empty(), "{:#?}", result.findings);
    let c = receiver_coverage(&result);
    assert!(c.attacked, "{c:?}");
    assert_eq!(c.judged, 0, "{c:?}");
    assert!(c.unjudged > 0, "{c:?}");
    assert!(c.untested(), "{c:?}");
    let note = c.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("not even the correctly signed control event"),
        "{note}"
    );
    assert_eq!(left, 0, "{:?}", result.cleanup);
}
