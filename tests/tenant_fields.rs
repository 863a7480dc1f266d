//! A Django REST framework-style API in the shape of NetBox's (issue #22; field trials, cause
//! "creates the server refuses"): paths end in `/`; lists answer `{count, results}`; a create
//! is allowed only when its body names the caller's own tenant (`"tenant": 1`, declared as
//! `oneOf: [integer, {brief tenant}]`), which only the caller's list of tenants shows (an
//! administrator lists every tenant); an optional `time_zone` must be a real one; the
//! free-form `custom_fields` refuses any field it does not know; a slug has a pattern and is
//! unique; a site may name a region, which only administrators create (a member's create of one
//! is refused: the site, and a change of another tenant's site, go without it); a prefix must be a CIDR network, unique too, and may name a site, shown in brief in
//! its answer (a site a prefix names cannot be deleted: 409). Regions are shared by design:
//! everyone reads the same ones. The campaign must create sites and prefixes that pass, attack
//! them, and delete them at the end (a site after the prefixes that name it, even another
//! tenant's): findings where another tenant's site is read, changed or named by one's own
//! prefix, or its prefix deleted; silence where it is not and on the shared regions.
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
use tenantfuzz::config::{IdentitySettings, Secret, Settings};
use tenantfuzz::outcome::CampaignResult;

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: inventory, version: '1'}
security: [{token: []}]
paths:
  /tenants/:
    get:
      responses:
        '200':
          description: the tenants the caller may see
          content: {application/json: {schema: {$ref: '#/components/schemas/TenantList'}}}
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: '#/components/schemas/TenantRequest'}}}
      responses:
        '201':
          description: the tenant
          content: {application/json: {schema: {$ref: '#/components/schemas/Tenant'}}}
        '403': {description: administrators only}
  /tenants/{id}/:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        '200':
          description: the tenant
          content: {application/json: {schema: {$ref: '#/components/schemas/Tenant'}}}
        '404': {description: not found}
  /regions/:
    get:
      responses:
        '200':
          description: every region (shared by design)
          content: {application/json: {schema: {$ref: '#/components/schemas/RegionList'}}}
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, required: [name], properties: {name: {type: string}}}}}
      responses:
        '201':
          description: the region
          content: {application/json: {schema: {$ref: '#/components/schemas/Region'}}}
        '403': {description: administrators only}
  /regions/{id}/:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        '200':
          description: the region
          content: {application/json: {schema: {$ref: '#/components/schemas/Region'}}}
        '404': {description: not found}
  /sites/:
    get:
      responses:
        '200':
          description: the caller's tenant's sites
          content: {application/json: {schema: {$ref: '#/components/schemas/SiteList'}}}
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: '#/components/schemas/SiteRequest'}}}
      responses:
        '201':
          description: the site
          content: {application/json: {schema: {$ref: '#/components/schemas/Site'}}}
        '400': {description: invalid}
        '403': {description: not the caller's tenant}
  /sites/{id}/:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        '200':
          description: the site
          content: {application/json: {schema: {$ref: '#/components/schemas/Site'}}}
        '404': {description: not found}
    patch:
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: '#/components/schemas/PatchedSiteRequest'}}}
      responses:
        '200':
          description: the site
          content: {application/json: {schema: {$ref: '#/components/schemas/Site'}}}
        '400': {description: invalid}
        '404': {description: not found}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: not found}
  /prefixes/:
    get:
      responses:
        '200':
          description: the caller's tenant's prefixes
          content: {application/json: {schema: {$ref: '#/components/schemas/PrefixList'}}}
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: '#/components/schemas/PrefixRequest'}}}
      responses:
        '201':
          description: the prefix
          content: {application/json: {schema: {$ref: '#/components/schemas/Prefix'}}}
        '400': {description: invalid}
        '403': {description: not the caller's tenant}
  /prefixes/{id}/:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        '200':
          description: the prefix
          content: {application/json: {schema: {$ref: '#/components/schemas/Prefix'}}}
        '404': {description: not found}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: not found}
