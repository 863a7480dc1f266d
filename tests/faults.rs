//! A misbehaving target: the demo API with one request in ten meeting an injected fault (500,
//! 503 or 429, a delay, or a body cut in half after the handler ran). The campaign completes,
//! reports no false finding, and still confirms every bug of the ground truth, of every kind.
#![allow(clippy::unwrap_used)]

#[path = "support/truth.rs"]
mod truth;

use tenantfuzz::campaign::CampaignResult;
use tenantfuzz::config::CampaignSettings;
use tenantfuzz::demo::{DemoConfig, Mode};

async fn faulty(mode: Mode) -> CampaignResult {
    let config = DemoConfig {
        fault_rate: 0.1,
        ..DemoConfig::new(mode)
    };
    truth::run_demo(config, CampaignSettings::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_neither_invent_findings_nor_hide_real_ones() {
    let expected = truth::bugs(&truth::demo_truth(), &[]);
    assert_eq!(expected.len(), 13);
    let result = faulty(Mode::Vulnerable).await;
    for f in &result.findings {
        assert!(
            expected.contains(&truth::key(f)),
            "false finding under faults: {f:#?}"
        );
    }
    let confirmed = truth::confirmed(&result);
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
