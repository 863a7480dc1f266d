//! Reproduction scripts that never lie (#25): a script whose inputs are missing or whose
//! sessions are rejected exits 2, "cannot decide", naming the variable or the step, never 0
//! ("fixed") or 1 ("vulnerable"); its JSON reads keep `false`, `null` and numbers; and on the
//! demo, every finding has a `.hurl` file too.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tenantfuzz::config::CampaignSettings;
use tenantfuzz::demo::{ACCOUNTS, DemoConfig, DemoServer, Mode};
use tenantfuzz::finding::{Finding, Kind};

use crate::support::{cmd, truth};

fn has(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// Runs `script` with bash against `base`, every demo account's token in the environment as
/// the script names it, then `change` applied to that environment: (exit code, output).
async fn run(
    script: &Path,
    base: &str,
    change: impl FnOnce(&mut Vec<(String, String)>),
) -> (i32, String) {
    let mut env = vec![("BASE_URL".to_string(), base.to_string())];
    for a in ACCOUNTS {
        env.push((
            tenantfuzz::report::curl::credential_var(a.handle, "authorization"),
            format!("Bearer {}", cmd::token(base, a.handle).await),
        ));
    }
    change(&mut env);
    let script = script.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(&script)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (out.status.code().unwrap_or(-1), cmd::text(&out))
}

fn set(env: &mut Vec<(String, String)>, name: &str, value: Option<&str>) {
    env.retain(|(k, _)| k != name);
    if let Some(v) = value {
        env.push((name.to_string(), v.to_string()));
    }
}

async fn demo_findings(seed: u64) -> (Vec<Finding>, String, String) {
    let settings = CampaignSettings {
        seed,
        ..CampaignSettings::default()
    };
    let result = truth::run_demo(DemoConfig::new(Mode::Vulnerable), settings).await;
    let findings = result.confirmed().cloned().collect();
    (findings, result.marker_prefix, result.base_url)
}

fn write(dir: &Path, f: &Finding, prefix: &str, base: &str) -> PathBuf {
    let path = dir.join(tenantfuzz::report::curl::file_name(f));
    std::fs::write(&path, tenantfuzz::report::curl::script(f, prefix, base)).unwrap();
    path
}

/// A cross-tenant read whose attacker sends nothing but the attack: without its own session
/// check, a rejected attacker token would make the script say "fixed".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_cannot_decide_without_its_variables_or_with_a_rejected_session() {
    if !has("bash") || !has("curl") || !(has("jq") || has("python3")) {
        eprintln!("skipped: bash, curl and jq or python3 are needed");
        return;
    }
    let (findings, prefix, recorded) = demo_findings(7).await;
    let f = findings
        .iter()
        .find(|f| {
            f.kind == Kind::BolaRead
                && f.attacker != "anonymous"
                && f.steps
                    .iter()
                    .filter(|s| s.identity == f.attacker)
                    .all(|s| s.role == "attack")
        })
        .expect("a bola-read whose attacker only attacks");
    let dir = cmd::temp_dir("repro-scripts");
    let script = write(&dir, f, &prefix, &recorded);
    let attacker_var = tenantfuzz::report::curl::credential_var(&f.attacker, "authorization");
    let victim_var = tenantfuzz::report::curl::credential_var(&f.victim, "authorization");

    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
        .await
        .unwrap();
    let base = server.base_url();
    let (code, out) = run(&script, &base, |_| {}).await;
    assert_eq!(code, 1, "everything set, on the vulnerable demo:\n{out}");

    for (what, var, value) in [
        ("unset", attacker_var.as_str(), None),
        ("empty", victim_var.as_str(), Some("")),
        ("unset", "BASE_URL", None),
    ] {
        let (code, out) = run(&script, &base, |env| set(env, var, value)).await;
        assert_eq!(code, 2, "{var} {what}:\n{out}");
        assert!(
            out.contains(&format!("cannot decide: {var} is not set")),
            "{var} {what}: the message names it:\n{out}"
        );
    }

    // The attacker's token rejected: its session check (sent before step 1) says so.
    let (code, out) = run(&script, &base, |env| {
        set(env, &attacker_var, Some("Bearer dmo_not_a_token"))
    })
    .await;
    assert_eq!(code, 2, "attacker's session rejected:\n{out}");
    let check = f.steps.len() + 1;
    assert!(
        out.contains(&format!(
            "cannot decide: step {check} ({}, session check) answered 401",
            f.attacker
        )) && out.contains(&attacker_var),
        "names the step and the variable:\n{out}"
    );
    // The victim's: its first own step says so.
    let (code, out) = run(&script, &base, |env| {
        set(env, &victim_var, Some("Bearer dmo_not_a_token"))
    })
    .await;
    assert_eq!(code, 2, "victim's session rejected:\n{out}");
    assert!(
        out.contains(&format!("cannot decide: step 1 ({}, ", f.victim))
            && out.contains("answered 401")
            && out.contains(&victim_var),
        "names the step and the variable:\n{out}"
    );
    // No credential reaches the output.
    assert!(!out.contains("dmo_"), "a token was printed:\n{out}");
    server.shutdown().await.unwrap();

    let secure = DemoServer::start(DemoConfig::new(Mode::Secure))
        .await
        .unwrap();
    let (code, out) = run(&script, &secure.base_url(), |_| {}).await;
    assert_eq!(code, 0, "on the secure demo:\n{out}");
    secure.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The scripts' `json_at` keeps `false`, `null` and numbers (jq's `// empty` used to turn
/// `false` and `null` into nothing, and python printed `False`), and tells a missing field
/// (nothing) from `null`; with jq and with the python3 fallback alike.
#[test]
fn json_reads_keep_false_null_and_numbers() {
    if !has("bash") {
        eprintln!("skipped: bash is not installed");
        return;
    }
    let fixture = tests_fixture_finding();
    let script = tenantfuzz::report::curl::script(&fixture, "", "http://127.0.0.1:1");
    let start = script.find("json_at() {").unwrap();
    let end = start + script[start..].find("\n}\n").unwrap() + 3;
    let function = &script[start..end];
    let json =
        r#"{"on":false,"off":null,"n":0,"x":1.5,"s":"a b","deep":{"a/b":[true,{"id":12345}]}}"#;
    let cases = [
        ("/on", "false"),
        ("/off", "null"),
        ("/n", "0"),
        ("/x", "1.5"),
        ("/s", "a b"),
        ("/deep/a~1b/0", "true"),
        ("/deep/a~1b/1/id", "12345"),
        ("/deep/a~1b/2", ""),
        ("/missing", ""),
        ("/on/deeper", ""),
    ];
    let mut program = format!("{function}J='{json}'\n");
    for (pointer, _) in &cases {
        program.push_str(&format!("printf '%s|' \"$(json_at \"$J\" '{pointer}')\"\n"));
    }
    let expected: String = cases.iter().map(|(_, want)| format!("{want}|")).collect();
    // With whatever is on the PATH (jq where installed), then with python3 alone.
    let python_only =
        std::env::temp_dir().join(format!("tenantfuzz-py-only-{}", std::process::id()));
    let mut paths = vec![std::env::var("PATH").unwrap_or_default()];
    // The interpreter itself (a version manager's shim would need more of the PATH).
    let python = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|p| p.is_file());
    if let Some(python) = python {
        std::fs::create_dir_all(&python_only).unwrap();
        let link = python_only.join("python3");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(python, &link).unwrap();
        paths.push(python_only.display().to_string());
    } else {
        eprintln!("python3 is not installed: its fallback is not checked");
    }
    if !has("jq") && paths.len() == 1 {
        eprintln!("skipped: neither jq nor python3 is installed");
        return;
    }
    for path in paths {
        let out = Command::new(which("bash").unwrap())
            .arg("-c")
            .arg(&program)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            expected,
            "PATH={path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&python_only);
}

fn which(tool: &str) -> Result<PathBuf, ()> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
        .map(|p| p.canonicalize().unwrap_or(p))
        .ok_or(())
}

