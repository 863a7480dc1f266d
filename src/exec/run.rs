//! Executing scenarios against the target: resolving symbolic values, sending each step as its
//! identity, recording exchanges, and taking created ids from responses.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::config::Secret;
use crate::exchange::{Exchange, Execution, StepRecord};
use crate::finding::Capture;
use crate::marker::Markers;
use crate::model::{ResourceModel, Slot};
use crate::scenario::{Expr, MarkerFormat, Scenario, Step, StepRole};
use crate::spec::{Api, Method};

/// The most a response body is read; the rest is cut.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Ids each identity owned before the campaign: (identity, resource) -> ids.
pub type Discovered = BTreeMap<(usize, usize), Vec<Value>>;

/// Where requests go and who sends them.
pub struct Target {
    client: reqwest::Client,
    base: String,
    /// Per identity (the last is anonymous): the headers it sends. Values are secrets.
    credentials: Vec<Vec<(HeaderName, HeaderValue)>>,
    requests: AtomicU64,
    retries: u32,
    /// With a rate limit: the gap between requests, and when the next one may go.
    pacing: Option<(Duration, tokio::sync::Mutex<Instant>)>,
    /// Identity names in identity order, for the recording.
    names: Vec<String>,
    /// Every exchange sent, when recording was asked for (`--har`); `None` costs nothing.
    recorder: Option<std::sync::Mutex<Vec<crate::exchange::Recorded>>>,
}

/// Why a target could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("identity '{identity}': header '{header}' is not a valid HTTP header name")]
    HeaderName { identity: String, header: String },
    #[error("identity '{identity}': the value of header '{header}' is not valid in HTTP")]
    HeaderValue { identity: String, header: String },
    #[error("failed to build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