components:
  securitySchemes:
    token: {type: apiKey, in: header, name: Authorization}
  schemas:
    TenantRef:
      oneOf:
        - {type: integer}
        - allOf: [{$ref: '#/components/schemas/BriefTenantRequest'}]
          nullable: true
      nullable: true
    BriefTenantRequest:
      type: object
      required: [name, slug]
      properties:
        name: {type: string}
        slug: {type: string, pattern: '^[-a-zA-Z0-9_]+$'}
    TenantRequest:
      type: object
      required: [name, slug]
      properties:
        name: {type: string, maxLength: 100}
        slug: {type: string, pattern: '^[-a-zA-Z0-9_]+$'}
    Tenant:
      type: object
      properties:
        id: {type: integer, readOnly: true}
        name: {type: string}
        slug: {type: string}
    TenantList:
      type: object
      properties:
        count: {type: integer}
        results: {type: array, items: {$ref: '#/components/schemas/Tenant'}}
    Region:
      type: object
      properties:
        id: {type: integer, readOnly: true}
        name: {type: string}
    RegionList:
      type: object
      properties:
        count: {type: integer}
        results: {type: array, items: {$ref: '#/components/schemas/Region'}}
    SiteRequest:
      type: object
      required: [name, slug]
      properties:
        name: {type: string, maxLength: 100}
        slug: {type: string, maxLength: 100, pattern: '^[-a-zA-Z0-9_]+$'}
        tenant: {$ref: '#/components/schemas/TenantRef'}
        region: {type: integer, nullable: true}
        time_zone: {type: string, nullable: true}
        facility: {type: string, maxLength: 50}
        description: {type: string, maxLength: 200}
        custom_fields: {type: object, additionalProperties: {}}
    PatchedSiteRequest:
      type: object
      properties:
        name: {type: string, maxLength: 100}
        slug: {type: string, maxLength: 100, pattern: '^[-a-zA-Z0-9_]+$'}
        tenant: {$ref: '#/components/schemas/TenantRef'}
        region: {type: integer, nullable: true}
        time_zone: {type: string, nullable: true}
        description: {type: string, maxLength: 200}
        custom_fields: {type: object, additionalProperties: {}}
    Site:
      type: object
      properties:
        id: {type: integer, readOnly: true}
        name: {type: string}
        slug: {type: string}
        description: {type: string}
        tenant: {$ref: '#/components/schemas/Tenant'}
    SiteList:
      type: object
      properties:
        count: {type: integer}
        results: {type: array, items: {$ref: '#/components/schemas/Site'}}
    PrefixRequest:
      type: object
      required: [prefix]
      properties:
        prefix: {type: string, minLength: 1}
        site: {type: integer, nullable: true}
        tenant: {$ref: '#/components/schemas/TenantRef'}
        description: {type: string, maxLength: 200}
        custom_fields: {type: object, additionalProperties: {}}
    Prefix:
      type: object
      properties:
        id: {type: integer, readOnly: true}
        prefix: {type: string}
        description: {type: string}
        site: {$ref: '#/components/schemas/Site'}
        tenant: {$ref: '#/components/schemas/Tenant'}
    PrefixList:
      type: object
      properties:
        count: {type: integer}
        results: {type: array, items: {$ref: '#/components/schemas/Prefix'}}
"#;

/// (identity, tenant, token, tenant id; 0 for the administrator, who sees every tenant).
const IDENTITIES: &[(&str, &str, &str, u64)] = &[
    ("alice", "acme", "Token alice-1", 1),
    ("bob", "globex", "Token bob-2", 2),
    ("admin", "platform", "Token admin-0", 0),
];

/// The caller's tenant id (0: administrator); 401 without a known token.
fn caller(headers: &HeaderMap) -> Result<u64, StatusCode> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or(StatusCode::UNAUTHORIZED)?;
    IDENTITIES
        .iter()
        .find(|i| i.2 == token)
        .map(|i| i.3)
        .ok_or(StatusCode::UNAUTHORIZED)
}

/// id -> (tenant id, object)
type Store = Arc<Mutex<BTreeMap<u64, (u64, Value)>>>;

#[derive(Clone)]
struct App {
    sites: Store,
    prefixes: Store,
    next: Arc<Mutex<u64>>,
    vulnerable: bool,
}

type Answer = Result<(StatusCode, Json<Value>), (StatusCode, Json<Value>)>;

fn refuse(status: StatusCode, why: Value) -> (StatusCode, Json<Value>) {
    (status, Json(why))
}

