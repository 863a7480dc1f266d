//! `tenantfuzz merge REPORT... --report-json OUT`: combines the JSON reports of several runs
//! (shards of a CI matrix) into one, and writes any other format from the merged result.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, Outcome, output};
use crate::report::json::Report;

/// Arguments of `tenantfuzz merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The JSON reports to merge (`--report-json` of each run).
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
    /// Write the merged JSON report here.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Write SARIF 2.1.0 of the merged result here.
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Write JUnit XML of the merged result here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary of the merged result here.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the HTML report of the merged result here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Findings listed in this baseline are reported as known and do not fail.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

pub(crate) fn run(args: MergeArgs, verbosity: super::Verbosity) -> Result<Outcome, CliError> {
    let mut reports = Vec::new();
    for path in &args.reports {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("failed to read '{name}': {e}")))?;
        let report: Report = serde_json::from_str(&text).map_err(|e| {
            CliError::Usage(format!("'{name}' is not a tenantfuzz JSON report: {e}"))
        })?;
        reports.push(report);
    }
    let merged =
        crate::report::merge::merge(reports).map_err(|e| CliError::Usage(e.to_string()))?;
    let mut result = crate::report::merge::result_of(merged);
    let out = output::OutputArgs {
        report_json: args.report_json,
        sarif: args.sarif,
        junit: args.junit,
        markdown: args.markdown,
        html: args.html,
        baseline: args.baseline,
        ..output::OutputArgs::default()
    };
    output::write_all(&mut result, &out, verbosity, output::Origin::Merge)
}
