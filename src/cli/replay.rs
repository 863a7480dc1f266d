//! `tenantfuzz replay FINDING_OR_REPORT.json --config FILE`: re-runs each confirmed finding's
//! minimized steps, with fresh resources and fresh markers, against the configured target, and
//! says per finding "still vulnerable" or "fixed". What a developer runs after a fix.
//!
//! Each finding is replayed by its bash + curl reproduction script (`report::curl`), so the
//! steps, the captured ids and the evidence check are exactly those `--repro-dir` writes; this
//! command adds what the script leaves to the environment: the target's URL, every identity's
//! live credentials (logging in first where the config has a login flow) and the webhook
//! signing secret. It needs `bash` and `curl` on the PATH.
//!
//! A script that cannot decide (exit 2: a session rejected, a set-up step failed) is counted
//! apart, with the script's reason: exit 1 when any finding is still vulnerable, else 4
//! (incomplete) when any could not be decided, else 0.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;

use super::{CliError, Outcome};
use crate::campaign::Campaign;
use crate::config::Settings;
use crate::finding::{Finding, Status};
use crate::report::json::Report;

/// Arguments of `tenantfuzz replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A JSON report (`--report-json`; its confirmed findings are replayed) or one finding of it.
    #[arg(value_name = "FINDING_OR_REPORT")]
    pub input: PathBuf,
    /// The config that names the target and its identities.
    #[arg(long, short, value_name = "FILE", default_value = "tenantfuzz.toml")]
    pub config: PathBuf,
    /// The target's base URL (overrides `base_url`).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

/// The findings to replay and the base URL they were recorded against.
fn load(path: &Path) -> Result<(Vec<Finding>, Option<String>), CliError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("failed to read '{name}': {e}")))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("'{name}' is not JSON: {e}")))?;
    if value.get("findings").is_some() {
        let report: Report = serde_json::from_value(value).map_err(|e| {
            CliError::Usage(format!("'{name}' is not a tenantfuzz JSON report: {e}"))
        })?;
        let findings = report
            .findings
            .into_iter()
            .filter(|f| f.status == Status::Confirmed)
            .collect();
        Ok((findings, Some(report.target.base_url)))
    } else {
        let finding: Finding = serde_json::from_value(value).map_err(|e| {
            CliError::Usage(format!(
                "'{name}' is neither a tenantfuzz JSON report nor one of its findings: {e}"
            ))
        })?;
        Ok((vec![finding], None))
    }
}

/// The run's marker prefix (`tfz` + run tag), read off the finding's own markers, so that the
/// script renews them.
fn marker_prefix(f: &Finding) -> String {
    f.evidence_markers
        .iter()
        .find(|m| m.len() == crate::marker::MARKER_LEN && m.starts_with("tfz"))
        .map(|m| m[..8].to_string())
        .unwrap_or_default()
}

/// The base URL a lone finding was recorded against: the configured one when its steps start
/// with it, else the origin of its first step.
fn recorded_base(f: &Finding, configured: &str) -> String {
    let first = f
        .steps
        .first()
        .map(|s| s.exchange.url.as_str())
        .unwrap_or("");
    if first.starts_with(configured.trim_end_matches('/')) {
        return configured.to_string();
    }
    url::Url::parse(first)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| configured.to_string())
}

/// What replaying one finding showed.
enum Verdict {
    StillVulnerable,
    Fixed,
    /// The script could not decide (exit 2: a variable unset, a session rejected, a set-up step
    /// failed), or did not finish: its reason.
    CannotDecide(String),
}

/// Why a script that exited with `code` (2, or anything but 0 and 1) could not decide: its own
/// `cannot decide: ...` line, else its last words.
fn reason(code: Option<i32>, stdout: &str, stderr: &str) -> String {
    if let Some(why) = stderr
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("cannot decide: "))
    {
        return why.to_string();
    }
    let last = stderr
        .lines()
        .chain(stdout.lines())
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .trim();
    match code {
        Some(code) => format!("the script exited {code}: {last}"),
        None => format!("the script was stopped by a signal: {last}"),
    }
}