fn tenant_json(id: u64) -> Value {
    let (_, slug, _, _) = IDENTITIES.iter().find(|i| i.3 == id).unwrap();
    json!({"id": id, "name": slug, "slug": slug})
}

fn page(items: Vec<Value>) -> Json<Value> {
    Json(json!({"count": items.len(), "results": items}))
}

async fn list_tenants(headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    let me = caller(&headers)?;
    Ok(page(
        [1, 2]
            .into_iter()
            .filter(|t| me == 0 || *t == me)
            .map(tenant_json)
            .collect(),
    ))
}

async fn read_tenant(headers: HeaderMap, Path(id): Path<u64>) -> Result<Json<Value>, StatusCode> {
    let me = caller(&headers)?;
    if (id == 1 || id == 2) && (me == 0 || me == id) {
        Ok(Json(tenant_json(id)))
    } else {
        Err(StatusCode::NOT_FOUND)
    }
}

async fn create_tenant(headers: HeaderMap) -> StatusCode {
    match caller(&headers) {
        Ok(_) => StatusCode::FORBIDDEN,
        Err(status) => status,
    }
}

async fn list_regions(headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    caller(&headers)?;
    Ok(page(vec![
        json!({"id": 1, "name": "Europe"}),
        json!({"id": 2, "name": "Asia"}),
    ]))
}

async fn read_region(headers: HeaderMap, Path(id): Path<u64>) -> Result<Json<Value>, StatusCode> {
    caller(&headers)?;
    match id {
        1 => Ok(Json(json!({"id": 1, "name": "Europe"}))),
        2 => Ok(Json(json!({"id": 2, "name": "Asia"}))),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

/// The checks a create or change makes on what it was sent, as Django REST framework words
/// them: `{field: [message]}` with 400, 403 when the object would not be the caller's tenant's.
fn validate(
    body: &Value,
    me: u64,
    store: &Store,
    field: &str,
) -> Result<u64, (StatusCode, Json<Value>)> {
    let mut errors = serde_json::Map::new();
    if let Some(tz) = body.get("time_zone").and_then(Value::as_str) {
        if !["UTC", "Europe/Paris", "America/New_York"].contains(&tz) {
            errors.insert("time_zone".into(), json!(["A valid timezone is required."]));
        }
    }
    if let Some(fields) = body.get("custom_fields").and_then(Value::as_object) {
        if let Some(name) = fields.keys().next() {
            errors.insert(
                "custom_fields".into(),
                json!({name: format!("Custom field '{name}' does not exist for this object type.")}),
            );
        }
    }
    if let Some(slug) = body.get("slug").and_then(Value::as_str) {
        let taken = store
            .lock()
            .unwrap()
            .values()
            .any(|(_, o)| o.get("slug").and_then(Value::as_str) == Some(slug));
        if taken {
            errors.insert(
                "slug".into(),
                json!(["site with this slug already exists."]),
            );
        }
    }
    if field == "prefix" {
        let text = body.get("prefix").and_then(Value::as_str).unwrap_or("");
        let valid = text.split_once('/').is_some_and(|(ip, len)| {
            ip.parse::<std::net::Ipv4Addr>().is_ok() && len.parse::<u8>().is_ok_and(|l| l <= 32)
        });
        if !valid {
            errors.insert(
                "prefix".into(),
                json!([format!("Invalid IP prefix format: {text}")]),
            );
        }
        let taken = store
            .lock()
            .unwrap()
            .values()
            .any(|(_, o)| o.get("prefix").and_then(Value::as_str) == Some(text));
        if taken {
            errors.insert(
                "prefix".into(),
                json!(["Duplicate prefix found in global table"]),
            );
        }
    }
    if !errors.is_empty() {
        return Err(refuse(StatusCode::BAD_REQUEST, Value::Object(errors)));
    }
    // The caller's permission holds only for objects of its own tenant.
    let tenant = body.get("tenant").and_then(Value::as_u64).unwrap_or(0);
    if me != 0 && tenant != me {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            json!({"detail": "You do not have permission to perform this action."}),
        ));
    }
    Ok(tenant)
}

