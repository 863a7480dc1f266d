//! A misbehaving target: the demo API with one request in ten meeting an injected fault (500,
//! 503 or 429, a delay, or a body cut in half after the handler ran). The campaign completes,
//! reports no false finding, and still confirms every bug of the ground truth, of every kind.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use serde_json::Value;
use tenantfuzz::campaign::CampaignResult;
use tenantfuzz::cli::demo_campaign;
use tenantfuzz::config::CampaignSettings;
use tenantfuzz::demo::{DemoConfig, DemoServer, GROUND_TRUTH_JSON, Mode};
use tenantfuzz::finding::Status;

async fn faulty(mode: Mode) -> CampaignResult {
    let config = DemoConfig {
        fault_rate: 0.1,
        ..DemoConfig::new(mode)
    };
    let server = DemoServer::start(config).await.unwrap();
    let campaign = demo_campaign(&server.base_url(), CampaignSettings::default())
        .await
        .unwrap();
    let result = campaign.run().await.unwrap();
    server.shutdown().await.unwrap();
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_neither_invent_findings_nor_hide_real_ones() {
    let truth: Value = serde_json::from_str(GROUND_TRUTH_JSON).unwrap();
    let expected: BTreeSet<(String, String, String, String)> = truth["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            (s("kind"), s("vector"), s("method"), s("path"))
        })
        .collect();
    assert_eq!(expected.len(), 13);
    let result = faulty(Mode::Vulnerable).await;
    let key = |f: &tenantfuzz::finding::Finding| {
        (
            f.kind.as_str().to_string(),
            f.vector.as_str().to_string(),
            f.operation.method.clone(),
            f.operation.path.clone(),
        )
    };
    for f in &result.findings {
        assert!(
            expected.contains(&key(f)),
            "false finding under faults: {f:#?}"
        );
    }
    let confirmed: BTreeSet<_> = result
        .findings
        .iter()
        .filter(|f| f.status == Status::Confirmed)
        .map(key)
        .collect();
    for e in &expected {
        assert!(confirmed.contains(e), "missed under faults: {e:?}");
    }
    // The faults were real: some probes could not be judged, and they are counted as such.
    assert!(result.coverage.iter().map(|c| c.unjudged).sum::<u64>() > 0);
    let secure = faulty(Mode::Secure).await;
    assert!(
        secure.findings.is_empty(),
        "false findings on the secure demo: {:#?}",
        secure.findings
    );
}
