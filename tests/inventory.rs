//! A second target, shaped unlike the demo (API keys, `WH-000123` and UUID ids, snake_case
//! parameters, ids in the query and the body, a public catalog, an operator role, webhooks signed
//! with base64 HMAC-SHA512 and no timestamp), to show that the inference and the checks are not
//! tuned to the demo: a full campaign against the vulnerable inventory API finds every planted bug
//! of `tests/fixtures/inventory.ground-truth.json` and nothing else, and against the secure one
//! finds nothing at all.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use reqwest::{Client, Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use support::inventory::{
    GROUND_TRUTH_JSON, InventoryServer, SIGNATURE_HEADER, SPEC_PATH, SPEC_YAML, USERS,
    WEBHOOK_SECRET, webhook_signature,
};
use tenantfuzz::campaign::Campaign;
use tenantfuzz::config::{
    CampaignSettings, DigestEncoding, HmacAlgorithm, IdentitySettings, Secret, Settings,
    WebhookSettings,
};
use tenantfuzz::finding::{Finding, Status};
use tenantfuzz::model::Slot;
use tenantfuzz::outcome::CampaignResult;

#[derive(Debug, Deserialize)]
struct GroundTruth {
    vulnerabilities: Vec<Vulnerability>,
    must_not_flag: Vec<Route>,
}

#[derive(Debug, Deserialize)]
struct Vulnerability {
    method: String,
    path: String,
    kind: String,
    vector: String,
}

#[derive(Debug, Deserialize)]
struct Route {
    method: String,
    path: String,
}

fn ground_truth() -> GroundTruth {
    serde_json::from_str(GROUND_TRUTH_JSON).unwrap()
}

fn settings(base_url: String) -> Settings {
    let identities = USERS
        .iter()
        .map(|u| IdentitySettings {
            name: u.name.to_string(),
            tenant: u.tenant.to_string(),
            role: Some(u.role.to_string()),
            plan: None,
            headers: vec![("X-Api-Key".to_string(), Secret::new(u.key))],
            ..IdentitySettings::default()
        })
        .collect();
    // Both receivers sign the same way: base64 HMAC-SHA512 of the bare body, no timestamp.
    let webhook = |operation: &str| WebhookSettings {
        operation: operation.to_string(),
        secret: Secret::new(WEBHOOK_SECRET),
        signature_header: SIGNATURE_HEADER.to_string(),
        algorithm: HmacAlgorithm::Sha512,
        encoding: DigestEncoding::Base64,
        prefix: String::new(),
        timestamp_header: None,
        signed: "{body}".to_string(),
        tolerance: std::time::Duration::from_secs(300),
    };
    Settings {
        source: "inventory test".into(),
        spec: PathBuf::from(SPEC_PATH),
        base_url,
        allow_origins: Vec::new(),
        identities,
        campaign: CampaignSettings {
            existence_leak: true,
            ..CampaignSettings::default()
        },
        id_overrides: Vec::new(),
        links: Vec::new(),
        report_json: None,
        repro_dir: None,
        // Inferred only: the `internal` tag and the `/internal` prefix are the spec's own words.
        policy: Default::default(),
        webhooks: vec![
            webhook("receiveShipment"),
            webhook("POST /hooks/stock-adjustments"),
        ],
    }
}

fn load_campaign(base_url: String) -> Campaign {
    let api = tenantfuzz::spec::load_str(SPEC_YAML, SPEC_PATH).unwrap();
    let settings = settings(base_url);
    settings.validate().unwrap();
    Campaign::with_api(settings, api).unwrap()
}

/// Runs a campaign, then reads the server's audit trail as the operator.
async fn run_campaign(vulnerable: bool) -> (CampaignResult, Value) {
    let server = InventoryServer::start(vulnerable).await.unwrap();
    let campaign = load_campaign(server.base_url());
    let result = campaign.run().await;
    let http = Http {
        client: tenantfuzz::exec::http_client().unwrap(),
        base: server.base_url(),
    };
    let (_, audit) = http
        .send(
            Some(key("ada")),
            Method::GET,
            "/internal/audit-events",
            None,
        )
        .await;
    server.shutdown().await.unwrap();
    (result.unwrap(), audit)
}

fn describe(f: &Finding) -> String {
    format!(
        "{:?} {} {} {} {} {} -> {}: {}",
        f.status,
        f.kind,
        f.vector,
        f.operation.method,
        f.operation.path,
        f.attacker,
        f.victim,
        f.evidence
    )
}