impl App {
    fn create(&self, store: &Store, field: &str, headers: &HeaderMap, body: Value) -> Answer {
        let me = caller(headers).map_err(|s| refuse(s, json!({"detail": "no token"})))?;
        let tenant = validate(&body, me, store, field)?;
        let id = {
            let mut next = self.next.lock().unwrap();
            *next += 1;
            *next
        };
        let mut object = body;
        // A prefix's site: the caller's own, shown in brief (the vulnerable server takes any
        // tenant's, as NetBox 4.7 does: its brief form then shows another tenant's site).
        if let Some(site) = object.get("site").and_then(Value::as_u64) {
            let sites = self.sites.lock().unwrap();
            match sites.get(&site) {
                Some((owner, s)) if me == 0 || *owner == me || self.vulnerable => {
                    object["site"] = json!({"id": site, "name": s["name"], "slug": s["slug"],
                        "description": s["description"]});
                }
                _ => {
                    return Err(refuse(
                        StatusCode::BAD_REQUEST,
                        json!({"site": [format!("Related object not found using the provided numeric ID: {site}")]}),
                    ));
                }
            }
        }
        object["id"] = json!(id);
        object["tenant"] = if tenant == 0 {
            Value::Null
        } else {
            tenant_json(tenant)
        };
        if let Some(map) = object.as_object_mut() {
            map.remove("custom_fields");
        }
        store.lock().unwrap().insert(id, (tenant, object.clone()));
        Ok((StatusCode::CREATED, Json(object)))
    }

    /// Whether the caller may reach object `id` of `store` (`checked`: the check is in place).
    fn reach(&self, store: &Store, me: u64, id: u64, checked: bool) -> Option<Value> {
        let store = store.lock().unwrap();
        let (tenant, object) = store.get(&id)?;
        (me == 0 || *tenant == me || !checked).then(|| object.clone())
    }
}

async fn list_sites(State(app): State<App>, headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    let me = caller(&headers)?;
    let sites = app.sites.lock().unwrap();
    Ok(page(
        sites
            .values()
            .filter(|(t, _)| me == 0 || *t == me)
            .map(|(_, o)| o.clone())
            .collect(),
    ))
}

async fn create_site(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Answer {
    let store = app.sites.clone();
    app.create(&store, "slug", &headers, body)
}

async fn read_site(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Result<Json<Value>, StatusCode> {
    let me = caller(&headers)?;
    app.reach(&app.sites, me, id, !app.vulnerable)
        .map(Json)
        .ok_or(StatusCode::NOT_FOUND)
}

async fn patch_site(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Json(body): Json<Value>,
) -> Answer {
    let me = caller(&headers).map_err(|s| refuse(s, json!({"detail": "no token"})))?;
    let Some(mut object) = app.reach(&app.sites, me, id, !app.vulnerable) else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            json!({"detail": "Not found."}),
        ));
    };
    let owner = app.sites.lock().unwrap()[&id].0;
    // A change may not move the site to another tenant; leaving the tenant out keeps it.
    let mut checked = body.clone();
    if checked.get("tenant").is_none() {
        checked["tenant"] = json!(if app.vulnerable { me } else { owner });
    }
    validate(&checked, me, &Arc::default(), "slug")?;
    for (k, v) in body.as_object().into_iter().flatten() {
        if k != "tenant" && k != "custom_fields" {
            object[k] = v.clone();
        }
    }
    app.sites
        .lock()
        .unwrap()
        .insert(id, (owner, object.clone()));
    Ok((StatusCode::OK, Json(object)))
}

