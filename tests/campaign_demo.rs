//! The whole campaign against the built-in demo, compared with its ground truth: every planted
//! bug (all 13, of every kind) confirmed in vulnerable mode, nothing at all in secure mode, the same seed gives
//! the same findings, and every reproduction script reproduces its finding on a fresh vulnerable
//! demo and passes on a fresh secure one.
#![allow(clippy::unwrap_used)]

use crate::support::cmd;
use crate::support::truth;

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;
use tenantfuzz::cli::demo_campaign;
use tenantfuzz::config::CampaignSettings;
use tenantfuzz::demo::{ACCOUNTS, DemoConfig, DemoServer, Mode};
use tenantfuzz::finding::Status;
use tenantfuzz::outcome::CampaignResult;

async fn campaign(mode: Mode, seed: u64) -> CampaignResult {
    let settings = CampaignSettings {
        seed,
        ..CampaignSettings::default()
    };
    truth::run_demo(DemoConfig::new(mode), settings).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vulnerable_demo_confirms_every_planted_bug_and_nothing_else() {
    let result = campaign(Mode::Vulnerable, 1).await;
    let truth = truth::demo_truth();
    let found = truth::confirmed(&result);
    let expected = truth::bugs(&truth, &[]);
    for entry in &expected {
        assert!(found.contains(entry), "missed {entry:?}; found {found:#?}");
    }
    assert_eq!(expected.len(), 13, "the demo plants thirteen bugs");
    let kinds: BTreeSet<&str> = expected.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(kinds.len(), 10, "of ten kinds: {kinds:?}");
    // Each kind's report entry says what evidence confirmed it.
    for f in &result.findings {
        assert!(!f.evidence.is_empty(), "{f:#?}");
        if f.evidence_markers.is_empty() {
            assert!(
                f.evidence_field.is_some() || f.evidence.contains("ids"),
                "evidence that is neither a marker, a field nor ids: {f:#?}"
            );
        }
    }
    // No finding of any status outside the ground truth, none on a must-not-flag route.
    let must_not = truth::must_not_flag(&truth);
    for f in &result.findings {
        let k = (f.operation.method.clone(), f.operation.path.clone());
        assert!(
            !must_not.contains(&k),
            "flagged a must-not-flag route: {f:#?}"
        );
        let entry = truth::key(f);
        assert!(
            expected.contains(&entry),
            "finding outside the ground truth: {entry:?}"
        );
        assert_eq!(f.status, Status::Confirmed, "{f:#?}");
        assert!(f.reproduced >= 2);
    }
    // A path-id read comes out as two steps: the victim creates, the attacker reads (plus the
    // steps that re-read pre-existing ids for the reproduction).
    let read = result
        .findings
        .iter()
        .find(|f| f.operation.path == "/workspaces/{workspaceId}/projects/{projectId}")
        .unwrap();
    let roles: Vec<&str> = read
        .steps
        .iter()
        .map(|s| s.role.as_str())
        .filter(|r| *r != "discover")
        .collect();
    assert_eq!(roles, ["setup", "attack"], "{read:#?}");
    assert_eq!(read.steps.last().unwrap().identity, read.attacker);
    // The JSON report has the documented shape and holds no credential.
    let json: Value = serde_json::from_str(&tenantfuzz::report::json::render(&result)).unwrap();
    assert_eq!(json["format_version"], 1);
    for field in [
        "requests",
        "duration_ms",
        "confirmed",
        "inconclusive",
        "operations_total",
        "operations_attacked",
    ] {
        assert!(json["summary"][field].is_number(), "summary.{field}");
    }
    assert_eq!(json["summary"]["confirmed"], result.findings.len());
    let finding = &json["findings"][0];
    for field in [
        "id",
        "kind",
        "vector",
        "status",
        "reproduced",
        "operation",
        "attacker",
        "victim",
        "evidence",
        "steps",
    ] {
        assert!(!finding[field].is_null(), "findings[0].{field}");
    }
    assert!(
        json["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["attacked"] == true)
    );
    let text = json.to_string();
    assert!(
        !text.contains("dmo_"),
        "a demo token leaked into the report"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_demo_reports_nothing_at_all() {
    let result = campaign(Mode::Secure, 1).await;
    assert!(result.findings.is_empty(), "{:#?}", result.findings);
    assert!(result.coverage.iter().filter(|c| c.attacked).count() > 20);
    let cov = |method: &str, path: &str| {
        result
            .coverage
            .iter()
            .find(|c| c.method == method && c.path == path)
            .unwrap()
            .clone()
    };
    let doc = cov("GET", "/documents/{documentId}");
    assert!(doc.judged > 0 && doc.unjudged == 0, "{doc:?}");
    // The demo's campaign leaves out the public view of published documents, which it cannot
    // test (it publishes none; tests/cli.rs shows it untested with its reason without the
    // exclusion): every other operation that takes an id was tested.
    let public = cov("GET", "/public/documents/{documentId}");
    assert!(!public.in_scope, "{public:?}");
    assert_eq!(
        result.untested().count(),
        0,
        "{:#?}",
        result.untested().collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_findings_and_steps_at_any_concurrency() {
    type Shape = Vec<(String, Vec<(String, String, String)>)>;
    let shape = |r: &CampaignResult| -> Shape {
        r.findings
            .iter()
            .map(|f| {
                (
                    f.id.clone(),
                    f.steps
                        .iter()
                        .map(|s| {
                            (
                                s.identity.clone(),
                                s.role.clone(),
                                s.exchange.method.clone(),
                            )
                        })
                        .collect(),
                )
            })
            .collect()
    };
    let a = campaign(Mode::Vulnerable, 7).await;
    // Again, as a task of the runtime (as the CLI runs it), on workers shared with the demo.
    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
        .await
        .unwrap();
    let settings = CampaignSettings {
        seed: 7,
        ..CampaignSettings::default()
    };
    let b = demo_campaign(&server.base_url(), settings).await.unwrap();
    let b = std::sync::Arc::new(b).run_as_task().await.unwrap();
    server.shutdown().await.unwrap();
    assert!(!a.findings.is_empty());
    assert_eq!(shape(&a), shape(&b));
    // Whatever the concurrency: what finishes first (the webhook chains run beside
    // exploration) decides nothing.
    let settings = CampaignSettings {
        seed: 7,
        concurrency: 1,
        ..CampaignSettings::default()
    };
    let one = truth::run_demo(DemoConfig::new(Mode::Vulnerable), settings).await;
    assert_eq!(shape(&a), shape(&one));
}

async fn tokens(base: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for a in ACCOUNTS {
        out.push((
            tenantfuzz::report::curl::credential_var(a.handle, "authorization"),
            format!("Bearer {}", cmd::token(base, a.handle).await),
        ));
    }
    out
}

async fn run_script(script: &std::path::Path, mode: Mode) -> (i32, String) {
    let server = DemoServer::start(DemoConfig::new(mode)).await.unwrap();
    let base = server.base_url();
    let env = tokens(&base).await;
    let script = script.to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(&script)
            .env("BASE_URL", &base)
            .env(
                "TFZ_WEBHOOK_SECRET",
                tenantfuzz::demo::DEFAULT_WEBHOOK_SECRET,
            )
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    server.shutdown().await.unwrap();
    (output.status.code().unwrap_or(-1), cmd::text(&output))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_repro_script_reproduces_on_vulnerable_and_passes_on_secure() {
    let tools = ["bash", "curl"]
        .iter()
        .all(|t| Command::new(t).arg("--version").output().is_ok());
    if !tools {
        eprintln!("skipped: bash or curl is not installed");
        return;
    }
    let mut result = campaign(Mode::Vulnerable, 3).await;
    let dir = cmd::temp_dir("repro");
    let mut scripts = Vec::new();
    for f in &mut result.findings {
        let path = dir.join(tenantfuzz::report::curl::file_name(f));
        let text = tenantfuzz::report::curl::script(f, &result.marker_prefix, &result.base_url);
        assert!(
            !text.contains("dmo_"),
            "a token leaked into {}",
            path.display()
        );
        std::fs::write(&path, text).unwrap();
        scripts.push(path);
    }
    assert!(scripts.len() >= 7);
    for script in &scripts {
        let (code, out) = run_script(script, Mode::Vulnerable).await;
        assert_eq!(
            code,
            1,
            "{} on a fresh vulnerable demo:\n{out}",
            script.display()
        );
        let (code, out) = run_script(script, Mode::Secure).await;
        assert_eq!(
            code,
            0,
            "{} on a fresh secure demo:\n{out}",
            script.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

async fn explore_only(mode: Mode, seed: u64) -> CampaignResult {
    let settings = CampaignSettings {
        seed,
        cases: 200,
        systematic: false,
        ..CampaignSettings::default()
    };
    truth::run_demo(DemoConfig::new(mode), settings).await
}

/// The proptest explorer on its own (no systematic phase) finds ownership bugs of the ground
/// truth, shrinks them, and stays silent on the secure demo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exploration_alone_finds_real_bugs_and_nothing_on_secure() {
    let result = explore_only(Mode::Vulnerable, 11).await;
    let s = &result.stats;
    assert_eq!(
        s.systematic_requests,
        s.requests - s.exploration_requests - s.confirmation_requests - s.cleanup_requests
    );
    let known: BTreeSet<(String, String, String)> = truth::bugs(&truth::demo_truth(), &[])
        .into_iter()
        .map(|(kind, _, method, path)| (kind, method, path))
        .collect();
    let confirmed: Vec<_> = result.confirmed().collect();
    eprintln!(
        "explored {} cases: {} confirmed",
        result.stats.explored_cases,
        confirmed.len()
    );
    for f in &confirmed {
        eprintln!(
            "  {} {} {} {} -> {} ({} steps)",
            f.kind,
            f.operation.method,
            f.operation.path,
            f.attacker,
            f.victim,
            f.steps.len()
        );
    }
    assert!(confirmed.len() >= 3, "exploration found too little");
    for f in &result.findings {
        let k = (
            f.kind.as_str().to_string(),
            f.operation.method.clone(),
            f.operation.path.clone(),
        );
        assert!(known.contains(&k), "not in the ground truth: {k:?}");
    }
    let secure = explore_only(Mode::Secure, 11).await;
    assert!(secure.stats.explored_cases > 0);
    assert!(secure.findings.is_empty(), "{:#?}", secure.findings);
}

/// The campaign deletes what it created, as the owner (or a colleague of the same tenant when
/// the creator may not delete), and lists what it could not: the demo has no delete for exports
/// and automations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_removes_what_the_campaign_created() {
    let server = DemoServer::start(DemoConfig::new(Mode::Secure))
        .await
        .unwrap();
    let base = server.base_url();
    let campaign = demo_campaign(&base, CampaignSettings::default())
        .await
        .unwrap();
    let result = campaign.run().await.unwrap();
    assert!(result.cleanup.deleted > 50, "{:?}", result.cleanup.deleted);
    for left in &result.cleanup.left {
        assert!(
            left.resource == "export" || left.resource == "automation",
            "left behind: {left:?}"
        );
    }
    for account in ACCOUNTS.iter().filter(|a| a.workspace.is_some()) {
        let token = cmd::token(&base, account.handle).await;
        let me = cmd::get_json(&format!("{base}/me"), &token).await;
        let ws = me["workspaces"][0]["id"].as_str().unwrap();
        let projects = cmd::get_json(&format!("{base}/workspaces/{ws}/projects"), &token).await;
        // Only the seeded project is left.
        assert_eq!(
            projects["projects"].as_array().unwrap().len(),
            1,
            "{projects}"
        );
        let attachments =
            cmd::get_json(&format!("{base}/workspaces/{ws}/attachments"), &token).await;
        assert!(
            attachments["attachments"].as_array().unwrap().is_empty(),
            "{attachments}"
        );
    }
    server.shutdown().await.unwrap();
}

/// A run cut short by its time limit says so, confirms nothing it could not replay, and still
/// cleans up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_time_stops_the_run_and_says_so() {
    let settings = CampaignSettings {
        max_time: Some(std::time::Duration::ZERO),
        ..CampaignSettings::default()
    };
    let result = truth::run_demo(DemoConfig::new(Mode::Vulnerable), settings).await;
    assert!(result.stopped_early.is_some());
    assert_eq!(result.confirmed().count(), 0);
    assert!(result.coverage.iter().all(|c| !c.attacked));
    assert!(result.coverage.iter().map(|c| c.unjudged).sum::<u64>() > 0);
}

/// Stopping the run (what Ctrl-C does) stops new work, still cleans up, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_cleans_up_and_says_it_was_interrupted() {
    let server = DemoServer::start(DemoConfig::new(Mode::Secure))
        .await
        .unwrap();
    let campaign = demo_campaign(&server.base_url(), CampaignSettings::default())
        .await
        .unwrap();
    campaign
        .stop_handle()
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let result = campaign.run().await.unwrap();
    server.shutdown().await.unwrap();
    assert!(result.stopped_early.unwrap().contains("interrupted"));
    assert!(result.coverage.iter().all(|c| !c.attacked));
}

/// The webhook forgeries of one tenant share a signed control and the owner's reads before it,
/// each judged by the read just before it and the one after it: with only one of the two
/// webhook bugs live, only that one is confirmed, its reproduction holds no other forgery, and
/// with neither live nothing is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_webhook_forgery_is_judged_on_its_own() {
    use tenantfuzz::demo::Bugs;
    let settings = CampaignSettings {
        cases: 0,
        ..CampaignSettings::default()
    };
    let webhook = |kind: &str, vector: &str| {
        (
            kind.to_string(),
            vector.to_string(),
            "POST".to_string(),
            "/webhooks/billing".to_string(),
        )
    };
    for (bugs, expected) in [
        (
            Bugs {
                webhook_unsigned: true,
                ..Bugs::none()
            },
            vec![webhook("webhook-unsigned", "header")],
        ),
        (
            Bugs {
                webhook_replay: true,
                ..Bugs::none()
            },
            vec![webhook("webhook-replay", "body")],
        ),
        (Bugs::none(), vec![]),
    ] {
        let config = DemoConfig {
            bugs,
            ..DemoConfig::new(Mode::Secure)
        };
        let result = truth::run_demo(config, settings.clone()).await;
        let found: BTreeSet<_> = result.findings.iter().map(truth::key).collect();
        assert_eq!(
            found,
            expected.into_iter().collect(),
            "{:#?}",
            result.findings
        );
        for f in &result.findings {
            // One forgery per reproduction: the signed control, then the attack.
            let events = f
                .steps
                .iter()
                .filter(|s| s.exchange.url.ends_with("/webhooks/billing"))
                .count();
            assert_eq!(events, 2, "{:#?}", f.steps);
        }
    }
}
