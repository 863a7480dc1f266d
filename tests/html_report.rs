//! The HTML report rendered in a real headless browser (Debian's chromium): the demo campaign's
//! page, vulnerable and secure, read back from the DOM the browser built, cell by cell of the
//! access matrix; a screenshot of it; and a page whose server answers carry markup, which must
//! stay text. Skips with a notice where no browser is installed (`TENANTFUZZ_CHROMIUM` names
//! one elsewhere).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::cmd;
use crate::support::fixture;

/// The browser, if one is installed.
fn browser() -> Option<PathBuf> {
    let named = std::env::var_os("TENANTFUZZ_CHROMIUM").map(PathBuf::from);
    let candidates = named.into_iter().chain(
        [
            "/usr/bin/chromium",
            "/usr/bin/chromium-browser",
            "/usr/bin/google-chrome",
        ]
        .map(PathBuf::from),
    );
    for path in candidates {
        let works = Command::new(&path)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if works {
            return Some(path);
        }
    }
    None
}

/// Runs the headless browser on `page` with `args`, in a profile of its own (tests run in
/// parallel); returns its stdout.
fn headless(chromium: &Path, page: &Path, args: &[&str]) -> String {
    let profile = page.with_extension("profile");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--disable-extensions",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&profile);
    String::from_utf8(out.stdout).unwrap()
}

/// The DOM after rendering.
fn dom(chromium: &Path, page: &Path) -> String {
    headless(chromium, page, &["--dump-dom"])
}

/// The access matrix as the browser built it: operation -> identity -> state.
fn matrix(dom: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let start = dom
        .find("id=\"access-matrix\"")
        .expect("no access matrix in the DOM");
    let end = start + dom[start..].find("</table>").unwrap();
    let table = &dom[start..end];
    let attr = |text: &str, name: &str| -> Option<String> {
        let at = text.find(&format!("{name}=\""))? + name.len() + 2;
        let len = text[at..].find('"')?;
        Some(text[at..at + len].replace("&amp;", "&"))
    };
    let mut rows = BTreeMap::new();
    for row in table.split("<tr data-op=").skip(1) {
        let op = attr(&format!("data-op={row}"), "data-op").unwrap();
        let mut cells = BTreeMap::new();
        for cell in row.split("<td ").skip(1) {
            cells.insert(
                attr(cell, "data-identity").unwrap(),
                attr(cell, "data-state").unwrap(),
            );
        }
        rows.insert(op, cells);
    }
    rows
}

fn demo_page(dir: &Path, secure: bool) -> PathBuf {
    let page = dir.join(if secure {
        "secure.html"
    } else {
        "vulnerable.html"
    });
    let mut args = vec!["demo", "--seed", "7", "-q", "--html"];
    let path = page.display().to_string();
    args.push(&path);
    if secure {
        args.push("--secure");
    }
    let o = cmd::bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(if secure { 0 } else { 1 }),
        "{}",
        cmd::text(&o)
    );
    page
}

