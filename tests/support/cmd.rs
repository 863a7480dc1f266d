//! Running the `tenantfuzz` binary from tests: the command, a fresh temporary folder, its output
//! as text, the files it wrote, and the demo accounts' bearer tokens to hand it.
//! Included with `#[path = "support/cmd.rs"] mod cmd;` by tests that need nothing else of
//! `support`, and as `support::cmd` by those that do.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tenantfuzz::demo::ACCOUNTS;

/// The `tenantfuzz` binary built for these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tenantfuzz"))
}

/// An empty folder `tenantfuzz-{name}-{pid}` in the system's temporary folder.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantfuzz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A process's stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file below `dir`.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `GET url` with `token` as the bearer token; the answer's JSON body.
pub async fn get_json(url: &str, token: &str) -> Value {
    tenantfuzz::exec::http_client()
        .unwrap()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Logs in to the demo at `base` as the seeded account `handle`; returns its bearer token.
pub async fn token(base: &str, handle: &str) -> String {
    let a = ACCOUNTS.iter().find(|a| a.handle == handle).unwrap();
    let v: Value = tenantfuzz::exec::http_client()
        .unwrap()
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"email": a.email, "password": a.password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"].as_str().unwrap().to_string()
}
