//! Field trials: tenantfuzz against real third-party applications, scored against ground truth
//! made by mutation (see `examples/field/README.md`).
//!
//! ```sh
//! cargo run --release --example field -- [TARGET...] [--mutants] [--json FILE]
//! ```
//!
//! For every target (a folder under `examples/field/`) it installs what is missing
//! (`setup.sh install`), then for the original application and, with `--mutants`, for every
//! mutant: starts the application on a fresh database (`setup.sh start [PATCH]`), runs the
//! `tenantfuzz` binary with the target's config as a user would, stops the application
//! (`setup.sh stop`) and scores the JSON report against `ground-truth.json`. It prints a
//! progress line per run, a row per run and recall and false findings per set. It is a
//! measurement, not a test: it needs the package registries and minutes per run, so neither
//! `cargo test` nor `.ci/run` runs it. It asserts nothing; its exit code is 2 only when it could
//! not run at all (a missing prerequisite, an unknown target).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Parser, Debug)]
#[command(
    name = "field",
    about = "Field trials: tenantfuzz on real applications, scored by mutation"
)]
struct Args {
    /// Targets to run (folders under examples/field/); all of them when none is named.
    targets: Vec<String>,
    /// Run every mutant as well as the original.
    #[arg(long)]
    mutants: bool,
    /// Only these mutants (by id), with --mutants.
    #[arg(long = "only", value_name = "MUTANT")]
    only: Vec<String>,
    /// Only the targets of this set.
    #[arg(long, value_name = "SET", value_parser = ["development", "validation"])]
    set: Option<String>,
    /// Write every row and the totals as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// How many targets run side by side (each target's runs stay one after another; targets
    /// have ports of their own). Timings are the machine's, shared.
    #[arg(long, short = 'j', default_value_t = 1)]
    jobs: usize,
    /// tenantfuzz's --max-time for each run (seconds).
    #[arg(long, default_value_t = 300)]
    max_time: u64,
    /// Where the reports, logs and application caches go (default: $TFZ_FIELD_CACHE or
    /// ~/.cache/tenantfuzz-field).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// List the targets and their mutants, and run nothing.
    #[arg(long)]
    list: bool,
    /// Run this tenantfuzz binary instead of building the checkout's (to measure two builds,
    /// before and after a change, on the same targets).
    #[arg(long, value_name = "PATH")]
    tenantfuzz: Option<PathBuf>,
    /// Run nothing: print the table and totals of earlier `--json` files together (runs of
    /// different targets made by separate invocations; a later file's run of a target replaces
    /// an earlier file's).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    from: Vec<PathBuf>,
    /// With --from: score the rows again from their reports (found in these folders when the
    /// rows do not name them), against the ground truth as it is now.
    #[arg(long, value_name = "DIR", num_args = 1..)]
    reports: Vec<PathBuf>,
}

