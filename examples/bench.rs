//! The performance benchmark: `cargo run --release --example bench`. It measures and prints;
//! it asserts nothing. All figures come from one run on one machine.
//!
//! 1. throughput of a campaign against the in-process demo, next to a plain reqwest loop of
//!    the same kind of requests at the same concurrency (the demo's capacity);
//! 2. CPU per request of the process in both (the demo runs in the same process, so the
//!    difference is the fuzzer's own cost);
//! 3. time and requests to the demo's full ground truth, and requests per finding spent on
//!    confirmation and shrinking;
//! 4. peak memory of a demo campaign;
//! 5. load + model + plan time of the largest corpus specs (skipped when the corpus is absent);
//! 6. plan time at 1x, 2x, 4x a synthetic spec, and campaign scaling with concurrency.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tenantfuzz::campaign::{Campaign, CampaignResult};
use tenantfuzz::cli::demo_campaign;
use tenantfuzz::config::{CampaignSettings, Settings};
use tenantfuzz::demo::{ACCOUNTS, DemoConfig, DemoServer, Mode, SPEC_YAML};

/// User + system CPU seconds of this process so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
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
    (ticks(11) + ticks(12)) / 100.0
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
    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
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
    let result = c.run().await.expect("campaign runs");
    let elapsed = started.elapsed();
    let cpu = cpu_seconds() - cpu;
    server.shutdown().await.expect("demo stops");
    (result, elapsed, cpu)
}

/// A plain loop of GETs of one's own document at `concurrency`: the demo's capacity.
async fn plain_loop(concurrency: usize, requests: usize) -> (f64, f64) {
    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
        .await
        .expect("demo starts");
    let base = server.base_url();
    let client = tenantfuzz::exec::http_client().expect("client");
    let a = &ACCOUNTS[0];
    let login: serde_json::Value = client
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"email": a.email, "password": a.password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let auth = format!("Bearer {}", login["token"].as_str().unwrap_or_default());
    let cpu = cpu_seconds();
    let started = Instant::now();
    let done: usize = futures_util::stream::iter(0..requests)
        .map(|_| {
            let (client, base, auth) = (&client, &base, &auth);
            async move {
                let r = client
                    .get(format!("{base}/documents/1"))
                    .header("Authorization", auth)
                    .send()
                    .await;
                match r {
                    Ok(r) => usize::from(r.bytes().await.is_ok()),
                    Err(_) => 0,
                }
            }
        })
        .buffer_unordered(concurrency)
        .fold(0, |acc, n| async move { acc + n })
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    server.shutdown().await.expect("demo stops");
    (done as f64 / elapsed, cpu / done.max(1) as f64)
}

/// Load + model + plan time of a spec, and how many scenarios the plan has.
fn plan_time(spec: &Path) -> Option<(Duration, usize, usize)> {
    let started = Instant::now();
    let c = Campaign::new(Settings::for_planning(spec)).ok()?;
    let plan = c.plan(None);
    Some((started.elapsed(), c.api.operations.len(), plan.probes.len()))
}

/// The demo spec with its paths copied `n` times under `/vK` prefixes.
fn synthetic(n: usize) -> std::path::PathBuf {
    let mut doc: serde_json::Value = yaml_serde::from_str(SPEC_YAML).expect("demo spec parses");
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let mut all = serde_json::Map::new();
    for k in 0..n {
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

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
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
    println!(
        "requests per finding on confirmation+shrinking: median {}, max {}",
        median(spent.clone()),
        spent.iter().max().copied().unwrap_or(0)
    );
    println!("peak RSS after the campaign: {:.1} MB\n", peak_rss_mb());

    // 1, 2 and 6: throughput and CPU per request against the plain loop.
    println!(
        "{:>11} | {:>12} | {:>12} | {:>6} | {:>14} | {:>14}",
        "concurrency", "plain req/s", "campaign r/s", "ratio", "plain CPU/req", "campaign CPU/req"
    );
    for concurrency in [1, 4, 16, 64] {
        let (plain_rps, plain_cpu) = plain_loop(concurrency, 5_000).await;
        let (r, t, cpu) = campaign(concurrency).await;
        let rps = r.stats.requests as f64 / t.as_secs_f64();
        println!(
            "{:>11} | {:>12.0} | {:>12.0} | {:>6.2} | {:>11.1} us | {:>13.1} us",
            concurrency,
            plain_rps,
            rps,
            rps / plain_rps,
            plain_cpu * 1e6,
            cpu / r.stats.requests.max(1) as f64 * 1e6
        );
    }
    let _ = cpu;

    // 5: the largest specs of the corpus.
    println!();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs-corpus");
    if corpus.is_dir() {
        for name in ["large/api.github.com.json", "autotask.net.json"] {
            match plan_time(&corpus.join(name)) {
                Some((t, ops, scenarios)) => println!(
                    "load+model+plan {name}: {ops} operations, {scenarios} scenarios in {:.3} s (peak RSS so far {:.0} MB)",
                    t.as_secs_f64(),
                    peak_rss_mb()
                ),
                None => println!("load+model+plan {name}: failed to load"),
            }
        }
    } else {
        println!("spec scale: skipped, ../shared/specs-corpus is absent");
    }

    // Linearity: plan time at 1x, 2x, 4x a synthetic spec.
    for n in [1, 2, 4, 8] {
        let path = synthetic(n);
        if let Some((t, ops, scenarios)) = plan_time(&path) {
            println!(
                "synthetic {n}x: {ops} operations, {scenarios} scenarios planned in {:.3} s",
                t.as_secs_f64()
            );
        }
    }
}
