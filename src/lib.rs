//! tenantfuzz: a cross-tenant authorization fuzzer.
//!
//! Given an OpenAPI description and two or more user sessions, tenantfuzz generates request
//! sequences in which one identity tries to read or change another's resources, and proves every
//! violation with evidence: the victim's unique marker in the attacker's response, or the victim's
//! own read-back after the attacker's write or delete.
//!
//! # Use from a test
//!
//! Besides the `tenantfuzz` command, the library runs a campaign from a `#[test]`, so that CI
//! fails when one tenant can reach another's data. Build a [`Campaign`] from a config file
//! ([`Settings::load`], the same file `tenantfuzz run --config` reads) or programmatically
//! ([`Settings`] and [`Campaign::with_api`]), run it on a tokio runtime, and assert the result
//! with [`assert_no_findings`] (or [`CampaignResult::assert_clean`]): it panics with every
//! confirmed finding (kind, operation, attacker -> victim, evidence and the minimal steps),
//! credentials shown as `***`, and also when the run could not finish.
//!
//! ```no_run
//! #[tokio::test(flavor = "multi_thread")]
//! async fn no_tenant_reaches_another() {
//!     // Tokens come from the environment: `${env:ALICE_TOKEN}` in the config.
//!     let settings = tenantfuzz::Settings::load("tenantfuzz.toml".as_ref()).unwrap();
//!     let campaign = tenantfuzz::Campaign::new(settings).unwrap();
//!     let result = campaign.run().await.unwrap();
//!     tenantfuzz::assert_no_findings(&result);
//! }
//! ```
//!
//! On a multi-threaded runtime, `std::sync::Arc::new(campaign).run_as_task().await` runs it as
//! the CLI does, as a task beside its connections (see [`Campaign::run_as_task`]); `run` is the
//! simpler call and gives the same findings.
//!
//! `examples/ci_property_test.rs` runs the same against the built-in demo API in process.

mod assert;
pub mod campaign;
pub mod cli;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod exchange;
pub mod exec;
pub mod finding;
pub mod identity;
pub mod marker;
pub mod model;
pub mod oracle;
pub mod outcome;
pub mod report;
pub mod scenario;
pub mod secret;
pub mod spec;

pub use assert::{assert_no_findings, failure_message};
pub use campaign::{Campaign, CampaignError};
pub use config::Settings;
pub use outcome::CampaignResult;