#[derive(Deserialize, Debug, Clone)]
struct GroundTruth {
    target: String,
    set: String,
    #[serde(default)]
    application: Value,
    #[serde(default)]
    known_bugs: Vec<Bug>,
    #[serde(default)]
    mutants: Vec<Mutant>,
    #[serde(default)]
    must_not_flag: Vec<Shared>,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
struct Bug {
    id: String,
    method: String,
    path: String,
    kinds: Vec<String>,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
struct Mutant {
    id: String,
    patch: String,
    method: String,
    path: String,
    kinds: Vec<String>,
    #[serde(default)]
    removes: String,
    /// Other violations the same patch makes (its `how_to_confirm` says which): findings of
    /// these are true, although not the planted bug.
    #[serde(default)]
    also: Vec<Shared>,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
struct Shared {
    method: String,
    path: String,
    #[serde(default)]
    kinds: Vec<String>,
}

/// One confirmed finding, as far as scoring needs it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    kind: String,
    method: String,
    path: String,
    attacker: String,
    victim: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
struct Row {
    target: String,
    set: String,
    /// `original` or the mutant's id.
    run: String,
    /// The planted bug: the mutant's, or none for the original.
    planted: Option<Bug>,
    /// Whether a confirmed finding had one of the planted bug's kinds on its operation.
    found: Option<bool>,
    /// Known bugs of the original application (counted as planted in the original's run).
    known_total: usize,
    /// Known bugs of the original found in this run (ids).
    known_found: Vec<String>,
    /// Confirmed findings that are neither the planted bug nor a known bug (or that hit
    /// must_not_flag).
    false_findings: Vec<Found>,
    confirmed: usize,
    requests: u64,
    unjudged: u64,
    operations_total: u64,
    operations_attacked: u64,
    /// Attacked operations none of whose attack requests could be judged.
    operations_unjudged: u64,
    /// Why operations were not attacked or not judged, with how many operations each.
    reasons: Vec<(String, usize)>,
    seconds: f64,
    /// tenantfuzz's exit code (None: it did not run or was killed).
    exit: Option<i32>,
    /// Why the run could not be scored, when it could not.
    error: Option<String>,
    /// The run's JSON report.
    #[serde(default)]
    report: Option<String>,
}

#[derive(Serialize, Debug, Default)]
struct Totals {
    targets: usize,
    runs: usize,
    planted: usize,
    found: usize,
    recall: f64,
    false_findings: usize,
    distinct_false_findings: usize,
    failed_runs: usize,
    exit_0_runs: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn field_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join("field")
}

fn cache_dir(args: &Args) -> PathBuf {
    if let Some(dir) = &args.cache {
        return dir.clone();
    }
    if let Some(dir) = std::env::var_os("TFZ_FIELD_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("tenantfuzz-field")
}

struct Target {
    name: String,
    dir: PathBuf,
    truth: GroundTruth,
}

fn load_targets(args: &Args) -> Result<Vec<Target>, String> {
    let root = field_dir();
    let mut names: Vec<String> = Vec::new();
    let entries =
        fs::read_dir(&root).map_err(|e| format!("cannot read {}: {e}", root.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.join("ground-truth.json").is_file() && path.join("setup.sh").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    for wanted in &args.targets {
        if !names.contains(wanted) {
            return Err(format!(
                "no target '{wanted}' under {} (targets: {})",
                root.display(),
                names.join(", ")
            ));
        }
    }
    let mut targets = Vec::new();
    for name in names {
        if !args.targets.is_empty() && !args.targets.contains(&name) {
            continue;
        }
        let dir = root.join(&name);
        let file = dir.join("ground-truth.json");
        let text = fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let truth: GroundTruth =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        if truth.target != name {
            return Err(format!(
                "{}: target is '{}', the folder '{name}'",
                file.display(),
                truth.target
            ));
        }
        if truth.set != "development" && truth.set != "validation" {
            return Err(format!(
                "{}: set must be development or validation, not '{}'",
                file.display(),
                truth.set
            ));
        }
        for m in &truth.mutants {
            if !dir.join(&m.patch).is_file() {
                return Err(format!(
                    "{}: mutant {}'s patch {} is missing",
                    file.display(),
                    m.id,
                    m.patch
                ));
            }
        }
        if args.set.as_deref().is_some_and(|s| s != truth.set) {
            continue;
        }
        targets.push(Target { name, dir, truth });
    }
    Ok(targets)
}

/// Prerequisites of the runner itself; each target's `setup.sh install` checks its own.
fn check_prerequisites() -> Result<(), String> {
    for (tool, package) in [
        ("bash", "bash"),
        ("patch", "patch"),
        ("curl", "curl"),
        ("setsid", "util-linux"),
    ] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Err(format!("'{tool}' is missing: apt-get install {package}"));
        }
    }
    Ok(())
}

/// Builds the tenantfuzz binary (release) and returns its path.
fn tenantfuzz_binary() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "--quiet", "--bin", "tenantfuzz"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !status.success() {
        return Err("cargo build --release --bin tenantfuzz failed".into());
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let bin = target_dir.join("release").join("tenantfuzz");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("built tenantfuzz but found no {}", bin.display()))
    }
}

fn run(args: Args) -> Result<(), String> {
    if !args.from.is_empty() {
        return merge(&args);
    }
    let targets = load_targets(&args)?;
    if targets.is_empty() {
        return Err("no target to run".into());
    }
    if args.list {
        for t in &targets {
            println!(
                "{} ({}): {} mutant(s)",
                t.name,
                t.truth.set,
                t.truth.mutants.len()
            );
            for m in &t.truth.mutants {
                println!(
                    "  {:<28} {:<6} {} [{}] {}",
                    m.id,
                    m.method,
                    m.path,
                    m.kinds.join(","),
                    m.removes
                );
            }
        }
        return Ok(());
    }
    check_prerequisites()?;
    let bin = match &args.tenantfuzz {
        Some(path) if path.is_file() => path.clone(),
        Some(path) => return Err(format!("no tenantfuzz binary at {}", path.display())),
        None => tenantfuzz_binary()?,
    };
    let cache = cache_dir(&args);
    fs::create_dir_all(&cache).map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
    let stamp = now().format("%Y%m%dT%H%M%SZ").to_string();
    let out_dir = cache.join("runs").join(&stamp);
    fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;

    let interrupted = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(interrupted.clone());

    let plan: Vec<(usize, Option<usize>)> = targets
        .iter()
        .enumerate()
        .flat_map(|(ti, t)| {
            let mutants = if args.mutants {
                (0..t.truth.mutants.len())
                    .filter(|&mi| {
                        args.only.is_empty() || args.only.contains(&t.truth.mutants[mi].id)
                    })
                    .map(Some)
                    .collect()
            } else {
                Vec::new()
            };
            std::iter::once((ti, None)).chain(mutants.into_iter().map(move |m| (ti, m)))
        })
        .collect();
    let total = plan.len();
    let started = Instant::now();
    println!(
        "field trials: {} target(s), {total} run(s), {} at a time, reports and logs in {}",
        targets.len(),
        args.jobs.max(1).min(targets.len()),
        out_dir.display()
    );
    let ctx = Ctx {
        bin,
        cache,
        out_dir: out_dir.clone(),
        max_time: args.max_time,
        interrupted: interrupted.clone(),
        begun: AtomicUsize::new(0),
        total,
    };
    // Targets run side by side (each on its own ports), each target's runs one after another.
    let next = AtomicUsize::new(0);
    let done: std::sync::Mutex<Vec<(usize, Row)>> = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.max(1).min(targets.len()) {
            scope.spawn(|| {
                loop {
                    let ti = next.fetch_add(1, Ordering::SeqCst);
                    if ti >= targets.len() {
                        break;
                    }
                    let runs: Vec<(usize, Option<usize>)> = plan
                        .iter()
                        .enumerate()
                        .filter(|(_, (t, _))| *t == ti)
                        .map(|(i, (_, m))| (i, *m))
                        .collect();
                    let rows = run_target(&ctx, &targets[ti], &runs);
                    done.lock().expect("no worker panicked").extend(rows);
                }
            });
        }
    });
    let mut done = done.into_inner().expect("no worker panicked");
    done.sort_by_key(|(i, _)| *i);
    let rows: Vec<Row> = done.into_iter().map(|(_, r)| r).collect();
    if interrupted.load(Ordering::SeqCst) {
        println!("interrupted: {} of {total} run(s) done", rows.len());
    }
    print_table(&rows);
    let totals = totals_by_set(&rows);
    print_totals(&totals);
    println!(
        "\n{} run(s) in {:.0} s; reports in {}",
        rows.len(),
        started.elapsed().as_secs_f64(),
        out_dir.display()
    );
    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "date": now().to_rfc3339(),
            "commit": git_commit(),
            "complete": !interrupted.load(Ordering::SeqCst),
            "targets": targets.iter().map(|t| serde_json::json!({
                "target": t.name, "set": t.truth.set, "application": t.truth.application,
                "mutants": t.truth.mutants.len(), "known_bugs": t.truth.known_bugs.len(),
            })).collect::<Vec<_>>(),
            "rows": rows,
            "totals": totals,
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// What every run of an invocation shares.
struct Ctx {
    bin: PathBuf,
    cache: PathBuf,
    out_dir: PathBuf,
    max_time: u64,
    interrupted: Arc<AtomicBool>,
    /// Runs started so far (for the progress lines' numbers).
    begun: AtomicUsize,
    total: usize,
}

/// A target's runs, one after another: installs it once, then each run (plan index, mutant).
fn run_target(ctx: &Ctx, t: &Target, runs: &[(usize, Option<usize>)]) -> Vec<(usize, Row)> {
    let mut install: Option<Result<(), String>> = None;
    let mut rows = Vec::new();
    for (i, mi) in runs {
        if ctx.interrupted.load(Ordering::SeqCst) {
            break;
        }
        let n = ctx.begun.fetch_add(1, Ordering::SeqCst);
        let mutant = mi.map(|m| &t.truth.mutants[m]);
        let installed = install.get_or_insert_with(|| {
            progress(n, ctx.total, &t.name, "install", "");
            setup(
                t,
                &["install"],
                &ctx.out_dir.join(format!("{}-install.log", t.name)),
                Duration::from_secs(3600),
            )
        });
        rows.push((*i, one_run(ctx, t, mutant, n, installed.clone())));
    }
    rows
}

/// One run: start the application (with the mutant's patch), run tenantfuzz, stop it, score.
fn one_run(
    ctx: &Ctx,
    t: &Target,
    mutant: Option<&Mutant>,
    n: usize,
    installed: Result<(), String>,
) -> Row {
    let total = ctx.total;
    let run_name = mutant.map_or("original".to_string(), |m| m.id.clone());
    let mut row = Row {
        target: t.name.clone(),
        set: t.truth.set.clone(),
        run: run_name.clone(),
        planted: mutant.map(|m| Bug {
            id: m.id.clone(),
            method: m.method.clone(),
            path: m.path.clone(),
            kinds: m.kinds.clone(),
        }),
        found: mutant.map(|_| false),
        known_total: if mutant.is_none() {
            t.truth.known_bugs.len()
        } else {
            0
        },
        known_found: Vec::new(),
        false_findings: Vec::new(),
        confirmed: 0,
        requests: 0,
        unjudged: 0,
        operations_total: 0,
        operations_attacked: 0,
        operations_unjudged: 0,
        reasons: Vec::new(),
        seconds: 0.0,
        exit: None,
        error: None,
        report: None,
    };
    if let Err(e) = installed {
        row.error = Some(format!("install failed: {e}"));
        progress(n, total, &t.name, &run_name, "install failed");
        return row;
    }
    progress(n, total, &t.name, &run_name, "starting");
    let log = ctx.out_dir.join(format!("{}-{run_name}-setup.log", t.name));
    let mut start_args = vec!["start".to_string()];
    if let Some(m) = mutant {
        start_args.push(t.dir.join(&m.patch).display().to_string());
    }
    let start_refs: Vec<&str> = start_args.iter().map(String::as_str).collect();
    if let Err(e) = setup(t, &start_refs, &log, Duration::from_secs(900)) {
        row.error = Some(format!("start failed: {e}"));
        let _ = setup(t, &["stop"], &log, Duration::from_secs(120));
        progress(n, total, &t.name, &run_name, "start failed");
        return row;
    }
    progress(n, total, &t.name, &run_name, "running tenantfuzz");
    let report = ctx.out_dir.join(format!("{}-{run_name}.json", t.name));
    row.report = Some(report.display().to_string());
    let tf_log = ctx
        .out_dir
        .join(format!("{}-{run_name}-tenantfuzz.log", t.name));
    let env = run_env(&ctx.cache, &t.name);
    let begun = Instant::now();
    let exit = run_tenantfuzz(
        &ctx.bin,
        t,
        &report,
        &tf_log,
        &env,
        ctx.max_time,
        &ctx.interrupted,
    );
    row.seconds = begun.elapsed().as_secs_f64();
    let stop_log = ctx.out_dir.join(format!("{}-{run_name}-stop.log", t.name));
    if let Err(e) = setup(t, &["stop"], &stop_log, Duration::from_secs(120)) {
        eprintln!(
            "warning: {} stop failed: {e} (see {})",
            t.name,
            stop_log.display()
        );
    }
    match exit {
        Ok(code) => row.exit = code,
        Err(e) => row.error = Some(e),
    }
    if row.error.is_none() {
        if let Err(e) = score(&mut row, &report, &t.truth, mutant) {
            row.error = Some(e);
        }
    }
    let verdict = match (&row.error, row.found) {
        (Some(e), _) => format!("error: {e}"),
        (None, Some(true)) => "found".into(),
        (None, Some(false)) => "missed".into(),
        (None, None) => format!("{} confirmed", row.confirmed),
    };
    progress(
        n,
        total,
        &t.name,
        &run_name,
        &format!(
            "{verdict}, {} false, {:.0}s",
            row.false_findings.len(),
            row.seconds
        ),
    );
    row
}

fn progress(n: usize, total: usize, target: &str, run: &str, what: &str) {
    let now = now().format("%H:%M:%S");
    if what.is_empty() {
        println!("[{now}] [{}/{total}] {target}: {run}", n + 1);
    } else {
        println!("[{now}] [{}/{total}] {target} {run}: {what}", n + 1);
    }
    let _ = io::stdout().flush();
}

/// Watches for Ctrl-C: the run in flight ends (tenantfuzz gets the same signal and writes what
/// it has), its application is stopped, and no further run starts.
fn watch_ctrl_c(flag: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "\ninterrupted: finishing the run in flight and stopping its application"
                );
                flag.store(true, Ordering::SeqCst);
            }
        });
    });
}