/// A finding of the fixed campaign result whose script reads JSON.
fn tests_fixture_finding() -> Finding {
    crate::support::fixture::result()
        .findings
        .into_iter()
        .find(|f| !f.steps.is_empty())
        .unwrap()
}

/// Runs a `.hurl` reproduction with the real hurl against `base`: its header recipe through
/// bash where it has one (webhook files: the signatures are computed beforehand), else hurl
/// with the variables the header names. `tokens` are the demo accounts' bearer tokens.
pub fn real_hurl(file: &Path, base: &str, tokens: &[(String, String)]) -> (i32, String) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut env: Vec<(String, String)> = vec![
        ("BASE_URL".into(), base.into()),
        (
            "TFZ_WEBHOOK_SECRET".into(),
            tenantfuzz::demo::DEFAULT_WEBHOOK_SECRET.into(),
        ),
    ];
    let mut command;
    if let Some(start) = text.find("# --- recipe\n") {
        let end = text.find("# --- end of recipe").unwrap();
        let recipe: String = text[start..end]
            .lines()
            .filter_map(|l| l.strip_prefix("#   "))
            .map(|l| format!("{l}\n"))
            .collect();
        command = Command::new("bash");
        command.arg("-c").arg(recipe);
    } else {
        command = Command::new("hurl");
        command
            .arg("--test")
            .arg("--variable")
            .arg(format!("base_url={base}"))
            .arg("--variable")
            .arg("run=tfzt1");
        for (handle, token) in tokens {
            command.arg("--secret").arg(format!(
                "{}=Bearer {token}",
                tenantfuzz::report::hurl::credential_var(handle, "authorization")
            ));
        }
        command.arg(file.file_name().unwrap());
    }
    for (handle, token) in tokens {
        env.push((
            tenantfuzz::report::curl::credential_var(handle, "authorization"),
            format!("Bearer {token}"),
        ));
    }
    let out = command
        .current_dir(file.parent().unwrap())
        .envs(env)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), cmd::text(&out))
}

