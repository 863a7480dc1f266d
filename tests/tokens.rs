//! Accounts and tokens (#24): HS256 bearer tokens and the secrets of the accounts behind them.
//! The vulnerable server signs with the weak key `secret`, believes `alg: none` and ignores
//! `exp`, and has a debug route that lists every user's password and API key to anyone; the
//! secure one signs with a long random key, refuses `none` and expired tokens, and has no debug
//! route. Both answer each tenant only its own notes (no ownership bug to find), and both list
//! members' display names to everyone (public by design: no finding). Every report format of the
//! vulnerable run is searched for the tokens, the keys and the passwords.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tenantfuzz::campaign::Campaign;
use tenantfuzz::config::{IdentitySettings, Secret, Settings};
use tenantfuzz::finding::{Kind, Status};
use tenantfuzz::outcome::CampaignResult;

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: notes, version: '1'}
security: [{bearer: []}]
paths:
  /notes:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [text]
              properties:
                text: {type: string}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Note'}
  /notes/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the note
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Note'}
        '404': {description: no such note}
    delete:
      responses:
        '204': {description: deleted}
  /members:
    get:
      security: []
      responses:
        '200':
          description: every member's public profile
          content:
            application/json:
              schema:
                type: array
                items:
                  type: object
                  properties:
                    username: {type: string}
                    display_name: {type: string}
  /debug/users:
    get:
      security: []
      responses:
        '200':
          description: the users table
          content:
            application/json:
              schema:
                type: array
                items: {type: object}
        '404': {description: not in this build}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer, bearerFormat: JWT}
  schemas:
    Note:
      type: object
      properties:
        id: {type: integer}
        text: {type: string}
"#;

/// (user, tenant, password, API key); the API keys are what the campaign knows of the users'
/// secrets besides their tokens (sent as `X-Api-Key` beside the token, which wins).
const USERS: &[(&str, &str, &str, &str)] = &[
    ("alice", "north", "alice-Pw-0451-xyz", "ak_alice_7f3k29dj4m"),
    ("bob", "south", "bob-Pw-9917-qrs", "ak_bob_p82mx7r1vq"),
];

const WEAK_KEY: &str = "secret";
const STRONG_KEY: &str = "3Jx!q9-long-random-key-nobody-guesses-8d1f";

fn sign(key: &str, input: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn token(key: &str, sub: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({"sub": sub, "role": "user", "exp": support::unix_now() + 3600});
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    format!("{input}.{}", sign(key, &input))
}

use crate::support;

#[derive(Clone)]
struct App {
    vulnerable: bool,
    notes: Arc<Mutex<BTreeMap<u64, (String, String)>>>,
}

impl App {
    fn key(&self) -> &'static str {
        if self.vulnerable {
            WEAK_KEY
        } else {
            STRONG_KEY
        }
    }

    /// The user a request's bearer token names, verified as this server's mode does.
    fn user(&self, headers: &HeaderMap) -> Result<String, StatusCode> {
        let refused = StatusCode::UNAUTHORIZED;
        let value = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or(refused)?;
        let jwt = value.strip_prefix("Bearer ").ok_or(refused)?;
        let mut parts = jwt.split('.');
        let (h, p, s) = (
            parts.next().ok_or(refused)?,
            parts.next().ok_or(refused)?,
            parts.next().ok_or(refused)?,
        );
        let decode = |part: &str| -> Result<Value, StatusCode> {
            let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| refused)?;
            serde_json::from_slice(&bytes).map_err(|_| refused)
        };
        let (header, claims) = (decode(h)?, decode(p)?);
        let alg = header["alg"].as_str().unwrap_or_default();
        let none = alg.eq_ignore_ascii_case("none");
        if none && !self.vulnerable {
            return Err(refused);
        }
        if !none && (alg != "HS256" || sign(self.key(), &format!("{h}.{p}")) != s) {
            return Err(refused);
        }
        if !self.vulnerable && claims["exp"].as_u64().unwrap_or(0) <= support::unix_now() {
            return Err(refused);
        }
        let sub = claims["sub"].as_str().ok_or(refused)?;
        USERS
            .iter()
            .find(|u| u.0 == sub)
            .map(|u| u.0.to_string())
            .ok_or(refused)
    }
}

async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let me = app.user(&headers)?;
    let text = body["text"].as_str().ok_or(StatusCode::BAD_REQUEST)?;
    let mut notes = app.notes.lock().unwrap();
    // Ids are never reused: a deleted note's id names nothing again.
    let id = notes.keys().next_back().copied().unwrap_or(0) + 1;
    notes.insert(id, (me, text.to_string()));
    Ok((StatusCode::CREATED, Json(json!({"id": id, "text": text}))))
}

