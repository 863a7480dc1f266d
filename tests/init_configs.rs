//! `tenantfuzz init` end to end: for each login shape it recognises (a token nested under
//! another name, an OAuth 2 password grant, a cookie session with CSRF, a registration, an API
//! key), a small spec of that shape gets a config that logs in to a server of that shape; a
//! registration runs twice against one database; and the config init writes for every spec of
//! the corpus plans.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use crate::support::{cmd, logins};
use tenantfuzz::campaign::Campaign;
use tenantfuzz::config::Settings;

/// A spec with `GET /me` (the positive control), `PATCH /me`, the given security schemes and
/// extra paths, whose server is `base`.
fn spec(base: &str, schemes: &str, paths: &str) -> String {
    format!(
        r#"openapi: 3.0.3
info: {{title: logins, version: '1'}}
servers:
  - url: {base}
security: [{{main: []}}]
paths:
  /me:
    get:
      operationId: getMe
      responses:
        '200':
          description: the caller
          content:
            application/json:
              schema: {{type: object, properties: {{username: {{type: string}}}}}}
        '401': {{description: no}}
    patch:
      operationId: updateMe
      requestBody:
        content:
          application/json:
            schema: {{type: object, properties: {{displayName: {{type: string}}}}}}
      responses:
        '200': {{description: changed}}
{paths}
components:
  securitySchemes:
{schemes}
"#
    )
}

const CREDENTIALS: &str = r#"        required: true
        content:
          CONTENT:
            schema:
              type: object
              required: [username, password]
              properties:
                username: {type: string}
                password: {type: string, format: password}
"#;

fn login_path(path: &str, content: &str, answer: &str) -> String {
    format!(
        "  {path}:\n    post:\n      security: []\n      requestBody:\n{}      responses:\n{answer}",
        CREDENTIALS.replace("CONTENT", content)
    )
}

/// Writes `spec` to a folder of its own and runs `tenantfuzz init` on it: the config's text
/// and path.
fn init(name: &str, spec: &str) -> (String, PathBuf) {
    let dir = cmd::temp_dir(name);
    std::fs::write(dir.join("openapi.yaml"), spec).unwrap();
    let config = dir.join("tenantfuzz.toml");
    let out = cmd::bin()
        .args(["init", "--spec"])
        .arg(dir.join("openapi.yaml"))
        .arg("-o")
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", cmd::text(&out));
    (std::fs::read_to_string(&config).unwrap(), config)
}

/// The two accounts' variables, named as init names them (`USER_A_USERNAME`, ...).
fn env(users: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name: &str| {
        let (who, what) = name.strip_prefix("USER_")?.split_once('_')?;
        let (user, password) = users[if who == "A" { 0 } else { 1 }];
        match what {
            "USERNAME" => Some(user.to_string()),
            "PASSWORD" => Some(password.to_string()),
            "API_KEY" => logins::ACCOUNTS
                .iter()
                .find(|(u, _, _)| *u == user)
                .map(|(_, _, k)| k.to_string()),
            _ => None,
        }
    }
}

const SEEDED: &[(&str, &str)] = &[("alice", "alice-pw-1"), ("bob", "bob-pw-2")];

/// Runs a campaign with init's config: it must open both sessions (and it sends nothing
/// else than to the test server).
async fn run(config: &Path, users: &'static [(&'static str, &'static str)]) {
    let text = std::fs::read_to_string(config).unwrap();
    let mut settings = Settings::parse(
        &text,
        "tenantfuzz.toml",
        config.parent().unwrap(),
        &env(users),
    )
    .unwrap();
    settings.campaign.cases = 0;
    Campaign::new(settings).unwrap().run().await.unwrap();
}