#[test]
fn the_demo_report_renders_its_access_matrix_in_a_browser() {
    let Some(chromium) = browser() else {
        eprintln!("skipped: no chromium (apt-get install chromium, or set TENANTFUZZ_CHROMIUM)");
        return;
    };
    let dir = cmd::temp_dir("html-report");
    let page = demo_page(&dir, false);
    let source = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing is fetched from anywhere.
    for outside in ["<script", "<link", "src=\"http", "@import", "url(http"] {
        assert!(!source.contains(outside), "{outside} in the page");
    }
    let rendered = dom(&chromium, &page);
    let m = matrix(&rendered);
    assert_eq!(m.len(), 40, "one row per operation: {:?}", m.keys());
    let columns: Vec<&String> = m["GET /health"].keys().collect();
    assert_eq!(columns, ["alice", "anonymous", "bob", "carol", "root"]);
    let state = |op: &str, who: &str| m[op][who].as_str();
    // Planted bugs: a cross-tenant write, a cross-tenant read, data without credentials.
    assert_eq!(state("PUT /documents/{documentId}", "bob"), "violation");
    assert_eq!(
        state("GET /workspaces/{workspaceId}/projects/{projectId}", "bob"),
        "leak"
    );
    assert_eq!(state("GET /exports/{exportId}", "anonymous"), "leak");
    assert_eq!(state("POST /webhooks/billing", "anonymous"), "violation");
    // Correct operations: the attacks were refused.
    assert_eq!(
        state(
            "DELETE /workspaces/{workspaceId}/projects/{projectId}",
            "bob"
        ),
        "denied"
    );
    assert_eq!(state("GET /me", "anonymous"), "denied");
    // Public data answered, no finding; an identity that never attacked.
    assert_eq!(state("GET /health", "anonymous"), "allowed");
    assert_eq!(state("GET /health", "root"), "not-tried");
    // A violation cell links to its bug, which the page holds.
    let violation = rendered
        .split("data-state=\"violation\"><a class=\"cell violation\" href=\"#")
        .nth(1)
        .unwrap();
    let anchor = &violation[..violation.find('"').unwrap()];
    assert!(anchor.starts_with("bug-tfzb-"), "{anchor}");
    assert!(rendered.contains(&format!("id=\"{anchor}\"")), "{anchor}");
    // Every state reads without colour: its word is in the cell.
    assert!(rendered.contains("✖</span>violation"));
    assert!(rendered.contains("✓</span>denied"));
    // Thirteen bugs, one entry each.
    assert_eq!(rendered.matches("<article class=\"bug\"").count(), 13);
    // A screenshot, as a person would see the first screen.
    let shot = dir.join("report.png");
    headless(
        &chromium,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1000",
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > 20_000,
        "a blank screenshot? {} bytes",
        png.len()
    );

    // The secure demo: the same operations, no violation or leak anywhere, and what leaked
    // without credentials is refused.
    let page = demo_page(&dir, true);
    let m = matrix(&dom(&chromium, &page));
    let states: Vec<&String> = m.values().flat_map(|c| c.values()).collect();
    assert!(
        !states.iter().any(|s| *s == "violation" || *s == "leak"),
        "{m:#?}"
    );
    // Without credentials, the export that leaked is refused now.
    assert_eq!(m["GET /exports/{exportId}"]["anonymous"], "denied");
    assert_eq!(m["GET /me"]["anonymous"], "denied");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Server answers are attacker-controlled: markup in a body, a header or the evidence renders
/// as text, in the browser too.
#[test]
fn markup_in_server_answers_stays_text_in_the_browser() {
    let mut result = fixture::result();
    let payload = "</script><img src=x onerror=\"document.title='owned'\"><b>bold</b>";
    let f = &mut result.findings[0];
    f.evidence = format!("evidence {payload}");
    for step in &mut f.steps {
        step.exchange.response_body = tenantfuzz::exchange::Body::from_text(payload.into());
        step.exchange
            .response_headers
            .push(("x-note".into(), payload.into()));
    }
    result.coverage[0].note = Some(payload.into());
    result.base_url = format!("http://127.0.0.1:1/{payload}");
    let html = tenantfuzz::report::html::render(&result);
    assert!(!html.contains("<img"), "raw markup in the page");
    assert!(!html.contains("<b>bold"), "raw markup in the page");
    assert!(html.contains("&lt;/script&gt;&lt;img src=x onerror=&quot;"));
    let Some(chromium) = browser() else {
        eprintln!("skipped the browser half: no chromium");
        return;
    };
    let dir = cmd::temp_dir("html-markup");
    let page = dir.join("page.html");
    std::fs::write(&page, &html).unwrap();
    let dom = dom(&chromium, &page);
    // The browser built no element from the payload, and shows it as text.
    assert!(!dom.contains("<img"), "an image element in the DOM");
    assert!(!dom.contains("<b>bold"), "a bold element in the DOM");
    assert!(!dom.contains("<title>owned"), "the payload's script ran");
    assert!(
        dom.contains("&lt;img src=x onerror="),
        "the payload is not shown"
    );
    assert!(dom.contains("id=\"access-matrix\""));
    let _ = std::fs::remove_dir_all(&dir);
}
