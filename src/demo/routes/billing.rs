//! Billing: invoices (seeded), the signed billing webhook, and the public routes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::demo::config::WorkspaceRole;
use crate::demo::http::{ApiError, ApiResult, AppState, Caller, error_body, list_of};
use crate::demo::store::unix_now;

pub(crate) async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub(crate) async fn pricing() -> Json<Value> {
    Json(json!({"plans": [
        {"id": "free", "name": "Free", "priceCents": 0, "features": ["projects", "documents"]},
        {"id": "pro", "name": "Pro", "priceCents": 4900,
         "features": ["projects", "documents", "automations"]},
    ]}))
}

pub(crate) async fn list_invoices(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Json<Value> {
    let store = state.store();
    list_of(
        "invoices",
        store
            .invoices
            .values()
            .filter(|i| store.role_in(&user.id, &i.workspace_id) == Some(WorkspaceRole::Owner)),
    )
}

/// Owners see their workspace's invoice. Anyone else gets a 200 whose body is an error: an
/// answer that fools a status-code oracle, not a leak.
pub(crate) async fn get_invoice(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Json<Value> {
    let store = state.store();
    match store
        .invoices
        .get(&id)
        .filter(|i| store.role_in(&user.id, &i.workspace_id) == Some(WorkspaceRole::Owner))
    {
        Some(invoice) => Json(json!(invoice)),
        None => Json(error_body("not_found", "invoice not found")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookData {
    workspace_id: String,
    amount_cents: i64,
}

#[derive(Deserialize)]
struct WebhookEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: WebhookData,
}

/// The signature scheme: `X-Webhook-Signature: sha256=HEX(HMAC-SHA256(secret, "{ts}.{body}"))`
/// with `X-Webhook-Timestamp: {ts}` in Unix seconds.
pub fn webhook_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(signing_mac(secret, timestamp, body).finalize().into_bytes())
    )
}

fn signing_mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn verify(state: &AppState, headers: &HeaderMap, body: &[u8]) -> ApiResult<()> {
    let invalid = |msg: &str| ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", msg);
    let timestamp = headers
        .get("x-webhook-timestamp")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| invalid("missing X-Webhook-Timestamp"))?;
    let signature = headers
        .get("x-webhook-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| invalid("missing X-Webhook-Signature"))?;
    let ts: u64 = timestamp
        .parse()
        .map_err(|_| invalid("malformed X-Webhook-Timestamp"))?;
    if unix_now().abs_diff(ts) > state.config.webhook_tolerance.as_secs() {
        return Err(invalid("stale timestamp"));
    }
    let hex_sig = signature
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| invalid("malformed X-Webhook-Signature"))?;
    // verify_slice compares in constant time.
    signing_mac(&state.config.webhook_secret, timestamp, body)
        .verify_slice(&hex_sig)
        .map_err(|_| invalid("signature mismatch"))
}

pub(crate) async fn billing_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    if !state.config.bugs.webhook_unsigned {
        verify(&state, &headers, &body)?;
    }
    let event: WebhookEvent = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid event: {e}")))?;
    if event.kind != "credit.granted" {
        return Err(ApiError::bad_request("'type' must be 'credit.granted'"));
    }
    if !(1..=100_000).contains(&event.data.amount_cents) {
        return Err(ApiError::bad_request(
            "'data.amountCents' must be between 1 and 100000",
        ));
    }
    let mut store = state.store();
    if !store.workspaces.contains_key(&event.data.workspace_id) {
        return Err(ApiError::not_found("workspace"));
    }
    let seen = !store.webhook_events.insert(event.id.clone());
    if seen && !state.config.bugs.webhook_replay {
        return Ok(Json(json!({"received": true, "duplicate": true})));
    }
    if let Some(ws) = store.workspaces.get_mut(&event.data.workspace_id) {
        ws.credit_balance_cents += event.data.amount_cents;
    }
    Ok(Json(json!({"received": true, "duplicate": false})))
}
