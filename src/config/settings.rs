//! Validated settings, built from the raw file and then overridden by flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::interpolate::interpolate;
use super::raw::RawConfig;
use crate::identity::IdentityAuth;
use crate::secret::Secret;

/// Why a config could not be used. Each names the file and, where it can, the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("failed to read config '{path}': {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: String,
        key: String,
        message: String,
    },
}

/// One identity that sends requests.
#[derive(Debug, Clone, Default)]
pub struct IdentitySettings {
    pub name: String,
    /// Identities in the same tenant are never attacked against each other.
    pub tenant: String,
    pub role: Option<String>,
    pub plan: Option<String>,
    /// Headers sent with every request; values are secrets.
    pub headers: Vec<(String, Secret)>,
    /// Query parameters, cookies, HTTP basic, a login flow and the positive control.
    pub auth: IdentityAuth,
}

/// An explicit `parameter -> resource` link.
#[derive(Debug, Clone)]
pub struct LinkOverride {
    /// operationId or `METHOD /path`.
    pub operation: String,
    /// `path.name`, `query.name`, `header.name` or `body./pointer`.
    pub parameter: String,
    pub resource: String,
}

/// Who may call what, beyond ownership: the `[policy]` section.
#[derive(Debug, Clone)]
pub struct PolicySettings {
    /// Whether defaults are inferred from the spec (admin tags and paths, 402 responses).
    pub infer: bool,
    /// Roles that may act on every tenant (platform administrators): they are never attackers
    /// or victims of ownership checks, and inferred admin-only operations allow them.
    pub admin_roles: Vec<String>,
    pub rules: Vec<PolicyRule>,
    /// Selectors of operations on data every identity shares by design (instance-wide tags,
    /// templates every analyst edits): no ownership check (bola-read, bola-write, bola-delete,
    /// list-leak) judges them; the unauthenticated, role and plan checks still do.
    pub shared: Vec<String>,
    /// Selectors of operations on data private to its tenant by declaration: what they show or
    /// change is judged a violation even where the run measures it as public or shared by
    /// behaviour (every access path shows it to everyone alike).
    pub private: Vec<String>,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            infer: true,
            admin_roles: vec!["admin".into()],
            rules: Vec::new(),
            shared: Vec::new(),
            private: Vec::new(),
        }
    }
}

/// One `[[policy.rules]]` entry: only these roles and plans may call these operations.
#[derive(Debug, Clone)]
pub struct PolicyRule {
    /// Selectors: operationId, `METHOD /path`, `tag:NAME` or a glob.
    pub operations: Vec<String>,
    /// The roles allowed (absent: any role).
    pub roles: Option<Vec<String>>,
    /// The plans allowed (absent: any plan).
    pub plans: Option<Vec<String>>,
}

/// HMAC algorithms a webhook signature may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlgorithm {
    Sha256,
    Sha512,
}

/// How a webhook signature is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestEncoding {
    Hex,
    Base64,
}

/// A webhook receiver and how its events are signed: a `[[webhooks]]` entry.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// operationId or `METHOD /path`.
    pub operation: String,
    pub secret: Secret,
    pub signature_header: String,
    pub algorithm: HmacAlgorithm,
    pub encoding: DigestEncoding,
    /// Text before the digest in the header (`sha256=`).
    pub prefix: String,
    /// The header carrying the signing time in Unix seconds, when the scheme has one.
    pub timestamp_header: Option<String>,
    /// What is signed: `{body}` is the raw body, `{timestamp}` the signing time.
    pub signed: String,
    /// How old a timestamp the receiver should accept.
    pub tolerance: Duration,
}

