//! `tenantfuzz baseline REPORT.json`: prints a baseline of the report's findings, for
//! `--baseline` on later runs.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, Outcome};
use crate::report::baseline::Baseline;
use crate::report::json::Report;

/// Arguments of `tenantfuzz baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// A JSON report (`--report-json`) whose findings become the baseline.
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
}

pub(crate) fn run(args: BaselineArgs) -> Result<Outcome, CliError> {
    let path = args.report.display().to_string();
    let text = std::fs::read_to_string(&args.report)
        .map_err(|e| CliError::Usage(format!("failed to read '{path}': {e}")))?;
    let report: Report = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("'{path}' is not a tenantfuzz JSON report: {e}")))?;
    println!("{}", Baseline::of(&report.findings).render());
    Ok(Outcome::Clean)
}
