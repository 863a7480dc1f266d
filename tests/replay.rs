//! `tenantfuzz replay`: the JSON report of a run against the vulnerable demo, replayed against a
//! fresh vulnerable demo, says "still vulnerable" (exit 1); against a fresh secure demo, "fixed"
//! (exit 0). The config is `examples/tenantfuzz.toml` (every login flow and credential kind).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::cmd;

use tenantfuzz::demo::{ACCOUNTS, DemoConfig, DemoServer, Mode};

fn tools() -> bool {
    ["bash", "curl"]
        .iter()
        .all(|t| Command::new(t).arg("--version").output().is_ok())
}

/// A fresh directory for a test, or `None` (with a notice) when bash or curl is missing.
fn scratch(name: &str) -> Option<PathBuf> {
    if !tools() {
        eprintln!("skipped: bash or curl is not installed");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Some(dir)
}

/// Runs the CLI in `dir` with the demo accounts' passwords in the environment.
async fn cli(dir: &Path, args: Vec<String>) -> Output {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut command = cmd::bin();
        command.current_dir(&dir).args(&args);
        for a in ACCOUNTS {
            command.env(format!("{}_PASSWORD", a.handle.to_uppercase()), a.password);
        }
        command.output().unwrap()
    })
    .await
    .unwrap()
}

fn config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/tenantfuzz.toml")
        .display()
        .to_string()
}

async fn replay(dir: &Path, report: &Path, mode: Mode) -> (i32, String) {
    replay_with(dir, report, mode, &config()).await
}

async fn replay_with(dir: &Path, report: &Path, mode: Mode, config: &str) -> (i32, String) {
    let server = DemoServer::start(DemoConfig::new(mode)).await.unwrap();
    let out = cli(
        dir,
        vec![
            "replay".into(),
            report.display().to_string(),
            "--config".into(),
            config.to_string(),
            "--base-url".into(),
            server.base_url(),
        ],
    )
    .await;
    server.shutdown().await.unwrap();
    (out.status.code().unwrap_or(-1), cmd::text(&out))
}