/// Runs `setup.sh` with its output in `log`; on failure the error carries the log's tail.
fn setup(t: &Target, args: &[&str], log: &Path, limit: Duration) -> Result<(), String> {
    let file =
        fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let mut child = Command::new("bash")
        .arg(t.dir.join("setup.sh"))
        .args(args)
        .current_dir(&t.dir)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot run setup.sh: {e}"))?;
    match wait_for(&mut child, limit, None) {
        Some(0) => Ok(()),
        code => {
            let text = fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(6).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            let how = match code {
                Some(c) => format!("setup.sh {} exited {c}", args[0]),
                None => format!(
                    "setup.sh {} did not finish in {} s",
                    args[0],
                    limit.as_secs()
                ),
            };
            Err(format!("{how} ({}): {}", log.display(), tail.join(" | ")))
        }
    }
}

/// Waits for a child, killing it past `limit` (or when `interrupted` is set, after a grace
/// period for it to write what it has). Returns its exit code, None when killed.
fn wait_for(child: &mut Child, limit: Duration, interrupted: Option<&AtomicBool>) -> Option<i32> {
    let deadline = Instant::now() + limit;
    let mut grace: Option<Instant> = None;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            Ok(None) => {}
            Err(_) => return None,
        }
        if interrupted.is_some_and(|f| f.load(Ordering::SeqCst)) && grace.is_none() {
            grace = Some(Instant::now() + Duration::from_secs(30));
        }
        if Instant::now() > deadline || grace.is_some_and(|g| Instant::now() > g) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `NAME=value` lines a target's `start` wrote for tenantfuzz.
