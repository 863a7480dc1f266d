//! Safe on staging, seen from the server's side: every request a campaign sends goes through a
//! recording server, and the tests check what really arrived. A campaign changes only what it
//! created (pre-existing data only with `mutate_seeded`), sends only to the base URL and allowed
//! origins (never to a spec's `servers`, a `Location`, a `Link` or a redirect), keeps to
//! `--rate`, and when the target goes away mid-run still writes what it confirmed and exits 3.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::cmd::{self, bin, token};
use support::recorder::{Behaviour, Recorder, Seen};
use support::{Demo, notes};
use tenantfuzz::campaign::Campaign;
use tenantfuzz::cli::demo_campaign;
use tenantfuzz::config::{CampaignSettings, IdentitySettings, Secret, Settings};
use tenantfuzz::demo::{ACCOUNTS, DemoConfig, DemoServer, Mode};
use tenantfuzz::exec::Target;
use tenantfuzz::outcome::CampaignResult;
use tenantfuzz::spec::Method;

fn is_mutation(s: &Seen) -> bool {
    matches!(s.method.as_str(), "PUT" | "PATCH" | "DELETE")
}

/// The object a request acts on: its last two path segments (`/workspaces/w/projects/p` ->
/// `("projects", "p")`).
fn object(s: &Seen) -> Option<(String, String)> {
    let segments: Vec<&str> = s.path().split('/').filter(|x| !x.is_empty()).collect();
    let n = segments.len();
    (n >= 2).then(|| (segments[n - 2].to_string(), segments[n - 1].to_string()))
}

