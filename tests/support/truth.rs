//! The demo campaign and its ground truth: run a whole campaign against a fresh demo server, and
//! compare findings with `specs/demo.ground-truth.json` by (kind, vector, method, path).
//! Included with `#[path = "support/truth.rs"] mod truth;` by tests that need nothing else of
//! `support`, and as `support::truth` by those that do.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeSet;

use serde_json::Value;
use tenantfuzz::cli::demo_campaign;
use tenantfuzz::config::CampaignSettings;
use tenantfuzz::demo::{DemoConfig, DemoServer, GROUND_TRUTH_JSON};
use tenantfuzz::finding::{Finding, Status};
use tenantfuzz::outcome::CampaignResult;

/// A bug as the ground truth names it and a finding reports it: (kind, vector, method, path).
pub type Bug = (String, String, String, String);

/// Runs the demo campaign (`demo_campaign`, with `settings`) against a fresh demo server started
/// with `config`, and shuts the server down.
pub async fn run_demo(config: DemoConfig, settings: CampaignSettings) -> CampaignResult {
    let server = DemoServer::start(config).await.unwrap();
    let campaign = demo_campaign(&server.base_url(), settings).await.unwrap();
    let result = campaign.run().await;
    server.shutdown().await.unwrap();
    result.unwrap()
}

/// The demo's ground truth, parsed.
pub fn demo_truth() -> Value {
    serde_json::from_str(GROUND_TRUTH_JSON).unwrap()
}

/// The planted bugs of a ground truth, only `kinds` (all when empty).
pub fn bugs(truth: &Value, kinds: &[&str]) -> BTreeSet<Bug> {
    truth["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| kinds.is_empty() || kinds.contains(&v["kind"].as_str().unwrap()))
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            (s("kind"), s("vector"), s("method"), s("path"))
        })
        .collect()
}

/// The routes a ground truth says must never be flagged: (method, path).
pub fn must_not_flag(truth: &Value) -> BTreeSet<(String, String)> {
    truth["must_not_flag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["method"].as_str().unwrap().to_string(),
                m["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A finding as a ground-truth bug.
pub fn key(f: &Finding) -> Bug {
    (
        f.kind.as_str().to_string(),
        f.vector.as_str().to_string(),
        f.operation.method.clone(),
        f.operation.path.clone(),
    )
}

/// The confirmed findings of a result, as ground-truth bugs.
pub fn confirmed(result: &CampaignResult) -> BTreeSet<Bug> {
    result
        .findings
        .iter()
        .filter(|f| f.status == Status::Confirmed)
        .map(key)
        .collect()
}

/// The confirmed findings of a result as (kind, method, path), sorted, each once.
pub fn confirmed_ops(result: &CampaignResult) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = result
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
    out.sort();
    out.dedup();
    out
}
