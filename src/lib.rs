//! tenantfuzz: a cross-tenant authorization fuzzer.
//!
//! Given an OpenAPI description and two or more user sessions, tenantfuzz generates request
//! sequences in which one identity tries to read or change another's resources, and proves every
//! violation with evidence: the victim's unique marker in the attacker's response, or the victim's
//! own read-back after the attacker's write or delete.

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
pub mod report;
pub mod scenario;
pub mod spec;
