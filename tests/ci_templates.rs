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
    assert!(text.contains("ALICE_TOKEN: ${{ secrets."));
    for line in text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains("_TOKEN:"))
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