fn run_env(cache: &Path, target: &str) -> Vec<(String, String)> {
    let file = cache.join(target).join("run.env");
    let Ok(text) = fs::read_to_string(file) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().trim_start_matches("export ").to_string(),
                v.trim().to_string(),
            )
        })
        .collect()
}

fn run_tenantfuzz(
    bin: &Path,
    t: &Target,
    report: &Path,
    log: &Path,
    env: &[(String, String)],
    max_time: u64,
    interrupted: &AtomicBool,
) -> Result<Option<i32>, String> {
    let _ = fs::remove_file(report);
    let file =
        fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let mut child = Command::new(bin)
        .arg("run")
        .arg("--config")
        .arg(t.dir.join("tenantfuzz.toml"))
        .arg("--report-json")
        .arg(report)
        .arg("--max-time")
        .arg(max_time.to_string())
        .envs(env.iter().cloned())
        .current_dir(&t.dir)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    // tenantfuzz stops starting probes at --max-time, then confirms and cleans up.
    let limit = Duration::from_secs(max_time * 2 + 120);
    Ok(wait_for(&mut child, limit, Some(interrupted)))
}

fn same_path(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn matches(kind: &str, method: &str, path: &str, kinds: &[String], m: &str, p: &str) -> bool {
    method.eq_ignore_ascii_case(m)
        && same_path(path, p)
        && (kinds.is_empty() || kinds.iter().any(|k| k == kind))
}

fn score(
    row: &mut Row,
    report: &Path,
    truth: &GroundTruth,
    mutant: Option<&Mutant>,
) -> Result<(), String> {
    let text = fs::read_to_string(report).map_err(|e| {
        format!(
            "no report ({e}); exit {:?}, see the tenantfuzz log beside it",
            row.exit
        )
    })?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("unreadable report: {e}"))?;
    let summary = &doc["summary"];
    row.requests = summary["requests"].as_u64().unwrap_or(0);
    row.unjudged = summary["unjudged"].as_u64().unwrap_or(0);
    row.operations_total = summary["operations_total"].as_u64().unwrap_or(0);
    row.operations_attacked = summary["operations_attacked"].as_u64().unwrap_or(0);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    row.operations_unjudged = 0;
    for c in doc["coverage"].as_array().into_iter().flatten() {
        let attacked = c["attacked"].as_bool().unwrap_or(false);
        let judged = c["judged"].as_u64().unwrap_or(0);
        let unjudged = c["unjudged"].as_u64().unwrap_or(0);
        // Probes were planned (attacked) or sent (unjudged requests) but none was judged.
        if judged == 0 && (attacked || unjudged > 0) {
            row.operations_unjudged += 1;
        }
        if !attacked || judged == 0 {
            let note = match c["note"].as_str() {
                Some(note) => reason_class(note),
                None if unjudged > 0 => "probes sent, none judged, no reason given".to_string(),
                None if attacked => "attacked, nothing judged, no reason given".to_string(),
                None => "not attacked, no reason given".to_string(),
            };
            *reasons.entry(note).or_default() += 1;
        }
    }
    let mut reasons: Vec<(String, usize)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    row.reasons = reasons;
    let findings: Vec<Found> = doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["status"].as_str() == Some("confirmed"))
        .map(|f| Found {
            kind: f["kind"].as_str().unwrap_or("").to_string(),
            method: f["operation"]["method"].as_str().unwrap_or("").to_string(),
            path: f["operation"]["path"].as_str().unwrap_or("").to_string(),
            attacker: f["attacker"].as_str().unwrap_or("").to_string(),
            victim: f["victim"].as_str().unwrap_or("").to_string(),
        })
        .collect();
    row.confirmed = findings.len();
    for f in &findings {
        let shared = truth
            .must_not_flag
            .iter()
            .any(|s| matches(&f.kind, &f.method, &f.path, &s.kinds, &s.method, &s.path));
        let planted = mutant
            .is_some_and(|m| matches(&f.kind, &f.method, &f.path, &m.kinds, &m.method, &m.path));
        let also = mutant.is_some_and(|m| {
            m.also
                .iter()
                .any(|a| matches(&f.kind, &f.method, &f.path, &a.kinds, &a.method, &a.path))
        });
        let known: Vec<&Bug> = truth
            .known_bugs
            .iter()
            .filter(|b| matches(&f.kind, &f.method, &f.path, &b.kinds, &b.method, &b.path))
            .collect();
        if planted && !shared {
            row.found = Some(true);
        }
        for b in &known {
            if !row.known_found.contains(&b.id) {
                row.known_found.push(b.id.clone());
            }
        }
        if shared || (!planted && !also && known.is_empty()) {
            row.false_findings.push(f.clone());
        }
    }
    row.false_findings.sort();
    row.false_findings.dedup();
    Ok(())
}

