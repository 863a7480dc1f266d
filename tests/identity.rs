//! Identities end to end against the demo: every credential kind (bearer from a JSON login, a
//! cookie session with CSRF from a form login, HTTP basic, an API key in a header and in the
//! query, a registered fresh account) authenticates, a whole campaign with all of them confirms
//! the ground truth and nothing on the secure demo, sessions that expire mid-campaign are
//! renewed, wrong credentials and two names for one account stop the run with exit 3, and no
//! credential reaches any output.
#![allow(clippy::unwrap_used)]

use crate::support::cmd;
use crate::support::truth;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cmd::{files, temp_dir};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tenantfuzz::campaign::Campaign;
use tenantfuzz::config::{CampaignSettings, Settings};
use tenantfuzz::demo::{DemoConfig, DemoServer, Mode};
use tenantfuzz::outcome::CampaignResult;
use truth::{Bug, confirmed};

const OWNERSHIP: &[&str] = &[
    "bola-read",
    "bola-write",
    "bola-delete",
    "list-leak",
    "unauthenticated",
];

const PASSWORDS: &[(&str, &str)] = &[
    ("ALICE_PASSWORD", "alice-demo-password"),
    ("BOB_PASSWORD", "bob-demo-password"),
    ("CAROL_PASSWORD", "carol-demo-password"),
];

fn spec_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/demo.yaml")
}