impl Target {
    /// A target at `base_url`; `identities` are (name, headers) in identity order, the anonymous
    /// one last with no headers.
    pub fn new(
        base_url: &str,
        identities: &[(String, Vec<(String, Secret)>)],
        timeout: Duration,
    ) -> Result<Target, TargetError> {
        let mut credentials = Vec::new();
        for (name, headers) in identities {
            let mut list = Vec::new();
            for (header, value) in headers {
                let hn = HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
                    TargetError::HeaderName {
                        identity: name.clone(),
                        header: header.clone(),
                    }
                })?;
                let mut hv = HeaderValue::from_str(value.expose()).map_err(|_| {
                    TargetError::HeaderValue {
                        identity: name.clone(),
                        header: header.clone(),
                    }
                })?;
                hv.set_sensitive(true);
                list.push((hn, hv));
            }
            credentials.push(list);
        }
        let client = super::client::client_with_timeout(timeout)?;
        Ok(Target {
            client,
            base: base_url.trim_end_matches('/').to_string(),
            credentials,
            requests: AtomicU64::new(0),
            retries: 3,
            pacing: None,
            names: identities.iter().map(|(n, _)| n.clone()).collect(),
            recorder: None,
        })
    }

    /// Keeps a copy of every exchange sent from now on (see [`Target::take_recorded`]).
    pub(crate) fn record(&mut self) {
        self.recorder = Some(Default::default());
    }

    /// The exchanges recorded so far, in the order they finished; empty without [`Target::record`].
    pub(crate) fn take_recorded(&self) -> Vec<crate::exchange::Recorded> {
        self.recorder
            .as_ref()
            .map(|r| std::mem::take(&mut *r.lock().unwrap_or_else(|e| e.into_inner())))
            .unwrap_or_default()
    }

    /// Sends at most `per_second` requests per second, over the whole run and every task.
    pub fn limit_rate(&mut self, per_second: f64) {
        if per_second > 0.0 && per_second.is_finite() {
            let gap = Duration::from_secs_f64(1.0 / per_second);
            self.pacing = Some((gap, tokio::sync::Mutex::new(Instant::now())));
        }
    }

    /// Whether `url` lies under the base URL: same scheme, host and port, and below its path.
    /// Nothing is ever sent anywhere else (servers in a spec are never followed).
    pub fn in_scope(&self, url: &str) -> bool {
        url.strip_prefix(&self.base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
    }

    /// Requests sent so far (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends one request as `identity` and records it. Transport errors, 429 and 503 are retried
    /// a bounded number of times; the last attempt is what is recorded.
    pub async fn send(
        &self,
        identity: usize,
        method: Method,
        url: &str,
        headers: &[(String, String)],
        body: Option<&Value>,
        form: bool,
    ) -> Exchange {
        let mut attempt = 0;
        // Idempotent methods may be repeated after a server error; a POST or PATCH is repeated
        // only when the server said to come back (429, 503) or nothing came back at all.
        let idempotent = matches!(
            method,
            Method::Get | Method::Head | Method::Options | Method::Put | Method::Delete
        );
        loop {
            let exchange = self
                .send_once(identity, method, url, headers, body, form)
                .await;
            if exchange
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("refused"))
            {
                return exchange;
            }
            let retry_after = match exchange.status {
                None => Some(Duration::from_millis(100 << attempt)),
                Some(500) | Some(502) | Some(504) if idempotent => {
                    Some(Duration::from_millis(100 << attempt))
                }
                Some(_) if exchange.error.is_some() && idempotent => {
                    Some(Duration::from_millis(100 << attempt))
                }
                Some(429) | Some(503) => Some(
                    exchange
                        .response_header("retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs)
                        .unwrap_or(Duration::from_millis(200 << attempt))
                        .min(Duration::from_secs(5)),
                ),
                _ => None,
            };
            match retry_after {
                Some(wait) if attempt < self.retries => {
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                _ => return exchange,
            }
        }
    }

    async fn send_once(
        &self,
        identity: usize,
        method: Method,
        url: &str,
        headers: &[(String, String)],
        body: Option<&Value>,
        form: bool,
    ) -> Exchange {
        if !self.in_scope(url) {
            tracing::warn!(url, "refused: outside the configured base URL");
            return Exchange {
                method: method.as_str().to_string(),
                url: url.to_string(),
                request_headers: Vec::new(),
                request_body: body.cloned(),
                status: None,
                response_headers: Vec::new(),
                response_body: None,
                error: Some("refused: the URL is outside the configured base URL".into()),
                duration_ms: 0,
            };
        }
        if let Some((gap, next)) = &self.pacing {
            let slot = {
                let mut next = next.lock().await;
                let slot = (*next).max(Instant::now());
                *next = slot + *gap;
                slot
            };
            tokio::time::sleep_until(slot.into()).await;
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let started_at = self.recorder.as_ref().map(|_| std::time::SystemTime::now());
        let mut request_headers: Vec<(String, String)> = Vec::new();
        let mut map = HeaderMap::new();
        if let Some(creds) = self.credentials.get(identity) {
            for (name, value) in creds {
                map.insert(name.clone(), value.clone());
                request_headers.push((name.as_str().to_string(), "***".to_string()));
            }
        }
        for (name, value) in headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                map.insert(n, v);
                request_headers.push((name.clone(), value.clone()));
            }
        }
        let method_value =
            reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut builder = self.client.request(method_value, url).headers(map);
        if let Some(body) = body {
            builder = if form {
                builder.form(&flatten_form(body))
            } else {
                builder.json(body)
            };
        }
        let mut exchange = Exchange {
            method: method.as_str().to_string(),
            url: url.to_string(),
            request_headers,
            request_body: body.cloned(),
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            error: None,
            duration_ms: 0,
        };
        match builder.send().await {
            Ok(response) => {
                exchange.status = Some(response.status().as_u16());
                exchange.response_headers = response
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        let value = if is_secret_header(k.as_str()) {
                            "***".to_string()
                        } else {
                            String::from_utf8_lossy(v.as_bytes()).into_owned()
                        };
                        (k.as_str().to_string(), value)
                    })
                    .collect();
                match read_body(response).await {
                    Ok(bytes) if bytes.is_empty() => {}
                    Ok(bytes) => {
                        let says_json = exchange
                            .response_header("content-type")
                            .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
                        exchange.response_body = Some(match serde_json::from_slice(&bytes) {
                            Ok(v) => v,
                            Err(e) => {
                                // A JSON answer that does not parse was cut short or garbled:
                                // what it lacks proves nothing.
                                if says_json {
                                    exchange.error =
                                        Some(format!("the JSON body does not parse: {e}"));
                                }
                                Value::String(String::from_utf8_lossy(&bytes).into_owned())
                            }
                        });
                    }
                    Err(e) => exchange.error = Some(format!("failed to read the body: {e}")),
                }
            }
            Err(e) => exchange.error = Some(describe(&e)),
        }
        exchange.duration_ms = started.elapsed().as_millis() as u64;
        tracing::debug!(
            identity,
            method = %exchange.method,
            url = %exchange.url,
            status = ?exchange.status,
            error = ?exchange.error,
            "exchange"
        );
        tracing::trace!(request = ?exchange.request_body, response = ?exchange.response_body, "bodies");
        if let (Some(recorder), Some(at)) = (&self.recorder, started_at) {
            let record = crate::exchange::Recorded {
                identity: self.names.get(identity).cloned().unwrap_or_default(),
                started_unix_ms: at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0),
                exchange: exchange.clone(),
            };
            recorder
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(record);
        }
        exchange
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    Ok(out)
}