async fn read(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Result<Json<Value>, StatusCode> {
    let me = app.user(&headers)?;
    let notes = app.notes.lock().unwrap();
    match notes.get(&id) {
        Some((owner, text)) if *owner == me => Ok(Json(json!({"id": id, "text": text}))),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn delete(State(app): State<App>, headers: HeaderMap, Path(id): Path<u64>) -> StatusCode {
    let Ok(me) = app.user(&headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    let mut notes = app.notes.lock().unwrap();
    match notes.get(&id) {
        Some((owner, _)) if *owner == me => {
            notes.remove(&id);
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::NOT_FOUND,
    }
}

async fn members() -> Json<Value> {
    Json(Value::Array(
        USERS
            .iter()
            .map(|u| json!({"username": u.0, "display_name": format!("{} of {}", u.0, u.1)}))
            .collect(),
    ))
}

async fn debug(State(app): State<App>) -> Result<Json<Value>, StatusCode> {
    if !app.vulnerable {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(Json(Value::Array(
        USERS
            .iter()
            .map(|u| json!({"username": u.0, "password": u.2, "api_key": u.3}))
            .collect(),
    )))
}

/// The campaign against the server in one mode, its exchanges recorded (for the HAR), and the
/// tokens its identities sent.
async fn campaign(vulnerable: bool) -> (CampaignResult, Vec<String>) {
    let app = App {
        vulnerable,
        notes: Arc::default(),
    };
    let router = Router::new()
        .route("/notes", axum::routing::post(create))
        .route("/notes/{id}", get(read).delete(delete))
        .route("/members", get(members))
        .route("/debug/users", get(debug))
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let tokens: Vec<String> = USERS.iter().map(|u| token(app.key(), u.0)).collect();
    let settings = Settings {
        base_url: base,
        identities: USERS
            .iter()
            .zip(&tokens)
            .map(|(u, t)| IdentitySettings {
                name: u.0.to_string(),
                tenant: u.1.to_string(),
                headers: vec![
                    (
                        "Authorization".to_string(),
                        Secret::new(format!("Bearer {t}")),
                    ),
                    ("X-Api-Key".to_string(), Secret::new(u.3)),
                ],
                ..IdentitySettings::default()
            })
            .collect(),
        ..Settings::for_planning(std::path::Path::new("notes.yaml"))
    };
    settings.validate().unwrap();
    let api = tenantfuzz::spec::load_str(SPEC, "notes.yaml").unwrap();
    let mut campaign = Campaign::with_api(settings, api).unwrap();
    campaign.record_exchanges();
    let result = campaign.run().await.unwrap();
    server.abort();
    (result, tokens)
}

/// Every report format of `result`: (name, text).
fn reports(result: &CampaignResult) -> Vec<(String, String)> {
    use tenantfuzz::report;
    let mut out = vec![
        ("json".to_string(), report::json::render(result)),
        ("sarif".into(), report::sarif::render(result, "notes.yaml")),
        ("junit".into(), report::junit::render(result)),
        ("markdown".into(), report::markdown::render(result)),
        ("har".into(), report::har::render(result)),
    ];
    for f in &result.findings {
        out.push((
            report::curl::file_name(f),
            report::curl::script(f, &result.marker_prefix, &result.base_url),
        ));
        out.push((
            report::hurl::file_name(f),
            report::hurl::file(f, &result.marker_prefix, &result.base_url),
        ));
    }
    out
}

fn confirmed(result: &CampaignResult, kind: Kind) -> Vec<(String, String, String, String)> {
    result
        .findings
        .iter()
        .filter(|f| f.status == Status::Confirmed && f.kind == kind)
        .map(|f| {
            (
                f.operation.path.clone(),
                f.attacker.clone(),
                f.victim.clone(),
                f.evidence.clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_and_exposed_secrets_are_found_and_nothing_on_the_secure_server() {
    let (vulnerable, tokens) = campaign(true).await;
    let forged = confirmed(&vulnerable, Kind::TokenForgery);
    // Another tenant's identity forges a token for the victim and reads its note.
    assert!(
        forged
            .iter()
            .any(|(p, a, v, e)| p == "/notes/{id}" && a != v && e.contains("alg none")),
        "{forged:#?}"
    );
    // The caller's own token tampered with (stripped, or expired under the guessed key) works.
    assert!(forged.iter().any(|(_, a, v, _)| a == v), "{forged:#?}");
    let exposed = confirmed(&vulnerable, Kind::CredentialExposure);
    assert!(
        exposed.iter().any(|(p, a, _, e)| p == "/debug/users"
            && a == "anonymous"
            && e.contains("x-api-key header")),
        "{exposed:#?}"
    );
    // The public member list (display names) is no finding of any kind.
    assert!(
        vulnerable
            .findings
            .iter()
            .all(|f| f.operation.path != "/members"),
        "{:#?}",
        vulnerable.findings
    );
    // Nothing of the tokens or API keys in any report, nor a token's payload or signature.
    let mut secrets: Vec<String> = Vec::new();
    for t in &tokens {
        secrets.push(t.clone());
        secrets.extend(t.split('.').skip(1).map(str::to_string));
    }
    secrets.extend(USERS.iter().map(|u| u.3.to_string()));
    let written = reports(&vulnerable);
    assert!(written.len() > 5 + 2, "scripts were written too");
    assert!(
        written
            .iter()
            .any(|(_, text)| text.contains("/debug/users")),
        "the HAR and the reports show the debug route's answer"
    );
    for (name, text) in &written {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{name} leaks a secret");
        }
    }
    let (secure, _) = campaign(false).await;
    assert!(secure.findings.is_empty(), "{:#?}", secure.findings);
    assert!(
        secure
            .coverage
            .iter()
            .any(|c| c.path == "/notes/{id}" && c.checks.contains(&Kind::TokenForgery)),
        "the forgeries were tried: {:?}",
        secure.coverage
    );
}