pub(crate) fn run(args: ReplayArgs, verbosity: super::Verbosity) -> Result<Outcome, CliError> {
    let (findings, recorded) = load(&args.input)?;
    let mut settings = Settings::load(&args.config).map_err(|e| CliError::Usage(e.to_string()))?;
    if let Some(url) = args.base_url {
        settings.base_url = url;
    }
    // Cookies a login flow keeps (`keep_cookies`) are sent as one `Cookie` header, like cookies
    // applied by name: `open_sessions` returns it with the other credential headers.
    for tool in ["bash", "curl"] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Err(CliError::Usage(format!(
                "replay runs each finding's reproduction script and needs {tool} on the PATH"
            )));
        }
    }
    let base_url = settings.base_url.clone();
    let secret = settings
        .webhooks
        .first()
        .map(|w| w.secret.expose().to_string());
    let campaign = Campaign::new(settings).map_err(super::campaign_error)?;
    let credentials = super::runtime()?
        .block_on(campaign.open_sessions())
        .map_err(super::campaign_error)?;
    let mut env: Vec<(String, String)> = vec![("BASE_URL".into(), base_url.clone())];
    for crate::exec::LiveCredentials {
        identity,
        headers,
        query,
    } in credentials
    {
        for (header, value) in headers {
            env.push((
                crate::report::curl::credential_var(&identity, &header),
                value,
            ));
        }
        for (parameter, value) in query {
            let var = crate::report::curl::credential_var(&identity, &format!("query_{parameter}"));
            // The script puts it into the URL as it is: URL-encoded, as the README says.
            env.push((
                var,
                url::form_urlencoded::byte_serialize(value.as_bytes()).collect(),
            ));
        }
    }
    if let Some(secret) = secret {
        env.push(("TFZ_WEBHOOK_SECRET".into(), secret));
    }
    let dir = std::env::temp_dir().join(format!("tenantfuzz-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::Usage(format!("failed to create '{}': {e}", dir.display())))?;
    let mut still = 0;
    let mut undecided = 0;
    for f in &findings {
        let recorded = recorded
            .clone()
            .unwrap_or_else(|| recorded_base(f, &base_url));
        let script = crate::report::curl::script(f, &marker_prefix(f), &recorded);
        let path = dir.join(crate::report::curl::file_name(f));
        std::fs::write(&path, script)
            .map_err(|e| CliError::Usage(format!("failed to write '{}': {e}", path.display())))?;
        let output = Command::new("bash")
            .arg(&path)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .map_err(|e| CliError::Target(format!("failed to run bash: {e}")))?;
        let verdict = match output.status.code() {
            Some(1) => Verdict::StillVulnerable,
            Some(0) => Verdict::Fixed,
            code => Verdict::CannotDecide(reason(
                code,
                &String::from_utf8_lossy(&output.stdout),
                &String::from_utf8_lossy(&output.stderr),
            )),
        };
        let what = format!(
            "{} {} {} ({} -> {})",
            f.kind.as_str(),
            f.operation.method,
            f.operation.path,
            f.attacker,
            f.victim
        );
        match verdict {
            Verdict::StillVulnerable => {
                still += 1;
                println!("still vulnerable: {what}");
            }
            Verdict::Fixed => println!("fixed: {what}"),
            Verdict::CannotDecide(why) => {
                undecided += 1;
                println!("cannot decide: {what}: {why}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if !verbosity.quiet {
        eprintln!(
            "tenantfuzz replay: {} finding(s): {still} still vulnerable, {} fixed, {undecided} cannot decide",
            findings.len(),
            findings.len() - still - undecided
        );
    }
    // A finding still present fails the replay whatever else happened; one that could not be
    // decided makes it incomplete (exit 4), which is not a pass.
    if still > 0 {
        Ok(Outcome::Findings)
    } else if undecided > 0 {
        Ok(Outcome::Incomplete)
    } else {
        Ok(Outcome::Clean)
    }
}