/// A transport error in words, without the URL's credentials (there are none in URLs we build).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        msg
    }
}

/// Response headers that carry credentials.
fn is_secret_header(name: &str) -> bool {
    crate::exchange::is_sensitive_header(name)
}

fn flatten_form(body: &Value) -> Vec<(String, String)> {
    match body {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), value_text(v)))
            .collect(),
        _ => Vec::new(),
    }
}

/// A value as it goes into a path, query or header.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// What an execution needs besides the target.
pub struct Runtime<'a> {
    pub api: &'a Api,
    pub model: &'a ResourceModel,
    pub markers: &'a Markers,
    pub discovered: &'a Discovered,
    pub target: &'a Target,
    /// Everything any execution created, in creation order, for the cleanup.
    pub created: std::sync::Mutex<Vec<Created>>,
}

/// A resource some step created: who, through which operation, its id, and the values the
/// request carried (the ids of its parents among them).
#[derive(Debug, Clone)]
pub struct Created {
    pub owner: usize,
    pub op: usize,
    pub id: Value,
    pub args: Vec<(Slot, Value)>,
}

impl Runtime<'_> {
    /// Executes a scenario step by step.
    pub async fn execute(&self, scenario: &Scenario) -> Execution {
        let mut exec = Execution::default();
        for step in &scenario.steps {
            let record = self.execute_step(step, &exec).await;
            exec.steps.push(record);
        }
        exec
    }

    async fn execute_step(&self, step: &Step, so_far: &Execution) -> StepRecord {
        let mut record = StepRecord::default();
        let op = &self.api.operations[step.op];
        let mut path = op.path.clone();
        let mut query: Vec<(String, String)> = Vec::new();
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut body: Option<Value> = None;
        let mut sent: Vec<(Slot, Value)> = Vec::new();
        for (slot, expr) in &step.args {
            let value = match self.resolve(expr, so_far) {
                Ok((v, capture)) => {
                    if let Some((from_step, pointer)) = capture {
                        record.captures.push(Capture {
                            value: value_text(&v),
                            from_step,
                            pointer,
                        });
                    }
                    v
                }
                Err(reason) => {
                    record.skipped = Some(reason);
                    return record;
                }
            };
            sent.push((slot.clone(), value.clone()));
            match slot {
                Slot::Path(name) => {
                    let encoded = encode_segment(&value_text(&value));
                    path = path.replace(&format!("{{{name}}}"), &encoded);
                }
                Slot::Query(name) => query.push((name.clone(), value_text(&value))),
                Slot::Header(name) => headers.push((name.clone(), value_text(&value))),
                Slot::Body(pointer) => set_pointer(body.get_or_insert(Value::Null), pointer, value),
            }
        }
        if body.is_none() && op.body.as_ref().is_some_and(|b| b.required) {
            body = Some(Value::Object(serde_json::Map::new()));
        }
        let mut url = format!("{}{}", self.target.base, path);
        if !query.is_empty() {
            let encoded: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query.iter())
                .finish();
            url.push('?');
            url.push_str(&encoded);
        }
        let form = op.body.as_ref().is_some_and(|b| {
            b.content_type
                .starts_with("application/x-www-form-urlencoded")
        });
        let exchange = self
            .target
            .send(step.actor, op.method, &url, &headers, body.as_ref(), form)
            .await;
        record.sent_markers = self
            .markers
            .find_all(&exchange.request_text())
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        let creates = matches!(step.role, StepRole::Setup { .. })
            || matches!(
                step.role,
                StepRole::Attack {
                    effect: crate::scenario::Effect::Create,
                    ..
                }
            );
        if creates && exchange.is_success() {
            if let Some((id, from)) = self.created_id(step.op, &exchange) {
                if let Ok(mut created) = self.created.lock() {
                    created.push(Created {
                        owner: step.actor,
                        op: step.op,
                        id: id.clone(),
                        args: sent,
                    });
                }
                record.created = Some(id);
                record.created_from = Some(from);
            }
        }
        record.exchange = Some(exchange);
        record
    }

    /// Resolves an expression; the capture says which earlier response it came from.
    fn resolve(
        &self,
        expr: &Expr,
        so_far: &Execution,
    ) -> Result<(Value, Option<(usize, String)>), String> {
        match expr {
            Expr::Lit(v) => Ok((v.clone(), None)),
            Expr::Created { step } => {
                let record = so_far.steps.get(*step);
                match record.and_then(|r| r.created.clone()) {
                    Some(id) => Ok((
                        id,
                        Some((
                            *step,
                            record
                                .and_then(|r| r.created_from.clone())
                                .unwrap_or_default(),
                        )),
                    )),
                    None => Err(format!("step {} created nothing", step + 1)),
                }
            }
            Expr::Discovered { identity, resource } => self
                .discovered
                .get(&(*identity, *resource))
                .and_then(|ids| ids.first())
                .map(|v| (v.clone(), None))
                .ok_or_else(|| "no pre-existing resource was discovered".to_string()),
            Expr::Marker { owner, format } => {
                let m = self.markers.fresh(*owner);
                let text = match format {
                    MarkerFormat::Plain => m,
                    MarkerFormat::Email => format!("{m}@example.com"),
                    MarkerFormat::Uri => format!("https://example.com/{m}"),
                };
                Ok((Value::String(text), None))
            }
            Expr::Stem { owner } => Ok((Value::String(self.markers.stem(*owner)), None)),
        }
    }

    /// The id a create returned: at the producer's pointer, else `/id`, else the `Location`.
    fn created_id(&self, op: usize, exchange: &Exchange) -> Option<(Value, String)> {
        let producer = self.model.producers.iter().find(|p| p.op == op);
        let body = exchange.response_body.as_ref();
        let pointers = producer
            .and_then(|p| p.id_pointer.clone())
            .into_iter()
            .chain(["/id".to_string()]);
        for pointer in pointers {
            if let Some(v) = body.and_then(|b| b.pointer(&pointer)) {
                if v.is_string() || v.is_number() {
                    return Some((v.clone(), pointer));
                }
            }
        }
        let location = exchange.response_header("location")?;
        let last = location.trim_end_matches('/').rsplit('/').next()?;
        let last = last.split(['?', '#']).next()?;
        (!last.is_empty()).then(|| {
            (
                Value::String(last.to_string()),
                "header:Location".to_string(),
            )
        })
    }
}

