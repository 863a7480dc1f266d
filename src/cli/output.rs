//! Output flags shared by `run` and `demo`, and writing every requested report.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, Outcome};
use crate::finding::{Reproduction, Status};
use crate::outcome::CampaignResult;

/// Pace, time limits and optional checks shared by `run` and `demo`.
#[derive(Debug, Args, Default, Clone)]
pub struct PaceArgs {
    /// Requests per second over the whole run (overrides `campaign.rate`).
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
    /// Stop sending new probes after this many seconds; the cleanup still runs (overrides
    /// `campaign.max_seconds`).
    #[arg(long, value_name = "SECONDS")]
    pub max_time: Option<u64>,
    /// Also run the low-severity existence-leak check: a foreign id answered differently from
    /// one that does not exist (overrides `campaign.existence_leak`).
    #[arg(long)]
    pub existence_leak: bool,
    /// Also run the low-severity account-enumeration check: login, registration or password
    /// reset answer an existing account differently from an unknown one (overrides
    /// `campaign.account_enumeration`).
    #[arg(long)]
    pub account_enumeration: bool,
    /// Run only part I of N of the campaign, split by operation, so that N machines together
    /// attack every operation once (overrides `campaign.shard`; merge their JSON reports with
    /// `tenantfuzz merge`).
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<crate::config::Shard>,
}

fn parse_shard(text: &str) -> Result<crate::config::Shard, String> {
    text.parse()
}

impl PaceArgs {
    /// Applies the flags that `run` and `demo` share to campaign settings: `--seed` and
    /// `--concurrency` (each command declares those two itself) and these.
    pub(crate) fn apply(
        &self,
        c: &mut crate::config::CampaignSettings,
        seed: Option<u64>,
        concurrency: Option<usize>,
    ) {
        if let Some(seed) = seed {
            c.seed = seed;
        }
        if let Some(n) = concurrency {
            c.concurrency = n;
        }
        if let Some(rate) = self.rate {
            c.rate = Some(rate);
        }
        if let Some(secs) = self.max_time {
            c.max_time = Some(std::time::Duration::from_secs(secs));
        }
        if self.existence_leak {
            c.existence_leak = true;
        }
        if self.account_enumeration {
            c.account_enumeration = true;
        }
        if let Some(shard) = self.shard {
            c.shard = Some(shard);
        }
    }
}

/// Where results go besides the terminal.
#[derive(Debug, Args, Default, Clone)]
pub struct OutputArgs {
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Write a runnable reproduction script per confirmed finding into this folder.
    #[arg(long, value_name = "DIR")]
    pub repro_dir: Option<PathBuf>,
    /// Write SARIF 2.1.0 here (for GitHub code scanning).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Write JUnit XML here (a test case per operation and check).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary here (for a pull-request comment or a ticket).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write a self-contained HTML report here: summary, access matrix (operation by
    /// identity), bugs with evidence and reproduction, coverage.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write every exchange of the run here as HAR 1.2 (credentials redacted).
    #[arg(long, value_name = "FILE")]
    pub har: Option<PathBuf>,
    /// Findings listed in this baseline (or JSON report) are reported as known and do not fail
    /// the run.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

impl OutputArgs {
    /// Prepares a campaign for the outputs asked for (HAR needs every exchange kept), and reads
    /// the baseline before anything is sent, so that a bad one fails at once.
    pub(crate) fn prepare(&self, campaign: &mut crate::campaign::Campaign) -> Result<(), CliError> {
        if let Some(path) = &self.baseline {
            crate::report::baseline::Baseline::load(path)
                .map_err(|e| CliError::Usage(e.to_string()))?;
        }
        if self.har.is_some() {
            campaign.record_exchanges();
        }
        Ok(())
    }
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            CliError::Usage(format!("failed to create '{}': {e}", parent.display()))
        })?;
    }
    std::fs::write(path, text)
        .map_err(|e| CliError::Usage(format!("failed to write '{}': {e}", path.display())))
}

/// Which command wrote the results: what to suggest next depends on it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin<'a> {
    /// `tenantfuzz run`, with its config file.
    Run { config: &'a Path },
    /// `tenantfuzz demo`: its server is gone once the run ends.
    Demo,
    /// `tenantfuzz merge`.
    Merge,
}