/// The demo's seeded objects, `(collection, id)` -> tenant, read as each seeded account.
async fn demo_seeded(demo: &Demo) -> BTreeMap<(String, String), String> {
    let mut seeded = BTreeMap::new();
    for account in ACCOUNTS.iter().filter(|a| a.workspace.is_some()) {
        let tenant = account.workspace.unwrap().to_string();
        let api = demo.login(account.handle).await;
        let mut put = |collection: &str, id: &Value| {
            let id = match id {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            seeded.insert((collection.to_string(), id), tenant.clone());
        };
        let me = api.me().await;
        put("users", &me["id"]);
        for ws in me["workspaces"].as_array().unwrap() {
            let ws = ws["id"].as_str().unwrap();
            put("workspaces", &Value::String(ws.into()));
            let projects = api.get_ok(&format!("/workspaces/{ws}/projects")).await;
            for p in projects["projects"].as_array().unwrap() {
                put("projects", &p["id"]);
                let pid = p["id"].as_str().unwrap();
                let docs = api.get_ok(&format!("/projects/{pid}/documents")).await;
                for d in docs["documents"].as_array().unwrap() {
                    put("documents", &d["id"]);
                    let comments = api
                        .get_ok(&format!("/documents/{}/comments", d["id"]))
                        .await;
                    for c in comments["comments"].as_array().unwrap() {
                        put("comments", &c["id"]);
                    }
                }
            }
        }
        let invoices = api.get_ok("/billing/invoices").await;
        for i in invoices["invoices"].as_array().unwrap() {
            put("invoices", &i["id"]);
        }
    }
    seeded
}

/// `Authorization` value -> tenant, from the logins the recorder saw.
fn demo_tenants(seen: &[Seen]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in seen.iter().filter(|s| s.uri == "/auth/login") {
        let request: Value = serde_json::from_slice(&s.request_body).unwrap_or_default();
        let response: Value = serde_json::from_slice(&s.response_body).unwrap_or_default();
        let account = ACCOUNTS.iter().find(|a| request["email"] == a.email);
        if let (Some(a), Some(token)) = (account, response["token"].as_str()) {
            out.insert(
                format!("Bearer {token}"),
                a.workspace.unwrap_or_default().to_string(),
            );
        }
    }
    out
}

/// Against the vulnerable demo (whose seeded workspaces hold a project, a document and a
/// comment each), no request of the campaign writes to or deletes a seeded object, while its
/// attackers do write to and delete the other tenant's objects the campaign created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_campaign_changes_only_what_it_created() {
    let demo = Demo::start(Mode::Vulnerable).await;
    let seeded = demo_seeded(&demo).await;
    assert!(seeded.keys().any(|(c, _)| c == "documents"), "{seeded:?}");
    let proxy = Recorder::start(Behaviour::Forward(demo.base_url())).await;
    let settings = CampaignSettings {
        cases: 16,
        ..CampaignSettings::default()
    };
    let campaign = demo_campaign(&proxy.base_url(), settings).await.unwrap();
    let result = campaign.run().await.unwrap();
    assert!(result.confirmed().count() > 0);
    let seen = proxy.seen();
    proxy.shutdown().await;
    demo.shutdown().await;
    let tenants = demo_tenants(&seen);
    // Who created what: the ids in the answers to POSTs, by collection.
    let mut created: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
    for s in seen
        .iter()
        .filter(|s| s.method == "POST" && s.status == 201)
    {
        let body: Value = serde_json::from_slice(&s.response_body).unwrap_or_default();
        let collection = s.path().rsplit('/').next().unwrap_or("").to_string();
        let id = match &body["id"] {
            Value::String(v) => v.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        let who = s
            .authorization
            .as_ref()
            .and_then(|a| tenants.get(a))
            .cloned();
        created.insert((collection, id), who);
    }
    let mut foreign_mutations = 0;
    for s in seen.iter().filter(|s| is_mutation(s)) {
        let Some(obj) = object(s) else { continue };
        let requester = s.authorization.as_ref().and_then(|a| tenants.get(a));
        assert!(
            !seeded.contains_key(&obj),
            "{} {} by {requester:?} changes a seeded object",
            s.method,
            s.uri
        );
        if let Some(Some(owner)) = created.get(&obj) {
            if requester != Some(owner) {
                foreign_mutations += 1;
            }
        }
    }
    // The check above is not vacuous: attackers did change foreign objects (the created ones).
    assert!(foreign_mutations > 10, "{foreign_mutations}");
}

fn notes_settings(base_url: &str, campaign: CampaignSettings) -> Settings {
    let identities = notes::USERS
        .iter()
        .map(|(user, tenant)| IdentitySettings {
            name: user.to_string(),
            tenant: tenant.to_string(),
            role: None,
            plan: None,
            headers: vec![(
                "Authorization".to_string(),
                Secret::new(format!("Bearer {user}")),
            )],
            ..IdentitySettings::default()
        })
        .collect();
    Settings {
        source: "staging test".into(),
        spec: PathBuf::from("notes.yaml"),
        base_url: base_url.to_string(),
        allow_origins: Vec::new(),
        identities,
        campaign,
        id_overrides: Vec::new(),
        links: Vec::new(),
        report_json: None,
        repro_dir: None,
        policy: Default::default(),
        webhooks: Vec::new(),
    }
}

/// A notes campaign against `base_url` (the spec's `servers` point nowhere).
async fn run_notes(base_url: &str, campaign: CampaignSettings) -> CampaignResult {
    let settings = notes_settings(base_url, campaign);
    let api = tenantfuzz::spec::load_str(&notes::spec("https://x.invalid"), "n").unwrap();
    Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap()
}

/// A notes campaign through a recorder; the spec's `servers` point at a decoy that must see
/// nothing. Returns the result and what the target saw.
async fn notes_campaign(mutate_seeded: bool) -> (CampaignResult, Vec<Seen>) {
    let server = notes::NotesServer::start().await;
    let decoy = Recorder::start(Behaviour::Status(200)).await;
    let proxy = Recorder::start(Behaviour::Forward(server.base_url())).await;
    let settings = notes_settings(
        &proxy.base_url(),
        CampaignSettings {
            cases: 16,
            mutate_seeded,
            ..CampaignSettings::default()
        },
    );
    let api = tenantfuzz::spec::load_str(&notes::spec(&decoy.base_url()), "notes.yaml").unwrap();
    settings.validate().unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    let seen = proxy.seen();
    assert!(
        decoy.seen().is_empty(),
        "the spec's server got requests: {:?}",
        decoy.seen()
    );
    // Seeded notes are untouched by default (the API refuses foreign changes either way).
    if !mutate_seeded {
        for (user, _) in notes::USERS {
            let note = server.seeded_note(user).unwrap();
            assert_eq!(note["title"], format!("{user}'s seeded note"));
        }
    }
    proxy.shutdown().await;
    decoy.shutdown().await;
    server.shutdown().await;
    (result, seen)
}

/// The seeded note of each user (ids 1..=3), by `Authorization`: `Bearer <user>` -> note id.
fn seeded_note_of(auth: &str) -> Option<String> {
    let user = auth.strip_prefix("Bearer ")?;
    let index = notes::USERS.iter().position(|(u, _)| *u == user)?;
    Some((index + 1).to_string())
}

/// Attackers' writes and deletes of a pre-existing note: `(method, uri)` of each.
fn seeded_attacks(seen: &[Seen]) -> Vec<(String, String)> {
    let seeded: BTreeSet<String> = (1..=notes::USERS.len()).map(|i| i.to_string()).collect();
    seen.iter()
        .filter(|s| is_mutation(s))
        .filter(|s| {
            object(s).is_some_and(|(c, id)| {
                c == "notes"
                    && seeded.contains(&id)
                    && s.authorization.as_deref().and_then(seeded_note_of) != Some(id)
            })
        })
        .map(|s| (s.method.clone(), s.uri.clone()))
        .collect()
}

/// Pre-existing notes (which the notes API's list shows, so discovery finds them) are written
/// to and deleted by attackers only with the opt-in; by default the attacks go to notes the
/// campaign created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_data_is_changed_only_with_the_opt_in() {
    let (_, seen) = notes_campaign(false).await;
    let attacks: Vec<&Seen> = seen
        .iter()
        .filter(|s| is_mutation(s) && s.path().starts_with("/notes/"))
        .collect();
    assert!(attacks.len() > 4, "no write or delete was sent: {seen:?}");
    assert_eq!(seeded_attacks(&seen), Vec::<(String, String)>::new());
    let (_, seen) = notes_campaign(true).await;
    let seeded = seeded_attacks(&seen);
    assert!(
        seeded.iter().any(|(m, _)| m == "PUT") && seeded.iter().any(|(m, _)| m == "DELETE"),
        "with mutate_seeded, attackers write to and delete pre-existing notes: {seeded:?}"
    );
}

