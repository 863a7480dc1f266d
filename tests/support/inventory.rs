//! A second test API, shaped unlike the demo: a small multi-tenant inventory / warehouse service.
//!
//! - Authentication by a fixed API key per user in the `X-Api-Key` header (no login, no bearer).
//! - Warehouses have `WH-000123` ids, items UUIDs; every id parameter is snake_case
//!   (`warehouse_id`, `item_id`) and created objects carry their id as `warehouse_id` / `item_id`.
//! - Ids travel in the path, in the query (`GET /items?item_id=`) and in JSON bodies
//!   (`POST /stock-checks`, `POST /transfers`).
//! - `GET /catalog` is public by design and lists every tenant's public items.
//! - Errors are RFC 7807 problem documents.
//!
//! - Users have roles (`manager`, `clerk`); `ada` is a platform operator (role `admin`, tenant
//!   `platform`) for the operations tagged `internal` or under `/internal`.
//! - Two signed webhook receivers (`POST /hooks/...`): `X-Signature` is the base64
//!   HMAC-SHA512 of the raw body under [`WEBHOOK_SECRET`], with no timestamp; each `delivery_id`
//!   is applied once.
//!
//! With `vulnerable: true` these bugs are planted; with `false` they are fixed and everything else
//! is identical:
//! (a) `GET /items?item_id=` reads any tenant's item,
//! (b) `POST /stock-checks` reports on any tenant's item,
//! (c) `PATCH /items/{item_id}` updates any tenant's item,
//! (d) `DELETE /items/{item_id}` deletes any tenant's item,
//! (e) `GET /ops/stock-report` (tag `internal`) answers every authenticated user, not only admins,
//! (f) `PATCH /items/{item_id}` honours the read-only `warehouse_id` of the body, any tenant's,
//! (g) `POST /hooks/shipments` verifies no signature,
//! (h) `POST /hooks/shipments` applies a repeated `delivery_id` again,
//! (i) `GET /warehouses/{warehouse_id}` still shows an archived (deleted) warehouse,
//! (j) `GET /warehouses/{warehouse_id}/items` answers 403 for another tenant's warehouse and 404
//!     for one that does not exist.
//!
//! Their correct counterparts, right in both modes: `GET /internal/audit-events` (admins only),
//! the read-only `warehouse_id` of `POST /warehouses/{warehouse_id}/items` (ignored),
//! `POST /hooks/stock-adjustments` (verified, deduplicated), `DELETE /items/{item_id}` (the item is
//! gone), `GET /items/{item_id}` and `GET /warehouses/{warehouse_id}` (404 for foreign and unknown
//! ids alike).
//!
//! `tests/fixtures/inventory.yaml` describes it; `tests/fixtures/inventory.ground-truth.json`
//! lists the bugs.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::Sha512;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// A user of the inventory API and its fixed API key.
#[derive(Debug, Clone, Copy)]
pub struct InventoryUser {
    pub name: &'static str,
    pub tenant: &'static str,
    /// `manager`, `clerk`, or `admin` for the platform operator.
    pub role: &'static str,
    pub key: &'static str,
}

/// The role of platform operators, who may call the internal operations.
pub const ADMIN_ROLE: &str = "admin";

/// Two tenants, north with two users and south with one, and the platform operator.
pub const USERS: &[InventoryUser] = &[
    InventoryUser {
        name: "nora",
        tenant: "north",
        role: "manager",
        key: "inv_live_north_nora_5c1f0e7a2b",
    },
    InventoryUser {
        name: "ned",
        tenant: "north",
        role: "clerk",
        key: "inv_live_north_ned_93b2d4c861",
    },
    InventoryUser {
        name: "sam",
        tenant: "south",
        role: "manager",
        key: "inv_live_south_sam_0a7e61fd4c",
    },
    InventoryUser {
        name: "ada",
        tenant: "platform",
        role: ADMIN_ROLE,
        key: "inv_live_platform_ada_e84c2f9d17",
    },
];

/// The secret both webhook receivers verify signatures with.
pub const WEBHOOK_SECRET: &str = "whsec_inventory_3b9e71c0a4f2";
/// The header carrying a webhook's signature.
pub const SIGNATURE_HEADER: &str = "X-Signature";