/// How the campaign runs.
#[derive(Debug, Clone)]
pub struct CampaignSettings {
    pub seed: u64,
    /// Random scenarios explored after the systematic phase.
    pub cases: u32,
    /// Whether the systematic phase runs (off: exploration only, for testing the explorer).
    pub systematic: bool,
    /// Requests in flight at once. Scenarios hold a slot only while a request of theirs is out,
    /// so more of them run than there are slots.
    pub concurrency: usize,
    /// Most steps in an explored scenario.
    pub max_steps: usize,
    /// Operations never sent (operationId or `METHOD /path`).
    pub exclude: Vec<String>,
    /// Replays a violation must survive to be confirmed.
    pub confirmations: u32,
    pub shrink_iterations: u32,
    pub shrink_time: Duration,
    pub request_timeout: Duration,
    /// Requests per second for the whole run (none: as fast as concurrency allows).
    pub rate: Option<f64>,
    /// A limit on the whole run; past it, nothing new is sent but the cleanup.
    pub max_time: Option<Duration>,
    /// Whether the low-severity `existence-leak` check runs (403 for a foreign id, 404 for an
    /// unknown one). Off by default: many APIs answer so by design.
    pub existence_leak: bool,
    /// Whether the low-severity `account-enumeration` check runs (login, registration and
    /// password reset answer an existing account differently from an unknown one). Off by
    /// default.
    pub account_enumeration: bool,
    /// Whether attacks may write to, delete or act on pre-existing (discovered) resources, not
    /// only on those the campaign created. Off by default.
    pub mutate_seeded: bool,
    /// How often each session proves itself with its positive control, to catch sessions that
    /// die without a 401 (none: only a 401 triggers a check).
    pub session_check: Option<Duration>,
    /// The part of the campaign this machine runs (`--shard I/N`); none: all of it.
    pub shard: Option<super::Shard>,
    /// How many operations that take a resource id may end with no probe judged before the
    /// run is incomplete (exit 4) instead of clean. None by default.
    pub max_untested: Allowance,
}

/// A number of operations, or a share of the in-scope ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Allowance {
    Count(usize),
    /// Percent, 0 to 100.
    Percent(f64),
}

impl Default for Allowance {
    fn default() -> Self {
        Allowance::Count(0)
    }
}

impl Allowance {
    /// How many of `scope` operations this allows (a share rounds down).
    pub fn of(self, scope: usize) -> usize {
        match self {
            Allowance::Count(n) => n,
            Allowance::Percent(p) => (scope as f64 * p / 100.0).floor() as usize,
        }
    }

    fn parse(raw: super::raw::RawAllowance) -> Result<Self, String> {
        match raw {
            super::raw::RawAllowance::Count(n) => Ok(Allowance::Count(n)),
            super::raw::RawAllowance::Text(text) => text
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                .filter(|p| (0.0..=100.0).contains(p))
                .map(Allowance::Percent)
                .ok_or_else(|| {
                    format!("expected a count (3) or a percentage (\"10%\"), got {text:?}")
                }),
        }
    }
}

impl std::fmt::Display for Allowance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Allowance::Count(n) => write!(f, "{n}"),
            Allowance::Percent(p) => write!(f, "\"{p}%\""),
        }
    }
}

impl Default for CampaignSettings {
    fn default() -> Self {
        CampaignSettings {
            seed: 0,
            cases: 64,
            systematic: true,
            concurrency: 8,
            max_steps: 8,
            exclude: Vec::new(),
            confirmations: 2,
            shrink_iterations: 64,
            shrink_time: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            rate: None,
            max_time: None,
            existence_leak: false,
            account_enumeration: false,
            mutate_seeded: false,
            session_check: Some(Duration::from_secs(60)),
            shard: None,
            max_untested: Allowance::default(),
        }
    }
}

/// Everything a campaign needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where these settings were read (a config file's path), named in every error about them.
    pub source: String,
    pub spec: PathBuf,
    pub base_url: String,
    /// Origins (`https://auth.example.com`) requests may go to besides the base URL's.
    pub allow_origins: Vec<String>,
    pub identities: Vec<IdentitySettings>,
    pub campaign: CampaignSettings,
    /// (operation, JSON pointer of the created id).
    pub id_overrides: Vec<(String, String)>,
    pub links: Vec<LinkOverride>,
    pub report_json: Option<PathBuf>,
    pub repro_dir: Option<PathBuf>,
    pub policy: PolicySettings,
    pub webhooks: Vec<WebhookSettings>,
}

