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

    // SARIF: valid, one result per finding, located at the operation's line in the spec.
    let sarif = json(&dir.join("report.sarif"));
    let validator = sarif::validator();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    let spec =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/demo.yaml"))
            .unwrap();
    let lines: Vec<&str> = spec.lines().collect();
    for (r, f) in results.iter().zip(findings) {
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
        assert_eq!(r["partialFingerprints"]["tenantfuzzFindingId/v1"], f["id"]);
        assert_eq!(r["ruleId"], f["kind"]);
    }

    // JUnit: parses, a failure per confirmed finding.
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(junit.failures, confirmed);
    assert!(junit.tests > confirmed);

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

    // Markdown: the counts and a collapsible block per finding.
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains(&format!("## tenantfuzz: {confirmed} confirmed findings")));
    assert_eq!(md.matches("<details>").count(), confirmed);

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