/// What to do next, one line each (`command  why`): the report flags not given, a baseline of
/// new findings, a reproduction to run, `replay` after a fix, and `init` after the demo.
pub(crate) fn next_steps(
    result: &CampaignResult,
    output: &OutputArgs,
    origin: Origin<'_>,
) -> Vec<String> {
    let mut steps = Vec::new();
    let new = result.confirmed().any(|f| !f.known);
    let report = output.report_json.as_ref().map(|p| quote(p));
    let missing: Vec<&str> = [
        (output.report_json.is_none(), "--report-json FILE"),
        (output.sarif.is_none(), "--sarif FILE"),
        (output.junit.is_none(), "--junit FILE"),
        (output.markdown.is_none(), "--markdown FILE"),
        (output.html.is_none(), "--html FILE"),
        (
            output.repro_dir.is_none() && !matches!(origin, Origin::Merge),
            "--repro-dir DIR",
        ),
    ]
    .into_iter()
    .filter_map(|(absent, flag)| absent.then_some(flag))
    .collect();
    if !missing.is_empty() {
        steps.push(format!(
            "{}  for more reports (the README's Reports section)",
            missing.join(" ")
        ));
    }
    if let Some(repro) = result
        .confirmed()
        .find(|f| !f.known)
        .and_then(|f| f.reproduction.as_ref())
    {
        let target = if matches!(origin, Origin::Demo) {
            " against `tenantfuzz demo --serve`"
        } else {
            ""
        };
        steps.push(format!(
            "bash {}  reproduce a bug{target} (the script's header names the variables it reads)",
            quote(Path::new(&repro.curl))
        ));
    }
    if new {
        if let Some(report) = &report {
            if let Origin::Run { config } = origin {
                steps.push(format!(
                    "tenantfuzz replay {report} --config {}  after a fix: still vulnerable or fixed",
                    quote(config)
                ));
            }
            if output.baseline.is_none() {
                steps.push(format!(
                    "tenantfuzz baseline {report} > tenantfuzz-baseline.json  accept these findings as known (then --baseline tenantfuzz-baseline.json)"
                ));
            }
        }
    }
    if matches!(origin, Origin::Demo) {
        steps.push(
            "tenantfuzz init --spec YOUR-OPENAPI.yaml -o tenantfuzz.toml  start a config for your own API"
                .into(),
        );
    }
    steps
}

/// A path as a shell word: quoted when it holds anything but plain characters.
fn quote(path: &Path) -> String {
    let text = path.display().to_string();
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@,".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Turns a campaign result into one report format.
type Render = dyn Fn(&CampaignResult) -> String;

/// Writes the reproduction scripts and every report asked for, prints the summary (unless
/// quiet), and says how the run ended. Every file is attempted even when one fails; the first failure is reported.
pub(crate) fn write_all(
    result: &mut CampaignResult,
    output: &OutputArgs,
    verbosity: super::Verbosity,
    origin: Origin<'_>,
) -> Result<Outcome, CliError> {
    let mut failure = None;
    if let Some(path) = &output.baseline {
        let baseline = crate::report::baseline::Baseline::load(path)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        baseline.mark(result);
    }
    if let Some(dir) = &output.repro_dir {
        for f in result
            .findings
            .iter_mut()
            .filter(|f| f.status == Status::Confirmed)
        {
            let path = dir.join(crate::report::curl::file_name(f));
            let text = crate::report::curl::script(f, &result.marker_prefix, &result.base_url);
            // Webhook events need a fresh signature, which hurl cannot compute: the bash script
            // alone reproduces them.
            let hurl_written = if crate::report::hurl::supported(f) {
                let hurl_path = dir.join(crate::report::hurl::file_name(f));
                let hurl = crate::report::hurl::file(f, &result.marker_prefix, &result.base_url);
                match write(&hurl_path, &hurl) {
                    Ok(()) => Some(hurl_path.display().to_string()),
                    Err(e) => {
                        failure = failure.or(Some(e));
                        None
                    }
                }
            } else {
                None
            };
            match write(&path, &text) {
                Ok(()) => {
                    make_executable(&path);
                    f.reproduction = Some(Reproduction {
                        curl: path.display().to_string(),
                        hurl: hurl_written,
                    });
                }
                Err(e) => failure = failure.or(Some(e)),
            }
        }
    }
    let sarif = |result: &CampaignResult| {
        let cwd = std::env::current_dir().ok();
        let uri = crate::report::sarif::spec_uri(&result.spec, cwd.as_deref());
        crate::report::sarif::render(result, &uri)
    };
    // A summary too long for a pull-request comment is shortened and points to the JSON report.
    let full_report = output.report_json.as_ref().map(|p| p.display().to_string());
    let markdown = move |result: &CampaignResult| {
        crate::report::markdown::render_linked(result, full_report.as_deref())
    };
    let formats: [(&Option<PathBuf>, &Render); 6] = [
        (&output.report_json, &crate::report::json::render),
        (&output.sarif, &sarif),
        (&output.junit, &crate::report::junit::render),
        (&output.har, &crate::report::har::render),
        (&output.markdown, &markdown),
        (&output.html, &crate::report::html::render),
    ];
    for (path, render) in formats {
        if let Some(path) = path {
            if let Err(e) = write(path, &render(result)) {
                failure = failure.or(Some(e));
            }
        }
    }
    if !verbosity.quiet {
        use std::io::IsTerminal;
        let colour = crate::report::terminal::colour_wanted(
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        );
        print!("{}", crate::report::terminal::render_with(result, colour));
        let next = next_steps(result, output, origin);
        if !next.is_empty() {
            println!("next:");
            for step in next {
                println!("  {step}");
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if result.confirmed().any(|f| !f.known) {
        Ok(Outcome::Findings)
    } else {
        Ok(Outcome::Clean)
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mut perms = meta.permissions();
        perms.set_mode(0o755);
        let _ = std::fs::set_permissions(path, perms);
    }
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) {}
