//! The demo campaign with every output flag, each file checked: the JSON report's documented
//! shape, SARIF against the official schema and at the right spec lines, JUnit parses with a
//! failure per confirmed finding, HAR lists every request with credentials redacted, Markdown
//! counts, and every `.hurl` reproduction reproduces its finding on a fresh vulnerable demo and
//! fails on a fresh secure one (run with hurl where it is installed, else with the test's own
//! interpreter of the subset tenantfuzz writes). Then baselines: fingerprints are the same under
//! another seed, a baseline of a run makes the next run pass, and a finding missing from the
//! baseline still fails it.
#![allow(clippy::unwrap_used)]

use crate::support::cmd;
use crate::support::hurl_runner;
use crate::support::sarif;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tenantfuzz::demo::{ACCOUNTS, DemoConfig, DemoServer, Mode};

use cmd::{bin, temp_dir, text};

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs the demo campaign from the repository root (so the spec path is the repository's).
fn demo(args: &[&str]) -> Output {
    bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("demo")
        .args(args)
        .output()
        .unwrap()
}

async fn variables(base: &str) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for a in ACCOUNTS {
        vars.insert(
            tenantfuzz::report::hurl::credential_var(a.handle, "authorization"),
            format!("Bearer {}", cmd::token(base, a.handle).await),
        );
    }
    vars.insert("base_url".into(), base.to_string());
    vars.insert(
        "run".into(),
        format!("{:x}", std::process::id() as u64 * 7919 % 0xfffff),
    );
    vars
}

/// Runs a `.hurl` file against a server: `Ok` when it passed (the bug reproduced). A webhook
/// file (its header recipe signs the events beforehand) runs only with the real hurl, through
/// its recipe: `None` otherwise.
async fn run_hurl(
    file: &Path,
    vars: &HashMap<String, String>,
    base: &str,
) -> Option<Result<(), String>> {
    let real = Command::new("hurl").arg("--version").output().is_ok();
    let text = std::fs::read_to_string(file).unwrap();
    if text.contains("# --- recipe") {
        if !real {
            return None;
        }
        let mut tokens = Vec::new();
        for a in ACCOUNTS {
            tokens.push((a.handle.to_string(), cmd::token(base, a.handle).await));
        }
        let (code, out) = crate::repro_scripts::real_hurl(file, base, &tokens);
        return Some(match code {
            0 => Ok(()),
            4 => Err(format!("assert failed (hurl): {out}")),
            _ => Err(format!("hurl could not run it: {out}")),
        });
    }
    Some(run_plain(file, vars, real).await)
}

