//! Shared helpers for the demo API tests: start a demo server, log in as a seeded account, and
//! send requests that come back as `(status, JSON body)`.
#![allow(clippy::unwrap_used, dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tenantfuzz::demo::{ACCOUNTS, DemoConfig, DemoServer, Mode, webhook_signature};
use uuid::Uuid;

/// The operations (method, path) a campaign confirmed findings on, sorted, each once.
pub fn confirmed_operations(result: &tenantfuzz::outcome::CampaignResult) -> Vec<(String, String)> {
    let mut out: Vec<_> = result
        .findings
        .iter()
        .filter(|f| f.status == tenantfuzz::finding::Status::Confirmed)
        .map(|f| (f.operation.method.clone(), f.operation.path.clone()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A unique marker to plant in everything a victim creates.
pub fn marker(label: &str) -> String {
    format!("{label}-{}", Uuid::new_v4())
}

/// Whether `needle` occurs anywhere in the serialized `value`.
pub fn leaks(value: &Value, needle: &str) -> bool {
    value.to_string().contains(needle)
}

/// Seconds since the Unix epoch (for webhook timestamps).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A running demo server plus the HTTP client that talks to it.
pub struct Demo {
    server: DemoServer,
    http: Client,
}

impl Demo {
    /// A demo in `mode` with the default configuration.
    pub async fn start(mode: Mode) -> Demo {
        Demo::with_config(DemoConfig::new(mode)).await
    }

    /// A demo with an explicit configuration.
    pub async fn with_config(config: DemoConfig) -> Demo {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        let server = DemoServer::start(config).await.expect("demo server starts");
        Demo { server, http }
    }

    /// A client that sends no credentials.
    pub fn anon(&self) -> Api {
        self.as_token(None)
    }

    /// A client that sends `token` (or nothing) as its bearer token.
    pub fn as_token(&self, token: Option<&str>) -> Api {
        Api {
            http: self.http.clone(),
            base: self.server.base_url(),
            token: token.map(str::to_string),
        }
    }

    /// Logs in as the seeded account `handle` (alice, bob, carol, root).
    pub async fn login(&self, handle: &str) -> Api {
        let (status, body) = self.try_login(handle).await;
        assert_eq!(status, StatusCode::OK, "login as {handle}: {body}");
        self.as_token(Some(body["token"].as_str().expect("token")))
    }

    /// `POST /auth/login` with the seeded credentials of `handle`.
    pub async fn try_login(&self, handle: &str) -> (StatusCode, Value) {
        let account = ACCOUNTS
            .iter()
            .find(|a| a.handle == handle)
            .expect("seeded account");
        let login = json!({"email": account.email, "password": account.password});
        self.anon().post("/auth/login", &login).await
    }

    /// `POST /webhooks/billing` with `body`, signed with `(timestamp, secret)` if given.
    pub async fn webhook(&self, body: &str, signing: Option<(u64, &str)>) -> (StatusCode, Value) {
        let headers = signing
            .map(|(ts, secret)| {
                let ts = ts.to_string();
                let sig = webhook_signature(secret, &ts, body.as_bytes());
                vec![("x-webhook-timestamp", ts), ("x-webhook-signature", sig)]
            })
            .unwrap_or_default();
        self.anon()
            .raw(Method::POST, "/webhooks/billing", Some(body), &headers)
            .await
    }

    /// The demo server's base URL.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await.expect("clean shutdown");
    }
}

/// A `credit.granted` webhook event body.
pub fn credit_event(id: &str, workspace_id: &str, amount_cents: i64) -> String {
    json!({"id": id, "type": "credit.granted",
           "data": {"workspaceId": workspace_id, "amountCents": amount_cents}})
    .to_string()
}

/// A client bound to one demo server and (optionally) one bearer token.
pub struct Api {
    http: Client,
    base: String,
    token: Option<String>,
}

impl Api {
    /// Sends a request; the body comes back parsed as JSON (`Null` if empty, a string if not JSON).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, String)],
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let resp = req.send().await.expect("request reaches the demo");
        let status = resp.status();
        let text = resp.text().await.expect("response body");
        let value = match text.as_str() {
            "" => Value::Null,
            _ => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        };
        (status, value)
    }

    async fn json(&self, method: Method, path: &str, body: &Value) -> (StatusCode, Value) {
        self.raw(method, path, Some(&body.to_string()), &[]).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.raw(Method::GET, path, None, &[]).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.raw(Method::DELETE, path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.json(Method::POST, path, body).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.json(Method::PUT, path, body).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.json(Method::PATCH, path, body).await
    }

    /// `GET` that must answer 200; returns the body.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// `POST` that must answer `expected`; returns the body.
    pub async fn post_expect(&self, path: &str, body: &Value, expected: StatusCode) -> Value {
        let (status, answer) = self.post(path, body).await;
        assert_eq!(status, expected, "POST {path} {body}: {answer}");
        answer
    }

    /// The caller's profile (`GET /me`).
    pub async fn me(&self) -> Value {
        self.get_ok("/me").await
    }

    /// The id of the caller's first workspace.
    pub async fn workspace(&self) -> String {
        let me = self.me().await;
        me["workspaces"][0]["id"]
            .as_str()
            .expect("a workspace")
            .to_string()
    }

    /// Creates a project in `ws` whose name and description carry `mark`; returns its id.
    pub async fn project(&self, ws: &str, mark: &str) -> String {
        let body =
            json!({"name": format!("project {mark}"), "description": format!("desc {mark}")});
        let created = self
            .post_expect(
                &format!("/workspaces/{ws}/projects"),
                &body,
                StatusCode::CREATED,
            )
            .await;
        created["id"].as_str().expect("project id").to_string()
    }

    /// Creates a document in `project` with `title` and `body`; returns its integer id.
    pub async fn document(&self, project: &str, title: &str, body: &str, published: bool) -> u64 {
        let input = json!({"title": title, "body": body, "published": published});
        let created = self
            .post_expect(
                &format!("/projects/{project}/documents"),
                &input,
                StatusCode::CREATED,
            )
            .await;
        created["id"].as_u64().expect("document id")
    }

    /// A fresh project in the caller's first workspace with one document; returns both ids.
    pub async fn project_with_document(&self, mark: &str) -> (String, u64) {
        let ws = self.workspace().await;
        let project = self.project(&ws, mark).await;
        let doc = self
            .document(
                &project,
                &format!("title {mark}"),
                &format!("body {mark}"),
                false,
            )
            .await;
        (project, doc)
    }

    /// `creditBalanceCents` of workspace `ws`.
    pub async fn balance(&self, ws: &str) -> i64 {
        self.get_ok(&format!("/workspaces/{ws}")).await["creditBalanceCents"]
            .as_i64()
            .expect("creditBalanceCents")
    }
}

/// `vulnerable` in the vulnerable mode, `secure` in the secure one.
pub fn by_mode<T>(mode: Mode, vulnerable: T, secure: T) -> T {
    match mode {
        Mode::Vulnerable => vulnerable,
        Mode::Secure => secure,
    }
}

/// Runs `scenario` against a vulnerable and a secure demo server, concurrently.
pub async fn both_modes<F, Fut>(scenario: F)
where
    F: Fn(Mode) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    tokio::join!(scenario(Mode::Vulnerable), scenario(Mode::Secure));
}

pub mod accounts;
pub mod cmd;
pub mod fixture;
pub mod hurl_runner;
pub mod inventory;
pub mod keyed;
pub mod logins;
pub mod notes;
pub mod recorder;
pub mod sarif;
pub mod truth;