/// `tenantfuzz run` with `config` against a fresh vulnerable demo, writing `dir/report.json`:
/// the report, parsed (the run must exit 1, findings confirmed).
async fn vulnerable_report(dir: &Path, config: &str) -> (PathBuf, serde_json::Value) {
    let report = dir.join("report.json");
    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
        .await
        .unwrap();
    let run = cli(
        dir,
        vec![
            "-q".into(),
            "run".into(),
            "--config".into(),
            config.to_string(),
            "--base-url".into(),
            server.base_url(),
            "--report-json".into(),
            report.display().to_string(),
            // The config's own `repro_dir` is beside it, in the source tree: keep out of it.
            "--repro-dir".into(),
            dir.join("repro").display().to_string(),
        ],
    )
    .await;
    server.shutdown().await.unwrap();
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let json = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    (report, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_says_still_vulnerable_then_fixed() {
    let Some(dir) = scratch("tenantfuzz-replay-test") else {
        return;
    };
    let (report, json) = vulnerable_report(&dir, &config()).await;
    let confirmed = json["summary"]["confirmed"].as_u64().unwrap();
    assert!(confirmed >= 5);

    let (code, text) = replay(&dir, &report, Mode::Vulnerable).await;
    assert_eq!(code, 1, "{text}");
    let still = text
        .lines()
        .filter(|l| l.starts_with("still vulnerable: "))
        .count();
    assert_eq!(still as u64, confirmed, "{text}");
    assert!(
        !text.contains("Bearer "),
        "a credential was printed: {text}"
    );

    let (code, text) = replay(&dir, &report, Mode::Secure).await;
    assert_eq!(code, 0, "{text}");
    let fixed = text.lines().filter(|l| l.starts_with("fixed: ")).count();
    assert_eq!(fixed as u64, confirmed, "{text}");

    // A finding whose set-up cannot be done any more (its create now answers 404) cannot be
    // decided: counted apart, with the script's reason, neither fixed nor vulnerable.
    let mut broken = json.clone();
    let f = &mut broken["findings"][0];
    let setup = f["steps"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["role"] == "setup")
        .expect("the first finding has a set-up step");
    let url = f["steps"][setup]["url"].as_str().unwrap().to_string();
    // http://host:port/path -> http://host:port/tfz-gone/path
    let path_at =
        url.find("://").unwrap() + 3 + url[url.find("://").unwrap() + 3..].find('/').unwrap();
    f["steps"][setup]["url"] = format!("{}/tfz-gone{}", &url[..path_at], &url[path_at..]).into();
    let broken_path = dir.join("broken.json");
    std::fs::write(&broken_path, broken.to_string()).unwrap();
    let undecided = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("cannot decide: "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let (code, text) = replay(&dir, &broken_path, Mode::Vulnerable).await;
    assert_eq!(code, 1, "still vulnerable wins over cannot decide: {text}");
    let lines = undecided(&text);
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains(&format!("step {} (", setup + 1)) && lines[0].contains("answered 404"),
        "the script's reason: {text}"
    );
    assert!(
        text.contains(&format!(
            "{} still vulnerable, 0 fixed, 1 cannot decide",
            confirmed - 1
        )),
        "{text}"
    );
    let (code, text) = replay(&dir, &broken_path, Mode::Secure).await;
    assert_eq!(
        code, 4,
        "nothing vulnerable, one undecided: incomplete: {text}"
    );
    assert_eq!(undecided(&text).len(), 1, "{text}");
    assert!(
        text.contains(&format!(
            "0 still vulnerable, {} fixed, 1 cannot decide",
            confirmed - 1
        )),
        "{text}"
    );

    // One finding alone replays too.
    let one = dir.join("finding.json");
    std::fs::write(&one, json["findings"][0].to_string()).unwrap();
    let (code, text) = replay(&dir, &one, Mode::Vulnerable).await;
    assert_eq!(code, 1, "{text}");

    // Not a report: a usage error.
    std::fs::write(dir.join("bad.json"), "{\"hello\": 1}").unwrap();
    let (code, text) = replay(&dir, &dir.join("bad.json"), Mode::Secure).await;
    assert_eq!(code, 2, "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// With `keep_cookies`, the cookies a login flow's answers set are sent as one `Cookie` header,
/// like cookies applied by name, so replay hands that header to the scripts as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_hands_a_kept_login_cookie_to_the_scripts() {
    let Some(dir) = scratch("tenantfuzz-replay-jar-test") else {
        return;
    };
    // The example config, with bob's session cookie kept from his login's answers instead of
    // extracted and applied by name.
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/demo.yaml");
    let example = std::fs::read_to_string(config()).unwrap();
    let text = example
        .replace(
            r#"apply = { cookies = { demo_session = "{session}" }, csrf = { header = "X-CSRF-Token", value = "{csrf}" } }"#,
            "keep_cookies = true\napply = { csrf = { header = \"X-CSRF-Token\", value = \"{csrf}\" } }",
        )
        .replace(
            r#"spec = "../specs/demo.yaml""#,
            &format!("spec = {:?}", spec.display().to_string()),
        );
    assert!(text.contains("keep_cookies = true") && text.contains(&*spec.display().to_string()));
    let jar_config = dir.join("tenantfuzz.toml");
    std::fs::write(&jar_config, text).unwrap();
    let jar_config = jar_config.display().to_string();
    let (_, json) = vulnerable_report(&dir, &jar_config).await;
    // A finding bob's cookie session sends a request in, as attacker or as victim.
    let bobs = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["attacker"] == "bob" || f["victim"] == "bob")
        .expect("a finding with bob in it");
    let one = dir.join("finding.json");
    std::fs::write(&one, bobs.to_string()).unwrap();
    let (code, text) = replay_with(&dir, &one, Mode::Vulnerable, &jar_config).await;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("still vulnerable: "), "{text}");
    assert!(
        !text.contains("demo_session="),
        "a cookie was printed: {text}"
    );
    let (code, text) = replay_with(&dir, &one, Mode::Secure, &jar_config).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("fixed: "), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
