//! The config file as written: serde structs that reject unknown keys.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub spec: Option<String>,
    pub base_url: Option<String>,
    /// Origins besides the base URL's that requests may go to.
    #[serde(default)]
    pub allow_origins: Vec<String>,
    /// A Web Fuzzing Commons auth file (YAML or JSON) whose users become identities.
    pub auth_file: Option<String>,
    #[serde(default)]
    pub identities: BTreeMap<String, RawIdentity>,
    #[serde(default)]
    pub campaign: RawCampaign,
    #[serde(default)]
    pub model: RawModel,
    #[serde(default)]
    pub output: RawOutput,
    #[serde(default)]
    pub policy: RawPolicy,
    #[serde(default)]
    pub webhooks: Vec<RawWebhook>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub infer: Option<bool>,
    pub admin_roles: Option<Vec<String>>,
    #[serde(default)]
    pub rules: Vec<RawRule>,
    pub shared: Option<Vec<String>>,
    pub private: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub operations: Vec<String>,
    pub roles: Option<Vec<String>>,
    pub plans: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebhook {
    pub operation: String,
    pub secret: String,
    pub signature_header: String,
    pub algorithm: Option<String>,
    pub encoding: Option<String>,
    pub prefix: Option<String>,
    pub timestamp_header: Option<String>,
    pub signed: Option<String>,
    pub tolerance_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIdentity {
    pub tenant: String,
    pub role: Option<String>,
    pub plan: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub cookies: BTreeMap<String, String>,
    pub basic: Option<RawBasic>,
    pub login: Option<RawLogin>,
    /// The positive control: an operationId or `METHOD /path`.
    pub health: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBasic {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogin {
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub register: Vec<RawRequest>,
    #[serde(default)]
    pub requests: Vec<RawRequest>,
    #[serde(default)]
    pub apply: RawApply,
    #[serde(default)]
    pub keep_cookies: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRequest {
    pub method: Option<String>,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub json: Option<toml::Value>,
    pub form: Option<BTreeMap<String, String>>,
    pub body: Option<String>,
    pub content_type: Option<String>,
    #[serde(default)]
    pub extract: BTreeMap<String, RawExtract>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExtract {
    pub json: Option<String>,
    pub header: Option<String>,
    pub cookie: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApply {
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub cookies: BTreeMap<String, String>,
    pub basic: Option<RawBasic>,
    pub csrf: Option<RawCsrf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCsrf {
    pub header: String,
    pub value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCampaign {
    pub seed: Option<u64>,
    pub cases: Option<u32>,
    pub systematic: Option<bool>,
    pub concurrency: Option<usize>,
    pub max_steps: Option<usize>,
    #[serde(default)]
    pub exclude: Vec<String>,
    pub confirmations: Option<u32>,
    pub shrink_iterations: Option<u32>,
    pub shrink_seconds: Option<u64>,
    pub timeout_seconds: Option<u64>,
    pub rate: Option<f64>,
    pub max_seconds: Option<u64>,
    pub existence_leak: Option<bool>,
    pub account_enumeration: Option<bool>,
    pub mutate_seeded: Option<bool>,
    pub session_check_seconds: Option<u64>,
    pub shard: Option<String>,
    pub max_untested: Option<RawAllowance>,
}

/// A count (`3`) or a share of the in-scope operations (`"10%"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawAllowance {
    Count(usize),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    #[serde(default)]
    pub ids: Vec<RawIdOverride>,
    #[serde(default)]
    pub links: Vec<RawLink>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIdOverride {
    pub operation: String,
    pub pointer: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLink {
    pub operation: String,
    pub parameter: String,
    pub resource: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOutput {
    pub report_json: Option<String>,
    pub repro_dir: Option<String>,
}