fn saw(server: &logins::Logins, event: &str) -> usize {
    server.log().iter().filter(|e| *e == event).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_nested_under_another_name_is_found_and_logs_in() {
    let server = logins::start().await;
    let answer = "        '200':\n          description: signed in\n          content:\n            application/json:\n              schema:\n                type: object\n                properties:\n                  data:\n                    type: object\n                    properties: {auth_token: {type: string}, expires: {type: integer}}\n        '401': {description: no}\n";
    let (text, config) = init(
        "init-nested-token",
        &spec(
            &server.base,
            "    main: {type: http, scheme: bearer}",
            &login_path("/api/v1/auth/signin", "application/json", answer),
        ),
    );
    assert!(
        text.contains("extract = { token = { json = \"$.data.auth_token\" } }"),
        "{text}"
    );
    assert!(
        text.contains("vars = { username = \"${env:USER_A_USERNAME}\""),
        "{text}"
    );
    assert!(text.contains("is a local address"), "{text}");
    assert!(
        text.contains(&format!("base_url = \"{}\"", server.base)),
        "{text}"
    );
    run(&config, SEEDED).await;
    assert!(saw(&server, "login alice") >= 1 && saw(&server, "me alice") >= 1);
    assert!(saw(&server, "login bob") >= 1 && saw(&server, "me bob") >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth2_password_flow_logs_in_with_a_form() {
    let server = logins::start().await;
    let (text, config) = init(
        "init-oauth",
        &spec(
            &server.base,
            "    main:\n      type: oauth2\n      flows:\n        password:\n          tokenUrl: /oauth/token\n          scopes: {}",
            "",
        ),
    );
    assert!(text.contains("path = \"/oauth/token\""), "{text}");
    assert!(text.contains("grant_type = \"password\""), "{text}");
    run(&config, SEEDED).await;
    assert!(saw(&server, "me alice") >= 1 && saw(&server, "me bob") >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_session_with_a_csrf_header_logs_in_and_sends_the_token_on_writes() {
    let server = logins::start().await;
    let answer = "        '200':\n          description: a session\n          headers:\n            Set-Cookie: {schema: {type: string}}\n            X-CSRF-Token: {schema: {type: string}}\n        '401': {description: no}\n";
    let (text, config) = init(
        "init-cookie",
        &spec(
            &server.base,
            "    main: {type: apiKey, in: cookie, name: sid}",
            &login_path("/session", "application/x-www-form-urlencoded", answer),
        ),
    );
    assert!(text.contains("keep_cookies = true"), "{text}");
    assert!(
        text.contains("apply = { csrf = { header = \"X-CSRF-Token\", value = \"{csrf}\" } }"),
        "{text}"
    );
    assert!(
        text.contains("form = { username = \"{username}\""),
        "{text}"
    );
    run(&config, SEEDED).await;
    assert!(saw(&server, "me alice") >= 1 && saw(&server, "me bob") >= 1);
    // Writes carry the token the login's X-CSRF-Token header gave (the server refuses them
    // without it); this spec has no resource, so the campaign sends none: the flow says so.
    let settings = Settings::load_for_planning(&config).unwrap();
    let flow = settings.identities[0].auth.login.as_ref().unwrap();
    assert_eq!(
        flow.apply
            .csrf
            .as_ref()
            .map(|(h, v)| (h.as_str(), v.expose())),
        Some(("X-CSRF-Token", "{csrf}"))
    );
    assert_eq!(
        flow.requests[0].extract,
        [(
            "csrf".to_string(),
            tenantfuzz::identity::Extract::Header("X-CSRF-Token".into())
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_creates_the_accounts_once_and_a_second_run_logs_in() {
    let server = logins::start().await;
    let answer = "        '200':\n          description: signed in\n          content:\n            application/json:\n              schema: {type: object, properties: {data: {type: object, properties: {auth_token: {type: string}}}}}\n";
    let signup = "  /signup:\n    post:\n      security: []\n      requestBody:\n        content:\n          application/json:\n            schema:\n              type: object\n              required: [username, password, displayName]\n              properties:\n                username: {type: string}\n                password: {type: string}\n                displayName: {type: string}\n      responses:\n        '201': {description: created}\n        '409': {description: taken}\n";
    let paths = format!(
        "{}{signup}",
        login_path("/api/v1/auth/signin", "application/json", answer)
    );
    let (text, config) = init(
        "init-register",
        &spec(
            &server.base,
            "    main: {type: http, scheme: bearer}",
            &paths,
        ),
    );
    assert!(
        text.contains("[[identities.user_a.login.register]]"),
        "{text}"
    );
    assert!(
        text.contains("displayName = \"{identity} {unique}\""),
        "{text}"
    );
    const FRESH: &[(&str, &str)] = &[("carol", "carol-pw-3"), ("dave", "dave-pw-4")];
    run(&config, FRESH).await;
    assert_eq!(saw(&server, "register carol"), 1);
    assert_eq!(saw(&server, "register dave"), 1);
    // The same database again: the names exist (409), so the run logs in to them.
    run(&config, FRESH).await;
    assert_eq!(saw(&server, "register carol"), 1, "{:?}", server.log());
    assert!(saw(&server, "login carol") >= 2 && saw(&server, "login dave") >= 2);
    // A wrong password: the run stops with the server's reason, without the password.
    let text = std::fs::read_to_string(&config).unwrap();
    let settings = Settings::parse(
        &text,
        "tenantfuzz.toml",
        config.parent().unwrap(),
        &env(&[("carol", "not-carols-pw"), ("dave", "dave-pw-4")]),
    )
    .unwrap();
    let err = Campaign::new(settings)
        .unwrap()
        .run()
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("answered 401")
            && err.contains("the server said \"invalid username or password\""),
        "{err}"
    );
    assert!(!err.contains("not-carols-pw"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_is_sent_as_the_spec_says() {
    let server = logins::start().await;
    let (text, config) = init(
        "init-api-key",
        &spec(
            &server.base,
            "    main: {type: apiKey, in: header, name: X-API-Key}",
            "",
        ),
    );
    assert!(
        text.contains("headers = { X-API-Key = \"${env:USER_A_API_KEY}\" }"),
        "{text}"
    );
    run(&config, SEEDED).await;
    assert!(saw(&server, "me alice") >= 1 && saw(&server, "me bob") >= 1);
}

#[test]
fn destructive_and_global_routes_are_proposed_as_excludes() {
    let paths = [
        ("/admin/reset", "post", ""),
        ("/testing/createDb", "post", ""),
        ("/seed-data", "post", ""),
        ("/cache/flush", "post", ""),
        ("/notes", "delete", ""),
        ("/notes", "get", ""),
        (
            "/notes/{id}",
            "delete",
            "      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n",
        ),
        (
            "/files",
            "delete",
            "      parameters: [{name: fileId, in: query, required: true, schema: {type: string}}]\n",
        ),
    ];
    let mut text = String::new();
    let mut last = "";
    for (path, method, params) in paths {
        if path != last {
            text.push_str(&format!("  {path}:\n"));
            last = path;
        }
        text.push_str(&format!(
            "    {method}:\n{params}      responses: {{'200': {{description: ok}}}}\n"
        ));
    }
    let (config, path) = init(
        "init-excludes",
        &spec(
            "http://127.0.0.1:1",
            "    main: {type: http, scheme: bearer}",
            &text,
        ),
    );
    for selector in [
        "POST /admin/reset",
        "POST /testing/createDb",
        "POST /seed-data",
        "POST /cache/flush",
        "DELETE /notes",
    ] {
        assert!(
            config.contains(&format!("    \"{selector}\",")),
            "{selector}:\n{config}"
        );
    }
    for kept in ["DELETE /notes/{id}", "DELETE /files", "GET /notes"] {
        assert!(
            !config.contains(&format!("\"{kept}\",")),
            "{kept}:\n{config}"
        );
    }
    let settings = Settings::load_for_planning(&path).unwrap();
    assert_eq!(
        settings.campaign.exclude.len(),
        5,
        "{:?}",
        settings.campaign.exclude
    );
}

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs-corpus");
    dir.is_dir().then_some(dir)
}

/// Every spec of the corpus that plans (see spec_corpus.rs) plans with the config init writes
/// for it, its credential variables unset.
#[test]
fn the_config_init_writes_for_each_corpus_spec_plans() {
    let Some(dir) = corpus() else {
        eprintln!("skipped: ../shared/specs-corpus is absent");
        return;
    };
    let index = std::fs::read_to_string(dir.join("index.tsv")).unwrap();
    let out = cmd::temp_dir("init-corpus");
    let mut planned = 0;
    let mut failures = Vec::new();
    for file in index.lines().skip(1).filter_map(|l| l.split('\t').next()) {
        if std::env::var("CORPUS_ONLY").is_ok_and(|only| !file.contains(&only)) {
            continue;
        }
        let spec = dir.join(file);
        // A spec the loader refuses has no config to check (spec_corpus.rs covers those).
        if Campaign::planning(Settings::for_planning(&spec)).is_err() {
            continue;
        }
        let config = out.join(format!("{}.toml", file.replace('/', "__")));
        let _ = std::fs::remove_file(&config);
        let init = cmd::bin()
            .args(["init", "--spec"])
            .arg(&spec)
            .arg("-o")
            .arg(&config)
            .output()
            .unwrap();
        if !init.status.success() {
            failures.push(format!("{file}: init failed: {}", cmd::text(&init)));
            continue;
        }
        let outcome = Settings::load_for_planning(&config)
            .map_err(|e| e.to_string())
            .and_then(|s| Campaign::planning(s).map_err(|e| e.to_string()))
            .map(|c| c.plan(None).probes.len());
        match outcome {
            Ok(_) => planned += 1,
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    eprintln!("{planned} corpus configs planned");
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(planned > 0);
    let _ = std::fs::remove_dir_all(&out);
}