/// `base64(HMAC-SHA512(secret, body))`, the value of [`SIGNATURE_HEADER`].
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The spec of this API.
pub const SPEC_YAML: &str = include_str!("../fixtures/inventory.yaml");
/// Its path in the repository, for messages.
pub const SPEC_PATH: &str = "tests/fixtures/inventory.yaml";
/// The ground truth of its planted bugs.
pub const GROUND_TRUTH_JSON: &str = include_str!("../fixtures/inventory.ground-truth.json");

const MAX_LABEL: usize = 120;
const MAX_NAME: usize = 200;
const MAX_NOTES: usize = 2000;
const MAX_QUANTITY: i64 = 1_000_000;
const MAX_QUERY: usize = 200;

// ------------------------------------------------------------------------------------------------
// State
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Warehouse {
    id: String,
    tenant: &'static str,
    label: String,
    /// Units received by shipment webhooks.
    received_units: i64,
    /// Deleted: kept for the audit trail, never shown again (but see bug (i)).
    archived: bool,
}

#[derive(Debug, Clone)]
struct Item {
    id: Uuid,
    tenant: &'static str,
    warehouse_id: String,
    name: String,
    notes: Option<String>,
    quantity: i64,
    public: bool,
    revision: u64,
}

#[derive(Debug, Default)]
struct Store {
    next_warehouse: u32,
    warehouses: BTreeMap<String, Warehouse>,
    items: BTreeMap<Uuid, Item>,
    /// Webhook deliveries already applied, by receiver and delivery id.
    deliveries: BTreeSet<(&'static str, String)>,
    /// What every tenant did, for the platform operators.
    audit: Vec<Value>,
}

#[derive(Clone)]
struct AppState {
    store: Arc<Mutex<Store>>,
    vulnerable: bool,
}

impl AppState {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Warehouse {
    fn json(&self, store: &Store) -> Value {
        let count = store
            .items
            .values()
            .filter(|i| i.warehouse_id == self.id)
            .count();
        json!({
            "warehouse_id": self.id,
            "label": self.label,
            "item_count": count,
            "received_units": self.received_units,
        })
    }
}

impl Item {
    fn json(&self) -> Value {
        json!({
            "item_id": self.id,
            "warehouse_id": self.warehouse_id,
            "name": self.name,
            "notes": self.notes,
            "quantity": self.quantity,
            "public": self.public,
            "revision": self.revision,
        })
    }
}

impl Store {
    /// The caller's warehouse `id`; a foreign, unknown or archived one is a 404.
    fn own_warehouse(&self, caller: &InventoryUser, id: &str) -> Result<&Warehouse, Problem> {
        self.warehouses
            .get(id)
            .filter(|w| w.tenant == caller.tenant && !w.archived)
            .ok_or_else(|| Problem::not_found("warehouse"))
    }

    fn audit(&mut self, caller: &InventoryUser, action: &str, target: &str) {
        self.audit.push(json!({
            "tenant": caller.tenant,
            "user": caller.name,
            "action": action,
            "target": target,
        }));
    }

    /// Item `id` if it exists, whoever owns it.
    fn any_item(&self, id: &Uuid) -> Result<&Item, Problem> {
        self.items.get(id).ok_or_else(|| Problem::not_found("item"))
    }

    /// The caller's item `id`; a foreign or unknown one is a 404.
    fn own_item(&self, caller: &InventoryUser, id: &Uuid) -> Result<&Item, Problem> {
        self.items
            .get(id)
            .filter(|i| i.tenant == caller.tenant)
            .ok_or_else(|| Problem::not_found("item"))
    }

    /// The item an item route works on: the caller's own, or in a planted bug any tenant's.
    fn item_for(
        &self,
        caller: &InventoryUser,
        id: &Uuid,
        unchecked: bool,
    ) -> Result<Uuid, Problem> {
        let item = if unchecked {
            self.any_item(id)?
        } else {
            self.own_item(caller, id)?
        };
        Ok(item.id)
    }
}

// ------------------------------------------------------------------------------------------------
// HTTP plumbing
// ------------------------------------------------------------------------------------------------

/// An RFC 7807 problem answer.
#[derive(Debug)]
struct Problem {
    status: StatusCode,
    detail: String,
}

impl Problem {
    fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            detail: detail.into(),
        }
    }
    fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, detail)
    }
    fn not_found(what: &str) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
    fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

type ApiResult<T> = Result<T, Problem>;

