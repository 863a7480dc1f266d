//! `tenantfuzz demo`: the built-in demo API, alone (`--serve`) or under a full campaign.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::{CliError, Outcome, output};
use crate::campaign::Campaign;
use crate::config::{CampaignSettings, IdentitySettings, Secret, Settings};
use crate::demo::{
    ACCOUNTS, DEFAULT_WEBHOOK_SECRET, DemoConfig, DemoServer, Mode, SPEC_PATH, SPEC_YAML,
};

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
    /// Parallel scenarios.
    #[arg(long, conflicts_with = "serve")]
    pub concurrency: Option<usize>,
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

/// The campaign `tenantfuzz demo` runs against a demo server at `base_url`: the seeded
/// accounts of both workspaces logged in as identities (the platform admin, who may see every
/// tenant by design, is left out of the ownership campaign).
pub async fn demo_campaign(
    base_url: &str,
    campaign_settings: CampaignSettings,
) -> Result<Campaign, CliError> {
    let client = crate::exec::http_client()
        .map_err(|e| CliError::Target(format!("failed to build the HTTP client: {e}")))?;
    let mut identities = Vec::new();
    for account in ACCOUNTS.iter().filter(|a| a.workspace.is_some()) {
        let token = login(&client, base_url, account.email, account.password)
            .await
            .map_err(|e| CliError::Target(format!("demo account '{}': {e}", account.handle)))?;
        identities.push(IdentitySettings {
            name: account.handle.to_string(),
            tenant: account.workspace.unwrap_or_default().to_lowercase(),
            role: Some(account.workspace_role.as_str().to_string()),
            plan: None,
            headers: vec![(
                "Authorization".to_string(),
                Secret::new(format!("Bearer {token}")),
            )],
        });
    }
    let settings = Settings {
        spec: PathBuf::from(SPEC_PATH),
        base_url: base_url.to_string(),
        identities,
        campaign: campaign_settings,
        id_overrides: Vec::new(),
        links: Vec::new(),
        report_json: None,
        repro_dir: None,
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
    if let Some(seed) = args.seed {
        campaign_settings.seed = seed;
    }
    if let Some(c) = args.concurrency {
        campaign_settings.concurrency = c.max(1);
    }
    args.pace.apply(&mut campaign_settings);
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
    let result = campaign.run().await.map_err(super::campaign_error);
    display.finish().await;
    let _ = server.shutdown().await;
    let mut result = result?;
    output::write_all(&mut result, &args.output, verbosity)
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
        println!(
            "  {:<6} {:<22} password {:<22} workspace {:<7} token {token}",
            account.handle,
            account.email,
            account.password,
            account.workspace.unwrap_or("-"),
        );
    }
    println!("\ntry: curl -H \"Authorization: Bearer $TOKEN\" {base}/me");
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
