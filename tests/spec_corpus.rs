//! Loader robustness on real-world specs: every document in `../shared/specs-corpus/` loads and
//! plans, or fails with a clean error; none panics. Skipped, with a notice, where the corpus is
//! absent (a user's machine).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tenantfuzz::campaign::Campaign;
use tenantfuzz::config::Settings;

/// The corpus: `TENANTFUZZ_CORPUS`, else `../shared/specs-corpus` beside the repository.
fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("TENANTFUZZ_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs-corpus"));
    dir.is_dir().then_some(dir)
}

fn specs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(specs(&path));
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn every_corpus_spec_loads_and_plans_or_fails_cleanly() {
    let Some(dir) = corpus() else {
        eprintln!("skipped: ../shared/specs-corpus is absent");
        return;
    };
    let mut loaded = 0;
    let mut failed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut panicked = Vec::new();
    for spec in specs(&dir) {
        let name = spec.strip_prefix(&dir).unwrap().display().to_string();
        if std::env::var("CORPUS_ONLY").is_ok_and(|only| !name.contains(&only)) {
            continue;
        }
        eprintln!("start {name}");
        let started = std::time::Instant::now();
        let outcome = std::panic::catch_unwind(|| {
            Campaign::planning(Settings::for_planning(&spec)).map(|c| {
                let plan = c.plan(None);
                (
                    c.api.operations.len(),
                    c.model.resources.len(),
                    plan.probes.len(),
                )
            })
        });
        match outcome {
            Ok(Ok((ops, resources, probes))) => {
                loaded += 1;
                eprintln!(
                    "ok   {name}: {ops} operations, {resources} resources, {probes} scenarios in {:?}",
                    started.elapsed()
                );
            }
            Ok(Err(e)) => {
                let message = e.to_string();
                // Group by the kind of failure (the text after the file name, without details).
                let group = message
                    .split(": ")
                    .nth(1)
                    .unwrap_or(&message)
                    .chars()
                    .take(60)
                    .collect::<String>();
                eprintln!("fail {name}: {message}");
                assert!(
                    message.contains(&spec.display().to_string()),
                    "the error does not name the file: {message}"
                );
                failed.entry(group).or_default().push(name);
            }
            Err(_) => panicked.push(name),
        }
    }
    eprintln!(
        "\n{loaded} loaded and planned, {} failed cleanly:",
        failed.values().map(Vec::len).sum::<usize>()
    );
    for (group, names) in &failed {
        eprintln!("  {group}: {}", names.join(", "));
    }
    assert!(panicked.is_empty(), "panicked on {panicked:?}");
    assert!(loaded > 0);
}

/// The model figures of #22's Measure, printed for the specs it names (GitHub, Stripe, Twilio,
/// Kubernetes): resources with a producer, operations attacked, and verbs taken for resources
/// (distinct resource and method pairs among the consumers). Run with `--nocapture`.
#[test]
fn model_figures_of_the_named_corpus_specs() {
    let Some(dir) = corpus() else {
        eprintln!("skipped: ../shared/specs-corpus is absent");
        return;
    };
    for name in [
        "large/api.github.com.json",
        "stripe.com.json",
        "twilio.com__api.json",
        "kubernetes__swagger-1.13.json",
    ] {
        let spec = dir.join(name);
        if !spec.is_file() {
            eprintln!("skipped: {name} is absent");
            continue;
        }
        let c = Campaign::planning(Settings::for_planning(&spec)).unwrap();
        let plan = c.plan(None);
        let produced: std::collections::BTreeSet<usize> =
            c.model.producers.iter().map(|p| p.resource).collect();
        let attacked: std::collections::BTreeSet<usize> = plan
            .probes
            .iter()
            .flat_map(|p| &p.scenario.steps)
            .filter(|s| matches!(s.role, tenantfuzz::scenario::StepRole::Attack { .. }))
            .map(|s| s.op)
            .collect();
        let verbs: std::collections::BTreeSet<(usize, String)> = c
            .model
            .consumers
            .iter()
            .map(|x| (x.resource, format!("{:?}", c.api.operations[x.op].method)))
            .collect();
        eprintln!(
            "model {name}: {} operations, {} resources, {} with a producer, {} operations attacked, {} verbs taken for resources",
            c.api.operations.len(),
            c.model.resources.len(),
            produced.len(),
            attacked.len(),
            verbs.len()
        );
        assert!(!c.model.resources.is_empty(), "{name}: no resources");
    }
}