/// A target that answers every create with a `Location` and a `Link` on another origin and
/// everything else with a redirect there: nothing is ever sent there, even when that origin
/// is allowed (redirects are answers to judge, not to follow).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_links_and_redirects_are_never_followed() {
    for allow in [false, true] {
        let elsewhere = Recorder::start(Behaviour::Status(200)).await;
        let target = Recorder::start(Behaviour::Redirect(elsewhere.base_url())).await;
        let mut settings = notes_settings(
            &target.base_url(),
            CampaignSettings {
                cases: 8,
                ..CampaignSettings::default()
            },
        );
        if allow {
            settings.allow_origins = vec![elsewhere.base_url()];
        }
        settings.validate().unwrap();
        let api =
            tenantfuzz::spec::load_str(&notes::spec(&elsewhere.base_url()), "notes.yaml").unwrap();
        let result = Campaign::with_api(settings, api)
            .unwrap()
            .run()
            .await
            .unwrap();
        assert!(result.findings.is_empty(), "{:#?}", result.findings);
        let sent = target.seen();
        assert!(sent.iter().any(|s| s.method == "POST"), "{sent:?}");
        assert!(sent.iter().any(|s| s.method == "GET" && s.status == 307));
        assert!(
            elsewhere.seen().is_empty(),
            "followed off the target: {:?}",
            elsewhere.seen()
        );
        target.shutdown().await;
        elsewhere.shutdown().await;
    }
}