impl Settings {
    /// Settings for planning `spec` without a config: two credential-less identities, `a` and
    /// `b`, in two tenants, and no target. What `tenantfuzz plan --spec` uses.
    pub fn for_planning(spec: &Path) -> Settings {
        let identity = |name: &str, tenant: &str| IdentitySettings {
            name: name.into(),
            tenant: tenant.into(),
            role: None,
            plan: None,
            headers: Vec::new(),
            auth: IdentityAuth::default(),
        };
        Settings {
            source: "(no config)".into(),
            spec: spec.to_path_buf(),
            base_url: String::new(),
            allow_origins: Vec::new(),
            identities: vec![identity("a", "tenant-a"), identity("b", "tenant-b")],
            campaign: CampaignSettings::default(),
            id_overrides: Vec::new(),
            links: Vec::new(),
            report_json: None,
            repro_dir: None,
            policy: PolicySettings::default(),
            webhooks: Vec::new(),
        }
    }

    /// Reads and validates a config file. Relative paths in it are relative to its folder.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Settings::parse(&text, &path.display().to_string(), base, &|name| {
            std::env::var(name).ok()
        })
    }

    /// Loads a config for planning only (`tenantfuzz plan`), which sends nothing: an
    /// environment variable that is not set (a token not yet exported after `init`) stands
    /// for itself, as `<NAME unset>`, instead of being an error.
    pub fn load_for_planning(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Settings::parse(&text, &path.display().to_string(), base, &|name| {
            Some(std::env::var(name).unwrap_or_else(|_| format!("<{name} unset>")))
        })
    }

    /// Parses config text; `env` looks up environment variables.
    pub fn parse(
        text: &str,
        source: &str,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: source.to_string(),
            message: with_suggestion(e.to_string()),
        })?;
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: source.to_string(),
            key: key.to_string(),
            message,
        };
        let mut identities = Vec::new();
        let mut from_file = match &raw.auth_file {
            Some(file) => super::auth_file::load(&base.join(file), base, env)
                .map_err(|m| invalid("auth_file", m))?,
            None => Vec::new(),
        };
        for (name, id) in raw.identities {
            if name == "anonymous" {
                return Err(invalid(
                    "identities.anonymous",
                    "'anonymous' is built in (no credentials); choose another name".into(),
                ));
            }
            let mut headers = Vec::new();
            for (header, value) in &id.headers {
                let key = format!("identities.{name}.headers.{header}");
                let value = interpolate(value, base, env).map_err(|m| invalid(&key, m))?;
                headers.push((header.clone(), Secret::new(value)));
            }
            let mut auth = super::identity::auth(&id, base, env)
                .map_err(|(key, m)| invalid(&format!("identities.{name}.{key}"), m))?;
            // An identity of the auth file: the config adds tenant, role, plan and more.
            if let Some(n) = from_file.iter().position(|w| w.name == name) {
                let w = from_file.remove(n);
                let mut merged = w.headers;
                merged.extend(headers);
                headers = merged;
                if auth.login.is_none() {
                    auth.login = w.auth.login;
                }
            }
            identities.push(IdentitySettings {
                name,
                tenant: id.tenant,
                role: id.role,
                plan: id.plan,
                headers,
                auth,
            });
        }
        // Users of the auth file the config does not mention: each its own tenant.
        for w in from_file {
            if w.name == "anonymous" {
                return Err(invalid(
                    "auth_file",
                    "a user is named 'anonymous', which is built in; rename it".into(),
                ));
            }
            identities.push(IdentitySettings {
                tenant: w.name.clone(),
                name: w.name,
                role: None,
                plan: None,
                headers: w.headers,
                auth: w.auth,
            });
        }
        let c = raw.campaign;
        let defaults = CampaignSettings::default();
        let campaign = CampaignSettings {
            seed: c.seed.unwrap_or(defaults.seed),
            cases: c.cases.unwrap_or(defaults.cases),
            systematic: c.systematic.unwrap_or(defaults.systematic),
            concurrency: c.concurrency.unwrap_or(defaults.concurrency),
            max_steps: c.max_steps.unwrap_or(defaults.max_steps),
            exclude: c.exclude,
            confirmations: c.confirmations.unwrap_or(defaults.confirmations),
            shrink_iterations: c.shrink_iterations.unwrap_or(defaults.shrink_iterations),
            shrink_time: c
                .shrink_seconds
                .map(Duration::from_secs)
                .unwrap_or(defaults.shrink_time),
            request_timeout: c
                .timeout_seconds
                .map(Duration::from_secs)
                .unwrap_or(defaults.request_timeout),
            rate: c.rate,
            max_time: c.max_seconds.map(Duration::from_secs),
            existence_leak: c.existence_leak.unwrap_or(defaults.existence_leak),
            account_enumeration: c
                .account_enumeration
                .unwrap_or(defaults.account_enumeration),
            mutate_seeded: c.mutate_seeded.unwrap_or(defaults.mutate_seeded),
            session_check: match c.session_check_seconds {
                Some(0) => None,
                Some(s) => Some(Duration::from_secs(s)),
                None => defaults.session_check,
            },
            shard: match c.shard {
                Some(text) => Some(
                    text.parse()
                        .map_err(|message| invalid("campaign.shard", message))?,
                ),
                None => None,
            },
            max_untested: match c.max_untested {
                Some(raw) => Allowance::parse(raw)
                    .map_err(|message| invalid("campaign.max_untested", message))?,
                None => defaults.max_untested,
            },
        };
        let defaults = PolicySettings::default();
        let policy = PolicySettings {
            infer: raw.policy.infer.unwrap_or(defaults.infer),
            admin_roles: raw.policy.admin_roles.unwrap_or(defaults.admin_roles),
            rules: raw
                .policy
                .rules
                .into_iter()
                .map(|r| PolicyRule {
                    operations: r.operations,
                    roles: r.roles,
                    plans: r.plans,
                })
                .collect(),
            shared: raw.policy.shared.unwrap_or_default(),
            private: raw.policy.private.unwrap_or_default(),
        };
        let mut webhooks = Vec::new();
        for (i, w) in raw.webhooks.into_iter().enumerate() {
            let key = |k: &str| format!("webhooks[{i}].{k}");
            let secret =
                interpolate(&w.secret, base, env).map_err(|m| invalid(&key("secret"), m))?;
            let algorithm = match w.algorithm.as_deref().unwrap_or("hmac-sha256") {
                "hmac-sha256" | "sha256" => HmacAlgorithm::Sha256,
                "hmac-sha512" | "sha512" => HmacAlgorithm::Sha512,
                other => {
                    return Err(invalid(
                        &key("algorithm"),
                        format!("'{other}' is not supported; use hmac-sha256 or hmac-sha512"),
                    ));
                }
            };
            let encoding = match w.encoding.as_deref().unwrap_or("hex") {
                "hex" => DigestEncoding::Hex,
                "base64" => DigestEncoding::Base64,
                other => {
                    return Err(invalid(
                        &key("encoding"),
                        format!("'{other}' is not supported; use hex or base64"),
                    ));
                }
            };
            let signed = w.signed.unwrap_or_else(|| {
                if w.timestamp_header.is_some() {
                    "{timestamp}.{body}".into()
                } else {
                    "{body}".into()
                }
            });
            if signed.contains("{timestamp}") && w.timestamp_header.is_none() {
                return Err(invalid(
                    &key("signed"),
                    "signs {timestamp} but no timestamp_header is set".into(),
                ));
            }
            webhooks.push(WebhookSettings {
                operation: w.operation,
                secret: Secret::new(secret),
                signature_header: w.signature_header,
                algorithm,
                encoding,
                prefix: w.prefix.unwrap_or_default(),
                timestamp_header: w.timestamp_header,
                signed,
                tolerance: Duration::from_secs(w.tolerance_seconds.unwrap_or(300)),
            });
        }
        let settings = Settings {
            source: source.to_string(),
            spec: raw.spec.map(|s| base.join(s)).unwrap_or_default(),
            base_url: raw.base_url.unwrap_or_default(),
            allow_origins: raw.allow_origins,
            identities,
            campaign,
            id_overrides: raw
                .model
                .ids
                .into_iter()
                .map(|i| (i.operation, i.pointer))
                .collect(),
            links: raw
                .model
                .links
                .into_iter()
                .map(|l| LinkOverride {
                    operation: l.operation,
                    parameter: l.parameter,
                    resource: l.resource,
                })
                .collect(),
            report_json: raw.output.report_json.map(|p| base.join(p)),
            repro_dir: raw.output.repro_dir.map(|p| base.join(p)),
            policy,
            webhooks,
        };
        Ok(settings)
    }

    /// Checks what a run needs beyond planning, after flags were applied, and returns what it
    /// proved ([`Reach`]). [`crate::Campaign::new`] calls it, once; planning
    /// ([`crate::Campaign::planning`]) needs none of it.
    pub fn validate(&self) -> Result<Reach, ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::Invalid {
            path: self.source.clone(),
            key: key.to_string(),
            message: message.to_string(),
        };
        if self.spec.as_os_str().is_empty() {
            return Err(invalid("spec", "no spec given (set 'spec' or pass --spec)"));
        }
        let url = url::Url::parse(&self.base_url).map_err(|e| {
            invalid(
                "base_url",
                &format!("not a URL ({e}); set 'base_url' or pass --base-url"),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("base_url", "must be an http or https URL"));
        }
        let mut allow_origins = Vec::new();
        for origin in &self.allow_origins {
            match parse_origin(origin) {
                Ok(canonical) => allow_origins.push(canonical),
                Err(message) => {
                    return Err(invalid("allow_origins", &format!("'{origin}': {message}")));
                }
            }
        }
        if self.identities.len() < 2 {
            return Err(invalid(
                "identities",
                "at least two identities are needed ([identities.NAME] with tenant and headers)",
            ));
        }
        let first = &self.identities[0].tenant;
        if self.identities.iter().all(|i| &i.tenant == first) {
            return Err(invalid(
                "identities",
                "all identities are in one tenant; cross-tenant checks need two tenants",
            ));
        }
        if self.campaign.concurrency == 0 {
            return Err(invalid("campaign.concurrency", "must be at least 1"));
        }
        if self
            .campaign
            .rate
            .is_some_and(|r| !(r > 0.0 && r.is_finite()))
        {
            return Err(invalid(
                "campaign.rate",
                "must be a positive number of requests per second",
            ));
        }
        if self.campaign.confirmations == 0 {
            return Err(invalid("campaign.confirmations", "must be at least 1"));
        }
        Ok(Reach {
            base_url: url,
            allow_origins,
        })
    }
}

