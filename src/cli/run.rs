//! `tenantfuzz run`: a campaign against the API a config describes.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, Outcome, output};
use crate::campaign::Campaign;
use crate::config::Settings;

/// Arguments of `tenantfuzz run`. Flags override the config file.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The config file.
    #[arg(long, short, value_name = "FILE", default_value = "tenantfuzz.toml")]
    pub config: PathBuf,
    /// The OpenAPI spec (overrides `spec`).
    #[arg(long, value_name = "PATH")]
    pub spec: Option<PathBuf>,
    /// The target's base URL (overrides `base_url`).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Seed (overrides `campaign.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Requests in flight at once (overrides `campaign.concurrency`).
    #[arg(long)]
    pub concurrency: Option<usize>,
    #[command(flatten)]
    pub pace: output::PaceArgs,
    #[command(flatten)]
    pub scope: super::scope::ScopeArgs,
    #[command(flatten)]
    pub output: output::OutputArgs,
}

pub(crate) fn run(args: RunArgs, verbosity: super::Verbosity) -> Result<Outcome, CliError> {
    let mut settings = Settings::load(&args.config).map_err(|e| CliError::Usage(e.to_string()))?;
    if let Some(spec) = args.spec {
        settings.spec = spec;
    }
    if let Some(url) = args.base_url {
        settings.base_url = url;
    }
    args.pace
        .apply(&mut settings.campaign, args.seed, args.concurrency);
    args.scope.apply(&mut settings);
    let mut output = args.output;
    if output.report_json.is_none() {
        output.report_json = settings.report_json.clone();
    }
    if output.repro_dir.is_none() {
        output.repro_dir = settings.repro_dir.clone();
    }
    let mut campaign = Campaign::new(settings).map_err(super::campaign_error)?;
    output.prepare(&mut campaign)?;
    let runtime = super::runtime()?;
    let mut result = runtime
        .block_on(async {
            super::stop_on_ctrl_c(&campaign);
            let display = super::progress::start(campaign.progress(), verbosity);
            let result = std::sync::Arc::new(campaign).run_as_task().await;
            display.finish().await;
            result
        })
        .map_err(super::campaign_error)?;
    let written = output::write_all(
        &mut result,
        &output,
        verbosity,
        output::Origin::Run {
            config: &args.config,
        },
    );
    super::finish(&result, written)
}