/// The caller, by its `X-Api-Key`.
struct Caller(&'static InventoryUser);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> ApiResult<Self> {
        let Some(value) = parts.headers.get("x-api-key") else {
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "missing X-Api-Key header",
            ));
        };
        value
            .to_str()
            .ok()
            .and_then(|key| USERS.iter().find(|u| u.key == key))
            .map(Caller)
            .ok_or_else(|| Problem::new(StatusCode::UNAUTHORIZED, "unknown API key"))
    }
}

/// Parses a JSON object body; anything else is a 400.
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> ApiResult<T> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(Problem::bad_request("body must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| Problem::bad_request(format!("invalid body: {e}")))
}

fn path_value(path: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    path.map(|Path(v)| v)
        .map_err(|e| Problem::bad_request(e.body_text()))
}

fn warehouse_id(raw: &str) -> ApiResult<String> {
    let digits = raw.strip_prefix("WH-").unwrap_or_default();
    if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(raw.to_string())
    } else {
        Err(Problem::bad_request(
            "warehouse_id must look like WH-000123",
        ))
    }
}

fn item_id(field: &str, raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Problem::bad_request(format!("{field} must be a UUID")))
}

fn text(field: &str, value: String, max: usize) -> ApiResult<String> {
    if value.trim().is_empty() {
        return Err(Problem::bad_request(format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(Problem::bad_request(format!(
            "{field} is longer than {max} characters"
        )));
    }
    Ok(value)
}

fn required_text(field: &str, value: Option<String>, max: usize) -> ApiResult<String> {
    let value = value.ok_or_else(|| Problem::bad_request(format!("{field} is required")))?;
    text(field, value, max)
}

fn notes(value: Option<String>) -> ApiResult<Option<String>> {
    match value {
        Some(n) if n.chars().count() > MAX_NOTES => Err(Problem::bad_request(format!(
            "notes is longer than {MAX_NOTES} characters"
        ))),
        other => Ok(other),
    }
}

fn quantity(value: i64) -> ApiResult<i64> {
    if (0..=MAX_QUANTITY).contains(&value) {
        Ok(value)
    } else {
        Err(Problem::bad_request(format!(
            "quantity must be between 0 and {MAX_QUANTITY}"
        )))
    }
}

fn created(location: String, body: Value) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

// ------------------------------------------------------------------------------------------------
// Handlers
// ------------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct WarehouseInput {
    label: Option<String>,
}

async fn create_warehouse(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> ApiResult<Response> {
    let input: WarehouseInput = parse_body(&body)?;
    let label = required_text("label", input.label, MAX_LABEL)?;
    let mut store = state.store();
    store.next_warehouse += 1;
    let id = format!("WH-{:06}", store.next_warehouse);
    let warehouse = Warehouse {
        id: id.clone(),
        tenant: caller.tenant,
        label,
        received_units: 0,
        archived: false,
    };
    let body = warehouse.json(&store);
    store.warehouses.insert(id.clone(), warehouse);
    store.audit(caller, "warehouse.created", &id);
    Ok(created(format!("/warehouses/{id}"), body))
}

async fn list_warehouses(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    let list: Vec<Value> = store
        .warehouses
        .values()
        .filter(|w| w.tenant == caller.tenant && !w.archived)
        .map(|w| w.json(&store))
        .collect();
    Ok(Json(json!({ "warehouses": list })))
}

async fn get_warehouse(
    State(state): State<AppState>,
    Caller(caller): Caller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let id = warehouse_id(&path_value(path)?)?;
    let store = state.store();
    let warehouse = if state.vulnerable {
        // Planted bug (i): the archived flag is not looked at, a deleted warehouse is still shown.
        store
            .warehouses
            .get(&id)
            .filter(|w| w.tenant == caller.tenant)
            .ok_or_else(|| Problem::not_found("warehouse"))?
    } else {
        store.own_warehouse(caller, &id)?
    };
    Ok(Json(warehouse.json(&store)))
}

async fn delete_warehouse(
    State(state): State<AppState>,
    Caller(caller): Caller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<StatusCode> {
    let id = warehouse_id(&path_value(path)?)?;
    let mut store = state.store();
    store.own_warehouse(caller, &id)?;
    // A soft delete: the warehouse stays for the audit trail.
    if let Some(w) = store.warehouses.get_mut(&id) {
        w.archived = true;
    }
    store.audit(caller, "warehouse.archived", &id);
    Ok(StatusCode::NO_CONTENT)
}

async fn list_warehouse_items(
    State(state): State<AppState>,
    Caller(caller): Caller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let id = warehouse_id(&path_value(path)?)?;
    let store = state.store();
    // Planted bug (j): another tenant's warehouse is refused differently from an unknown one.
    let foreign = store
        .warehouses
        .get(&id)
        .is_some_and(|w| w.tenant != caller.tenant && !w.archived);
    if state.vulnerable && foreign {
        return Err(Problem::forbidden("warehouse belongs to another tenant"));
    }
    store.own_warehouse(caller, &id)?;
    let items: Vec<Value> = store
        .items
        .values()
        .filter(|i| i.warehouse_id == id)
        .map(Item::json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
struct ItemInput {
    name: Option<String>,
    notes: Option<String>,
    quantity: Option<i64>,
    public: Option<bool>,
}

async fn create_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = warehouse_id(&path_value(path)?)?;
    let input: ItemInput = parse_body(&body)?;
    let name = required_text("name", input.name, MAX_NAME)?;
    let notes = notes(input.notes)?;
    let quantity = quantity(
        input
            .quantity
            .ok_or_else(|| Problem::bad_request("quantity is required"))?,
    )?;
    let mut store = state.store();
    let warehouse = store.own_warehouse(caller, &id)?.id.clone();
    let item = Item {
        id: Uuid::new_v4(),
        tenant: caller.tenant,
        warehouse_id: warehouse,
        name,
        notes,
        quantity,
        public: input.public.unwrap_or(true),
        revision: 1,
    };
    let body = item.json();
    let location = format!("/items/{}", item.id);
    store.audit(caller, "item.created", &item.id.to_string());
    store.items.insert(item.id, item);
    Ok(created(location, body))
}

async fn get_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let id = item_id("item_id", &path_value(path)?)?;
    let store = state.store();
    Ok(Json(store.own_item(caller, &id)?.json()))
}

async fn lookup_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let raw = query
        .get("item_id")
        .ok_or_else(|| Problem::bad_request("item_id is required"))?;
    let id = item_id("item_id", raw)?;
    let store = state.store();
    // Planted bug (a): no ownership check on the query id.
    let id = store.item_for(caller, &id, state.vulnerable)?;
    Ok(Json(store.any_item(&id)?.json()))
}

#[derive(Deserialize)]
struct ItemPatch {
    name: Option<String>,
    notes: Option<String>,
    quantity: Option<i64>,
    public: Option<bool>,
    /// Read-only: items move through `POST /transfers`.
    warehouse_id: Option<String>,
}

async fn update_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = item_id("item_id", &path_value(path)?)?;
    let patch: ItemPatch = parse_body(&body)?;
    if patch.name.is_none()
        && patch.notes.is_none()
        && patch.quantity.is_none()
        && patch.public.is_none()
    {
        return Err(Problem::bad_request("nothing to update"));
    }
    let name = patch.name.map(|n| text("name", n, MAX_NAME)).transpose()?;
    let notes = notes(patch.notes)?;
    let quantity = patch.quantity.map(quantity).transpose()?;
    let mut store = state.store();
    // Planted bug (c): no ownership check on the item being updated.
    let id = store.item_for(caller, &id, state.vulnerable)?;
    // Planted bug (f): the read-only warehouse_id is honoured, and only its existence checked.
    let moved_to = match patch.warehouse_id.filter(|_| state.vulnerable) {
        Some(raw) => {
            let to = warehouse_id(&raw)?;
            store
                .warehouses
                .get(&to)
                .filter(|w| !w.archived)
                .ok_or_else(|| Problem::not_found("warehouse"))?;
            Some(to)
        }
        None => None,
    };
    store.audit(caller, "item.updated", &id.to_string());
    let Some(item) = store.items.get_mut(&id) else {
        return Err(Problem::not_found("item"));
    };
    if let Some(name) = name {
        item.name = name;
    }
    if notes.is_some() {
        item.notes = notes;
    }
    if let Some(quantity) = quantity {
        item.quantity = quantity;
    }
    if let Some(public) = patch.public {
        item.public = public;
    }
    if let Some(to) = moved_to {
        item.warehouse_id = to;
    }
    item.revision += 1;
    Ok(Json(item.json()))
}

async fn delete_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<StatusCode> {
    let id = item_id("item_id", &path_value(path)?)?;
    let mut store = state.store();
    // Planted bug (d): no ownership check on the item being deleted.
    let id = store.item_for(caller, &id, state.vulnerable)?;
    store.items.remove(&id);
    store.audit(caller, "item.deleted", &id.to_string());
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct StockCheckInput {
    item_id: Option<String>,
}

async fn stock_check(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let input: StockCheckInput = parse_body(&body)?;
    let raw = input
        .item_id
        .ok_or_else(|| Problem::bad_request("item_id is required"))?;
    let id = item_id("item_id", &raw)?;
    let store = state.store();
    // Planted bug (b): no ownership check on the body id.
    let id = store.item_for(caller, &id, state.vulnerable)?;
    let item = store.any_item(&id)?;
    let label = store
        .warehouses
        .get(&item.warehouse_id)
        .map(|w| w.label.clone())
        .unwrap_or_default();
    Ok(Json(json!({
        "item_id": item.id,
        "warehouse_id": item.warehouse_id,
        "warehouse_label": label,
        "name": item.name,
        "notes": item.notes,
        "quantity": item.quantity,
        "low_stock": item.quantity < 10,
    })))
}

#[derive(Deserialize)]
struct TransferInput {
    item_id: Option<String>,
    to_warehouse_id: Option<String>,
}

async fn transfer(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let input: TransferInput = parse_body(&body)?;
    let item = item_id(
        "item_id",
        &input
            .item_id
            .ok_or_else(|| Problem::bad_request("item_id is required"))?,
    )?;
    let to = warehouse_id(
        &input
            .to_warehouse_id
            .ok_or_else(|| Problem::bad_request("to_warehouse_id is required"))?,
    )?;
    let mut store = state.store();
    // Both ends are checked in both modes.
    let from = store.own_item(caller, &item)?.warehouse_id.clone();
    store.own_warehouse(caller, &to)?;
    if let Some(i) = store.items.get_mut(&item) {
        i.warehouse_id = to.clone();
        i.revision += 1;
    }
    Ok(Json(json!({
        "item_id": item,
        "from_warehouse_id": from,
        "to_warehouse_id": to,
    })))
}

async fn catalog(
    State(state): State<AppState>,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let q = query.get("q").map(|q| q.to_lowercase());
    if q.as_ref().is_some_and(|q| q.chars().count() > MAX_QUERY) {
        return Err(Problem::bad_request(format!(
            "q is longer than {MAX_QUERY} characters"
        )));
    }
    let store = state.store();
    let entries: Vec<Value> = store
        .items
        .values()
        .filter(|i| i.public)
        .filter(|i| {
            q.as_ref()
                .is_none_or(|q| i.name.to_lowercase().contains(q.as_str()))
        })
        .map(|i| json!({"item_id": i.id, "name": i.name, "quantity": i.quantity}))
        .collect();
    Ok(Json(json!({ "items": entries })))
}

/// Refuses a caller that is not a platform operator, unless `unchecked`.
fn operator_only(caller: &InventoryUser, unchecked: bool) -> ApiResult<()> {
    if unchecked || caller.role == ADMIN_ROLE {
        Ok(())
    } else {
        Err(Problem::forbidden("platform operators only"))
    }
}

async fn stock_report(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Value>> {
    // Planted bug (e): the role is not checked.
    operator_only(caller, state.vulnerable)?;
    let store = state.store();
    let mut tenants: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for w in store.warehouses.values().filter(|w| !w.archived) {
        tenants.entry(w.tenant).or_default().push(w.json(&store));
    }
    let tenants: Vec<Value> = tenants
        .into_iter()
        .map(|(tenant, warehouses)| json!({"tenant": tenant, "warehouses": warehouses}))
        .collect();
    Ok(Json(json!({ "tenants": tenants })))
}

async fn audit_events(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Value>> {
    operator_only(caller, false)?;
    let store = state.store();
    Ok(Json(json!({ "events": store.audit })))
}

#[derive(Deserialize)]
struct Delivery<T> {
    delivery_id: Option<String>,
    data: Option<T>,
}

#[derive(Deserialize)]
struct ShipmentData {
    warehouse_id: Option<String>,
    units: Option<i64>,
}

#[derive(Deserialize)]
struct AdjustmentData {
    item_id: Option<String>,
    delta: Option<i64>,
}

/// Checks a delivery's signature (unless `unchecked`) and parses it; `None` data is a 400.
fn delivery<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
    unchecked: bool,
) -> ApiResult<(String, T)> {
    if !unchecked {
        let expected = webhook_signature(WEBHOOK_SECRET, body);
        let given = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if given != expected {
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "missing or invalid X-Signature",
            ));
        }
    }
    let input: Delivery<T> = parse_body(body)?;
    let id = required_text("delivery_id", input.delivery_id, MAX_NAME)?;
    let data = input
        .data
        .ok_or_else(|| Problem::bad_request("data is required"))?;
    Ok((id, data))
}

fn ack(duplicate: bool) -> Json<Value> {
    Json(json!({"received": true, "duplicate": duplicate}))
}

async fn shipment_hook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    // Planted bug (g): the signature is not verified.
    let (delivery, data): (String, ShipmentData) = delivery(&headers, &body, state.vulnerable)?;
    let to = warehouse_id(
        &data
            .warehouse_id
            .ok_or_else(|| Problem::bad_request("data.warehouse_id is required"))?,
    )?;
    let units = data
        .units
        .filter(|u| (1..=10_000).contains(u))
        .ok_or_else(|| Problem::bad_request("data.units must be between 1 and 10000"))?;
    let mut store = state.store();
    if store.warehouses.get(&to).is_none_or(|w| w.archived) {
        return Err(Problem::not_found("warehouse"));
    }
    // Planted bug (h): a delivery already applied is applied again.
    let key = ("shipments", delivery);
    if !state.vulnerable && store.deliveries.contains(&key) {
        return Ok(ack(true));
    }
    store.deliveries.insert(key);
    if let Some(w) = store.warehouses.get_mut(&to) {
        w.received_units += units;
        let tenant = w.tenant;
        store.audit.push(json!({"tenant": tenant, "user": "webhook",
                                "action": "shipment.received", "target": to}));
    }
    Ok(ack(false))
}

