//! `tenantfuzz plan` accounts for every operation (issue #22): each is attacked, or listed as
//! not attacked with the reason and the config key that would change it, written as a user
//! writes it in `tenantfuzz.toml`; the reason names that key too. Checked on the specs the
//! project ships and tests with and, where present, on specs of the corpus (real APIs by other
//! authors); skipped with a notice where the corpus is absent.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tenantfuzz::campaign::Campaign;
use tenantfuzz::config::Settings;
use tenantfuzz::scenario::StepRole;

use crate::support::cmd::{bin, temp_dir, text};

/// The keys a reason may name, as written in `tenantfuzz.toml`.
const KEYS: &[&str] = &[
    "campaign.exclude",
    "campaign.mutate_seeded",
    "[[model.links]]",
    "[[model.ids]]",
    "policy.shared",
    "[[webhooks]]",
];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Checks that every operation of `spec` is attacked or has a reason with a key; returns the
/// number of operations not attacked.
fn accounts_for_every_operation(spec: &Path, settings: Settings) -> usize {
    let c = Campaign::planning(settings).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
    let plan = c.plan(None);
    let attacked: BTreeSet<usize> = plan
        .probes
        .iter()
        .flat_map(|p| &p.scenario.steps)
        .filter(|s| matches!(s.role, StepRole::Attack { .. }))
        .map(|s| s.op)
        .collect();
    let gaps: BTreeSet<usize> = plan.gaps.iter().map(|g| g.op).collect();
    for op in 0..c.api.operations.len() {
        let label = c.api.operations[op].label();
        assert!(
            attacked.contains(&op) != gaps.contains(&op),
            "{}: {label} is {}",
            spec.display(),
            if attacked.contains(&op) {
                "attacked and also listed as not attacked"
            } else {
                "neither attacked nor listed as not attacked"
            }
        );
    }
    for g in &plan.gaps {
        let label = c.api.operations[g.op].label();
        assert!(
            KEYS.contains(&g.key),
            "{}: {label}: key {:?} is no config key",
            spec.display(),
            g.key
        );
        assert!(
            g.reason.contains(g.key),
            "{}: {label}: the reason does not name its key {}: {}",
            spec.display(),
            g.key,
            g.reason
        );
        if g.key == "campaign.mutate_seeded" {
            assert!(g.reason.contains("mutate_seeded = false"), "{}", g.reason);
        }
    }
    plan.gaps.len()
}

#[test]
fn every_operation_of_the_shipped_specs_is_attacked_or_has_a_reason_and_a_key() {
    for spec in [
        "specs/demo.yaml",
        "tests/fixtures/inventory.yaml",
        "tests/fixtures/petstore-openapi3.yaml",
        "tests/fixtures/petstore-swagger2.yaml",
    ] {
        let spec = repo(spec);
        accounts_for_every_operation(&spec, Settings::for_planning(&spec));
    }
    // With exclusions and seeded data left alone, those keys are named.
    let spec = repo("specs/demo.yaml");
    let mut settings = Settings::for_planning(&spec);
    settings.campaign.exclude = vec!["tag:admin".into()];
    let c = Campaign::planning(settings.clone()).unwrap();
    let keys: BTreeSet<&str> = c.plan(None).gaps.iter().map(|g| g.key).collect();
    assert!(keys.contains("campaign.exclude"), "{keys:?}");
    accounts_for_every_operation(&spec, settings);
}

#[test]
fn plan_json_gives_the_reason_and_the_key_apart() {
    let dir = temp_dir("plan-reasons");
    let config = dir.join("tenantfuzz.toml");
    std::fs::write(
        &config,
        format!(
            "spec = \"{}\"\n[identities.a]\ntenant = \"x\"\n[identities.b]\ntenant = \"y\"\n[campaign]\nexclude = [\"tag:admin\"]\n",
            repo("specs/demo.yaml").display()
        ),
    )
    .unwrap();
    let o = bin()
        .args(["plan", "--json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let gaps = v["not_attacked"].as_array().unwrap();
    assert!(!gaps.is_empty());
    for g in gaps {
        let key = g["key"].as_str().unwrap();
        assert!(KEYS.contains(&key), "{g}");
        assert!(g["reason"].as_str().unwrap().contains(key), "{g}");
    }
    assert!(gaps.iter().any(|g| g["key"] == "campaign.exclude"), "{v:#}");
    let o = bin()
        .args(["plan", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("[key: campaign.exclude]"), "{out}");
}

/// The corpus: `TENANTFUZZ_CORPUS`, else `../shared/specs-corpus` beside the repository.
fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("TENANTFUZZ_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs-corpus"));
    dir.is_dir().then_some(dir)
}

#[test]
fn every_operation_of_corpus_specs_is_attacked_or_has_a_reason_and_a_key() {
    let Some(dir) = corpus() else {
        eprintln!("skipped: ../shared/specs-corpus is absent");
        return;
    };
    // The four specs #22 measures, and the corpus's small ones (planning the largest twice
    // over, here and in spec_corpus, would double the suite's time for little).
    let mut specs: Vec<PathBuf> = [
        "large/api.github.com.json",
        "stripe.com.json",
        "twilio.com__api.json",
        "kubernetes__swagger-1.13.json",
    ]
    .iter()
    .map(|n| dir.join(n))
    .filter(|p| p.is_file())
    .collect();
    let mut small: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && p.metadata().is_ok_and(|m| m.len() < 400_000)
        })
        .collect();
    small.sort();
    specs.extend(small);
    let mut checked = 0;
    for spec in &specs {
        // Specs that fail to load fail cleanly (spec_corpus checks that); they have no plan.
        if Campaign::planning(Settings::for_planning(spec)).is_err() {
            continue;
        }
        let gaps = accounts_for_every_operation(spec, Settings::for_planning(spec));
        eprintln!(
            "ok {}: {gaps} not attacked, each with a key",
            spec.display()
        );
        checked += 1;
    }
    assert!(checked > 0);
}