/// A coverage note without its specifics (ids, counts), so that notes of one cause group.
fn reason_class(note: &str) -> String {
    let cut = note.split([':', '(']).next().unwrap_or(note).trim();
    let mut words: Vec<&str> = cut.split_whitespace().take(20).collect();
    // Ids and counts go; a status code ("answered 403") stays: it is the cause.
    words.retain(|w| {
        let digits = w.trim_end_matches([',', '.', ';']);
        !w.chars().any(|c| c.is_ascii_digit())
            || (digits.len() == 3 && digits.chars().all(|c| c.is_ascii_digit()))
    });
    words.join(" ")
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<11} {:<4} {:<26} {:<44} {:<6} {:>5} {:>8} {:>6} {:>7} {:>4}",
        "target", "set", "run", "planted bug", "found", "false", "unjudged", "reqs", "time", "exit"
    );
    for r in rows {
        let planted = r.planted.as_ref().map_or("-".to_string(), |b| {
            format!("{} {} {}", b.kinds.join("|"), b.method, b.path)
        });
        let found = match (r.found, &r.error) {
            (_, Some(_)) => "ERROR".to_string(),
            (Some(true), _) => "yes".into(),
            (Some(false), _) => "no".into(),
            (None, _) => "-".into(),
        };
        println!(
            "{:<11} {:<4} {:<26} {:<44} {:<6} {:>5} {:>8} {:>6} {:>6.0}s {:>4}",
            truncate(&r.target, 11),
            if r.set == "validation" { "val" } else { "dev" },
            truncate(&r.run, 26),
            truncate(&planted, 44),
            found,
            r.false_findings.len(),
            format!("{}/{}", r.operations_unjudged, r.unjudged),
            r.requests,
            r.seconds,
            r.exit.map_or("-".to_string(), |c| c.to_string()),
        );
        if let Some(e) = &r.error {
            println!("    error: {}", truncate(e, 300));
        }
        let mut grouped: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
        for f in &r.false_findings {
            grouped
                .entry((f.kind.clone(), f.method.clone(), f.path.clone()))
                .or_default()
                .push(format!("{} on {}", f.attacker, f.victim));
        }
        for ((kind, method, path), pairs) in &grouped {
            println!("    false: {kind} {method} {path} ({})", pairs.join(", "));
        }
        if !r.known_found.is_empty() {
            println!("    known bugs found: {}", r.known_found.join(", "));
        }
        if r.error.is_none() && r.operations_total > 0 {
            let top: Vec<String> = r
                .reasons
                .iter()
                .take(3)
                .map(|(k, n)| format!("{n} x {k}"))
                .collect();
            println!(
                "    operations {} attacked of {}; not attacked or not judged: {}",
                r.operations_attacked,
                r.operations_total,
                if top.is_empty() {
                    "none".to_string()
                } else {
                    top.join("; ")
                }
            );
        }
    }
    println!("(unjudged: attacked operations with no judged probe / unjudged attack requests)");
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let cut: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn totals_by_set(rows: &[Row]) -> BTreeMap<String, Totals> {
    let mut out: BTreeMap<String, Totals> = BTreeMap::new();
    let mut targets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut distinct: BTreeMap<String, Vec<(String, Found)>> = BTreeMap::new();
    for r in rows {
        for set in [r.set.clone(), "all".to_string()] {
            let t = out.entry(set.clone()).or_default();
            t.runs += 1;
            if r.error.is_some() {
                t.failed_runs += 1;
            }
            if r.exit == Some(0) {
                t.exit_0_runs += 1;
            }
            if r.planted.is_some() {
                t.planted += 1;
                if r.found == Some(true) && r.error.is_none() {
                    t.found += 1;
                }
            }
            t.planted += r.known_total;
            if r.error.is_none() {
                t.found += r.known_found.len().min(r.known_total);
            }
            t.false_findings += r.false_findings.len();
            let seen = targets.entry(set.clone()).or_default();
            if !seen.contains(&r.target) {
                seen.push(r.target.clone());
            }
            let d = distinct.entry(set).or_default();
            for f in &r.false_findings {
                let key = (r.target.clone(), f.clone());
                if !d.contains(&key) {
                    d.push(key);
                }
            }
        }
    }
    for (set, t) in out.iter_mut() {
        t.targets = targets.get(set).map_or(0, Vec::len);
        t.distinct_false_findings = distinct.get(set).map_or(0, Vec::len);
        t.recall = if t.planted == 0 {
            0.0
        } else {
            t.found as f64 / t.planted as f64
        };
    }
    out
}