async fn adjustment_hook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let (delivery, data): (String, AdjustmentData) = delivery(&headers, &body, false)?;
    let id = item_id(
        "data.item_id",
        &data
            .item_id
            .ok_or_else(|| Problem::bad_request("data.item_id is required"))?,
    )?;
    let delta = data
        .delta
        .filter(|d| (1..=1000).contains(d))
        .ok_or_else(|| Problem::bad_request("data.delta must be between 1 and 1000"))?;
    let mut store = state.store();
    store.any_item(&id)?;
    let key = ("stock-adjustments", delivery);
    if store.deliveries.contains(&key) {
        return Ok(ack(true));
    }
    store.deliveries.insert(key);
    if let Some(item) = store.items.get_mut(&id) {
        item.quantity = (item.quantity + delta).min(MAX_QUANTITY);
        item.revision += 1;
        let tenant = item.tenant;
        store.audit.push(json!({"tenant": tenant, "user": "webhook",
                                "action": "stock.adjusted", "target": id.to_string()}));
    }
    Ok(ack(false))
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "no such route")
}

async fn method_not_allowed() -> Problem {
    Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/warehouses", get(list_warehouses).post(create_warehouse))
        .route(
            "/warehouses/{warehouse_id}",
            get(get_warehouse).delete(delete_warehouse),
        )
        .route(
            "/warehouses/{warehouse_id}/items",
            get(list_warehouse_items).post(create_item),
        )
        .route("/items", get(lookup_item))
        .route(
            "/items/{item_id}",
            get(get_item).patch(update_item).delete(delete_item),
        )
        .route("/stock-checks", post(stock_check))
        .route("/transfers", post(transfer))
        .route("/catalog", get(catalog))
        .route("/ops/stock-report", get(stock_report))
        .route("/internal/audit-events", get(audit_events))
        .route("/hooks/shipments", post(shipment_hook))
        .route("/hooks/stock-adjustments", post(adjustment_hook))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

// ------------------------------------------------------------------------------------------------
// Server handle
// ------------------------------------------------------------------------------------------------

/// A running inventory API on loopback. Dropping it without [`InventoryServer::shutdown`] aborts
/// the server task.
pub struct InventoryServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl InventoryServer {
    /// Starts the API on `127.0.0.1` with a port chosen by the system; `vulnerable` plants the
    /// bugs.
    pub async fn start(vulnerable: bool) -> std::io::Result<InventoryServer> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let state = AppState {
            store: Arc::new(Mutex::new(Store::default())),
            vulnerable,
        };
        let app = router(state);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        Ok(InventoryServer {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for InventoryServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