async fn tokens(base: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for a in ACCOUNTS {
        out.push((a.handle.to_string(), cmd::token(base, a.handle).await));
    }
    out
}

/// The demo at seed 7 through the CLI, reproductions in `dir/repro`: its JSON report.
fn demo_seed_7(dir: &Path) -> serde_json::Value {
    let report = dir.join("report.json");
    let o = cmd::bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-q", "demo", "--seed", "7", "--report-json"])
        .arg(&report)
        .arg("--repro-dir")
        .arg(dir.join("repro"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", cmd::text(&o));
    serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap()
}

/// Every finding of the demo gets a `.hurl` file, webhook findings too (their header recipe
/// signs the events beforehand).
#[test]
fn every_demo_finding_at_seed_7_has_a_hurl_file() {
    let dir = cmd::temp_dir("hurl-every");
    let report = demo_seed_7(&dir);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 42);
    for f in findings {
        let hurl = f["reproduction"]["hurl"]
            .as_str()
            .unwrap_or_else(|| panic!("no hurl file for {}", f["id"]));
        assert!(Path::new(hurl).exists(), "{hurl}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every `.hurl` file of the demo at seed 7, run by the real hurl: it passes (exit 0) on a fresh
/// vulnerable demo and fails an assert (exit 4) on a fresh secure one; with the attacker's
/// session rejected, or a variable missing, it stops with a runtime error (exit 3: cannot
/// decide) on the entry that checks it. Skipped where hurl is not installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hurl_file_runs_in_real_hurl() {
    if !has("hurl") || !has("bash") || !has("curl") || !has("jq") || !has("openssl") {
        eprintln!(
            "skipped: the real hurl (and bash, curl, jq, openssl for the webhook recipes) is not \
             installed; see the README's Reproductions section"
        );
        return;
    }
    let dir = cmd::temp_dir("hurl-real");
    let report = demo_seed_7(&dir);
    let files: Vec<PathBuf> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| PathBuf::from(f["reproduction"]["hurl"].as_str().unwrap()))
        .collect();
    assert_eq!(files.len(), 42);
    for (mode, expected) in [(Mode::Vulnerable, 0), (Mode::Secure, 4)] {
        let server = DemoServer::start(DemoConfig::new(mode)).await.unwrap();
        let base = server.base_url();
        let tokens = tokens(&base).await;
        for file in &files {
            let (file, base, tokens) = (file.clone(), base.clone(), tokens.clone());
            let (code, out) = tokio::task::spawn_blocking(move || {
                let r = real_hurl(&file, &base, &tokens);
                (r, file)
            })
            .await
            .map(|((c, o), file)| (c, format!("{}: {o}", file.display())))
            .unwrap();
            assert_eq!(code, expected, "{mode:?}: {out}");
        }
        if mode == Mode::Vulnerable {
            // A cross-tenant read whose attacker only attacks: its session check is entry 1.
            let file = files
                .iter()
                .find(|p| {
                    p.to_string_lossy()
                        .contains("bola-read-get-attachments-alice-bob")
                })
                .unwrap()
                .clone();
            let mut wrong = tokens.clone();
            for (handle, token) in &mut wrong {
                if handle == "alice" {
                    *token = "dmo_not_a_token".into();
                }
            }
            let (f, b) = (file.clone(), base.clone());
            let (code, out) = tokio::task::spawn_blocking(move || real_hurl(&f, &b, &wrong))
                .await
                .unwrap();
            assert_eq!(code, 3, "attacker's session rejected: {out}");
            assert!(out.contains("cannot_decide_unless_2xx_4"), "{out}");
            let mut missing = tokens.clone();
            missing.retain(|(h, _)| h != "alice");
            let (code, out) =
                tokio::task::spawn_blocking(move || real_hurl(&file, &base, &missing))
                    .await
                    .unwrap();
            assert_eq!(code, 3, "a variable missing: {out}");
            assert!(out.contains("alice_authorization"), "{out}");
        }
        server.shutdown().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
