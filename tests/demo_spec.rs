//! `specs/demo.yaml` describes the demo API faithfully: every route of the router is documented and
//! every documented operation exists; a legitimate request, a request without credentials and a
//! request with a bad token each get a documented status with a body that fits the documented
//! schema; the request schemas' `required`, length and enum constraints match the handlers'
//! validation; and the ground truth names only documented operations.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use reqwest::{Client, Method};
use serde_json::{Value, json};
use tenantfuzz::demo::{
    ACCOUNTS, DEFAULT_WEBHOOK_SECRET, DemoConfig, DemoServer, GROUND_TRUTH_JSON, Mode, SPEC_YAML,
    webhook_signature,
};
use url::Url;
use uuid::Uuid;

/// The operation keys of an OpenAPI path item.
const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every route of the demo router (`src/demo/server.rs`) except `GET /openapi.yaml`.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/public/pricing"),
    ("GET", "/public/documents/{documentId}"),
    ("POST", "/auth/login"),
    ("POST", "/auth/register"),
    ("POST", "/auth/session"),
    ("POST", "/auth/api-keys"),
    ("GET", "/me"),
    ("PATCH", "/me"),
    ("GET", "/workspaces"),
    ("GET", "/workspaces/{workspaceId}"),
    ("GET", "/workspaces/{workspaceId}/members"),
    ("GET", "/workspaces/{workspaceId}/projects"),
    ("POST", "/workspaces/{workspaceId}/projects"),
    ("GET", "/workspaces/{workspaceId}/projects/{projectId}"),
    ("PATCH", "/workspaces/{workspaceId}/projects/{projectId}"),
    ("DELETE", "/workspaces/{workspaceId}/projects/{projectId}"),
    ("GET", "/workspaces/{workspaceId}/attachments"),
    ("GET", "/projects/{projectId}/documents"),
    ("POST", "/projects/{projectId}/documents"),
    ("GET", "/projects/{projectId}/automations"),
    ("POST", "/projects/{projectId}/automations"),
    ("GET", "/documents/{documentId}"),
    ("PUT", "/documents/{documentId}"),
    ("DELETE", "/documents/{documentId}"),
    ("GET", "/documents/{documentId}/comments"),
    ("POST", "/documents/{documentId}/comments"),
    ("DELETE", "/comments/{commentId}"),
    ("GET", "/attachments"),
    ("POST", "/attachments"),
    ("DELETE", "/attachments"),
    ("POST", "/reports"),
    ("GET", "/search"),
    ("POST", "/exports"),
    ("GET", "/exports/{exportId}"),
    ("GET", "/billing/invoices"),
    ("GET", "/billing/invoices/{invoiceId}"),
    ("GET", "/admin/workspaces"),
    ("DELETE", "/admin/users/{userId}"),
    ("POST", "/webhooks/billing"),
];

/// The operations that need no bearer token.
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/public/pricing"),
    ("GET", "/public/documents/{documentId}"),
    ("POST", "/auth/login"),
    ("POST", "/auth/register"),
    ("POST", "/auth/session"),
    ("POST", "/webhooks/billing"),
];

/// The type (and format) every parameter must be documented with.
const PARAMETER_TYPES: &[(&str, &str, &str, Option<&str>)] = &[
    ("path", "workspaceId", "string", None),
    ("path", "projectId", "string", None),
    ("path", "documentId", "integer", Some("int64")),
    ("path", "commentId", "integer", Some("int64")),
    ("path", "exportId", "string", None),
    ("path", "invoiceId", "string", None),
    ("path", "userId", "string", None),
    ("query", "id", "string", Some("uuid")),
    ("query", "q", "string", None),
    ("header", "X-Webhook-Timestamp", "string", None),
    ("header", "X-Webhook-Signature", "string", None),
];

const KINDS: &[&str] = &[
    "bola-read",
    "bola-write",
    "bola-delete",
    "list-leak",
    "unauthenticated",
    "mass-assignment",
    "bfla",
    "plan-bypass",
    "webhook-unsigned",
    "webhook-replay",
];

const VECTORS: &[&str] = &["path", "query", "body", "header", "parent"];

// ---------------------------------------------------------------------------------------------
// The spec as data

fn spec() -> Value {
    yaml_serde::from_str::<Value>(SPEC_YAML).expect("specs/demo.yaml is valid YAML")
}

/// Follows local `$ref`s until a non-reference value.
fn resolve<'a>(spec: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return value;
        };
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("non-local $ref {reference}"));
        value = spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("broken $ref {reference}"));
    }
    panic!("$ref chain too long");
}

/// One documented operation, with its path item's parameters merged in and resolved.
#[derive(Debug, Clone)]
struct Op {
    method: String,
    path: String,
    id: String,
    raw: Value,
    params: Vec<Value>,
    secured: bool,
}