/// The scope guard at the sending end: the base URL and allowed origins get requests; any other
/// origin gets nothing, and the refusal is recorded as the exchange's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_base_url_and_allowed_origins_receive_requests() {
    let base = Recorder::start(Behaviour::Status(200)).await;
    let allowed = Recorder::start(Behaviour::Status(200)).await;
    let other = Recorder::start(Behaviour::Status(200)).await;
    let mut target = Target::new(&base.base_url(), &[], Duration::from_secs(5)).unwrap();
    target.allow_origins(&[allowed.base_url()]);
    let send = |url: String| {
        let target = &target;
        async move { target.send(0, Method::Get, &url, &[], None, false).await }
    };
    assert_eq!(
        send(format!("{}/a", base.base_url())).await.status,
        Some(200)
    );
    assert_eq!(
        send(format!("{}/token", allowed.base_url())).await.status,
        Some(200)
    );
    let refused = send(format!("{}/steal", other.base_url())).await;
    assert_eq!(refused.status, None);
    assert!(refused.error.unwrap().starts_with("refused"));
    // A base URL with a path keeps requests under that path.
    let scoped = Target::new(
        &format!("{}/api", base.base_url()),
        &[],
        Duration::from_secs(5),
    )
    .unwrap();
    let e = scoped
        .send(
            0,
            Method::Get,
            &format!("{}/api/../admin", base.base_url()),
            &[],
            None,
            false,
        )
        .await;
    assert!(e.error.unwrap().starts_with("refused"));
    assert_eq!(base.seen().len(), 1);
    assert_eq!(allowed.seen().len(), 1);
    assert!(other.seen().is_empty());
    for r in [base, allowed, other] {
        r.shutdown().await;
    }
}

/// `--rate N`: in no window of one second does the server see more than N requests (plus
/// slack for arrival jitter on a busy machine); without the limit the same campaign sends many
/// times that, so the bound is not trivially met.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_bounds_what_the_server_sees_per_second() {
    const RATE: f64 = 20.0;
    let most_in_a_second = |seen: &[Seen]| {
        let times: Vec<_> = seen.iter().map(|s| s.at).collect();
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| t.duration_since(times[i]) < Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0)
    };
    let run = |rate: Option<f64>| async move {
        let server = notes::NotesServer::start().await;
        let proxy = Recorder::start(Behaviour::Forward(server.base_url())).await;
        let result = run_notes(
            &proxy.base_url(),
            CampaignSettings {
                cases: 4,
                confirmations: 1,
                rate,
                ..CampaignSettings::default()
            },
        )
        .await;
        let seen = proxy.seen();
        proxy.shutdown().await;
        server.shutdown().await;
        assert_eq!(result.stats.requests as usize, seen.len());
        seen
    };
    let unlimited = run(None).await;
    let limited = run(Some(RATE)).await;
    let bound = (RATE * 1.5) as usize;
    assert!(
        most_in_a_second(&unlimited) > bound,
        "the campaign is too small to show the limit: {} requests",
        unlimited.len()
    );
    assert!(
        most_in_a_second(&limited) <= bound,
        "{} requests in one second at --rate {RATE}",
        most_in_a_second(&limited)
    );
    assert!(limited.len() >= unlimited.len() / 2);
}

/// `--concurrency` bounds the requests in flight at the server, in every phase (discovery,
/// probes, exploration, confirmation, cleanup), and the campaign uses what it is given: on a
/// server slow enough for requests to overlap, never more than N at once, and N reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bounds_the_requests_in_flight() {
    for concurrency in [1, 3] {
        let server = notes::NotesServer::start().await;
        let proxy = Recorder::start_slow(
            Behaviour::Forward(server.base_url()),
            Duration::from_millis(3),
        )
        .await;
        let result = run_notes(
            &proxy.base_url(),
            CampaignSettings {
                cases: 8,
                concurrency,
                ..CampaignSettings::default()
            },
        )
        .await;
        let most = proxy.most_in_flight();
        let seen = proxy.seen().len();
        proxy.shutdown().await;
        server.shutdown().await;
        assert_eq!(result.stats.requests as usize, seen);
        assert!(seen > 50, "too small a campaign to tell: {seen} requests");
        assert_eq!(
            most, concurrency,
            "at --concurrency {concurrency}, {most} requests were in flight at once"
        );
    }
}

