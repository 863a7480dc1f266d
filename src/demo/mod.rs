//! The built-in demo API: a small multi-tenant project tracker (workspaces, projects, documents,
//! comments, attachments, exports, billing, an admin area and a signed webhook) with thirteen
//! planted authorization bugs that [`Bugs`] switches on one by one.
//!
//! It exists so that `tenantfuzz demo` has something realistic to fuzz and so that tests can assert
//! both sides of every check. It knows nothing of the fuzzer; `specs/demo.yaml` describes it and
//! `specs/demo.ground-truth.json` lists its bugs.

mod config;
mod http;
mod routes;
mod server;
mod store;

pub use config::{
    ACCOUNTS, Bugs, DEFAULT_WEBHOOK_SECRET, DemoConfig, Mode, SeedAccount, WORKSPACES,
    WorkspaceRole,
};
pub use routes::billing::webhook_signature;
pub use server::DemoServer;

/// The OpenAPI description of the demo API.
pub const SPEC_YAML: &str = include_str!("../../specs/demo.yaml");

/// The path of the spec inside the repository, for messages.
pub const SPEC_PATH: &str = "specs/demo.yaml";

/// The ground truth: every planted bug and every route that must not be flagged.
pub const GROUND_TRUTH_JSON: &str = include_str!("../../specs/demo.ground-truth.json");
