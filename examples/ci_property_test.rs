//! tenantfuzz as a CI property test: "no tenant can read or change another tenant's data",
//! asserted from Rust. `cargo run --example ci_property_test` runs it once against the built-in
//! demo API in secure mode, in this process; `cargo test --example ci_property_test` runs the
//! tests below (Cargo.toml marks the example `test = true`).
//!
//! To point it at staging instead, drop the demo server and load your config, whose identities
//! read their tokens from the environment (`${env:ALICE_TOKEN}`), in a test of your own:
//!
//! ```no_run
//! #[tokio::test(flavor = "multi_thread")]
//! async fn staging_keeps_tenants_apart() {
//!     let mut settings = tenantfuzz::Settings::load("tenantfuzz.toml".as_ref()).unwrap();
//!     if let Ok(url) = std::env::var("STAGING_URL") {
//!         settings.base_url = url;
//!     }
//!     let result = tenantfuzz::Campaign::new(settings).unwrap().run().await.unwrap();
//!     tenantfuzz::assert_no_findings(&result);
//! }
//! ```

use tenantfuzz::CampaignResult;
use tenantfuzz::cli::demo_campaign;
use tenantfuzz::config::CampaignSettings;
use tenantfuzz::demo::{DemoConfig, DemoServer, Mode};

/// Runs the demo campaign against a fresh in-process demo API in `mode`. The settings are
/// built programmatically: every field of `CampaignSettings` is what `[campaign]` in a config
/// sets.
async fn demo_run(mode: Mode) -> CampaignResult {
    let server = DemoServer::start(DemoConfig::new(mode))
        .await
        .expect("the demo API starts on 127.0.0.1");
    let settings = CampaignSettings {
        seed: 1,
        // Property tests in CI: fewer explored cases keep the test short.
        cases: 16,
        ..CampaignSettings::default()
    };
    let campaign = demo_campaign(&server.base_url(), settings)
        .await
        .expect("the demo config is valid");
    let result = campaign.run().await.expect("the demo API answers");
    server.shutdown().await.expect("the demo API stops");
    result
}

#[tokio::main]
async fn main() {
    let result = demo_run(Mode::Secure).await;
    tenantfuzz::assert_no_findings(&result);
    println!(
        "no confirmed finding in {} requests over {} operations",
        result.stats.requests,
        result.coverage.iter().filter(|c| c.attacked).count()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_secure_demo_keeps_tenants_apart() {
        demo_run(Mode::Secure).await.assert_clean();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_vulnerable_demo_fails_with_a_readable_list() {
        let result = demo_run(Mode::Vulnerable).await;
        let message = tenantfuzz::failure_message(&result).expect("the planted bugs are found");
        assert!(message.contains("authorization finding(s)"), "{message}");
        assert!(
            message.contains("bola-read (path) on GET /workspaces/{workspaceId}/projects/{projectId} (getProject): bob -> alice"),
            "{message}"
        );
        assert!(message.contains("evidence: "), "{message}");
        assert!(
            message.contains("bob (attack): GET http://127.0.0.1:"),
            "{message}"
        );
        // No credential: tokens are `***` in the recorded exchanges and never printed.
        assert!(!message.to_lowercase().contains("bearer "), "{message}");
        assert!(!message.contains("demo-password"), "{message}");
        let panic = std::panic::catch_unwind(|| result.assert_clean())
            .expect_err("assert_clean panics on findings");
        let text = panic
            .downcast_ref::<String>()
            .expect("the panic carries the message");
        assert_eq!(text, &message);
    }
}