/// Percent-encodes a path segment.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sets `value` at a JSON pointer, creating objects (or arrays for numeric tokens) on the way.
pub(crate) fn set_pointer(root: &mut Value, pointer: &str, value: Value) {
    if pointer.is_empty() {
        *root = value;
        return;
    }
    let tokens: Vec<String> = pointer
        .trim_start_matches('/')
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut current = root;
    for (i, token) in tokens.iter().enumerate() {
        let last = i + 1 == tokens.len();
        let index = token.parse::<usize>().ok();
        if current.is_null() {
            *current = if index.is_some() {
                Value::Array(Vec::new())
            } else {
                Value::Object(serde_json::Map::new())
            };
        }
        let slot = match (current, index) {
            (Value::Array(items), Some(n)) => {
                while items.len() <= n {
                    items.push(Value::Null);
                }
                &mut items[n]
            }
            (Value::Object(map), _) => map.entry(token.clone()).or_insert(Value::Null),
            _ => return,
        };
        if last {
            *slot = value;
            return;
        }
        current = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_build_nested_bodies() {
        let mut v = Value::Null;
        set_pointer(&mut v, "/a/b", json!(1));
        set_pointer(&mut v, "/ids/0", json!("x"));
        set_pointer(&mut v, "/a/c~1d", json!(true));
        assert_eq!(v, json!({"a": {"b": 1, "c/d": true}, "ids": ["x"]}));
    }

    #[test]
    fn only_urls_under_the_base_are_in_scope() {
        let t =
            Target::new("http://127.0.0.1:8080/api/", &[], Duration::from_secs(1)).expect("target");
        assert!(t.in_scope("http://127.0.0.1:8080/api/documents/1"));
        assert!(t.in_scope("http://127.0.0.1:8080/api?x=1"));
        assert!(!t.in_scope("http://127.0.0.1:8080/apix/documents"));
        assert!(!t.in_scope("http://127.0.0.1:8081/api/documents"));
        assert!(!t.in_scope("https://127.0.0.1:8080/api/documents"));
        assert!(!t.in_scope("http://127.0.0.1:8080.evil.test/api/"));
    }

    #[tokio::test]
    async fn out_of_scope_requests_are_refused_without_sending() {
        let t = Target::new("http://127.0.0.1:9/api", &[], Duration::from_secs(1)).expect("target");
        let e = t
            .send(0, Method::Get, "http://192.0.2.1/secret", &[], None, false)
            .await;
        assert_eq!(t.requests(), 0);
        assert!(e.error.unwrap_or_default().starts_with("refused"));
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(encode_segment("ws_12-x.y~"), "ws_12-x.y~");
    }
}