fn print_totals(totals: &BTreeMap<String, Totals>) {
    println!();
    println!(
        "{:<12} {:>7} {:>5} {:>8} {:>6} {:>7} {:>15} {:>14} {:>7} {:>7}",
        "set",
        "targets",
        "runs",
        "planted",
        "found",
        "recall",
        "false findings",
        "distinct false",
        "failed",
        "exit 0"
    );
    for name in ["development", "validation", "all"] {
        if let Some(t) = totals.get(name) {
            println!(
                "{:<12} {:>7} {:>5} {:>8} {:>6} {:>6.0}% {:>15} {:>14} {:>7} {:>7}",
                name,
                t.targets,
                t.runs,
                t.planted,
                t.found,
                t.recall * 100.0,
                t.false_findings,
                t.distinct_false_findings,
                t.failed_runs,
                t.exit_0_runs
            );
        }
    }
}

fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn now() -> chrono::DateTime<chrono::Utc> {
    std::time::SystemTime::now().into()
}

/// Prints (and with `--json` writes) the rows of earlier `--json` files as one table.
fn merge(args: &Args) -> Result<(), String> {
    let mut rows: Vec<Row> = Vec::new();
    let mut sources = Vec::new();
    for path in &args.from {
        let text =
            fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let part: Vec<Row> = serde_json::from_value(doc["rows"].clone())
            .map_err(|e| format!("{}: no rows: {e}", path.display()))?;
        sources.push(serde_json::json!({
            "file": path.display().to_string(), "date": doc["date"], "commit": doc["commit"],
            "complete": doc["complete"], "targets": doc["targets"],
        }));
        // A later file's run of a target replaces an earlier one's (a target measured again).
        rows.retain(|r| !part.iter().any(|p| p.target == r.target && p.run == r.run));
        rows.extend(part);
    }
    if !args.reports.is_empty() {
        let targets = load_targets(&Args {
            targets: Vec::new(),
            set: None,
            ..Args::parse_from(["field"])
        })?;
        for row in rows.iter_mut() {
            let Some(t) = targets.iter().find(|t| t.name == row.target) else {
                continue;
            };
            let file = format!("{}-{}.json", row.target, row.run);
            let found = row
                .report
                .clone()
                .map(PathBuf::from)
                .filter(|p| p.is_file())
                .or_else(|| {
                    args.reports
                        .iter()
                        .map(|d| d.join(&file))
                        .find(|p| p.is_file())
                });
            let Some(report) = found else { continue };
            let mutant = t.truth.mutants.iter().find(|m| m.id == row.run);
            row.found = mutant.map(|_| false);
            row.known_found.clear();
            row.false_findings.clear();
            row.report = Some(report.display().to_string());
            if row.error.is_none() {
                if let Err(e) = score(row, &report, &t.truth, mutant) {
                    row.error = Some(e);
                }
            }
        }
    }
    rows.sort_by(|a, b| {
        (a.set != "development", &a.target).cmp(&(b.set != "development", &b.target))
    });
    print_table(&rows);
    let totals = totals_by_set(&rows);
    print_totals(&totals);
    if let Some(path) = &args.json {
        let doc = serde_json::json!({ "merged_from": sources, "rows": rows, "totals": totals });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