impl Op {
    fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn params_in<'a>(&'a self, location: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.params.iter().filter(move |p| p["in"] == location)
    }

    fn responses(&self) -> BTreeSet<String> {
        self.raw["responses"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The documented response for `status`: exact, then `4XX`-style, then `default`.
    fn response<'a>(&'a self, spec: &'a Value, status: u16) -> Option<&'a Value> {
        let responses = self.raw["responses"].as_object()?;
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        responses
            .get(&exact)
            .or_else(|| responses.get(&range))
            .or_else(|| responses.get(&range.to_lowercase()))
            .or_else(|| responses.get("default"))
            .map(|r| resolve(spec, r))
    }

    /// The resolved `application/json` request schema, if the operation takes a body.
    fn request_schema<'a>(&'a self, spec: &'a Value) -> Option<&'a Value> {
        let body = resolve(spec, self.raw.get("requestBody")?);
        let schema = body.pointer("/content/application~1json/schema")?;
        Some(resolve(spec, schema))
    }
}

fn operations(spec: &Value) -> Vec<Op> {
    let global = spec.get("security");
    let mut ops = Vec::new();
    let paths = spec["paths"].as_object().expect("spec has paths");
    for (path, item) in paths {
        let item = resolve(spec, item);
        let list = |v: Option<&Value>| -> Vec<Value> {
            v.and_then(Value::as_array)
                .map(|ps| ps.iter().map(|p| resolve(spec, p).clone()).collect())
                .unwrap_or_default()
        };
        let shared = list(item.get("parameters"));
        for method in HTTP_METHODS {
            let Some(raw) = item.get(method) else {
                continue;
            };
            let own = list(raw.get("parameters"));
            let mut params: Vec<Value> = shared
                .iter()
                .filter(|s| {
                    !own.iter()
                        .any(|o| o["name"] == s["name"] && o["in"] == s["in"])
                })
                .cloned()
                .collect();
            params.extend(own);
            let secured = match raw.get("security").or(global).and_then(Value::as_array) {
                Some(reqs) => {
                    !reqs.is_empty()
                        && reqs
                            .iter()
                            .all(|r| r.as_object().is_some_and(|o| !o.is_empty()))
                }
                None => false,
            };
            ops.push(Op {
                method: method.to_uppercase(),
                path: path.clone(),
                id: raw["operationId"].as_str().unwrap_or_default().to_string(),
                raw: raw.clone(),
                params,
                secured,
            });
        }
    }
    ops
}

/// The `{name}`s of a path template.
fn template_names(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("closed template") + start;
        out.push(rest[start + 1..end].to_string());
        rest = &rest[end + 1..];
    }
    out
}

/// Every `$ref` anywhere in `value`.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                    }
                }
                collect_refs(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Answers against their schemas, with the jsonschema crate

/// Checks `value` against one of the spec's OpenAPI 3.0 schemas with the `jsonschema` crate
/// (JSON Schema 2020-12, formats asserted). The schema sits under a root that holds the spec's
/// `components`, so its `#/components/...` references resolve as in the spec; 3.0's `nullable`
/// is written as JSON Schema's `null` type first (the one 3.0 keyword 2020-12 reads otherwise).
fn check(spec: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let mut root = json!({
        "components": spec.get("components").cloned().unwrap_or(Value::Null),
        "allOf": [schema],
    });
    nullable_as_null_type(&mut root);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("a schema of the demo spec does not compile: {e}"));
    for e in validator.iter_errors(value) {
        errors.push(format!("{at}{}: {e}", e.instance_path()));
    }
}

/// `{type: T, nullable: true}` as `{type: [T, "null"]}` (and `null` among an `enum`), everywhere.
fn nullable_as_null_type(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::String(ty)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([ty, "null"]));
                }
                if let Some(Value::Array(options)) = map.get_mut("enum") {
                    options.push(Value::Null);
                }
            }
            map.values_mut().for_each(nullable_as_null_type);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_as_null_type),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Talking to the demo

struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// The router's fallback: the path matched no route at all.
    fn is_no_such_route(&self) -> bool {
        let body = self.json();
        self.status == 404
            && body["error"]["code"] == "not_found"
            && body["error"]["message"] == "no such route"
    }
}

/// How a request authenticates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth<'a> {
    /// No credentials at all: no bearer token and no webhook signature.
    None,
    /// A bearer token (`None` for public operations) and, where the operation takes them, valid
    /// webhook signature headers.
    Legit(Option<&'a str>),
    /// A bearer token the server never issued.
    BadToken,
}

/// Real ids in one demo server, and the seeded accounts' tokens.
struct Fixture {
    tokens: HashMap<&'static str, String>,
    /// Values for path and query parameters, by name.
    values: HashMap<&'static str, String>,
    workspace_id: String,
    project_id: String,
}

impl Fixture {
    /// The account that legitimately calls `op`: the platform admin for the admin area, else the
    /// owner of Acme (who owns every resource the fixture created).
    fn token_for(&self, op: &Op) -> Option<&str> {
        if !op.secured {
            return None;
        }
        let handle = if op.path.starts_with("/admin") {
            "root"
        } else {
            "alice"
        };
        Some(self.tokens[handle].as_str())
    }
}

fn account(handle: &str) -> &'static tenantfuzz::demo::SeedAccount {
    ACCOUNTS
        .iter()
        .find(|a| a.handle == handle)
        .unwrap_or_else(|| panic!("no seeded account {handle}"))
}

fn unique() -> String {
    Uuid::new_v4().simple().to_string()
}

/// A body the owner legitimately sends to `op`; only writable fields.
fn legit_body(op: &Op, fx: &Fixture) -> Option<Value> {
    let alice = account("alice");
    let body = match op.id.as_str() {
        "login" | "createSession" => json!({"email": alice.email, "password": alice.password}),
        "register" => json!({
            "email": format!("spec-{}@example.test", unique()),
            "password": "register-password",
            "displayName": "Spec user",
            "workspaceName": "Spec workspace",
        }),
        "updateMe" => json!({"displayName": alice.display_name}),
        "createProject" => json!({"name": "Spec project", "description": "Made by the spec test"}),
        "updateProject" => json!({"name": "Spec project, renamed", "description": "Renamed"}),
        "createDocument" | "updateDocument" => json!({
            "title": "Spec document",
            "body": "The body of a document made by the spec test.",
            "published": true,
        }),
        "createComment" => json!({"body": "A comment from the spec test"}),
        "createAttachment" => json!({
            "workspaceId": fx.workspace_id,
            "filename": "notes.txt",
            "contentType": "text/plain",
            "content": "attachment content",
        }),
        "createAutomation" => json!({
            "name": "Notify on new documents",
            "trigger": "document.created",
            "action": "notify",
        }),
        "createReport" | "createExport" => json!({"projectId": fx.project_id}),
        "receiveBillingWebhook" => json!({
            "id": format!("evt_{}", unique()),
            "type": "credit.granted",
            "data": {"workspaceId": fx.workspace_id, "amountCents": 100},
        }),
        _ => return None,
    };
    Some(body)
}

fn unix_now() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
        .to_string()
}

