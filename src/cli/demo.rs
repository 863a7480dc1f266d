//! `tenantfuzz demo`: the built-in demo API, alone (`--serve`) or under a campaign.

use std::net::SocketAddr;

use clap::Args;

use super::{CliError, Outcome};
use crate::demo::{ACCOUNTS, DEFAULT_WEBHOOK_SECRET, DemoConfig, DemoServer, Mode, SPEC_PATH};

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
}

pub(crate) fn run(args: DemoArgs) -> Result<Outcome, CliError> {
    let runtime = super::runtime()?;
    runtime.block_on(async {
        if args.serve {
            serve(&args).await
        } else {
            Err(CliError::Usage(
                "the demo campaign is not implemented yet; run `tenantfuzz demo --serve`".into(),
            ))
        }
    })
}

fn mode(secure: bool) -> Mode {
    if secure { Mode::Secure } else { Mode::Vulnerable }
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
        println!("spec: {} (also at {base}/openapi.yaml)", repo_spec.display());
    } else {
        println!("spec: {base}/openapi.yaml");
    }
    println!("webhook secret (POST /webhooks/billing): {DEFAULT_WEBHOOK_SECRET}");
    println!("\nseeded accounts (throwaway demo tokens, valid for an hour):");
    for account in ACCOUNTS {
        let login = client
            .post(format!("{base}/auth/login"))
            .json(&serde_json::json!({"email": account.email, "password": account.password}))
            .send()
            .await
            .and_then(|r| r.error_for_status());
        let token = match login {
            Ok(response) => response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v["token"].as_str().map(str::to_string))
                .unwrap_or_else(|| "(no token in the login answer)".into()),
            Err(e) => format!("(login failed: {e})"),
        };
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