/// Shrinking judges a read's deletion without sending it (a read changes nothing, so the
/// oracle judges the last execution without it), then replays what is left. On an API where a
/// read does change something (an owner's read fills a cache that answers anyone), the replays
/// of the shrunk scenario miss, and the confirmation falls back on the scenario that did
/// reproduce: the finding is confirmed and its reproduction keeps the owner's read before the
/// attack. The same campaign on the correct API finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_the_evidence_needs_survives_shrinking() {
    for vulnerable in [true, false] {
        let server = if vulnerable {
            notes::NotesServer::start_with_read_cache().await
        } else {
            notes::NotesServer::start().await
        };
        let result = run_notes(
            &server.base_url(),
            CampaignSettings {
                cases: 0,
                ..CampaignSettings::default()
            },
        )
        .await;
        server.shutdown().await;
        let confirmed: Vec<_> = result.confirmed().collect();
        if !vulnerable {
            assert!(confirmed.is_empty(), "{confirmed:#?}");
            continue;
        }
        let leak = confirmed
            .iter()
            .find(|f| f.kind.to_string() == "bola-read" && f.operation.path == "/notes/{noteId}")
            .unwrap_or_else(|| panic!("no confirmed bola-read: {:#?}", result.findings));
        // The owner reads the very URL the attacker then reads.
        let owner_read_first = leak.steps.iter().enumerate().any(|(j, attack)| {
            attack.role == "attack"
                && leak.steps[..j].iter().any(|s| {
                    s.exchange.method == "GET"
                        && s.identity == leak.victim
                        && s.exchange.url == attack.exchange.url
                })
        });
        assert!(
            owner_read_first,
            "the owner's read before the attack was shrunk away: {:#?}",
            leak.steps
        );
    }
}

fn temp_dir(name: &str) -> PathBuf {
    cmd::temp_dir(&format!("staging-{name}"))
}

/// Runs `tenantfuzz run` against `base` (the demo's accounts alice and bob), with `extra`
/// flags, writing the report and reproductions into `dir`. Returns the exit code and output.
async fn run_cli(
    demo_base: &str,
    base: &str,
    dir: &std::path::Path,
    extra: &[&str],
) -> (i32, String) {
    let mut command = cli_command(demo_base, base, dir, extra).await;
    let o = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (o.status.code().unwrap_or(-1), cmd::text(&o))
}