/// Sends `op` with the fixture's ids, `overrides` replacing parameter values by name.
async fn send(
    client: &Client,
    base: &str,
    op: &Op,
    fx: &Fixture,
    auth: Auth<'_>,
    body: Option<&Value>,
    overrides: &[(&str, &str)],
) -> Answer {
    let value_of = |name: &str| -> Option<String> {
        overrides
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_string())
            .or_else(|| fx.values.get(name).cloned())
    };
    let mut path = op.path.clone();
    for name in template_names(&op.path) {
        let value = value_of(&name)
            .unwrap_or_else(|| panic!("{}: no value for path parameter {name}", op.key()));
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    let mut url = Url::parse(&format!("{base}{path}")).expect("valid URL");
    for p in op.params_in("query") {
        let name = p["name"].as_str().expect("named parameter");
        match value_of(name) {
            Some(value) => {
                url.query_pairs_mut().append_pair(name, &value);
            }
            None if p["required"] == true => {
                panic!("{}: no value for query parameter {name}", op.key())
            }
            None => {}
        }
    }
    let method = Method::from_bytes(op.method.as_bytes()).expect("HTTP method");
    let mut request = client.request(method, url);
    let text = body.map(|b| serde_json::to_string(b).expect("serializable body"));
    for p in op.params_in("header") {
        let name = p["name"].as_str().expect("named parameter");
        match name {
            "X-Webhook-Timestamp" | "X-Webhook-Signature" => {}
            other if p["required"] == true => {
                panic!("{}: no value for header parameter {other}", op.key())
            }
            _ => {}
        }
    }
    match auth {
        Auth::None => {}
        Auth::BadToken => {
            request = request.header(AUTHORIZATION, "Bearer dmo_not_a_token_the_server_issued");
        }
        Auth::Legit(token) => {
            if let Some(token) = token {
                request = request.header(AUTHORIZATION, format!("Bearer {token}"));
            }
            if op
                .params_in("header")
                .any(|p| p["name"] == "X-Webhook-Signature")
            {
                let timestamp = unix_now();
                let signed = text.as_deref().unwrap_or_default().as_bytes();
                let signature = webhook_signature(DEFAULT_WEBHOOK_SECRET, &timestamp, signed);
                request = request
                    .header("X-Webhook-Timestamp", timestamp)
                    .header("X-Webhook-Signature", signature);
            }
        }
    }
    if let Some(text) = text {
        request = request.header(CONTENT_TYPE, "application/json").body(text);
    }
    let response = request.send().await.expect("the demo answers");
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.text().await.expect("a readable body"),
    }
}

