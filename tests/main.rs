//! The integration tests, one binary: each file of `tests/` is a module here (the TLS test
//! stays apart: it runs its checks again in a process of their own with `SSL_CERT_FILE` set).
//! One binary links the crate once instead of once per file.

mod support;

mod accounts;
mod by_reference;
mod campaign_demo;
mod ci_templates;
mod cleanup_truth;
mod cli;
mod demo_bugs;
mod demo_spec;
mod faults;
mod free_text;
mod gated_actions;
mod honest_results;
mod html_report;
mod identity;
mod init_configs;
mod inventory;
mod isolation;
mod model_order;
mod model_shapes;
mod named_ids;
mod plan_reasons;
mod refused_fixtures;
mod replay;
mod report_formats;
mod reports;
mod repro_scripts;
mod robustness;
mod secrets;
mod self_ids;
mod session_breaks;
mod shard;
mod shared_credentials;
mod shared_lists;
mod singular_collections;
mod spec_corpus;
mod spec_loading;
mod staging;
mod swagger2;
mod tenant_fields;
mod tokens;
mod users_as_resources;
mod visibility;
mod webhook_states;
mod write_answers;
mod write_only;