fn describe_all(result: &CampaignResult) -> String {
    result
        .findings
        .iter()
        .map(|f| format!("  {}", describe(f)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn spec_loads_and_the_model_is_inferred_as_intended() {
    let campaign = load_campaign("http://127.0.0.1:1".into());
    let api = &campaign.api;
    let m = &campaign.model;
    assert_eq!(api.spec_version, "3.1.0");
    assert_eq!(api.operations.len(), 17);
    let label = |op: usize| api.operations[op].label();
    let resource = |name: &str| {
        m.resource(name)
            .unwrap_or_else(|| panic!("resource {name} in {:?}", m.resources))
    };
    let (warehouse, item) = (resource("warehouse"), resource("item"));
    assert_eq!(m.resources.len(), 2, "{:?}", m.resources);
    assert_eq!(m.resources[item].parents, vec![warehouse]);

    let producers: BTreeSet<(String, usize, Option<String>)> = m
        .producers
        .iter()
        .map(|p| (label(p.op), p.resource, p.id_pointer.clone()))
        .collect();
    let expected: BTreeSet<(String, usize, Option<String>)> = [
        (
            "POST /warehouses".to_string(),
            warehouse,
            Some("/warehouse_id".to_string()),
        ),
        (
            "POST /warehouses/{warehouse_id}/items".to_string(),
            item,
            Some("/item_id".to_string()),
        ),
    ]
    .into();
    assert_eq!(producers, expected);

    let consumers: BTreeSet<(String, Slot, usize)> = m
        .consumers
        .iter()
        .map(|c| (label(c.op), c.slot.clone(), c.resource))
        .collect();
    let path = |n: &str| Slot::Path(n.to_string());
    let expected: BTreeSet<(String, Slot, usize)> = [
        (
            "GET /warehouses/{warehouse_id}",
            path("warehouse_id"),
            warehouse,
        ),
        (
            "GET /warehouses/{warehouse_id}/items",
            path("warehouse_id"),
            warehouse,
        ),
        (
            "POST /warehouses/{warehouse_id}/items",
            path("warehouse_id"),
            warehouse,
        ),
        (
            "DELETE /warehouses/{warehouse_id}",
            path("warehouse_id"),
            warehouse,
        ),
        (
            "POST /hooks/shipments",
            Slot::Body("/data/warehouse_id".into()),
            warehouse,
        ),
        (
            "POST /hooks/stock-adjustments",
            Slot::Body("/data/item_id".into()),
            item,
        ),
        ("GET /items/{item_id}", path("item_id"), item),
        ("PATCH /items/{item_id}", path("item_id"), item),
        ("DELETE /items/{item_id}", path("item_id"), item),
        ("GET /items", Slot::Query("item_id".into()), item),
        ("POST /stock-checks", Slot::Body("/item_id".into()), item),
        ("POST /transfers", Slot::Body("/item_id".into()), item),
        (
            "POST /transfers",
            Slot::Body("/to_warehouse_id".into()),
            warehouse,
        ),
    ]
    .into_iter()
    .map(|(l, s, r)| (l.to_string(), s, r))
    .collect();
    assert_eq!(consumers, expected);

    // The operator-only operations are inferred from the spec's own marks, nothing else is gated.
    let gated: BTreeSet<(String, Vec<String>)> = campaign
        .policy
        .ops
        .iter()
        .enumerate()
        .filter(|(_, p)| p.roles.is_some() || p.plans.is_some())
        .map(|(op, p)| (label(op), p.sources.clone()))
        .collect();
    let expected: BTreeSet<(String, Vec<String>)> = [
        ("GET /ops/stock-report", "tag 'internal'"),
        ("GET /internal/audit-events", "path segment 'internal'"),
    ]
    .into_iter()
    .map(|(l, s)| (l.to_string(), vec![s.to_string()]))
    .collect();
    assert_eq!(gated, expected);

    // Every planted bug is planned as an attack with the vector the ground truth names.
    let plan = campaign.plan(None);
    let attacked: BTreeSet<(String, String)> = plan
        .attacked()
        .into_iter()
        .map(|(op, vector)| (label(op), vector.to_string()))
        .collect();
    for v in ground_truth().vulnerabilities {
        let key = (format!("{} {}", v.method, v.path), v.vector.clone());
        assert!(attacked.contains(&key), "{key:?} not in {attacked:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vulnerable_inventory_every_bug_found_and_nothing_else() {
    let truth = ground_truth();
    let (result, _) = run_campaign(true).await;
    let all = describe_all(&result);
    eprintln!("vulnerable inventory findings:\n{all}");

    let mut failures = Vec::new();
    for v in &truth.vulnerabilities {
        let found = result.confirmed().any(|f| {
            f.kind.as_str() == v.kind
                && f.vector.as_str() == v.vector
                && f.operation.method == v.method
                && f.operation.path == v.path
        });
        if !found {
            failures.push(format!(
                "missed: {} {} {} {}",
                v.kind, v.vector, v.method, v.path
            ));
        }
    }
    let known: BTreeSet<(&str, &str, &str)> = truth
        .vulnerabilities
        .iter()
        .map(|v| (v.method.as_str(), v.path.as_str(), v.kind.as_str()))
        .collect();
    for f in &result.findings {
        let on_safe_route = truth
            .must_not_flag
            .iter()
            .any(|r| r.method == f.operation.method && r.path == f.operation.path);
        if on_safe_route {
            failures.push(format!("flagged a must-not-flag route: {}", describe(f)));
        } else if !known.contains(&(
            f.operation.method.as_str(),
            f.operation.path.as_str(),
            f.kind.as_str(),
        )) {
            failures.push(format!("not in the ground truth: {}", describe(f)));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nall findings:\n{all}",
        failures.join("\n")
    );
    // Every finding is confirmed and names a real identity pair, but use-after-delete, which is
    // the owner's own read after its own delete.
    assert!(
        result.findings.iter().all(|f| f.status == Status::Confirmed
            && (f.attacker != f.victim) != (f.kind.as_str() == "use-after-delete")),
        "{all}"
    );
    // The operator is the permitted caller, never an attacker or a victim.
    assert!(
        result
            .findings
            .iter()
            .all(|f| f.attacker != "ada" && f.victim != "ada"),
        "{all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secure_inventory_has_no_findings() {
    let (result, audit) = run_campaign(false).await;
    let all = describe_all(&result);
    eprintln!("secure inventory findings:\n{all}");
    assert!(result.findings.is_empty(), "findings:\n{all}");
    // The receivers verify signatures here: the campaign's signed controls (base64 HMAC-SHA512
    // of the body) were applied by both, so their forgeries were judged against a real effect.
    let applied: BTreeSet<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["user"] == "webhook")
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(applied, ["shipment.received", "stock.adjusted"].into());
    // The campaign did attack: every operation that takes an id was judged at least once.
    let model = load_campaign("http://127.0.0.1:1".into());
    let takes_ids: BTreeSet<String> = model
        .model
        .consumers
        .iter()
        .map(|c| model.api.operations[c.op].label())
        .collect();
    assert_eq!(takes_ids.len(), 12, "{takes_ids:?}");
    for c in &result.coverage {
        if takes_ids.contains(&format!("{} {}", c.method, c.path)) {
            assert!(c.attacked && c.judged > 0, "{c:?}");
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The test API itself, by hand: what the ground truth says holds in each mode.
// ------------------------------------------------------------------------------------------------

struct Http {
    client: Client,
    base: String,
}

impl Http {
    async fn send(
        &self,
        key: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            req = req.header("X-Api-Key", key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }
}

fn key(name: &str) -> &'static str {
    USERS.iter().find(|u| u.name == name).unwrap().key
}

async fn behaves_as_documented(vulnerable: bool) {
    let server = InventoryServer::start(vulnerable).await.unwrap();
    let http = Http {
        client: tenantfuzz::exec::http_client().unwrap(),
        base: server.base_url(),
    };
    let (nora, ned, sam) = (Some(key("nora")), Some(key("ned")), Some(key("sam")));
    let leak_or = |ok: StatusCode| {
        if vulnerable {
            ok
        } else {
            StatusCode::NOT_FOUND
        }
    };

    // Authentication.
    let (s, _) = http.send(None, Method::GET, "/warehouses", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = http
        .send(Some("nope"), Method::GET, "/warehouses", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Nora's warehouse and private item.
    let (s, wh) = http
        .send(
            nora,
            Method::POST,
            "/warehouses",
            Some(json!({"label": "north depot"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{wh}");
    let wh_id = wh["warehouse_id"].as_str().unwrap().to_string();
    assert!(wh_id.starts_with("WH-") && wh_id.len() == 9, "{wh_id}");
    let (s, item) = http
        .send(
            nora,
            Method::POST,
            &format!("/warehouses/{wh_id}/items"),
            Some(json!({"name": "north bolts", "notes": "secret-north", "quantity": 40, "public": false})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{item}");
    let item_id = item["item_id"].as_str().unwrap().to_string();
    let (s, _) = http
        .send(
            nora,
            Method::POST,
            &format!("/warehouses/{wh_id}/items"),
            Some(json!({"name": "north nuts", "quantity": "many"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Ned, same tenant, sees it everywhere.
    let (s, body) = http
        .send(ned, Method::GET, &format!("/items/{item_id}"), None)
        .await;
    assert_eq!(
        (s, body["notes"].as_str()),
        (StatusCode::OK, Some("secret-north"))
    );

    // Sam's own warehouse.
    let (_, swh) = http
        .send(
            sam,
            Method::POST,
            "/warehouses",
            Some(json!({"label": "south depot"})),
        )
        .await;
    let swh_id = swh["warehouse_id"].as_str().unwrap().to_string();

    // Correct routes refuse sam in both modes.
    let (s, _) = http
        .send(sam, Method::GET, &format!("/items/{item_id}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = http
        .send(sam, Method::GET, &format!("/warehouses/{wh_id}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // (j): a foreign warehouse's items are refused in both modes, but differently from an
    // unknown warehouse when vulnerable.
    let (s, body) = http
        .send(
            sam,
            Method::GET,
            &format!("/warehouses/{wh_id}/items"),
            None,
        )
        .await;
    let refused = if vulnerable {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::NOT_FOUND
    };
    assert_eq!(s, refused);
    assert!(!body.to_string().contains("secret-north"));
    let (s, _) = http
        .send(sam, Method::GET, "/warehouses/WH-999999/items", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = http
        .send(
            sam,
            Method::POST,
            &format!("/warehouses/{wh_id}/items"),
            Some(json!({"name": "planted", "quantity": 1})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = http
        .send(
            sam,
            Method::POST,
            "/transfers",
            Some(json!({"item_id": item_id, "to_warehouse_id": swh_id})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = http.send(sam, Method::GET, "/warehouses", None).await;
    assert_eq!(list["warehouses"].as_array().unwrap().len(), 1, "{list}");

    // (a) and (b): reads by query and by body id.
    let (s, body) = http
        .send(sam, Method::GET, &format!("/items?item_id={item_id}"), None)
        .await;
    assert_eq!(s, leak_or(StatusCode::OK));
    assert_eq!(body.to_string().contains("secret-north"), vulnerable);
    let (s, body) = http
        .send(
            sam,
            Method::POST,
            "/stock-checks",
            Some(json!({"item_id": item_id})),
        )
        .await;
    assert_eq!(s, leak_or(StatusCode::OK));
    assert_eq!(body.to_string().contains("secret-north"), vulnerable);

    // (c) write, seen in nora's read-back.
    let (s, _) = http
        .send(
            sam,
            Method::PATCH,
            &format!("/items/{item_id}"),
            Some(json!({"notes": "written-by-sam"})),
        )
        .await;
    assert_eq!(s, leak_or(StatusCode::OK));
    let (_, body) = http
        .send(nora, Method::GET, &format!("/items/{item_id}"), None)
        .await;
    assert_eq!(
        body["notes"] == json!("written-by-sam"),
        vulnerable,
        "{body}"
    );

    // The public catalog: public items of every tenant, without a key; private ones never.
    let (_, public) = http
        .send(
            nora,
            Method::POST,
            &format!("/warehouses/{wh_id}/items"),
            Some(json!({"name": "north washers", "quantity": 5})),
        )
        .await;
    let (s, catalog) = http.send(None, Method::GET, "/catalog?q=north", None).await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = catalog["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(names, vec!["north washers"], "{catalog}");
    assert!(!catalog.to_string().contains("secret-north"));
    assert_eq!(public["public"], json!(true));

    // (d) delete, seen in nora's read-back.
    let (s, _) = http
        .send(sam, Method::DELETE, &format!("/items/{item_id}"), None)
        .await;
    assert_eq!(s, leak_or(StatusCode::NO_CONTENT));
    let (s, _) = http
        .send(nora, Method::GET, &format!("/items/{item_id}"), None)
        .await;
    assert_eq!(s == StatusCode::NOT_FOUND, vulnerable);

    // Nora's own transfer works in both modes.
    let (_, wh2) = http
        .send(
            nora,
            Method::POST,
            "/warehouses",
            Some(json!({"label": "north annex"})),
        )
        .await;
    let wh2_id = wh2["warehouse_id"].as_str().unwrap();
    let public_id = public["item_id"].as_str().unwrap();
    let (s, moved) = http
        .send(
            nora,
            Method::POST,
            "/transfers",
            Some(json!({"item_id": public_id, "to_warehouse_id": wh2_id})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    assert_eq!(moved["to_warehouse_id"], json!(wh2_id));

    server.shutdown().await.unwrap();
}

impl Http {
    /// Sends a webhook delivery with `signature` in `X-Signature` (none: no header).
    async fn hook(&self, path: &str, body: &str, signature: Option<String>) -> (StatusCode, Value) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(sig) = signature {
            req = req.header(SIGNATURE_HEADER, sig);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap())
    }
}

/// The bugs beyond ownership, (e) to (i), and their counterparts.
async fn beyond_ownership_as_documented(vulnerable: bool) {
    let server = InventoryServer::start(vulnerable).await.unwrap();
    let http = Http {
        client: tenantfuzz::exec::http_client().unwrap(),
        base: server.base_url(),
    };
    let (nora, sam, ada) = (Some(key("nora")), Some(key("sam")), Some(key("ada")));
    let id = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    let (_, wh) = http
        .send(
            nora,
            Method::POST,
            "/warehouses",
            Some(json!({"label": "north depot"})),
        )
        .await;
    let wh = id(&wh, "warehouse_id");
    let (_, swh) = http
        .send(
            sam,
            Method::POST,
            "/warehouses",
            Some(json!({"label": "south depot"})),
        )
        .await;
    let swh = id(&swh, "warehouse_id");

    // (e) The stock report is for operators; the audit trail always is.
    let (s, report) = http.send(ada, Method::GET, "/ops/stock-report", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(report.to_string().contains("north depot"), "{report}");
    let (s, report) = http.send(sam, Method::GET, "/ops/stock-report", None).await;
    assert_eq!(s == StatusCode::OK, vulnerable, "{report}");
    assert_eq!(report.to_string().contains("north depot"), vulnerable);
    let (s, events) = http
        .send(ada, Method::GET, "/internal/audit-events", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(events.to_string().contains(&wh), "{events}");
    let (s, _) = http
        .send(sam, Method::GET, "/internal/audit-events", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // (f) The read-only warehouse_id: honoured by the update when vulnerable, ignored by the
    // create always.
    let (s, item) = http
        .send(
            sam,
            Method::POST,
            &format!("/warehouses/{swh}/items"),
            Some(json!({"name": "south crate", "quantity": 3, "warehouse_id": wh})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{item}");
    assert_eq!(item["warehouse_id"], json!(swh));
    let item = id(&item, "item_id");
    let (s, _) = http
        .send(
            sam,
            Method::PATCH,
            &format!("/items/{item}"),
            Some(json!({"name": "south crate, moved", "warehouse_id": wh})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = http
        .send(nora, Method::GET, &format!("/warehouses/{wh}/items"), None)
        .await;
    assert_eq!(
        list.to_string().contains("south crate"),
        vulnerable,
        "{list}"
    );

    // (g) and (h): shipments, and the always-correct stock adjustments.
    let received = |v: &Value| v["received_units"].as_i64().unwrap();
    let units = async || {
        let (_, w) = http
            .send(nora, Method::GET, &format!("/warehouses/{wh}"), None)
            .await;
        received(&w)
    };
    let shipment = json!({"delivery_id": "d-1", "event": "shipment.received",
                          "data": {"warehouse_id": wh, "units": 5}})
    .to_string();
    let signed = webhook_signature(WEBHOOK_SECRET, shipment.as_bytes());
    let (s, ack) = http
        .hook("/hooks/shipments", &shipment, Some(signed.clone()))
        .await;
    assert_eq!((s, &ack["duplicate"]), (StatusCode::OK, &json!(false)));
    assert_eq!(units().await, 5);
    let (s, _) = http
        .hook("/hooks/shipments", &shipment, Some(signed.clone()))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(units().await, if vulnerable { 10 } else { 5 });
    let unsigned = shipment.replace("d-1", "d-2");
    let (s, _) = http.hook("/hooks/shipments", &unsigned, None).await;
    assert_eq!(s == StatusCode::OK, vulnerable);
    let wrong = webhook_signature("not-the-secret", unsigned.as_bytes());
    let (s, _) = http.hook("/hooks/shipments", &unsigned, Some(wrong)).await;
    assert_eq!(s == StatusCode::OK, vulnerable);

    let (_, own) = http
        .send(
            nora,
            Method::POST,
            &format!("/warehouses/{wh}/items"),
            Some(json!({"name": "north pallet", "quantity": 10})),
        )
        .await;
    let own = id(&own, "item_id");
    let adjustment = json!({"delivery_id": "a-1", "event": "stock.adjusted",
                            "data": {"item_id": own, "delta": 2}})
    .to_string();
    let signed = webhook_signature(WEBHOOK_SECRET, adjustment.as_bytes());
    for _ in 0..2 {
        let (s, _) = http
            .hook(
                "/hooks/stock-adjustments",
                &adjustment,
                Some(signed.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, _) = http
        .hook(
            "/hooks/stock-adjustments",
            &adjustment.replace("a-1", "a-2"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, pallet) = http
        .send(nora, Method::GET, &format!("/items/{own}"), None)
        .await;
    assert_eq!(pallet["quantity"], json!(12), "{pallet}");

    // (i) An archived warehouse is gone from the list always, and from its read when secure.
    let (s, _) = http
        .send(sam, Method::DELETE, &format!("/warehouses/{wh}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = http
        .send(nora, Method::DELETE, &format!("/warehouses/{wh}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, list) = http.send(nora, Method::GET, "/warehouses", None).await;
    assert!(!list.to_string().contains(&wh), "{list}");
    let (s, _) = http
        .send(nora, Method::GET, &format!("/warehouses/{wh}"), None)
        .await;
    assert_eq!(s == StatusCode::OK, vulnerable);

    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_test_api_beyond_ownership_behaves_as_its_ground_truth_says() {
    beyond_ownership_as_documented(true).await;
    beyond_ownership_as_documented(false).await;
}

#[tokio::test]
async fn the_test_api_behaves_as_its_ground_truth_says() {
    behaves_as_documented(true).await;
    behaves_as_documented(false).await;
}

/// A webhook finding's reproduction sends every delivery with a new `delivery_id` (a uuid the
/// campaign made up), not the recorded one: a receiver that applies a delivery once (as this
/// API's correct receiver does) would otherwise ignore a second run of the script, which would
/// then call a live bug fixed. The script proves its bug on the vulnerable server twice in a row
/// and passes on the secure one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_reproduction_sends_new_delivery_ids_and_proves_its_bug_every_time() {
    let has = |tool: &str| {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok()
    };
    if !["bash", "curl", "openssl"].into_iter().all(has) || !(has("jq") || has("python3")) {
        eprintln!("skipped: bash, curl, openssl and jq or python3 are needed");
        return;
    }
    let server = InventoryServer::start(true).await.unwrap();
    let result = load_campaign(server.base_url()).run().await.unwrap();
    let f = result
        .findings
        .iter()
        .find(|f| {
            f.status == Status::Confirmed
                && f.steps
                    .iter()
                    .any(|s| s.signature.as_deref() == Some("signed"))
        })
        .expect("a confirmed webhook finding");
    let script = tenantfuzz::report::curl::script(f, &result.marker_prefix, &result.base_url);
    // The recorded delivery ids are not in the script.
    for step in &f.steps {
        if let Some(id) = step
            .exchange
            .request_body
            .as_ref()
            .and_then(|b| b["delivery_id"].as_str())
        {
            assert!(
                !script.contains(id),
                "{id} resent: {}",
                script
                    .lines()
                    .filter(|l| l.contains(id))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    let path = std::env::temp_dir().join(format!(
        "tenantfuzz-inventory-webhook-{}.sh",
        std::process::id()
    ));
    std::fs::write(&path, &script).unwrap();
    let mut env: Vec<(String, String)> = USERS
        .iter()
        .map(|u| {
            (
                tenantfuzz::report::curl::credential_var(u.name, "X-Api-Key"),
                u.key.to_string(),
            )
        })
        .collect();
    env.push(("TFZ_WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into()));
    let secure = InventoryServer::start(false).await.unwrap();
    for (run, base, expected) in [
        (1, server.base_url(), 1),
        (2, server.base_url(), 1),
        (3, secure.base_url(), 0),
    ] {
        let (path, mut env) = (path.clone(), env.clone());
        env.push(("BASE_URL".into(), base));
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("bash")
                .arg(&path)
                .envs(env)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(
            out.status.code(),
            Some(expected),
            "run {run}: {}{}\n{script}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    server.shutdown().await.unwrap();
    secure.shutdown().await.unwrap();
    std::fs::remove_file(&path).unwrap();
}