async fn delete_site(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> StatusCode {
    let Ok(me) = caller(&headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    if app.reach(&app.sites, me, id, true).is_none() {
        return StatusCode::NOT_FOUND;
    }
    // Protected while a prefix (anyone's) refers to it.
    let referred = app
        .prefixes
        .lock()
        .unwrap()
        .values()
        .any(|(_, p)| p.pointer("/site/id").and_then(Value::as_u64) == Some(id));
    if referred {
        return StatusCode::CONFLICT;
    }
    app.sites.lock().unwrap().remove(&id);
    StatusCode::NO_CONTENT
}

async fn list_prefixes(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<Value>, StatusCode> {
    let me = caller(&headers)?;
    let prefixes = app.prefixes.lock().unwrap();
    Ok(page(
        prefixes
            .values()
            .filter(|(t, _)| me == 0 || *t == me)
            .map(|(_, o)| o.clone())
            .collect(),
    ))
}

async fn create_prefix(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Answer {
    let store = app.prefixes.clone();
    app.create(&store, "prefix", &headers, body)
}

async fn read_prefix(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Result<Json<Value>, StatusCode> {
    let me = caller(&headers)?;
    app.reach(&app.prefixes, me, id, true)
        .map(Json)
        .ok_or(StatusCode::NOT_FOUND)
}

async fn delete_prefix(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> StatusCode {
    let Ok(me) = caller(&headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    if app.reach(&app.prefixes, me, id, !app.vulnerable).is_none() {
        return StatusCode::NOT_FOUND;
    }
    app.prefixes.lock().unwrap().remove(&id);
    StatusCode::NO_CONTENT
}

fn settings(base: String) -> Settings {
    Settings {
        base_url: base,
        identities: IDENTITIES
            .iter()
            .map(|(name, tenant, token, id)| IdentitySettings {
                name: name.to_string(),
                tenant: tenant.to_string(),
                role: Some(if *id == 0 { "admin" } else { "member" }.to_string()),
                headers: vec![("Authorization".to_string(), Secret::new(*token))],
                ..IdentitySettings::default()
            })
            .collect(),
        ..Settings::for_planning(std::path::Path::new("inventory.yaml"))
    }
}

/// The campaign against the server, and how many sites and prefixes it left.
async fn campaign(vulnerable: bool) -> (CampaignResult, usize) {
    let app = App {
        sites: Arc::default(),
        prefixes: Arc::default(),
        next: Arc::new(Mutex::new(100)),
        vulnerable,
    };
    let router = Router::new()
        .route("/tenants/", get(list_tenants).post(create_tenant))
        .route("/tenants/{id}/", get(read_tenant))
        .route("/regions/", get(list_regions).post(create_tenant))
        .route("/regions/{id}/", get(read_region))
        .route("/sites/", get(list_sites).post(create_site))
        .route(
            "/sites/{id}/",
            get(read_site).patch(patch_site).delete(delete_site),
        )
        .route("/prefixes/", get(list_prefixes).post(create_prefix))
        .route("/prefixes/{id}/", get(read_prefix).delete(delete_prefix))
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut settings = settings(base);
    // The systematic plan alone must find them.
    settings.campaign.cases = 0;
    let api = tenantfuzz::spec::load_str(SPEC, "inventory.yaml").unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    let left = app.sites.lock().unwrap().len() + app.prefixes.lock().unwrap().len();
    (result, left)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_name_the_callers_own_tenant_and_pass_the_servers_checks() {
    let (result, left) = campaign(true).await;
    let found = crate::support::confirmed_operations(&result);
    // The create of a prefix on bob's site shows alice bob's site (by its answer).
    let through_site = result
        .findings
        .iter()
        .find(|f| f.operation.method == "POST" && f.operation.path == "/prefixes/");
    assert!(
        through_site.is_some_and(|f| f.kind == tenantfuzz::finding::Kind::BolaRead),
        "{through_site:#?}"
    );
    let pair = |m: &str, p: &str| (m.to_string(), p.to_string());
    assert_eq!(
        found,
        [
            pair("DELETE", "/prefixes/{id}/"),
            pair("GET", "/sites/{id}/"),
            pair("PATCH", "/sites/{id}/"),
            pair("POST", "/prefixes/"),
        ],
        "{:#?}",
        result.findings
    );
    assert_eq!(left, 0, "{:?}", result.cleanup);

    let (secure, left) = campaign(false).await;
    assert!(secure.findings.is_empty(), "{:#?}", secure.findings);
    for (method, path) in [
        ("GET", "/sites/{id}/"),
        ("PATCH", "/sites/{id}/"),
        ("DELETE", "/prefixes/{id}/"),
        ("GET", "/prefixes/{id}/"),
    ] {
        let c = secure
            .coverage
            .iter()
            .find(|c| c.method == method && c.path == path)
            .unwrap();
        assert!(c.attacked && c.judged > 0, "{c:?}");
    }
    assert_eq!(left, 0, "{:?}", secure.cleanup);
}
