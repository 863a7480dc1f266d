//! `tenantfuzz demo`: the built-in demo API, alone (`--serve`) or under a full campaign.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::{CliError, Outcome, output};
use crate::campaign::Campaign;
use crate::config::{
    CampaignSettings, DigestEncoding, HmacAlgorithm, IdentitySettings, PolicySettings, Secret,
    Settings, WebhookSettings,
};
use crate::demo::{
    ACCOUNTS, DEFAULT_WEBHOOK_SECRET, DemoConfig, DemoServer, Mode, SPEC_PATH, SPEC_YAML,
    WORKSPACES,
};
use crate::identity::{Credentials, Extract, FlowBody, FlowRequest, IdentityAuth, LoginFlow};
use crate::spec::Method;

/// Arguments of `tenantfuzz demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run the demo API alone on loopback until Ctrl-C, printing its URL, spec and tokens.
    #[arg(long)]
    pub serve: bool,
    /// Fix every planted bug (the secure mode).
    #[arg(long)]
    pub secure: bool,
    /// Port to listen on with --serve (default: any free port).
    #[arg(long, requires = "serve")]
    pub port: Option<u16>,
    /// Seed of the campaign (same seed, same findings and steps).
    #[arg(long, conflicts_with = "serve")]
    pub seed: Option<u64>,
    /// Requests in flight at once.
    #[arg(long, conflicts_with = "serve")]
    pub concurrency: Option<usize>,
    /// Let attacks change the demo's seeded data too (see `run --mutate-seeded`).
    #[arg(long, conflicts_with = "serve")]
    pub mutate_seeded: bool,
    #[command(flatten)]
    pub pace: output::PaceArgs,
    #[command(flatten)]
    pub output: output::OutputArgs,
}

pub(crate) fn run(args: DemoArgs, verbosity: super::Verbosity) -> Result<Outcome, CliError> {
    let runtime = super::runtime()?;
    runtime.block_on(async {
        if args.serve {
            serve(&args).await
        } else {
            campaign(&args, verbosity).await
        }
    })
}

fn mode(secure: bool) -> Mode {
    if secure {
        Mode::Secure
    } else {
        Mode::Vulnerable
    }
}