/// A plain request for the fixture's setup; must succeed.
async fn call(
    client: &Client,
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Value {
    let mut request = client.request(method.clone(), format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the demo answers");
    let status = response.status();
    let text = response.text().await.expect("a readable body");
    assert!(
        status.is_success(),
        "setup {method} {path} answered {status}: {text}"
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn id_of(value: &Value) -> String {
    match &value["id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("no id in {other}"),
    }
}

/// Logs in the seeded accounts and creates one of everything as the owner of Acme.
async fn setup(client: &Client, base: &str) -> Fixture {
    let mut tokens = HashMap::new();
    for account in ACCOUNTS {
        let login = call(
            client,
            base,
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": account.email, "password": account.password})),
        )
        .await;
        let token = login["token"].as_str().expect("a token").to_string();
        tokens.insert(account.handle, token);
    }
    let alice = Some(tokens["alice"].as_str());
    let me = call(client, base, Method::GET, "/me", alice, None).await;
    let workspace_id = me["workspaces"][0]["id"]
        .as_str()
        .expect("alice has a workspace")
        .to_string();
    let registered = call(
        client,
        base,
        Method::POST,
        "/auth/register",
        None,
        Some(json!({
            "email": format!("doomed-{}@example.test", unique()),
            "password": "doomed-password",
            "displayName": "Doomed",
            "workspaceName": "Doomed workspace",
        })),
    )
    .await;
    let user_id = registered["userId"]
        .as_str()
        .expect("a user id")
        .to_string();
    let project = call(
        client,
        base,
        Method::POST,
        &format!("/workspaces/{workspace_id}/projects"),
        alice,
        Some(json!({"name": "Fixture project"})),
    )
    .await;
    let project_id = id_of(&project);
    let document = call(
        client,
        base,
        Method::POST,
        &format!("/projects/{project_id}/documents"),
        alice,
        Some(json!({"title": "Fixture document", "body": "Spec body", "published": true})),
    )
    .await;
    let document_id = id_of(&document);
    let comment = call(
        client,
        base,
        Method::POST,
        &format!("/documents/{document_id}/comments"),
        alice,
        Some(json!({"body": "Fixture comment"})),
    )
    .await;
    let attachment = call(
        client,
        base,
        Method::POST,
        "/attachments",
        alice,
        Some(json!({
            "workspaceId": workspace_id, "filename": "a.txt",
            "contentType": "text/plain", "content": "fixture",
        })),
    )
    .await;
    let export = call(
        client,
        base,
        Method::POST,
        "/exports",
        alice,
        Some(json!({"projectId": project_id})),
    )
    .await;
    let invoices = call(client, base, Method::GET, "/billing/invoices", alice, None).await;
    let invoice_id = id_of(&invoices["invoices"][0]);
    let values = HashMap::from([
        ("workspaceId", workspace_id.clone()),
        ("projectId", project_id.clone()),
        ("documentId", document_id),
        ("commentId", id_of(&comment)),
        ("exportId", id_of(&export)),
        ("invoiceId", invoice_id),
        ("userId", user_id),
        ("id", id_of(&attachment)),
        ("q", "Spec".to_string()),
    ]);
    Fixture {
        tokens,
        values,
        workspace_id,
        project_id,
    }
}

async fn start(mode: Mode) -> (DemoServer, Client, String) {
    let server = DemoServer::start(DemoConfig::new(mode))
        .await
        .expect("the demo starts on loopback");
    let client = tenantfuzz::exec::http_client().expect("an HTTP client");
    let base = server.base_url();
    (server, client, base)
}

/// Records a failure unless `answer` is a documented answer of `op` with a fitting body.
fn judge(spec: &Value, op: &Op, label: &str, answer: &Answer, failures: &mut Vec<String>) {
    let who = format!("{} [{label}]", op.key());
    if answer.is_no_such_route() {
        failures.push(format!("{who}: the router has no such route"));
        return;
    }
    if answer.status == 405 {
        failures.push(format!("{who}: the router does not allow this method"));
        return;
    }
    let Some(response) = op.response(spec, answer.status) else {
        failures.push(format!(
            "{who}: undocumented status {} (documented {:?}): {}",
            answer.status,
            op.responses(),
            answer.text
        ));
        return;
    };
    if let Some(headers) = response.get("headers").and_then(Value::as_object) {
        for name in headers.keys() {
            if !answer
                .headers
                .contains_key(name.to_ascii_lowercase().as_str())
            {
                failures.push(format!(
                    "{who}: documented header {name} missing from the {} answer",
                    answer.status
                ));
            }
        }
    }
    match response.pointer("/content/application~1json/schema") {
        Some(schema) => {
            let Ok(body) = serde_json::from_str::<Value>(&answer.text) else {
                failures.push(format!(
                    "{who}: a {} answer that is not JSON: {}",
                    answer.status, answer.text
                ));
                return;
            };
            let mut errors = Vec::new();
            check(spec, schema, &body, "", &mut errors);
            for e in errors {
                failures.push(format!("{who}: {} body{e}: {body}", answer.status));
            }
        }
        None if response.get("content").is_none() && !answer.text.is_empty() => {
            failures.push(format!(
                "{who}: {} documented without a body but answered {}",
                answer.status, answer.text
            ));
        }
        None => {}
    }
}

/// Operations in an order where nothing a later operation needs has been deleted yet.
fn ordered(mut ops: Vec<Op>) -> Vec<Op> {
    let rank = |op: &Op| -> usize {
        if op.method != "DELETE" {
            return 0;
        }
        [
            "/comments",
            "/attachments",
            "/documents",
            "/workspaces",
            "/admin",
        ]
        .iter()
        .position(|prefix| op.path.starts_with(prefix))
        .map_or(99, |i| i + 1)
    };
    ops.sort_by_key(rank);
    ops
}

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn the_answer_checker_refuses_what_a_schema_forbids() {
    let spec = spec();
    let project = json!({"$ref": "#/components/schemas/Project"});
    let good = json!({
        "id": "p1", "workspaceId": "w1", "name": "n", "description": "",
        "createdBy": "u1", "createdAt": "2026-12-06T23:54:45Z",
    });
    let mut errors = Vec::new();
    check(&spec, &project, &good, "", &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let mut bad = good.clone();
    bad["name"] = json!("");
    bad["createdAt"] = json!("yesterday");
    bad.as_object_mut().map(|o| o.remove("createdBy"));
    check(&spec, &project, &bad, "", &mut errors);
    assert_eq!(errors.len(), 3, "{errors:?}");
    let mut nullable = json!({"type": "string", "nullable": true, "enum": ["a"]});
    nullable_as_null_type(&mut nullable);
    assert_eq!(
        nullable,
        json!({"type": ["string", "null"], "enum": ["a", null]})
    );
}

#[test]
fn spec_is_well_formed() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.0.3");
    assert_eq!(spec["info"]["title"], "tenantfuzz demo API");
    assert!(spec["info"]["version"].is_string());
    for server in spec["servers"].as_array().into_iter().flatten() {
        let url = server["url"].as_str().expect("server url");
        assert!(
            url.starts_with("http://127.0.0.1")
                || url.starts_with("http://localhost")
                || url.starts_with('/'),
            "server {url} is not local"
        );
    }
    let scheme = &spec["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(
        spec["security"],
        json!([{"bearerAuth": []}, {"basicAuth": []}, {"apiKeyHeader": []}, {"apiKeyQuery": []}, {"sessionCookie": []}])
    );

    let mut refs = Vec::new();
    collect_refs(&spec, &mut refs);
    assert!(!refs.is_empty());
    for reference in &refs {
        let pointer = reference.strip_prefix('#').expect("local $ref");
        assert!(spec.pointer(pointer).is_some(), "broken $ref {reference}");
    }
    assert!(
        spec["components"]["schemas"]["Error"].is_object(),
        "schema Error"
    );
    for name in ["Unauthorized", "NotFound", "BadRequest", "Forbidden"] {
        assert!(
            spec["components"]["responses"][name].is_object(),
            "response {name}"
        );
    }

    let ops = operations(&spec);
    let mut ids = BTreeSet::new();
    let mut failures = Vec::new();
    for op in &ops {
        let key = op.key();
        if op.id.is_empty()
            || !op.id.starts_with(|c: char| c.is_ascii_lowercase())
            || !op.id.chars().all(|c| c.is_ascii_alphanumeric())
        {
            failures.push(format!("{key}: operationId {:?} is not camelCase", op.id));
        }
        if !ids.insert(op.id.clone()) {
            failures.push(format!("{key}: duplicate operationId {}", op.id));
        }
        if op.raw["summary"].as_str().is_none_or(str::is_empty) {
            failures.push(format!("{key}: no summary"));
        }
        if op.raw["tags"].as_array().is_none_or(Vec::is_empty) {
            failures.push(format!("{key}: no tags"));
        }
        // Every template name is a declared, required path parameter, and vice versa.
        let template: BTreeSet<String> = template_names(&op.path).into_iter().collect();
        let declared: BTreeSet<String> = op
            .params_in("path")
            .map(|p| p["name"].as_str().unwrap_or_default().to_string())
            .collect();
        if template != declared {
            failures.push(format!(
                "{key}: path parameters {declared:?} do not match the template {template:?}"
            ));
        }
        for p in &op.params {
            let (location, name) = (
                p["in"].as_str().unwrap_or_default(),
                p["name"].as_str().unwrap_or_default(),
            );
            if location == "path" && p["required"] != true {
                failures.push(format!("{key}: path parameter {name} is not required"));
            }
            match PARAMETER_TYPES
                .iter()
                .find(|(l, n, _, _)| *l == location && *n == name)
            {
                Some((_, _, ty, format)) => {
                    let schema = resolve(&spec, &p["schema"]);
                    if schema["type"] != *ty || schema["format"].as_str() != *format {
                        failures.push(format!(
                            "{key}: parameter {name} should be {ty} {format:?}, is {schema}"
                        ));
                    }
                }
                None => failures.push(format!("{key}: unexpected parameter {location} {name}")),
            }
        }
        // Security: public exactly where intended; every secured operation documents 401.
        let public = PUBLIC.iter().any(|(m, p)| *m == op.method && *p == op.path);
        if public == op.secured {
            failures.push(format!(
                "{key}: secured is {}, expected {}",
                op.secured, !public
            ));
        }
        if public && op.raw.get("security") != Some(&json!([])) {
            failures.push(format!("{key}: a public operation without `security: []`"));
        }
        if op.secured && !op.responses().contains("401") {
            failures.push(format!("{key}: secured but 401 is not documented"));
        }
        // Every 201 that returns an object links to its follow-ups.
        if let Some(created) = op.raw["responses"].get("201").map(|r| resolve(&spec, r)) {
            if created.get("content").is_some()
                && created["links"].as_object().is_none_or(|l| l.is_empty())
            {
                failures.push(format!("{key}: a 201 with a body but no links"));
            }
        }
    }
    // Links name existing operations and their parameters.
    for op in &ops {
        for (status, response) in op.raw["responses"].as_object().into_iter().flatten() {
            let response = resolve(&spec, response);
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                let link = resolve(&spec, link);
                let target = link["operationId"].as_str().unwrap_or_default();
                let Some(target) = ops.iter().find(|o| o.id == target) else {
                    failures.push(format!(
                        "{}: {status} link {name} names no operation",
                        op.key()
                    ));
                    continue;
                };
                for param in link["parameters"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    let bare = param.split_once('.').map_or(param.as_str(), |(_, n)| n);
                    if !target.params.iter().any(|p| p["name"] == bare) {
                        failures.push(format!(
                            "{}: {status} link {name} sets {param}, not a parameter of {}",
                            op.key(),
                            target.id
                        ));
                    }
                }
            }
        }
    }
    // The read-only fields a real API declares on its request schemas.
    let find = |id: &str| ops.iter().find(|o| o.id == id).expect("operation exists");
    let project = find("createProject").request_schema(&spec).expect("a body");
    assert_eq!(project["properties"]["workspaceId"]["readOnly"], true);
    assert_eq!(project["properties"]["workspaceId"]["type"], "string");
    for id in ["getMe", "updateMe"] {
        let op = find(id);
        let schema = match op.request_schema(&spec) {
            Some(schema) => schema,
            None => resolve(
                &spec,
                op.response(&spec, 200)
                    .and_then(|r| r.pointer("/content/application~1json/schema"))
                    .expect("a 200 body"),
            ),
        };
        assert_eq!(schema["properties"]["role"]["readOnly"], true, "{id}");
        assert_eq!(
            schema["properties"]["role"]["enum"],
            json!(["user", "admin"]),
            "{id}"
        );
    }
    let hint = SPEC_YAML.to_lowercase();
    for word in [
        "vulnerab",
        "bug",
        "missing check",
        "planted",
        "exploit",
        "insecure",
    ] {
        assert!(!hint.contains(word), "the spec mentions {word:?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn spec_lists_exactly_the_routes_of_the_router() {
    let spec = spec();
    let ops = operations(&spec);
    let documented: BTreeSet<(String, String)> = ops
        .iter()
        .map(|o| (o.method.clone(), o.path.clone()))
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_string(), (*p).to_string()))
        .collect();
    assert_eq!(
        documented.difference(&routed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not routed"
    );
    assert_eq!(
        routed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routed but not documented"
    );

    let (server, client, base) = start(Mode::Secure).await;
    // Every documented path exists, and every method the router allows on it is documented: the
    // router answers 405 to the others.
    let mut failures = Vec::new();
    let sample = |name: &str| match name {
        "documentId" | "commentId" => "1".to_string(),
        other => format!("{other}-x"),
    };
    let paths: BTreeSet<&String> = ops.iter().map(|o| &o.path).collect();
    for path in paths {
        let mut concrete = path.clone();
        for name in template_names(path) {
            concrete = concrete.replace(&format!("{{{name}}}"), &sample(&name));
        }
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let documented = ops.iter().any(|o| &o.path == path && o.method == method);
            let response = client
                .request(
                    Method::from_bytes(method.as_bytes()).expect("method"),
                    format!("{base}{concrete}"),
                )
                .send()
                .await
                .expect("the demo answers");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let no_route = status == 404 && body["error"]["message"] == "no such route";
            if no_route {
                failures.push(format!("{method} {path}: no such route"));
            } else if documented && status == 405 {
                failures.push(format!("{method} {path}: documented but answers 405"));
            } else if !documented && status != 405 {
                failures.push(format!(
                    "{method} {path}: undocumented but answers {status}"
                ));
            } else if !documented && body["error"]["code"] != "method_not_allowed" {
                failures.push(format!(
                    "{method} {path}: 405 without the error shape: {body}"
                ));
            }
        }
    }
    // The fallback really is what the checks above look for, and the spec is served as is.
    let missing = client
        .get(format!("{base}/no/such/route"))
        .send()
        .await
        .expect("the demo answers");
    assert_eq!(missing.status().as_u16(), 404);
    let body: Value = missing.json().await.expect("JSON");
    assert_eq!(
        body,
        json!({"error": {"code": "not_found", "message": "no such route"}})
    );
    let served = client
        .get(format!("{base}/openapi.yaml"))
        .send()
        .await
        .expect("the demo answers");
    assert_eq!(served.status().as_u16(), 200);
    assert_eq!(served.text().await.expect("text"), SPEC_YAML);
    server.shutdown().await.expect("clean shutdown");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// For every operation: no credentials, a bad token, a legitimate request as the owner, then the
/// same request from other accounts.
async fn answers_only_documented_statuses(mode: Mode) {
    let spec = spec();
    let ops = ordered(operations(&spec));
    let (server, client, base) = start(mode).await;
    let fx = setup(&client, &base).await;
    let mut failures = Vec::new();
    for op in &ops {
        let body = legit_body(op, &fx);
        if op.raw.get("requestBody").is_some() && body.is_none() {
            failures.push(format!(
                "{}: the test knows no body for {}",
                op.key(),
                op.id
            ));
            continue;
        }

        let anonymous = send(&client, &base, op, &fx, Auth::None, body.as_ref(), &[]).await;
        judge(&spec, op, "no credentials", &anonymous, &mut failures);
        if mode == Mode::Secure && op.secured && anonymous.status != 401 {
            failures.push(format!(
                "{} [no credentials]: {} instead of 401 from a secured operation",
                op.key(),
                anonymous.status
            ));
        }

        if op.secured {
            let body = legit_body(op, &fx);
            let bad = send(&client, &base, op, &fx, Auth::BadToken, body.as_ref(), &[]).await;
            judge(&spec, op, "bad token", &bad, &mut failures);
            if bad.status != 401 {
                failures.push(format!(
                    "{} [bad token]: {} instead of 401",
                    op.key(),
                    bad.status
                ));
            }
        }

        let body = legit_body(op, &fx);
        let auth = Auth::Legit(fx.token_for(op));
        let legit = send(&client, &base, op, &fx, auth, body.as_ref(), &[]).await;
        judge(&spec, op, "legitimate", &legit, &mut failures);
        if !(200..300).contains(&legit.status) {
            failures.push(format!(
                "{} [legitimate]: {} instead of success: {}",
                op.key(),
                legit.status,
                legit.text
            ));
        }

        // Other accounts on the owner's resources: another tenant's owner, and a plain member of
        // the owner's workspace. Sent after the owner's request, so deletes find nothing left.
        if op.secured {
            for handle in ["bob", "carol"] {
                let body = legit_body(op, &fx);
                let auth = Auth::Legit(Some(fx.tokens[handle].as_str()));
                let other = send(&client, &base, op, &fx, auth, body.as_ref(), &[]).await;
                judge(&spec, op, handle, &other, &mut failures);
            }
        }
    }
    server.shutdown().await.expect("clean shutdown");
    assert!(
        failures.is_empty(),
        "{mode:?} mode:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn secure_demo_answers_only_documented_statuses() {
    answers_only_documented_statuses(Mode::Secure).await;
}

#[tokio::test]
async fn vulnerable_demo_answers_only_documented_statuses() {
    answers_only_documented_statuses(Mode::Vulnerable).await;
}

/// A value of exactly `len` characters, built from `base`.
fn sized(base: &str, len: usize) -> String {
    let mut s: String = base.chars().take(len).collect();
    while s.chars().count() < len {
        s.push('x');
    }
    s
}

/// Records a failure unless `answer` is a 400 (`want_400`) or else neither a 400 nor a 5xx.
fn expect_400(failures: &mut Vec<String>, op: &Op, what: String, answer: Answer, want_400: bool) {
    let ok = if want_400 {
        answer.status == 400
    } else {
        answer.status != 400 && answer.status < 500
    };
    if !ok {
        failures.push(format!(
            "{} with {what}: {} ({})",
            op.key(),
            answer.status,
            answer.text
        ));
    }
}

/// The request schemas' `required` lists, lengths and enums match what the handlers accept.
#[tokio::test]
async fn request_constraints_match_the_handlers() {
    let spec = spec();
    let ops = operations(&spec);
    let (server, client, base) = start(Mode::Secure).await;
    let fx = setup(&client, &base).await;
    let mut failures = Vec::new();
    for op in &ops {
        let auth = Auth::Legit(fx.token_for(op));
        // Integer path parameters: anything else is a 400.
        for p in op.params_in("path") {
            let name = p["name"].as_str().expect("named");
            if resolve(&spec, &p["schema"])["type"] == "integer" {
                let body = legit_body(op, &fx);
                let answer = send(
                    &client,
                    &base,
                    op,
                    &fx,
                    auth,
                    body.as_ref(),
                    &[(name, "abc")],
                )
                .await;
                expect_400(&mut failures, op, format!("{name}=abc"), answer, true);
            }
        }
        // Query parameters' lengths and formats.
        for p in op.params_in("query") {
            let name = p["name"].as_str().expect("named");
            let schema = resolve(&spec, &p["schema"]);
            let base_value = fx.values[name].clone();
            if schema["format"] == "uuid" {
                let answer =
                    send(&client, &base, op, &fx, auth, None, &[(name, "not-a-uuid")]).await;
                expect_400(
                    &mut failures,
                    op,
                    format!("{name}=not-a-uuid"),
                    answer,
                    true,
                );
                continue;
            }
            let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
            if min > 0 {
                let value = sized(&base_value, min - 1);
                let answer = send(&client, &base, op, &fx, auth, None, &[(name, &value)]).await;
                expect_400(
                    &mut failures,
                    op,
                    format!("{name} of {} characters", min - 1),
                    answer,
                    true,
                );
            }
            let value = sized(&base_value, min);
            let answer = send(&client, &base, op, &fx, auth, None, &[(name, &value)]).await;
            expect_400(
                &mut failures,
                op,
                format!("{name} of {min} characters"),
                answer,
                false,
            );
            if let Some(max) = schema["maxLength"].as_u64().map(|m| m as usize) {
                for (len, want_400) in [(max, false), (max + 1, true)] {
                    let value = sized(&base_value, len);
                    let answer = send(&client, &base, op, &fx, auth, None, &[(name, &value)]).await;
                    expect_400(
                        &mut failures,
                        op,
                        format!("{name} of {len} characters"),
                        answer,
                        want_400,
                    );
                }
            }
        }

        let Some(schema) = op.request_schema(&spec) else {
            continue;
        };
        let properties = schema["properties"].as_object().expect("an object schema");
        let writable: BTreeMap<String, Value> = properties
            .iter()
            .map(|(k, v)| (k.clone(), resolve(&spec, v).clone()))
            .filter(|(_, v)| v["readOnly"] != true)
            .collect();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|name| writable.contains_key(*name))
            .collect();
        let fresh = || legit_body(op, &fx).expect("a legitimate body");
        // The legitimate body sends writable fields only.
        for key in fresh().as_object().expect("an object body").keys() {
            if !writable.contains_key(key) {
                failures.push(format!(
                    "{}: the test's body sends the read-only {key}",
                    op.key()
                ));
            }
        }
        // Only the required fields: accepted.
        let mut minimal = fresh();
        minimal
            .as_object_mut()
            .expect("an object body")
            .retain(|k, _| required.contains(&k.as_str()));
        let answer = send(&client, &base, op, &fx, auth, Some(&minimal), &[]).await;
        if !(200..300).contains(&answer.status) {
            failures.push(format!(
                "{} with only the required fields {minimal}: {} ({})",
                op.key(),
                answer.status,
                answer.text
            ));
        }
        // Any required field missing: 400.
        for name in &required {
            let mut body = fresh();
            body.as_object_mut().expect("an object body").remove(*name);
            let answer = send(&client, &base, op, &fx, auth, Some(&body), &[]).await;
            expect_400(&mut failures, op, format!("no {name}"), answer, true);
        }
        // String fields: enums, lengths.
        for (name, prop) in &writable {
            if prop["type"] != "string" {
                continue;
            }
            let with = |value: Value| {
                let mut body = fresh();
                body[name.as_str()] = value;
                body
            };
            if let Some(options) = prop["enum"].as_array() {
                for option in options {
                    let answer = send(
                        &client,
                        &base,
                        op,
                        &fx,
                        auth,
                        Some(&with(option.clone())),
                        &[],
                    )
                    .await;
                    expect_400(&mut failures, op, format!("{name}={option}"), answer, false);
                }
                let answer = send(
                    &client,
                    &base,
                    op,
                    &fx,
                    auth,
                    Some(&with(json!("not-a-valid-value"))),
                    &[],
                )
                .await;
                expect_400(
                    &mut failures,
                    op,
                    format!("{name} outside its enum"),
                    answer,
                    true,
                );
                continue;
            }
            let base_value = fresh()[name.as_str()].as_str().unwrap_or("x").to_string();
            let min = prop["minLength"].as_u64().unwrap_or(0) as usize;
            let mut cases = Vec::new();
            if min > 0 {
                cases.push((min - 1, true));
            }
            if prop.get("format").is_none() {
                cases.push((min, false));
            }
            if let Some(max) = prop["maxLength"].as_u64().map(|m| m as usize) {
                cases.push((max, false));
                cases.push((max + 1, true));
            }
            for (len, want_400) in cases {
                let body = with(json!(sized(&base_value, len)));
                let answer = send(&client, &base, op, &fx, auth, Some(&body), &[]).await;
                expect_400(
                    &mut failures,
                    op,
                    format!("{name} of {len} characters"),
                    answer,
                    want_400,
                );
            }
        }
    }
    server.shutdown().await.expect("clean shutdown");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The refusals the spec documents really happen, with the documented status and body.
#[tokio::test]
async fn documented_refusals_happen() {
    let spec = spec();
    let ops = operations(&spec);
    let (server, client, base) = start(Mode::Secure).await;
    let fx = setup(&client, &base).await;
    let token = |handle: &str| Some(fx.tokens[handle].clone());
    let bob_ws = call(
        &client,
        &base,
        Method::GET,
        "/workspaces",
        token("bob").as_deref(),
        None,
    )
    .await["workspaces"][0]["id"]
        .as_str()
        .expect("bob has a workspace")
        .to_string();
    let bob_projects = format!("/workspaces/{bob_ws}/projects");
    let bob_project = id_of(
        &call(
            &client,
            &base,
            Method::GET,
            &bob_projects,
            token("bob").as_deref(),
            None,
        )
        .await["projects"][0],
    );
    let root_id = call(
        &client,
        &base,
        Method::GET,
        "/me",
        token("root").as_deref(),
        None,
    )
    .await["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let alice = account("alice");
    let duplicate_event = Some(json!({
        "id": format!("evt_{}", unique()), "type": "credit.granted",
        "data": {"workspaceId": fx.workspace_id, "amountCents": 5},
    }));
    type Case<'a> = (
        &'a str,
        Option<String>,
        Vec<(&'a str, String)>,
        Option<Value>,
        u16,
    );
    let cases: Vec<Case> = vec![
        (
            "login",
            None,
            vec![],
            Some(json!({"email": alice.email, "password": "wrong"})),
            401,
        ),
        (
            "register",
            None,
            vec![],
            Some(json!({"email": alice.email, "password": "long-enough",
                        "displayName": "Again", "workspaceName": "Again"})),
            409,
        ),
        ("getWorkspace", token("bob"), vec![], None, 403),
        (
            "getWorkspace",
            token("alice"),
            vec![("workspaceId", "ws_missing".into())],
            None,
            404,
        ),
        ("listMembers", token("bob"), vec![], None, 403),
        ("listProjects", token("bob"), vec![], None, 403),
        ("createProject", token("bob"), vec![], None, 403),
        ("getProject", token("bob"), vec![], None, 403),
        ("updateProject", token("bob"), vec![], None, 403),
        ("listWorkspaceAttachments", token("bob"), vec![], None, 403),
        ("createAttachment", token("bob"), vec![], None, 403),
        ("createAutomation", token("bob"), vec![], None, 404),
        (
            "createAutomation",
            token("bob"),
            vec![("projectId", bob_project.clone())],
            None,
            402,
        ),
        ("getDocument", token("bob"), vec![], None, 404),
        ("updateDocument", token("bob"), vec![], None, 404),
        ("deleteDocument", token("bob"), vec![], None, 204),
        ("getDocument", token("alice"), vec![], None, 200),
        ("deleteComment", token("carol"), vec![], None, 403),
        ("deleteComment", token("bob"), vec![], None, 404),
        ("getAttachment", token("bob"), vec![], None, 404),
        ("createReport", token("bob"), vec![], None, 404),
        ("createExport", token("bob"), vec![], None, 404),
        ("getExport", token("bob"), vec![], None, 404),
        ("getInvoice", token("bob"), vec![], None, 200),
        ("getInvoice", token("carol"), vec![], None, 200),
        ("adminListWorkspaces", token("alice"), vec![], None, 403),
        ("adminDeleteUser", token("alice"), vec![], None, 403),
        (
            "adminDeleteUser",
            token("root"),
            vec![("userId", root_id)],
            None,
            400,
        ),
        (
            "adminDeleteUser",
            token("root"),
            vec![("userId", "usr_missing".into())],
            None,
            404,
        ),
        ("deleteProject", token("carol"), vec![], None, 403),
        (
            "getPublicDocument",
            None,
            vec![("documentId", "1".into())],
            None,
            404,
        ),
        (
            "receiveBillingWebhook",
            None,
            vec![],
            Some(
                json!({"id": format!("evt_{}", unique()), "type": "credit.granted",
                        "data": {"workspaceId": "ws_missing", "amountCents": 5}}),
            ),
            404,
        ),
        (
            "receiveBillingWebhook",
            None,
            vec![],
            duplicate_event.clone(),
            200,
        ),
        ("receiveBillingWebhook", None, vec![], duplicate_event, 200),
    ];
    let mut failures = Vec::new();
    let mut duplicates = 0;
    for (id, token, overrides, body, want) in &cases {
        let op = ops
            .iter()
            .find(|o| o.id == *id)
            .expect("a documented operation");
        let body = body.clone().or_else(|| legit_body(op, &fx));
        let overrides: Vec<(&str, &str)> =
            overrides.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let answer = send(
            &client,
            &base,
            op,
            &fx,
            Auth::Legit(token.as_deref()),
            body.as_ref(),
            &overrides,
        )
        .await;
        judge(&spec, op, "refusal", &answer, &mut failures);
        if answer.status != *want {
            failures.push(format!(
                "{id} {overrides:?}: {} instead of {want}: {}",
                answer.status, answer.text
            ));
        }
        if *id == "getInvoice" && answer.json()["error"]["code"] != "not_found" {
            failures.push(format!("{id}: a foreign invoice answered {}", answer.text));
        }
        if answer.json()["duplicate"] == true {
            duplicates += 1;
        }
    }
    if duplicates != 1 {
        failures.push(format!(
            "{duplicates} webhook answers say duplicate, expected 1"
        ));
    }
    // A webhook with a wrong signature is refused with the documented 401.
    let op = ops
        .iter()
        .find(|o| o.id == "receiveBillingWebhook")
        .expect("documented");
    let answer = client
        .post(format!("{base}/webhooks/billing"))
        .header("X-Webhook-Timestamp", unix_now())
        .header("X-Webhook-Signature", format!("sha256={}", "0".repeat(64)))
        .header(CONTENT_TYPE, "application/json")
        .body(legit_body(op, &fx).expect("a body").to_string())
        .send()
        .await
        .expect("the demo answers");
    let answer = Answer {
        status: answer.status().as_u16(),
        headers: answer.headers().clone(),
        text: answer.text().await.expect("a body"),
    };
    judge(&spec, op, "bad signature", &answer, &mut failures);
    assert_eq!(answer.status, 401, "{}", answer.text);
    assert_eq!(answer.json()["error"]["code"], "invalid_signature");
    server.shutdown().await.expect("clean shutdown");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ground_truth_names_documented_operations() {
    let spec = spec();
    let documented: BTreeSet<(String, String)> = operations(&spec)
        .into_iter()
        .map(|o| (o.method, o.path))
        .collect();
    let truth: Value = serde_json::from_str(GROUND_TRUTH_JSON).expect("the ground truth is JSON");
    let vulnerabilities = truth["vulnerabilities"]
        .as_array()
        .expect("vulnerabilities");
    assert_eq!(vulnerabilities.len(), 13);
    let ids: BTreeSet<u64> = vulnerabilities
        .iter()
        .map(|v| v["id"].as_u64().expect("an integer id"))
        .collect();
    assert_eq!(
        ids,
        (1..=13).collect::<BTreeSet<u64>>(),
        "ids 1..=13, each once"
    );
    let key = |v: &Value| {
        (
            v["method"].as_str().expect("method").to_string(),
            v["path"].as_str().expect("path").to_string(),
        )
    };
    let mut vulnerable = BTreeSet::new();
    for v in vulnerabilities {
        let k = key(v);
        assert!(documented.contains(&k), "{k:?} is not in the spec");
        let kind = v["kind"].as_str().expect("kind");
        assert!(KINDS.contains(&kind), "unknown kind {kind}");
        let vector = v["vector"].as_str().expect("vector");
        assert!(VECTORS.contains(&vector), "unknown vector {vector}");
        assert!(v["description"].as_str().is_some_and(|d| !d.is_empty()));
        vulnerable.insert(k);
    }
    let must_not_flag = truth["must_not_flag"].as_array().expect("must_not_flag");
    assert!(!must_not_flag.is_empty());
    for m in must_not_flag {
        let k = key(m);
        assert!(documented.contains(&k), "{k:?} is not in the spec");
        assert!(
            !vulnerable.contains(&k),
            "{k:?} is both vulnerable and must-not-flag"
        );
        assert!(m["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
}
