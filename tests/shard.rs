//! `--shard I/N`: three shards of the demo campaign attack disjoint sets of operations whose
//! union is the unsharded run's, and `tenantfuzz merge` of their JSON reports confirms the same
//! findings as the unsharded run with the same seed.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::truth;

use serde_json::Value;
use tenantfuzz::config::{CampaignSettings, Shard};
use tenantfuzz::demo::{DemoConfig, Mode};
use tenantfuzz::outcome::CampaignResult;

async fn campaign(shard: Option<Shard>) -> CampaignResult {
    let settings = CampaignSettings {
        seed: 1,
        shard,
        ..CampaignSettings::default()
    };
    truth::run_demo(DemoConfig::new(Mode::Vulnerable), settings).await
}

fn attacked(result: &CampaignResult) -> BTreeSet<(String, String)> {
    result
        .coverage
        .iter()
        .filter(|c| c.attacked)
        .map(|c| (c.method.clone(), c.path.clone()))
        .collect()
}

fn confirmed(findings: impl IntoIterator<Item = (String, String, String)>) -> BTreeSet<String> {
    findings
        .into_iter()
        .map(|(kind, method, path)| format!("{kind} {method} {path}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_merged_equal_one_unsharded_run() {
    let whole = campaign(None).await;
    assert!(whole.shard.is_none());
    let dir = std::env::temp_dir().join(format!("tenantfuzz-shard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut union = BTreeSet::new();
    let mut paths = Vec::new();
    for i in 1..=3 {
        let shard = Shard::new(i, 3).unwrap();
        let part = campaign(Some(shard)).await;
        let ops = attacked(&part);
        assert!(!ops.is_empty(), "shard {shard} attacked nothing");
        assert!(
            union.is_disjoint(&ops),
            "shard {shard} attacked {ops:?} again"
        );
        union.extend(ops);
        let json: Value = serde_json::from_str(&tenantfuzz::report::json::render(&part)).unwrap();
        assert_eq!(json["summary"]["shard"], format!("{i}/3"));
        let path = dir.join(format!("shard-{i}.json"));
        std::fs::write(&path, tenantfuzz::report::json::render(&part)).unwrap();
        paths.push(path);
    }
    assert_eq!(union, attacked(&whole));
    let out = dir.join("merged.json");
    let status = Command::new(env!("CARGO_BIN_EXE_tenantfuzz"))
        .arg("-q")
        .arg("merge")
        .args(&paths)
        .arg("--report-json")
        .arg(&out)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "merged findings fail the merge");
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(merged["summary"].get("shard").is_none());
    let merged_findings = confirmed(
        merged["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["status"] == "confirmed")
            .map(|f| {
                (
                    f["kind"].as_str().unwrap().to_string(),
                    f["operation"]["method"].as_str().unwrap().to_string(),
                    f["operation"]["path"].as_str().unwrap().to_string(),
                )
            }),
    );
    let whole_findings = confirmed(whole.confirmed().map(|f| {
        (
            f.kind.as_str().to_string(),
            f.operation.method.clone(),
            f.operation.path.clone(),
        )
    }));
    assert!(!whole_findings.is_empty());
    assert_eq!(merged_findings, whole_findings);
    assert_eq!(
        merged["summary"]["operations_attacked"],
        attacked(&whole).len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_shard_out_of_range_is_a_usage_error() {
    for bad in ["0/3", "4/3", "2", "x/y"] {
        let out = Command::new(env!("CARGO_BIN_EXE_tenantfuzz"))
            .args(["demo", "--shard", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("1 <= I <= N"), "{stderr}");
    }
}