/// Logs a seeded account in and returns its token.
async fn login(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> Result<String, String> {
    let response = client
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .map_err(|e| format!("login failed: {e}"))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("login answer is not JSON: {e}"))?;
    body["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("login answered {status} without a token"))
}

/// Issues an API key with a bearer token.
async fn api_key(client: &reqwest::Client, base: &str, token: &str) -> Result<String, String> {
    let response = client
        .post(format!("{base}/auth/api-keys"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("API key request failed: {e}"))?;
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("API key answer is not JSON: {e}"))?;
    body["apiKey"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "no API key in the answer".to_string())
}

/// The login flow of a seeded demo account: `POST /auth/login` with its e-mail and password,
/// the token at `$.token`, sent as `Authorization: Bearer {token}`. Run again whenever the
/// token expires.
pub fn demo_login_flow(email: &str, password: &str) -> LoginFlow {
    LoginFlow {
        vars: vec![
            ("email".into(), Secret::new(email)),
            ("password".into(), Secret::new(password)),
        ],
        templated: Vec::new(),
        register: Vec::new(),
        requests: vec![FlowRequest {
            method: Method::Post,
            path: "/auth/login".into(),
            headers: Vec::new(),
            body: Some(FlowBody::Json(Secret::new(
                r#"{"email": "{email}", "password": "{password}"}"#,
            ))),
            extract: vec![("token".into(), Extract::Json("$.token".into()))],
        }],
        apply: Credentials {
            headers: vec![("Authorization".into(), Secret::new("Bearer {token}"))],
            ..Credentials::default()
        },
        keep_cookies: false,
    }
}

/// The campaign `tenantfuzz demo` runs against a demo server at `base_url`: every seeded account
/// as an identity, with its workspace as tenant, its workspace role and its workspace's
/// plan, logging in with its password (the campaign opens, checks and renews the sessions). The
/// platform admin (role `admin`) may see every tenant by design: the policy keeps it out
/// of the ownership checks and uses it as the permitted caller of admin operations.
pub async fn demo_campaign(
    base_url: &str,
    mut campaign_settings: CampaignSettings,
) -> Result<Campaign, CliError> {
    // Deleting an account is left out, as one would on a staging server: the demo's accounts
    // are its identities, and the API creates none a probe could delete instead. Without this
    // the secure demo would rightly end incomplete (exit 4: an operation untested).
    // Likewise the public view of documents, which shows only published ones: the campaign
    // does not choose the optional flags that change who may see an object (it publishes
    // nothing), so nothing can test it yet, and every run would rightly end incomplete.
    // (tests/cli.rs runs the demo with its own config and shows both named as untested.)
    for excluded in ["adminDeleteUser", "getPublicDocument"] {
        if !campaign_settings.exclude.iter().any(|e| e == excluded) {
            campaign_settings.exclude.push(excluded.to_string());
        }
    }
    let mut identities = Vec::new();
    for account in ACCOUNTS {
        identities.push(IdentitySettings {
            name: account.handle.to_string(),
            tenant: account.workspace.unwrap_or("platform").to_lowercase(),
            role: Some(if account.platform_admin {
                "admin".to_string()
            } else {
                account.workspace_role.as_str().to_string()
            }),
            plan: WORKSPACES
                .iter()
                .find(|(name, _)| Some(*name) == account.workspace)
                .map(|(_, plan)| plan.to_string()),
            headers: Vec::new(),
            auth: IdentityAuth {
                login: Some(demo_login_flow(account.email, account.password)),
                health: Some("GET /me".into()),
                ..IdentityAuth::default()
            },
        });
    }
    let settings = Settings {
        source: "(demo)".into(),
        spec: PathBuf::from(SPEC_PATH),
        base_url: base_url.to_string(),
        allow_origins: Vec::new(),
        identities,
        campaign: campaign_settings,
        id_overrides: Vec::new(),
        links: Vec::new(),
        report_json: None,
        repro_dir: None,
        policy: PolicySettings::default(),
        webhooks: vec![WebhookSettings {
            operation: "receiveBillingWebhook".into(),
            secret: Secret::new(DEFAULT_WEBHOOK_SECRET.to_string()),
            signature_header: "X-Webhook-Signature".into(),
            algorithm: HmacAlgorithm::Sha256,
            encoding: DigestEncoding::Hex,
            prefix: "sha256=".into(),
            timestamp_header: Some("X-Webhook-Timestamp".into()),
            signed: "{timestamp}.{body}".into(),
            tolerance: std::time::Duration::from_secs(300),
        }],
    };
    let api =
        crate::spec::load_str(SPEC_YAML, SPEC_PATH).map_err(|e| CliError::Usage(e.to_string()))?;
    Campaign::with_api(settings, api).map_err(super::campaign_error)
}

async fn campaign(args: &DemoArgs, verbosity: super::Verbosity) -> Result<Outcome, CliError> {
    let server = DemoServer::start(DemoConfig::new(mode(args.secure)))
        .await
        .map_err(|e| CliError::Target(format!("failed to start the demo API: {e}")))?;
    let base = server.base_url();
    let mut campaign_settings = CampaignSettings::default();
    args.pace
        .apply(&mut campaign_settings, args.seed, args.concurrency);
    campaign_settings.mutate_seeded = args.mutate_seeded;
    let mut campaign = match demo_campaign(&base, campaign_settings).await {
        Ok(c) => c,
        Err(e) => {
            let _ = server.shutdown().await;
            return Err(e);
        }
    };
    if !verbosity.quiet {
        eprintln!(
            "tenantfuzz: demo API ({} mode) at {base}; identities alice (acme), carol (acme), bob (globex), anonymous",
            if args.secure { "secure" } else { "vulnerable" }
        );
    }
    if let Err(e) = args.output.prepare(&mut campaign) {
        let _ = server.shutdown().await;
        return Err(e);
    }
    super::stop_on_ctrl_c(&campaign);
    let display = super::progress::start(campaign.progress(), verbosity);
    let result = std::sync::Arc::new(campaign)
        .run_as_task()
        .await
        .map_err(super::campaign_error);
    display.finish().await;
    let _ = server.shutdown().await;
    let mut result = result?;
    let written = output::write_all(&mut result, &args.output, verbosity, output::Origin::Demo);
    super::finish(&result, written)
}

async fn serve(args: &DemoArgs) -> Result<Outcome, CliError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port.unwrap_or(0)));
    let server = DemoServer::start_on(addr, DemoConfig::new(mode(args.secure)))
        .await
        .map_err(|e| CliError::Target(format!("failed to listen on {addr}: {e}")))?;
    let base = server.base_url();
    let client = crate::exec::http_client()
        .map_err(|e| CliError::Target(format!("failed to build the HTTP client: {e}")))?;
    println!(
        "tenantfuzz demo API ({} mode) listening on {base}",
        if args.secure { "secure" } else { "vulnerable" }
    );
    let repo_spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC_PATH);
    if repo_spec.exists() {
        println!(
            "spec: {} (also at {base}/openapi.yaml)",
            repo_spec.display()
        );
    } else {
        println!("spec: {base}/openapi.yaml");
    }
    println!("webhook secret (POST /webhooks/billing): {DEFAULT_WEBHOOK_SECRET}");
    println!("\nseeded accounts (throwaway demo tokens, valid for an hour):");
    for account in ACCOUNTS {
        let token = login(&client, &base, account.email, account.password)
            .await
            .unwrap_or_else(|e| format!("({e})"));
        let key = api_key(&client, &base, &token)
            .await
            .unwrap_or_else(|e| format!("({e})"));
        println!(
            "  {:<6} {:<22} password {:<22} workspace {:<7} token {token}\n  {:<6} api key {key}",
            account.handle,
            account.email,
            account.password,
            account.workspace.unwrap_or("-"),
            "",
        );
    }
    println!("\ntry: curl -H \"Authorization: Bearer $TOKEN\" {base}/me");
    println!("  or: curl -H \"X-API-Key: $KEY\" {base}/me, curl \"{base}/me?api_key=$KEY\",");
    println!("      curl -u alice@acme.test:alice-demo-password {base}/me,");
    println!("      or a cookie session from POST /auth/session (writes need its X-CSRF-Token)");
    println!("press Ctrl-C to stop");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| CliError::Target(format!("failed to wait for Ctrl-C: {e}")))?;
    println!("stopping");
    server
        .shutdown()
        .await
        .map_err(|e| CliError::Target(format!("demo server failed: {e}")))?;
    Ok(Outcome::Clean)
}
