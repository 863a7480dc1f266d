//! No credential reaches any output: a full demo campaign at trace-level logging, with every
//! output file written, and not one demo token (they all start with `dmo_`) in stdout, stderr,
//! the JSON report, SARIF, JUnit, Markdown, HAR, HTML, or a reproduction script (bash or hurl).
#![allow(clippy::unwrap_used)]

use crate::support::cmd;

use cmd::files;

#[test]
fn no_token_in_any_output_even_at_trace_level() {
    let dir = std::env::temp_dir().join(format!("tenantfuzz-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = cmd::bin()
        .args(["demo", "--report-json"])
        .arg(dir.join("report.json"))
        .arg("--repro-dir")
        .arg(dir.join("repro"))
        .arg("--sarif")
        .arg(dir.join("report.sarif"))
        .arg("--junit")
        .arg(dir.join("junit.xml"))
        .arg("--markdown")
        .arg(dir.join("summary.md"))
        .arg("--har")
        .arg(dir.join("run.har"))
        .arg("--html")
        .arg(dir.join("report.html"))
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The log is really at trace level (bodies are logged), so the test can fail.
    assert!(
        stderr.lines().count() > 1000,
        "trace logging did not happen"
    );
    assert!(stderr.contains("bodies"));
    assert!(!stdout.contains("dmo_"), "a token in stdout");
    assert!(!stderr.contains("dmo_"), "a token in the log");
    let written = files(&dir);
    assert!(written.len() > 7);
    for name in [
        "report.sarif",
        "junit.xml",
        "summary.md",
        "run.har",
        "report.html",
    ] {
        assert!(
            written.iter().any(|p| p.ends_with(name)),
            "{name} not written"
        );
    }
    assert!(
        written
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "hurl"))
    );
    // The HAR holds every exchange, so the test can fail: requests carried credentials.
    let har = std::fs::read_to_string(dir.join("run.har")).unwrap();
    assert!(har.contains("\"authorization\""));
    // The HTML report shows the requests' headers, so it can fail too.
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("authorization: ***"), "no header shown");
    for file in written {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("dmo_"), "a token in {}", file.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