async fn run_plain(file: &Path, vars: &HashMap<String, String>, real: bool) -> Result<(), String> {
    if real {
        let mut cmd = Command::new("hurl");
        cmd.arg("--test");
        for (k, v) in vars {
            cmd.arg("--variable").arg(format!("{k}={v}"));
        }
        let out = cmd.arg(file).output().unwrap();
        // hurl exits 4 when an assert fails, 3 on a runtime error (a capture that matched
        // nothing, a request that failed).
        return match out.status.code() {
            Some(0) => Ok(()),
            Some(4) => Err(format!("assert failed (hurl): {}", text(&out))),
            _ => Err(format!("hurl could not run it: {}", text(&out))),
        };
    }
    hurl_runner::run(&std::fs::read_to_string(file).unwrap(), vars).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_output_flag_on_the_demo() {
    let dir = temp_dir("reports");
    let path = |name: &str| dir.join(name).display().to_string();
    let o = demo(&[
        "--seed",
        "1",
        "--report-json",
        &path("report.json"),
        "--sarif",
        &path("report.sarif"),
        "--junit",
        &path("junit.xml"),
        "--markdown",
        &path("summary.md"),
        "--har",
        &path("run.har"),
        "--repro-dir",
        &path("repro"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    // JSON report: the documented shape.
    let report = json(&dir.join("report.json"));
    assert_eq!(report["format_version"], 1);
    let findings = report["findings"].as_array().unwrap();
    let confirmed = report["summary"]["confirmed"].as_u64().unwrap() as usize;
    assert!(confirmed >= 7);
    assert_eq!(findings.len(), confirmed);
    for f in findings {
        for key in [
            "id", "kind", "vector", "status", "attacker", "victim", "evidence",
        ] {
            assert!(f[key].is_string(), "{key} in {f}");
        }
        assert!(f["operation"]["line"].as_u64().unwrap() > 0);
        for kind in ["curl", "hurl"] {
            let file = f["reproduction"][kind].as_str().unwrap();
            assert!(Path::new(file).exists(), "{file}");
        }
    }
    let coverage = report["coverage"].as_array().unwrap();
    assert!(
        coverage
            .iter()
            .filter(|c| c["attacked"] == true)
            .all(|c| !c["checks"].as_array().unwrap().is_empty())
    );

    // Bugs: one per (kind, operation, vector), each finding carrying its bug's id.
    let bugs = bug_groups(findings);
    assert_eq!(
        report["summary"]["bugs"].as_u64().unwrap() as usize,
        bugs.len()
    );

    // SARIF: valid, one result per bug, located at the operation's line in the spec.
    let sarif = json(&dir.join("report.sarif"));
    let validator = sarif::validator();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), bugs.len());
    let spec =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/demo.yaml"))
            .unwrap();
    let lines: Vec<&str> = spec.lines().collect();
    let mut order: Vec<String> = Vec::new();
    for f in findings {
        let bug = f["bug"].as_str().unwrap().to_string();
        if !order.contains(&bug) {
            order.push(bug);
        }
    }
    for (r, bug) in results.iter().zip(&order) {
        let f = bugs[bug][0];
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "specs/demo.yaml");
        let line = loc["region"]["startLine"].as_u64().unwrap() as usize;
        let method = f["operation"]["method"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(
            lines[line - 1]
                .trim_start()
                .starts_with(&format!("{method}:")),
            "line {line} is not {method}: {}",
            lines[line - 1]
        );
        let path = f["operation"]["path"].as_str().unwrap();
        let path_line = lines[..line]
            .iter()
            .rev()
            .find(|l| l.trim_start().starts_with('/'))
            .unwrap();
        assert!(
            path_line.contains(&format!("{path}:")),
            "{path_line} vs {path}"
        );
        assert_eq!(r["partialFingerprints"]["tenantfuzzBugId/v1"], f["bug"]);
        assert_eq!(r["ruleId"], f["kind"]);
        let pairs = r["properties"]["pairs"].as_array().unwrap();
        assert_eq!(pairs.len(), bugs[bug].len());
    }

    // JUnit: parses, a failure per confirmed bug, every case timed.
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(junit.failures, bugs.len());
    assert!(junit.tests > bugs.len());
    assert!(
        junit
            .test_suites
            .iter()
            .flat_map(|s| &s.test_cases)
            .all(|c| c.time.is_some())
    );

    // HAR: every request, credentials redacted.
    let har = json(&dir.join("run.har"));
    assert_eq!(har["log"]["version"], "1.2");
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(
        entries.len() as u64,
        report["summary"]["requests"].as_u64().unwrap()
    );
    let mut authorized = 0;
    for e in entries {
        for h in e["request"]["headers"].as_array().unwrap() {
            if h["name"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case("authorization")
            {
                assert_eq!(h["value"], "***");
                authorized += 1;
            }
        }
    }
    assert!(authorized > 100);

    // Markdown: the counts and a collapsible block per bug.
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        md.contains(&format!(
            "## tenantfuzz: {} confirmed bugs ({confirmed} pairs of attacker and victim)",
            bugs.len()
        )),
        "{md}"
    );
    assert_eq!(md.matches("<details>").count(), bugs.len());
    assert!(!md.contains("Shortened"));

    // Every .hurl file reproduces on a fresh vulnerable demo and fails on a fresh secure one.
    // (Webhook findings' files need the real hurl: their recipe signs the events.)
    let hurls: Vec<PathBuf> = findings
        .iter()
        .map(|f| PathBuf::from(f["reproduction"]["hurl"].as_str().unwrap()))
        .collect();
    assert!(hurls.len() > 30, "{}", hurls.len());
    for (mode, expect_pass) in [(Mode::Vulnerable, true), (Mode::Secure, false)] {
        let server = DemoServer::start(DemoConfig::new(mode)).await.unwrap();
        let vars = variables(&server.base_url()).await;
        for file in &hurls {
            let Some(outcome) = run_hurl(file, &vars, &server.base_url()).await else {
                eprintln!("{}: needs the real hurl, not installed", file.display());
                continue;
            };
            if expect_pass {
                assert!(
                    outcome.is_ok(),
                    "{} on vulnerable: {outcome:?}",
                    file.display()
                );
            } else {
                let err = outcome.expect_err("passed on the secure demo");
                assert!(err.contains("assert failed"), "{}: {err}", file.display());
            }
        }
        server.shutdown().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The findings of a JSON report grouped by (kind, method, path, vector), checked against each
/// finding's `bug`: one id per group, a different one per group. Keyed by bug id.
fn bug_groups(findings: &[Value]) -> std::collections::BTreeMap<String, Vec<&Value>> {
    let mut by_key: std::collections::BTreeMap<(String, String, String, String), Vec<&Value>> =
        Default::default();
    for f in findings {
        let key = (
            f["kind"].as_str().unwrap().to_string(),
            f["operation"]["method"].as_str().unwrap().to_string(),
            f["operation"]["path"].as_str().unwrap().to_string(),
            f["vector"].as_str().unwrap().to_string(),
        );
        by_key.entry(key).or_default().push(f);
    }
    let mut by_bug: std::collections::BTreeMap<String, Vec<&Value>> = Default::default();
    for group in by_key.into_values() {
        let bug = group[0]["bug"].as_str().unwrap().to_string();
        assert!(bug.starts_with("tfzb-"), "{bug}");
        assert!(
            group.iter().all(|f| f["bug"] == group[0]["bug"]),
            "{group:?}"
        );
        assert!(
            by_bug.insert(bug.clone(), group).is_none(),
            "two (kind, operation, vector) share bug {bug}"
        );
    }
    by_bug
}

/// The demo at seed 7: 42 findings (one per attacker/victim pair) of fewer bugs, each
/// (kind, operation, vector) one bug; every pair's reproduction is written, and the terminal,
/// Markdown, JUnit and SARIF show one entry per bug.
#[test]
fn the_demo_at_seed_7_groups_its_findings_into_bugs() {
    let dir = temp_dir("bugs7");
    let path = |name: &str| dir.join(name).display().to_string();
    let o = demo(&[
        "--seed",
        "7",
        "--report-json",
        &path("report.json"),
        "--repro-dir",
        &path("repro"),
        "--markdown",
        &path("summary.md"),
        "--sarif",
        &path("report.sarif"),
        "--junit",
        &path("junit.xml"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let report = json(&dir.join("report.json"));
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 42);
    assert!(findings.iter().all(|f| f["status"] == "confirmed"));
    let bugs = bug_groups(findings);
    assert!(
        bugs.len() < findings.len() && bugs.values().any(|g| g.len() > 1),
        "nothing was grouped: {} bugs",
        bugs.len()
    );
    assert_eq!(report["summary"]["bugs"], bugs.len() as u64);
    assert_eq!(report["summary"]["confirmed"], 42);
    // Every pair's reproduction is still written.
    let scripts = |ext: &str| {
        std::fs::read_dir(dir.join("repro"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == ext))
            })
            .count()
    };
    assert_eq!(scripts("sh"), 42);
    assert_eq!(scripts("hurl"), 42);
    for f in findings {
        assert!(Path::new(f["reproduction"]["curl"].as_str().unwrap()).exists());
    }
    // One entry per bug in every format that shows them to people.
    let sarif = json(&dir.join("report.sarif"));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), bugs.len());
    let fingerprints: BTreeSet<&str> = results
        .iter()
        .map(|r| {
            r["partialFingerprints"]["tenantfuzzBugId/v1"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        fingerprints,
        bugs.keys().map(String::as_str).collect::<BTreeSet<_>>()
    );
    let pairs: usize = results
        .iter()
        .map(|r| r["properties"]["pairs"].as_array().unwrap().len())
        .sum();
    assert_eq!(pairs, 42);
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(junit.failures, bugs.len());
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert_eq!(md.matches("<details>").count(), bugs.len());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("\n{} bugs confirmed (42 findings", bugs.len())),
        "{out}"
    );
    // The end of the run says what to do next.
    let next = &out[out.find("\nnext:\n").expect("no next steps")..];
    let report_path = path("report.json");
    assert!(
        next.contains(&format!("tenantfuzz baseline {report_path} > ")),
        "{next}"
    );
    assert!(next.contains("tenantfuzz init --spec "), "{next}");
    assert!(!next.contains("--sarif FILE"), "{next}");
    let script = next
        .lines()
        .find_map(|l| l.trim().strip_prefix("bash "))
        .and_then(|l| l.split_whitespace().next())
        .expect("no reproduction suggested");
    assert!(Path::new(script).exists(), "{script}");
    // Each bug's entry lists each of its pairs once.
    for (bug, group) in &bugs {
        assert_eq!(out.matches(bug.as_str()).count(), 1, "{bug} in {out}");
        for f in group {
            assert_eq!(out.matches(f["id"].as_str().unwrap()).count(), 1, "{out}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn ids(report: &Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "confirmed")
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn baselines_make_known_findings_pass_and_fingerprints_hold_across_seeds() {
    let dir = temp_dir("baseline");
    let path = |name: &str| dir.join(name).display().to_string();
    let o = demo(&["--seed", "1", "--report-json", &path("first.json")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let first = json(&dir.join("first.json"));

    let o = bin()
        .arg("baseline")
        .arg(dir.join("first.json"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(dir.join("baseline.json"), &o.stdout).unwrap();
    let baseline: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(baseline["format_version"], 1);

    // Another seed: the same bugs under the same ids, all known, so the run passes.
    let o = demo(&[
        "--seed",
        "2",
        "--baseline",
        &path("baseline.json"),
        "--report-json",
        &path("second.json"),
    ]);
    let second = json(&dir.join("second.json"));
    assert_eq!(
        ids(&first),
        ids(&second),
        "fingerprints differ between seeds"
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        second["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["known"] == true)
    );
    assert!(text(&o).contains("known from the baseline"), "{}", text(&o));

    // A finding the baseline does not list still fails the run.
    let mut partial = baseline.clone();
    let dropped = partial["findings"].as_array_mut().unwrap().remove(0);
    std::fs::write(dir.join("partial.json"), partial.to_string()).unwrap();
    let o = demo(&[
        "--seed",
        "1",
        "--baseline",
        &path("partial.json"),
        "--report-json",
        &path("third.json"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let third = json(&dir.join("third.json"));
    let new: Vec<&Value> = third["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("known").is_none())
        .collect();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["id"], dropped["id"]);

    // Reports of two runs merge into one with the same findings; formats come from the merge.
    let o = bin()
        .arg("merge")
        .arg(dir.join("first.json"))
        .arg(dir.join("second.json"))
        .args([
            "--report-json",
            &path("merged.json"),
            "--sarif",
            &path("merged.sarif"),
        ])
        .args(["--baseline", &path("baseline.json")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let merged = json(&dir.join("merged.json"));
    assert_eq!(ids(&merged), ids(&first));
    assert_eq!(
        merged["summary"]["requests"].as_u64().unwrap(),
        first["summary"]["requests"].as_u64().unwrap()
            + second["summary"]["requests"].as_u64().unwrap()
    );
    let errors: Vec<String> = sarif::validator()
        .iter_errors(&json(&dir.join("merged.sarif")))
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let o = bin()
        .arg("merge")
        .arg(dir.join("first.json"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "unknown findings fail a merge too"
    );

    // A baseline that cannot be read is a usage error.
    let o = demo(&["--baseline", &path("missing.json")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}
