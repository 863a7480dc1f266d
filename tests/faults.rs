//! A misbehaving target: the demo API with one request in ten meeting an injected fault (500,
//! 503 or 429, a delay, or a body cut in half after the handler ran). The campaign completes,
//! reports no false finding, and still confirms every bug of the ground truth, of every kind.
#![allow(clippy::unwrap_used)]

use crate::support::truth;

use tenantfuzz::config::CampaignSettings;
use tenantfuzz::demo::{DemoConfig, Mode};
use tenantfuzz::outcome::CampaignResult;

/// A campaign against the faulty demo, every exchange recorded.
async fn faulty(mode: Mode) -> CampaignResult {
    let config = DemoConfig {
        fault_rate: 0.1,
        ..DemoConfig::new(mode)
    };
    let server = tenantfuzz::demo::DemoServer::start(config).await.unwrap();
    let mut campaign =
        tenantfuzz::cli::demo_campaign(&server.base_url(), CampaignSettings::default())
            .await
            .unwrap();
    campaign.record_exchanges();
    let result = campaign.run().await;
    server.shutdown().await.unwrap();
    result.unwrap()
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
    // The faults were real: the campaign met them (retries absorb most; what they did not is
    // counted as unjudged, never as safe: see the test below).
    let met = result
        .exchanges
        .iter()
        .filter(|r| {
            matches!(r.exchange.status, Some(500) | Some(503) | Some(429))
                || r.exchange.error.is_some()
        })
        .count();
    assert!(met > 10, "only {met} faults met");
    let secure = faulty(Mode::Secure).await;
    assert!(
        secure.findings.is_empty(),
        "false findings on the secure demo: {:#?}",
        secure.findings
    );
}

/// A probe whose answer the target cut short proves nothing either way: it runs once more and
/// its second execution is the one judged. The first unauthenticated read of an export (the
/// attack of the `unauthenticated` probe, at one request in flight and without exploration) is
/// cut on every attempt the executor makes (the first and its 3 retries); the run then judges
/// and confirms exactly what an undisturbed run does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_the_target_disturbed_runs_again_and_is_judged() {
    let settings = CampaignSettings {
        concurrency: 1,
        cases: 0,
        seed: 7,
        ..CampaignSettings::default()
    };
    let clean = truth::run_demo(DemoConfig::new(Mode::Vulnerable), settings.clone()).await;
    let config = DemoConfig {
        cut_unauthenticated: Some(("/exports/".into(), 4)),
        ..DemoConfig::new(Mode::Vulnerable)
    };
    let disturbed = truth::run_demo(config, settings).await;
    let unauthenticated = (
        "unauthenticated".to_string(),
        "path".to_string(),
        "GET".to_string(),
        "/exports/{exportId}".to_string(),
    );
    assert!(truth::confirmed(&clean).contains(&unauthenticated));
    assert_eq!(truth::confirmed(&disturbed), truth::confirmed(&clean));
    let judged = |r: &CampaignResult| {
        r.coverage
            .iter()
            .map(|c| (c.method.clone(), c.path.clone(), c.judged, c.unjudged))
            .collect::<Vec<_>>()
    };
    assert_eq!(judged(&disturbed), judged(&clean));
    // The disturbance was met: the cut answers' retries and the probe's second run.
    assert!(disturbed.stats.requests >= clean.stats.requests + 4);
}
