//! The command line: clap arguments, one file per subcommand, and the exit-code table.

mod baseline;
#[cfg(feature = "demo")]
mod demo;
#[cfg(feature = "demo")]
pub use demo::{demo_campaign, demo_login_flow};
pub mod exit_codes;
mod init;
mod merge;
mod output;
mod plan;
mod progress;
mod replay;
mod run;
mod scope;

pub use progress::Verbosity;

use clap::{Parser, Subcommand};

/// Cross-tenant authorization fuzzer: proves with evidence whether one user can read or change
/// another user's data.
#[derive(Debug, Parser)]
#[command(name = "tenantfuzz", version, about, long_about = None, after_help = exit_codes::HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print nothing but errors: no progress, no summary (the exit code and files say the rest).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log more: -v the phases (info), -vv every exchange (debug). RUST_LOG overrides both.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl Cli {
    /// How much to say.
    pub fn verbosity(&self) -> Verbosity {
        Verbosity {
            quiet: self.quiet,
            verbose: self.verbose,
        }
    }

    /// The log filter for these flags, when `RUST_LOG` does not set one.
    pub fn log_filter(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) => "warn",
            (false, 1) => "warn,tenantfuzz=info",
            (false, _) => "warn,tenantfuzz=debug",
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the built-in demo API (alone with --serve, or under a full campaign).
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Run a campaign against the API a config file describes.
    Run(run::RunArgs),
    /// Print the inferred resource model and attack plan without sending a request.
    Plan(plan::PlanArgs),
    /// Write a commented config derived from a spec's security schemes and login operations.
    Init(init::InitArgs),
    /// Print a baseline of a JSON report's findings (for `--baseline`).
    Baseline(baseline::BaselineArgs),
    /// Merge the JSON reports of several runs (shards) and write any format from the result.
    Merge(merge::MergeArgs),
    /// Re-run each finding of a JSON report (or one finding) and say whether it is still
    /// vulnerable or fixed.
    Replay(replay::ReplayArgs),
}

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report.
    Clean,
    /// Confirmed findings.
    Findings,
    /// No confirmed finding, but the run stopped before finishing its plan.
    Incomplete,
}

/// Why a command failed; each maps to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Usage, configuration or spec error (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The target or a session could not be used (exit 3).
    #[error("{0}")]
    Target(String),
}

impl CliError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => exit_codes::USAGE,
            CliError::Target(_) => exit_codes::TARGET,
        }
    }
}

impl Outcome {
    /// The exit code for this outcome.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Clean => exit_codes::OK,
            Outcome::Findings => exit_codes::FINDINGS,
            Outcome::Incomplete => exit_codes::INCOMPLETE,
        }
    }
}

/// How a run that produced results ends, once they are written: an error when the target was
/// lost mid-run (exit 3), `Incomplete` when nothing was confirmed and the run stopped early or
/// left operations untested (beyond `campaign.max_untested`), else the outcome of the findings.
pub(crate) fn finish(
    result: &crate::outcome::CampaignResult,
    written: Result<Outcome, CliError>,
) -> Result<Outcome, CliError> {
    if let Some(failure) = &result.failure {
        return Err(CliError::Target(format!(
            "{failure} (the results obtained before were written)"
        )));
    }
    match written? {
        Outcome::Clean if !result.incomplete().is_empty() => Ok(Outcome::Incomplete),
        outcome => Ok(outcome),
    }
}

/// On the first Ctrl-C, asks the campaign to stop starting new work and clean up; on the
/// second, aborts it: nothing more is sent, nothing is cleaned up, and what was obtained is
/// still reported and written (marked incomplete); on the third, exits at once (130).
pub(crate) fn stop_on_ctrl_c(campaign: &crate::campaign::Campaign) {
    let stop = campaign.stop_handle();
    let abort = campaign.abort_handle();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!(
            "interrupted: finishing what is in flight and cleaning up (Ctrl-C again to stop at once)"
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!(
            "aborted: nothing more is sent and nothing is cleaned up; writing what was obtained (Ctrl-C again to quit without it)"
        );
        abort.fire();
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("quit without writing the results");
            std::process::exit(130);
        }
    });
}

/// The runtime every command runs in: a worker per core. The campaign runs as one of its tasks
/// (`Campaign::run_as_task`), beside its connections (and the demo API), so an answer wakes it
/// on the worker that read the answer. (While the campaign's strategies were not `Send`, it ran
/// on the thread blocking on it, with one worker fewer than the cores, as three threads taking
/// turns on two cores were slower still; as a task, demo campaigns at 64 in flight on 2 cores
/// run about a sixth faster, and as fast as before at 16.)
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.max(1))
        .enable_all()
        .build()
        .map_err(|e| CliError::Target(format!("failed to start the async runtime: {e}")))
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<Outcome, CliError> {
    let verbosity = cli.verbosity();
    match cli.command {
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(args, verbosity),
        Command::Plan(args) => plan::run(args),
        Command::Run(args) => run::run(args, verbosity),
        Command::Init(args) => init::run(args),
        Command::Baseline(args) => baseline::run(args),
        Command::Merge(args) => merge::run(args, verbosity),
        Command::Replay(args) => replay::run(args, verbosity),
    }
}

/// Maps a campaign error to the CLI's error and exit code.
pub(crate) fn campaign_error(e: crate::campaign::CampaignError) -> CliError {
    use crate::campaign::CampaignError;
    match e {
        CampaignError::Spec(e) => CliError::Usage(e.to_string()),
        CampaignError::Config(e) => CliError::Usage(e.to_string()),
        CampaignError::Target(e) => CliError::Target(e),
    }
}