/// What [`Settings::validate`] proved about where a run may send requests, kept by the campaign
/// that runs: the base URL parsed (http or https) and the allowed origins in canonical form.
/// The rest it proved (two tenants, a concurrency and a replay count of at least 1, a positive
/// rate) the phases take as given.
#[derive(Debug, Clone)]
pub struct Reach {
    pub base_url: url::Url,
    pub allow_origins: Vec<String>,
}

/// An allowed origin as written (`https://auth.example.com[:port]`) to its canonical form
/// (`https://auth.example.com`, default ports dropped).
pub(crate) fn parse_origin(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https origin".into());
    }
    if url.host().is_none() {
        return Err("names no host".into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("must be an origin (scheme, host and port), without a path".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    Ok(url.origin().ascii_serialization())
}

/// Adds "did you mean" to serde's unknown-field message.
fn with_suggestion(message: String) -> String {
    let Some(start) = message.find("unknown field `") else {
        return message;
    };
    let after = &message[start + "unknown field `".len()..];
    let Some(end) = after.find('`') else {
        return message;
    };
    let unknown = &after[..end];
    let expected: Vec<&str> = after[end..].split('`').skip(2).step_by(2).collect();
    let best = expected
        .iter()
        .map(|k| (strsim::levenshtein(unknown, k), *k))
        .min()
        .filter(|(d, k)| *d <= 2.max(k.len() / 3));
    match best {
        Some((_, k)) => format!("{}\n  help: did you mean `{k}`?", message.trim_end()),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        Settings::parse(text, "t.toml", Path::new("/cfg"), &|name| {
            (name == "TOKEN_A").then(|| "secret-a".to_string())
        })
    }

    const OK: &str = r#"
spec = "api.yaml"
base_url = "http://127.0.0.1:8080"
[identities.alice]
tenant = "acme"
headers = { Authorization = "Bearer ${env:TOKEN_A}" }
[identities.bob]
tenant = "globex"
headers = { X-Api-Key = "plain" }
[campaign]
seed = 7
exclude = ["DELETE /admin/users/{userId}"]
"#;

    #[test]
    fn reads_a_full_config() {
        let s = parse(OK).expect("valid");
        s.validate().expect("complete");
        assert_eq!(s.spec, Path::new("/cfg/api.yaml"));
        assert_eq!(s.identities.len(), 2);
        assert_eq!(s.identities[0].headers[0].1.expose(), "Bearer secret-a");
        assert_eq!(s.campaign.seed, 7);
        assert_eq!(s.campaign.exclude.len(), 1);
        // Secrets stay hidden in Debug output of the whole settings.
        assert!(!format!("{s:?}").contains("secret-a"));
    }

    #[test]
    fn validation_names_the_file_and_keeps_what_it_proved() {
        let mut s = parse(OK).expect("valid");
        s.allow_origins = vec!["HTTPS://Auth.Example.com:443".into()];
        let reach = s.validate().expect("complete");
        assert_eq!(reach.base_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(reach.allow_origins, ["https://auth.example.com"]);
        s.base_url = "ftp://files".into();
        let msg = s.validate().expect_err("not http").to_string();
        assert!(msg.contains("t.toml") && msg.contains("base_url"), "{msg}");
    }

    #[test]
    fn unknown_keys_are_named_with_a_suggestion() {
        let err = parse(&OK.replace("seed = 7", "sed = 7")).expect_err("unknown key");
        let msg = err.to_string();
        assert!(msg.contains("sed"), "{msg}");
        assert!(msg.contains("did you mean `seed`"), "{msg}");
    }

    #[test]
    fn missing_env_names_the_variable_and_key() {
        let err = parse(&OK.replace("TOKEN_A", "NOPE")).expect_err("missing env");
        let msg = err.to_string();
        assert!(msg.contains("NOPE"), "{msg}");
        assert!(
            msg.contains("identities.alice.headers.Authorization"),
            "{msg}"
        );
    }

    #[test]
    fn max_untested_is_a_count_or_a_share() {
        assert_eq!(
            parse(OK).expect("valid").campaign.max_untested,
            Allowance::Count(0)
        );
        let with = |v: &str| parse(&OK.replace("seed = 7", &format!("max_untested = {v}")));
        assert_eq!(
            with("3").expect("a count").campaign.max_untested,
            Allowance::Count(3)
        );
        let share = with("\"12.5%\"").expect("a share").campaign.max_untested;
        assert_eq!(share, Allowance::Percent(12.5));
        assert_eq!(share.of(16), 2);
        assert_eq!(share.of(7), 0);
        for bad in ["\"lots\"", "\"150%\"", "-1"] {
            let msg = with(bad).expect_err(bad).to_string();
            assert!(
                msg.contains("campaign.max_untested") || msg.contains("max_untested"),
                "{bad}: {msg}"
            );
        }
    }

    #[test]
    fn one_tenant_is_not_enough() {
        let s = parse(&OK.replace("globex", "acme")).expect("parses");
        let err = s.validate().expect_err("one tenant");
        assert!(err.to_string().contains("two tenants"), "{err}");
    }
}