fn env(name: &str) -> Option<String> {
    PASSWORDS
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The ground truth's ownership bugs: (kind, vector, method, path).
fn ownership_truth() -> BTreeSet<Bug> {
    truth::bugs(&truth::demo_truth(), OWNERSHIP)
}

/// Every planted bug, of every kind: what `demo_campaign` (with the admin, roles, plans and the
/// webhook configured) must find.
fn full_truth() -> BTreeSet<Bug> {
    truth::bugs(&truth::demo_truth(), &[])
}

/// Every credential kind and flow at once, from `examples/tenantfuzz.toml` pointed at a test
/// server: alice logs in with JSON for a bearer token, bob with a form for a session cookie and
/// a CSRF token, carol sends HTTP basic, dave registers a fresh account (and tenant), logs in
/// and issues himself an API key he sends in the query.
fn mixed_config(base_url: &str) -> String {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenantfuzz.toml");
    let text = std::fs::read_to_string(example).unwrap();
    assert!(text.contains("spec = \"../specs/demo.yaml\""));
    assert!(text.contains("base_url = \"http://127.0.0.1:8080\""));
    text.replace(
        "spec = \"../specs/demo.yaml\"",
        &format!("spec = \"{}\"", spec_path().display()),
    )
    .replace(
        "base_url = \"http://127.0.0.1:8080\"",
        &format!("base_url = \"{base_url}\""),
    )
}

fn settings(text: &str) -> Settings {
    let s = Settings::parse(text, "test.toml", Path::new("."), &env).unwrap();
    s.validate().unwrap();
    s
}

async fn run(config: DemoConfig, text: impl Fn(&str) -> String) -> CampaignResult {
    let server = DemoServer::start(config).await.unwrap();
    let campaign = Campaign::new(settings(&text(&server.base_url()))).unwrap();
    let result = campaign.run().await;
    server.shutdown().await.unwrap();
    result.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scheme_authenticates_and_expires_on_the_demo() {
    let mut config = DemoConfig::new(Mode::Secure);
    config.token_ttl = Duration::from_millis(600);
    let server = DemoServer::start(config).await.unwrap();
    let base = server.base_url();
    let http = tenantfuzz::exec::http_client().unwrap();
    let me = |req: reqwest::RequestBuilder| async move {
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json::<Value>().await.unwrap_or(Value::Null))
    };
    // Bearer.
    let token = cmd::token(&base, "alice").await;
    let (status, body) = me(http.get(format!("{base}/me")).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["email"], "alice@acme.test");
    // HTTP basic, right and wrong.
    let (status, body) = me(http
        .get(format!("{base}/me"))
        .basic_auth("bob@globex.test", Some("bob-demo-password")))
    .await;
    assert_eq!(
        (status, body["email"].clone()),
        (StatusCode::OK, json!("bob@globex.test"))
    );
    let (status, _) = me(http
        .get(format!("{base}/me"))
        .basic_auth("bob@globex.test", Some("wrong")))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // API key, issued with the bearer token, in the header and in the query.
    let key: Value = http
        .post(format!("{base}/auth/api-keys"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["apiKey"].as_str().unwrap().to_string();
    let (status, body) = me(http.get(format!("{base}/me")).header("X-API-Key", &key)).await;
    assert_eq!(
        (status, body["email"].clone()),
        (StatusCode::OK, json!("alice@acme.test"))
    );
    let (status, body) = me(http.get(format!("{base}/me?api_key={key}"))).await;
    assert_eq!(
        (status, body["email"].clone()),
        (StatusCode::OK, json!("alice@acme.test"))
    );
    let (status, _) = me(http.get(format!("{base}/me?api_key=dmo_knot"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Cookie session from a form login; writes need the CSRF token.
    let session = http
        .post(format!("{base}/auth/session"))
        .form(&[
            ("email", "carol@acme.test"),
            ("password", "carol-demo-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::OK);
    let set_cookie = session.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let csrf = session.headers()["x-csrf-token"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = session.json().await.unwrap();
    assert_eq!(body["csrfToken"], csrf.as_str());
    let (status, body) = me(http.get(format!("{base}/me")).header("Cookie", &cookie)).await;
    assert_eq!(
        (status, body["email"].clone()),
        (StatusCode::OK, json!("carol@acme.test"))
    );
    let patch = json!({"displayName": "Carol"});
    let (status, _) = me(http
        .patch(format!("{base}/me"))
        .header("Cookie", &cookie)
        .json(&patch))
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a cookie write without CSRF");
    let (status, _) = me(http
        .patch(format!("{base}/me"))
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", &csrf)
        .json(&patch))
    .await;
    assert_eq!(status, StatusCode::OK);
    // Tokens and cookie sessions expire with a 401; API keys and basic do not.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (status, _) = me(http.get(format!("{base}/me")).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = me(http.get(format!("{base}/me")).header("Cookie", &cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = me(http.get(format!("{base}/me")).header("X-API-Key", &key)).await;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_with_every_credential_kind_confirms_the_ground_truth() {
    let result = run(DemoConfig::new(Mode::Vulnerable), mixed_config).await;
    let found = confirmed(&result);
    for bug in ownership_truth() {
        assert!(found.contains(&bug), "missed {bug:?}; found {found:#?}");
    }
    // Every identity acted as attacker in some confirmed finding's pair or was a victim.
    let who: BTreeSet<&str> = result
        .findings
        .iter()
        .flat_map(|f| [f.attacker.as_str(), f.victim.as_str()])
        .collect();
    for name in ["alice", "bob", "carol", "dave"] {
        assert!(
            who.contains(name),
            "{name} took part in no finding: {who:?}"
        );
    }
    // Query credentials are recorded as *** and scripts read them from the environment.
    let text = tenantfuzz::report::json::render(&result);
    for secret in [
        "dmo_",
        "alice-demo-password",
        "bob-demo-password",
        "carol-demo-password",
    ] {
        assert!(!text.contains(secret), "{secret} in the report");
    }
    let with_query = result
        .findings
        .iter()
        .find(|f| {
            f.steps
                .iter()
                .any(|s| s.exchange.url.contains("api_key=***"))
        })
        .expect("a finding with a step of dave's");
    let script =
        tenantfuzz::report::curl::script(with_query, &result.marker_prefix, &result.base_url);
    assert!(
        script.contains("api_key=${TFZ_DAVE_QUERY_API_KEY}"),
        "{script}"
    );
    assert!(!script.contains("dmo_"));
    // The hurl file too: a secret variable fed from the same environment variable.
    let hurl = tenantfuzz::report::hurl::file(with_query, &result.marker_prefix, &result.base_url);
    assert!(hurl.contains("api_key={{dave_query_api_key}}"), "{hurl}");
    assert!(
        hurl.contains("--secret dave_query_api_key=\"$TFZ_DAVE_QUERY_API_KEY\""),
        "{hurl}"
    );
    assert!(!hurl.contains("=***"), "{hurl}");
    assert!(!hurl.contains("dmo_"));
    assert!(
        text.contains("\"cookie\""),
        "bob's cookie is recorded (as ***)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_with_every_credential_kind_finds_nothing_on_the_secure_demo() {
    let result = run(DemoConfig::new(Mode::Secure), mixed_config).await;
    assert!(result.findings.is_empty(), "{:#?}", result.findings);
    assert!(result.coverage.iter().filter(|c| c.attacked).count() > 20);
}

async fn expiring(mode: Mode) -> CampaignResult {
    let mut config = DemoConfig::new(mode);
    config.token_ttl = Duration::from_secs(1);
    // Paced so that the campaign outlives its tokens several times over.
    let settings = CampaignSettings {
        seed: 1,
        rate: Some(250.0),
        ..CampaignSettings::default()
    };
    truth::run_demo(config, settings).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_that_expire_mid_campaign_are_renewed_and_every_bug_is_still_found() {
    let result = expiring(Mode::Vulnerable).await;
    assert!(result.stats.requests > 1000, "{:?}", result.stats);
    assert!(result.stats.session_renewals > 0, "{:?}", result.stats);
    // The JSON report says how many times sessions were renewed.
    let report = serde_json::to_value(tenantfuzz::report::json::report(&result)).expect("JSON");
    assert_eq!(
        report["summary"]["session_renewals"],
        json!(result.stats.session_renewals)
    );
    let found = confirmed(&result);
    let truth = full_truth();
    assert_eq!(truth.len(), 13);
    for bug in &truth {
        assert!(found.contains(bug), "missed {bug:?}; found {found:#?}");
    }
    for f in &result.findings {
        let key = truth::key(f);
        assert!(truth.contains(&key), "outside the ground truth: {key:?}");
    }
    let secure = expiring(Mode::Secure).await;
    assert!(secure.stats.session_renewals > 0, "{:?}", secure.stats);
    assert!(secure.findings.is_empty(), "{:#?}", secure.findings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_identities_of_one_account_are_refused() {
    let server = DemoServer::start(DemoConfig::new(Mode::Secure))
        .await
        .unwrap();
    let text = format!(
        r#"
spec = "{spec}"
base_url = "{base}"
[identities.alice]
tenant = "acme"
basic = {{ username = "alice@acme.test", password = "${{env:ALICE_PASSWORD}}" }}
[identities.mallory]
tenant = "globex"
basic = {{ username = "alice@acme.test", password = "${{env:ALICE_PASSWORD}}" }}
"#,
        spec = spec_path().display(),
        base = server.base_url()
    );
    let campaign = Campaign::new(settings(&text)).unwrap();
    let err = campaign.run().await.unwrap_err().to_string();
    server.shutdown().await.unwrap();
    assert!(
        err.contains("'alice' and 'mallory' are the same account"),
        "{err}"
    );
    assert!(err.contains("GET /me"), "{err}");
}

#[test]
fn ordered_pairs_cross_tenants_only() {
    use tenantfuzz::scenario::Cast;
    let cast = Cast::of_tenants(
        vec![
            Some("acme".into()),
            Some("globex".into()),
            Some("acme".into()),
            None,
        ],
        BTreeSet::new(),
    );
    let pairs: BTreeSet<(usize, usize)> = cast.pairs().into_iter().collect();
    // alice(0) and carol(2) share acme: never against each other; bob(1) against both and both
    // against bob; anonymous(3) against everyone.
    let expected: BTreeSet<(usize, usize)> =
        [(1, 0), (2, 1), (0, 1), (1, 2), (3, 0), (3, 1), (3, 2)].into();
    assert_eq!(pairs, expected);
}

fn cli(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let out = cmd::bin()
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `cli` off the async runtime, whose threads the demo server needs while the binary runs.
async fn run_cli(
    args: Vec<String>,
    envs: &'static [(&'static str, &'static str)],
) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&args, envs)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_stop_the_run_with_exit_3_before_any_probe() {
    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
        .await
        .unwrap();
    let dir = temp_dir("wrong-credentials");
    let config = dir.join("tenantfuzz.toml");
    // bob's password is wrong: his login flow fails.
    std::fs::write(&config, mixed_config(&server.base_url())).unwrap();
    let report = dir.join("report.json");
    let args: Vec<String> = vec![
        "run".into(),
        "--config".into(),
        config.display().to_string(),
        "--report-json".into(),
        report.display().to_string(),
    ];
    let (code, _, stderr) = run_cli(
        args,
        &[
            ("ALICE_PASSWORD", "alice-demo-password"),
            ("BOB_PASSWORD", "not-bobs-password"),
            ("CAROL_PASSWORD", "carol-demo-password"),
        ],
    )
    .await;
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("identity 'bob' could not log in: POST /auth/session answered 401"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-bobs-password"));
    assert!(
        !report.exists(),
        "no report from a run whose sessions failed"
    );
    // A static credential the server refuses fails the positive control the same way.
    std::fs::write(
        &config,
        mixed_config(&server.base_url()).replace(
            "basic = { username = \"carol@acme.test\", password = \"${env:CAROL_PASSWORD}\" }",
            "headers = { Authorization = \"Bearer dmo_forged\" }",
        ),
    )
    .unwrap();
    let args: Vec<String> = vec![
        "run".into(),
        "--config".into(),
        config.display().to_string(),
    ];
    let (code, _, stderr) = run_cli(
        args,
        &[
            ("ALICE_PASSWORD", "alice-demo-password"),
            ("BOB_PASSWORD", "bob-demo-password"),
            ("CAROL_PASSWORD", "carol-demo-password"),
        ],
    )
    .await;
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(
            "identity 'carol' cannot use its session: its positive control GET /me answered 401"
        ),
        "{stderr}"
    );
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_of_any_kind_reaches_any_output() {
    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
        .await
        .unwrap();
    let dir = temp_dir("all-kinds-secrets");
    let config = dir.join("tenantfuzz.toml");
    std::fs::write(&config, mixed_config(&server.base_url())).unwrap();
    let args: Vec<String> = vec![
        "run".into(),
        "--config".into(),
        config.display().to_string(),
        "--report-json".into(),
        dir.join("out/report.json").display().to_string(),
        "--repro-dir".into(),
        dir.join("out/repro").display().to_string(),
    ];
    let (code, stdout, stderr) = run_cli(
        args,
        &[
            ("ALICE_PASSWORD", "alice-demo-password"),
            ("BOB_PASSWORD", "bob-demo-password"),
            ("CAROL_PASSWORD", "carol-demo-password"),
            ("RUST_LOG", "trace"),
        ],
    )
    .await;
    server.shutdown().await.unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("bodies"), "trace logging did not happen");
    assert!(
        stderr.contains("login exchange"),
        "logins are logged (without values)"
    );
    let secrets = [
        "dmo_",
        "alice-demo-password",
        "bob-demo-password",
        "carol-demo-password",
        "fresh-password-1",
        // carol's basic credentials, base64.
        "Y2Fyb2xAYWNtZS50ZXN0OmNhcm9sLWRlbW8tcGFzc3dvcmQ",
    ];
    let written = files(&dir.join("out"));
    assert!(written.len() > 7, "{written:?}");
    let mut outputs = vec![
        ("stdout".to_string(), stdout),
        ("stderr".to_string(), stderr),
    ];
    for f in written {
        outputs.push((
            f.display().to_string(),
            std::fs::read_to_string(&f).unwrap(),
        ));
    }
    for (place, text) in &outputs {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} in {place}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tenantfuzz init --spec specs/demo.yaml`, filled with two demo accounts, runs the campaign.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_init_writes_runs_once_its_variables_are_set() {
    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
        .await
        .unwrap();
    let base = server.base_url();
    let dir = temp_dir("init");
    let config = dir.join("tenantfuzz.toml");
    let spec = spec_path().display().to_string();
    let config_text = config.display().to_string();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        let init = cli(&["init", "--spec", &spec, "-o", &config_text], &[]);
        assert_eq!(init.0, 0, "{}", init.2);
        let again = cli(&["init", "--spec", &spec, "-o", &config_text], &[]);
        assert_eq!(again.0, 2, "init refuses to overwrite: {}", again.2);
        cli(
            &["run", "--config", &config_text, "--base-url", &base],
            &[
                ("USER_A_EMAIL", "alice@acme.test"),
                ("USER_A_PASSWORD", "alice-demo-password"),
                ("USER_B_EMAIL", "bob@globex.test"),
                ("USER_B_PASSWORD", "bob-demo-password"),
            ],
        )
    })
    .await
    .unwrap();
    server.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("path = \"/auth/login\""), "{text}");
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("bola-read"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Web Fuzzing Commons auth file: alice logs in through `loginEndpointAuth` (with the
/// template's endpoint and token handling), bob sends a fixed `X-API-Key` header; the config
/// gives them tenants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_fuzzing_commons_auth_file_gives_the_identities() {
    let server = DemoServer::start(DemoConfig::new(Mode::Vulnerable))
        .await
        .unwrap();
    let base = server.base_url();
    let http = tenantfuzz::exec::http_client().unwrap();
    let token = cmd::token(&base, "bob").await;
    let key: Value = http
        .post(format!("{base}/auth/api-keys"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dir = temp_dir("wfc");
    std::fs::write(dir.join("bob.key"), key["apiKey"].as_str().unwrap()).unwrap();
    std::fs::write(
        dir.join("auth.yaml"),
        r#"schemaVersion: "0.2.0"
authTemplate:
  loginEndpointAuth:
    endpoint: /auth/login
    verb: POST
    contentType: application/json
    token:
      extractFromField: /token
      httpHeaderName: Authorization
      headerPrefix: "Bearer "
auth:
  - name: alice
    loginEndpointAuth:
      payloadUserPwd:
        username: alice@acme.test
        usernameField: email
        password: ${env:ALICE_PASSWORD}
        passwordField: password
  - name: bob
    fixedHeaders:
      - name: X-API-Key
        value: ${file:bob.key}
"#,
    )
    .unwrap();
    let text = format!(
        "spec = \"{}\"\nbase_url = \"{base}\"\nauth_file = \"auth.yaml\"\n[identities.alice]\ntenant = \"acme\"\n[identities.bob]\ntenant = \"globex\"\n",
        spec_path().display()
    );
    let settings = Settings::parse(&text, "wfc.toml", &dir, &env).unwrap();
    settings.validate().unwrap();
    assert_eq!(settings.identities.len(), 2);
    let bob = settings
        .identities
        .iter()
        .find(|i| i.name == "bob")
        .unwrap();
    assert!(
        bob.auth.login.is_none(),
        "bob's entry has fixed headers only"
    );
    assert_eq!(bob.headers[0].0, "X-API-Key");
    let result = Campaign::new(settings).unwrap().run().await;
    server.shutdown().await.unwrap();
    let result = result.unwrap();
    let found = confirmed(&result);
    for bug in ownership_truth() {
        assert!(found.contains(&bug), "missed {bug:?}; found {found:#?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tokens without a login flow to renew them expire mid-run: the run stops with the reason,
/// naming the identity, and reports nothing (exit 3 from the CLI).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_lost_mid_run_stops_it_without_results() {
    let mut config = DemoConfig::new(Mode::Vulnerable);
    config.token_ttl = Duration::from_secs(1);
    let server = DemoServer::start(config).await.unwrap();
    let base = server.base_url();
    let mut text = format!(
        "spec = \"{}\"\nbase_url = \"{base}\"\n[campaign]\nrate = 250.0\n",
        spec_path().display()
    );
    for (name, tenant) in [("alice", "acme"), ("bob", "globex")] {
        let token = cmd::token(&base, name).await;
        text.push_str(&format!(
            "[identities.{name}]\ntenant = \"{tenant}\"\nheaders = {{ Authorization = \"Bearer {token}\" }}\n"
        ));
    }
    let campaign = Campaign::new(settings(&text)).unwrap();
    let err = campaign.run().await.unwrap_err();
    server.shutdown().await.unwrap();
    let message = err.to_string();
    assert!(
        message.contains("stopped working during the run (401) and it has no login flow"),
        "{message}"
    );
    assert!(
        message.contains("identity 'alice'") || message.contains("identity 'bob'"),
        "{message}"
    );
    assert!(
        message.contains("its results are not reported"),
        "{message}"
    );
    assert!(!message.contains("dmo_"), "{message}");
    assert_eq!(tenantfuzz::cli::CliError::Target(message).exit_code(), 3);
}

/// A session that dies without a 401 (this server's `/me` answers 403 once it forgets a token)
/// is caught by the periodic check with the positive control and renewed before the next
/// request; without the check, the request is refused. And when many requests in flight get a
/// 401 at once (`/items`), the identity logs in once and every one of them is sent again with
/// the new token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_renewed_by_the_periodic_check_and_once_for_concurrent_401s() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use axum::Json;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode as AxumStatus};
    use axum::routing::{get, post};
    use tenantfuzz::exec::{Sender, Target};
    use tenantfuzz::identity::{Credentials, LoginFlow};

    // The token that works now: tok-N after the N-th login; 0 means none does.
    let valid = Arc::new(AtomicU64::new(0));
    let logins = Arc::new(AtomicU64::new(0));
    let app =
        axum::Router::new()
            .route(
                "/login",
                post(
                    |State((valid, logins)): State<(Arc<AtomicU64>, Arc<AtomicU64>)>| async move {
                        let n = logins.fetch_add(1, Ordering::SeqCst) + 1;
                        valid.store(n, Ordering::SeqCst);
                        Json(json!({"token": format!("tok-{n}")}))
                    },
                ),
            )
            .route(
                "/me",
                get(
                    |State((valid, _)): State<(Arc<AtomicU64>, Arc<AtomicU64>)>,
                     headers: HeaderMap| async move {
                        let n = valid.load(Ordering::SeqCst);
                        let sent = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        if n > 0 && sent == format!("Bearer tok-{n}") {
                            (AxumStatus::OK, Json(json!({"id": "u1"})))
                        } else {
                            (AxumStatus::FORBIDDEN, Json(json!({"error": "forbidden"})))
                        }
                    },
                ),
            )
            .route(
                "/items",
                get(
                    |State((valid, _)): State<(Arc<AtomicU64>, Arc<AtomicU64>)>,
                     headers: HeaderMap| async move {
                        let n = valid.load(Ordering::SeqCst);
                        let sent = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        if n > 0 && sent == format!("Bearer tok-{n}") {
                            (AxumStatus::OK, Json(json!({"items": []})))
                        } else {
                            (AxumStatus::UNAUTHORIZED, Json(json!({"error": "expired"})))
                        }
                    },
                ),
            )
            .with_state((valid.clone(), logins.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let api = tenantfuzz::spec::load_str(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nsecurity: [{b: []}]\npaths:\n  /me:\n    get:\n      responses: {'200': {description: ok}}\n  /login:\n    post:\n      security: []\n      responses: {'200': {description: ok}}\ncomponents:\n  securitySchemes:\n    b: {type: http, scheme: bearer}\n",
        "t.yaml",
    )
    .unwrap();
    let me = tenantfuzz::exec::Control::configured(api.find("GET /me").unwrap());
    let config = "[identities.u]\ntenant = \"t\"\n[identities.u.login]\napply = { headers = { Authorization = \"Bearer {token}\" } }\n[[identities.u.login.requests]]\npath = \"/login\"\nextract = { token = { json = \"$.token\" } }\n[identities.v]\ntenant = \"w\"\n";
    let parsed = Settings::parse(config, "t.toml", Path::new("."), &env).unwrap();
    let flow: LoginFlow = parsed.identities[0].auth.login.clone().unwrap();
    let senders = [
        Sender {
            name: "u".into(),
            credentials: Credentials::default(),
            login: Some(flow),
        },
        Sender {
            name: "anonymous".into(),
            credentials: Credentials::default(),
            login: None,
        },
    ];
    let url = format!("{base}/me");
    for check in [true, false] {
        let mut target = Target::with_senders(&base, &senders, Duration::from_secs(5)).unwrap();
        if check {
            target.check_sessions_every(Duration::from_millis(50));
        }
        target
            .open_sessions(&api, &[me.clone(), Default::default()], 4)
            .await
            .unwrap();
        let first = target
            .send(0, tenantfuzz::spec::Method::Get, &url, &[], None, false)
            .await;
        assert_eq!(first.status, Some(200));
        // The server forgets every token.
        valid.store(0, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(80)).await;
        let after = target
            .send(0, tenantfuzz::spec::Method::Get, &url, &[], None, false)
            .await;
        if check {
            assert_eq!(after.status, Some(200), "renewed before the request");
            assert_eq!(target.session_renewals(), 1);
        } else {
            assert_eq!(after.status, Some(403), "without the check nothing notices");
            assert_eq!(target.session_renewals(), 0);
        }
    }
    // Sixteen requests in flight meet an expired token: one re-login serves them all.
    let target = Target::with_senders(&base, &senders, Duration::from_secs(5)).unwrap();
    target
        .open_sessions(&api, &[me.clone(), Default::default()], 4)
        .await
        .unwrap();
    let before = logins.load(Ordering::SeqCst);
    valid.store(0, Ordering::SeqCst);
    let items = format!("{base}/items");
    let answers = futures_util::future::join_all(
        (0..16).map(|_| target.send(0, tenantfuzz::spec::Method::Get, &items, &[], None, false)),
    )
    .await;
    assert!(answers.iter().all(|a| a.status == Some(200)));
    assert_eq!(logins.load(Ordering::SeqCst), before + 1, "one re-login");
    assert_eq!(target.session_renewals(), 1);
    server.abort();
}
