//! The CI templates in `ci/` parse, use only flags `tenantfuzz run` has, and point their
//! uploads at the files the run writes (SARIF to code scanning, JUnit to GitLab's test report).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn template(path: &str) -> (String, Value) {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    let value: Value = yaml_serde::from_str(&text).unwrap();
    (text, value)
}

/// The value following `flag` in a shell script.
fn flag_value<'a>(script: &'a str, flag: &str) -> &'a str {
    let rest = &script[script.find(&format!("{flag} ")).unwrap() + flag.len() + 1..];
    rest.split_whitespace().next().unwrap()
}

/// Every `--flag` of the `tenantfuzz run` command in a script is one `run --help` lists.
fn flags_exist(script: &str) {
    let help = Command::new(env!("CARGO_BIN_EXE_tenantfuzz"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    let run = &script[script.find("tenantfuzz run").unwrap()..];
    let mut seen = 0;
    for word in run.split_whitespace() {
        if let Some(flag) = word.strip_prefix("--") {
            assert!(
                help.contains(&format!("--{flag}")),
                "--{flag} is not a flag of run"
            );
            seen += 1;
        }
    }
    assert!(seen >= 6);
    assert!(script.contains("--baseline"));
}

#[test]
fn github_workflow_uploads_the_sarif_it_writes() {
    let (text, wf) = template("ci/github/tenantfuzz.yml");
    assert_eq!(wf["permissions"]["security-events"], "write");
    let steps = wf["jobs"]["authorization"]["steps"].as_array().unwrap();
    let run = steps
        .iter()
        .find_map(|s| s["run"].as_str().filter(|r| r.contains("tenantfuzz run")))
        .unwrap();
    flags_exist(run);
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif"))
        })
        .unwrap();
    assert_eq!(upload["with"]["sarif_file"], flag_value(run, "--sarif"));
    // Credentials come from the repository's secrets only.
    assert!(text.contains("ALICE_PASSWORD: ${{ secrets."));
    for line in text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains("_PASSWORD:"))
    {
        assert!(line.contains("${{ secrets."), "{line}");
    }
}

#[test]
fn gitlab_job_reports_the_junit_it_writes() {
    let (_, job) = template("ci/gitlab/tenantfuzz.gitlab-ci.yml");
    let job = &job["tenantfuzz"];
    let script: String = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    flags_exist(&script);
    assert_eq!(
        job["artifacts"]["reports"]["junit"],
        flag_value(&script, "--junit")
    );
    assert_eq!(job["artifacts"]["when"], "always");
}

/// The install command of the README's Install section.
fn readme_install() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme.find("\n## Install\n").expect("an Install section")..];
    let section = &section[..section[1..].find("\n## ").map_or(section.len(), |i| i + 1)];
    let line = section
        .lines()
        .find(|l| l.starts_with("cargo install --locked --git"))
        .expect("a git install command");
    line.split('#').next().unwrap().trim().to_string()
}

#[test]
fn both_templates_install_as_the_readme_says_and_cache_it() {
    let install = readme_install();
    assert!(install.contains("--rev \"$TENANTFUZZ_REV\""), "{install}");
    let (text, wf) = template("ci/github/tenantfuzz.yml");
    let steps = wf["jobs"]["authorization"]["steps"].as_array().unwrap();
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(
        runs.iter().any(|r| r.trim() == install),
        "the workflow's install is not the README's: {install}"
    );
    assert!(wf["env"]["TENANTFUZZ_GIT"].is_string() && wf["env"]["TENANTFUZZ_REV"].is_string());
    let cache = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache@"))
        })
        .expect("a cache step");
    assert!(
        cache["with"]["key"]
            .as_str()
            .unwrap()
            .contains("TENANTFUZZ_REV")
    );
    assert!(!text.contains("cargo install --locked tenantfuzz"));

    let (text, job) = template("ci/gitlab/tenantfuzz.gitlab-ci.yml");
    let job = &job["tenantfuzz"];
    let script: Vec<&str> = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        script.iter().any(|r| r.trim() == install),
        "the GitLab job's install is not the README's: {install}"
    );
    assert!(
        job["cache"]["key"]
            .as_str()
            .unwrap()
            .contains("TENANTFUZZ_REV")
    );
    assert!(!text.contains("cargo install --locked tenantfuzz"));
}

#[test]
fn the_github_workflow_pins_its_actions_and_skips_without_secrets() {
    let (text, wf) = template("ci/github/tenantfuzz.yml");
    assert_eq!(wf["permissions"]["actions"], "read");
    assert_eq!(wf["permissions"]["contents"], "read");
    let steps = wf["jobs"]["authorization"]["steps"].as_array().unwrap();
    for uses in steps.iter().filter_map(|s| s["uses"].as_str()) {
        let (action, version) = uses.split_once('@').expect("a version");
        // dtolnay/rust-toolchain is versioned by its branches (the toolchain it installs).
        if action != "dtolnay/rust-toolchain" {
            let major = version.strip_prefix('v').unwrap_or("");
            assert!(
                major.parse::<u32>().is_ok() || version.len() == 40,
                "{uses} is not pinned to a major version or a commit"
            );
        }
    }
    // Tokens come from login flows: only passwords are secrets, no static token.
    assert!(!text.contains("_TOKEN"), "a static token in the workflow");
    // The first step decides whether the credentials are there; every later step that needs
    // them runs only then, and the failing step can only fail a run that ran.
    let first = &steps[0];
    assert!(first["run"].as_str().unwrap().contains("::notice"));
    let id = first["id"].as_str().unwrap();
    for s in &steps[1..] {
        let condition = s["if"].as_str().unwrap_or("");
        let always_upload_sarif = condition.contains("hashFiles('out/tenantfuzz.sarif')");
        assert!(
            condition.contains(&format!("steps.{id}.outputs.available == 'true'"))
                || always_upload_sarif,
            "{s:?} runs without credentials"
        );
    }
}

/// The skip of both templates, run as it is without credentials, passes and says why.
#[test]
fn without_credentials_both_templates_skip_with_a_message() {
    let (_, wf) = template("ci/github/tenantfuzz.yml");
    let check = wf["jobs"]["authorization"]["steps"][0]["run"]
        .as_str()
        .unwrap()
        .to_string();
    let output = std::env::temp_dir().join(format!("tfz-gh-output-{}", std::process::id()));
    let o = Command::new("bash")
        .args(["-c", &check])
        .env("GITHUB_OUTPUT", &output)
        .env_remove("ALICE_PASSWORD")
        .env_remove("BOB_PASSWORD")
        .env("STAGING_URL", "https://staging.example.test")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("tenantfuzz skipped"));
    assert_eq!(
        std::fs::read_to_string(&output).unwrap().trim(),
        "available=false"
    );
    let _ = std::fs::remove_file(&output);

    let (_, job) = template("ci/gitlab/tenantfuzz.gitlab-ci.yml");
    let first = job["tenantfuzz"]["script"][0].as_str().unwrap().to_string();
    let o = Command::new("bash")
        .args(["-c", &format!("{first}\necho went-on")])
        .env_remove("ALICE_PASSWORD")
        .env_remove("BOB_PASSWORD")
        .output()
        .unwrap();
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("tenantfuzz skipped") && !out.contains("went-on"),
        "{out}"
    );
}