/// The `tenantfuzz run` command of [`run_cli`], not started.
async fn cli_command(
    demo_base: &str,
    base: &str,
    dir: &std::path::Path,
    extra: &[&str],
) -> std::process::Command {
    let config = dir.join("tenantfuzz.toml");
    std::fs::write(
        &config,
        format!(
            "spec = \"{}/specs/demo.yaml\"\nbase_url = \"{base}\"\n[identities.alice]\ntenant = \"acme\"\nheaders = {{ Authorization = \"Bearer ${{env:TF_A}}\" }}\n[identities.bob]\ntenant = \"globex\"\nheaders = {{ Authorization = \"Bearer ${{env:TF_B}}\" }}\n[campaign]\ncases = 0\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let (a, b) = (
        token(demo_base, "alice").await,
        token(demo_base, "bob").await,
    );
    let mut command = bin();
    command
        .args(["run", "--config"])
        .arg(&config)
        .arg("--report-json")
        .arg(dir.join("report.json"))
        .arg("--repro-dir")
        .arg(dir.join("repro"))
        .args(extra)
        .env("TF_A", a)
        .env("TF_B", b);
    command
}

/// Ctrl-C twice: the first stops new work, the second ends the run at once. Nothing more is
/// sent (no cleanup: what was created is listed as left), and what was obtained is still
/// written, marked incomplete.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_sends_nothing_more_and_still_writes_what_was_obtained() {
    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
        .await
        .unwrap();
    let slow = Recorder::start_slow(
        Behaviour::Forward(server.base_url()),
        Duration::from_millis(40),
    )
    .await;
    let dir = temp_dir("abort");
    let mut command = cli_command(
        &server.base_url(),
        &slow.base_url(),
        &dir,
        &["--concurrency", "4"],
    )
    .await;
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let interrupt = |pid: u32| {
        let status = std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    let pid = child.id();
    // Well into the probes (discovery and the sessions take a few dozen requests).
    while slow.seen().len() < 150 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    interrupt(pid);
    let first = slow.seen().len();
    while slow.seen().len() < first + 4 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    interrupt(pid);
    let aborted = slow.seen().len();
    let o = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let out = cmd::text(&o);
    let after = slow.seen().len() - aborted;
    slow.shutdown().await;
    server.shutdown().await.unwrap();
    assert!(out.contains("aborted: nothing more is sent"), "{out}");
    // What was in flight when the signal came (4 at a time), no cleanup.
    assert!(
        after <= 12,
        "{after} requests after the second Ctrl-C:\n{out}"
    );
    let code = o.status.code().unwrap_or(-1);
    assert!(code == 1 || code == 4, "exit {code}:\n{out}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["complete"], false, "{report:#}");
    assert!(
        report["summary"]["stopped_early"]
            .as_str()
            .unwrap()
            .contains("interrupted")
    );
    let left = report["cleanup"]["left"].as_array().unwrap();
    assert!(!left.is_empty(), "{:#}", report["cleanup"]);
    assert!(
        left.iter()
            .any(|l| l["reason"].as_str().unwrap().contains("aborted")),
        "{:#}",
        report["cleanup"]
    );
}

/// The target goes away in the middle of confirmation: the findings confirmed before are still
/// printed and written (report and reproductions), the error is reported, and the exit code is 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_lost_mid_run_keeps_what_was_confirmed_and_exits_3() {
    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
        .await
        .unwrap();
    let dir = temp_dir("lost");
    // How many requests a whole run takes up to its confirmations, to cut it during them.
    let counter = Recorder::start(Behaviour::Forward(server.base_url())).await;
    let (code, out) = run_cli(&server.base_url(), &counter.base_url(), &dir, &[]).await;
    assert_eq!(code, 1, "{out}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let total = report["summary"]["requests"].as_u64().unwrap() as usize;
    let systematic = report["summary"]["systematic_requests"].as_u64().unwrap() as usize;
    // The deletes run beside everything from the systematic phase on (each execution's objects
    // as it finishes): counted as sent before the cut, they place it safely past it.
    let deletes = report["cleanup"]["deleted"].as_u64().unwrap() as usize;
    counter.shutdown().await;
    // Halfway through what is neither systematic nor a delete (exploration and confirmation),
    // the target disappears.
    let dir = temp_dir("lost2");
    let dying = Recorder::start_dying(
        Behaviour::Forward(server.base_url()),
        Some((total + systematic + deletes) / 2),
    )
    .await;
    let (code, out) = run_cli(&server.base_url(), &dying.base_url(), &dir, &[]).await;
    server.shutdown().await.unwrap();
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("stopped answering"), "{out}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let confirmed = report["summary"]["confirmed"].as_u64().unwrap();
    assert!(confirmed > 0, "{report:#}");
    assert_eq!(report["summary"]["complete"], false);
    assert!(
        report["summary"]["error"]
            .as_str()
            .unwrap()
            .contains("stopped answering")
    );
    let scripts = std::fs::read_dir(dir.join("repro"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sh"))
        })
        .count() as u64;
    assert_eq!(scripts, confirmed);
    assert!(out.contains("confirmed 2/2"), "{out}");
}

/// A run stopped by its time limit before confirming anything is not a clean pass: exit 4, and
/// the report and terminal say it is incomplete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cut_short_with_nothing_confirmed_is_incomplete_not_clean() {
    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
        .await
        .unwrap();
    let dir = temp_dir("incomplete");
    let base = server.base_url();
    let (code, out) = run_cli(&base, &base, &dir, &["--max-time", "0"]).await;
    server.shutdown().await.unwrap();
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("INCOMPLETE"), "{out}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["complete"], false);
    assert_eq!(report["summary"]["confirmed"], 0);
    assert!(report["summary"]["stopped_early"].is_string());
}
