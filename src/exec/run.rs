//! Executing scenarios against the target: resolving symbolic values, sending each step as its
//! identity, recording exchanges, and taking created ids from responses.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::session::{Session, Verdict, Wire};
use crate::config::Secret;
use crate::exchange::{Exchange, Execution, StepRecord, value_text};
use crate::finding::Capture;
use crate::identity::{Credentials, LoginFlow};
use crate::marker::Markers;
use crate::model::{ResourceModel, Slot};
use crate::scenario::{Expr, MarkerFormat, Scenario, Step, StepRole};
use crate::spec::{Api, Method};

/// The most a response body is read; the rest is cut.
pub(super) const MAX_BODY: usize = 4 * 1024 * 1024;

/// Requests in a row that got no answer at all (after their retries) before the target is
/// taken as lost: the campaign then stops starting new work and reports what it has.
const LOST_AFTER: u64 = 16;

/// Ids each identity owned before the campaign: (identity, resource) -> ids.
pub type Discovered = BTreeMap<(usize, usize), Vec<Value>>;

/// Where requests go and who sends them.
pub struct Target {
    pub(super) client: reqwest::Client,
    /// What the campaign's requests go through, unless the environment sets a proxy for the
    /// target (then `client` sends them).
    direct: Option<super::client::Direct>,
    pub(super) base: String,
    /// The base URL as the URL parser normalizes it (no trailing `/`): what scope compares to.
    scope: String,
    /// The base URL's origin as its text starts (`http://127.0.0.1:8080`) and parsed: a URL that
    /// starts with it is parsed from its path on, without parsing the host again.
    origin: Option<(String, url::Url)>,
    /// Origins (`scheme://host[:port]`, canonical) requests may go to besides the base URL's.
    allowed: Vec<String>,
    /// Per identity (the last is anonymous): its session, whose credentials are secrets.
    pub(super) sessions: Vec<Session>,
    pub(super) requests: AtomicU64,
    /// Requests in a row that got no answer (after retries), and the last one's error.
    unanswered: AtomicU64,
    last_unanswered: std::sync::Mutex<String>,
    retries: u32,
    /// With a rate limit: the gap between requests, and when the next one may go.
    pacing: Option<(Duration, tokio::sync::Mutex<Instant>)>,
    /// Why a session was lost during the run.
    pub(super) lost: std::sync::Mutex<Option<String>>,
    /// Set when a session is lost.
    pub(super) on_loss: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Sessions renewed by logging in again after a 401 or a failed periodic check.
    pub(super) renewals: AtomicU64,
    /// How often a session proves itself with its positive control (none: only on a 401).
    pub(super) check_every: Option<Duration>,
    /// Identity names in identity order, for the recording.
    names: Vec<String>,
    /// Every exchange sent, when recording was asked for (`--har`); `None` costs nothing.
    pub(super) recorder: Option<std::sync::Mutex<Vec<crate::exchange::Recorded>>>,
}

/// An identity as the target sends it: its name, its configured credentials, and the login
/// flow that renews them, if any.
#[derive(Debug, Clone)]
pub struct Sender {
    pub name: String,
    pub credentials: Credentials,
    pub login: Option<LoginFlow>,
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
    #[error("{0}")]
    Credentials(String),
}

impl Target {
    /// A target at `base_url`; `identities` are (name, headers) in identity order, the anonymous
    /// one last with no headers.
    pub fn new(
        base_url: &str,
        identities: &[(String, Vec<(String, Secret)>)],
        timeout: Duration,
    ) -> Result<Target, TargetError> {
        for (name, headers) in identities {
            for (header, value) in headers {
                if HeaderName::from_bytes(header.as_bytes()).is_err() {
                    return Err(TargetError::HeaderName {
                        identity: name.clone(),
                        header: header.clone(),
                    });
                }
                if HeaderValue::from_str(value.expose()).is_err() {
                    return Err(TargetError::HeaderValue {
                        identity: name.clone(),
                        header: header.clone(),
                    });
                }
            }
        }
        let senders: Vec<Sender> = identities
            .iter()
            .map(|(name, headers)| Sender {
                name: name.clone(),
                credentials: Credentials {
                    headers: headers.clone(),
                    ..Credentials::default()
                },
                login: None,
            })
            .collect();
        Target::with_senders(base_url, &senders, timeout)
    }

    /// A target at `base_url` for identities with any kind of credentials and login flows, in
    /// identity order, the anonymous one last with nothing.
    pub fn with_senders(
        base_url: &str,
        identities: &[Sender],
        timeout: Duration,
    ) -> Result<Target, TargetError> {
        let mut sessions = Vec::new();
        for s in identities {
            sessions.push(
                Session::new(s.name.clone(), s.credentials.clone(), s.login.clone())
                    .map_err(TargetError::Credentials)?,
            );
        }
        let client = super::client::client_with_timeout(timeout)?;
        let direct = (!super::client::proxied(base_url))
            .then(|| super::client::Direct::new(timeout))
            .flatten();
        let parsed = url::Url::parse(base_url).ok();
        let scope = parsed
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_string())
            .unwrap_or_default();
        // Only when the base's text starts with its origin as the parser writes it (lower case,
        // no default port): then a URL starting with that text has that origin.
        let origin = parsed
            .filter(|u| u.has_host())
            .map(|u| u.origin().ascii_serialization())
            .filter(|o| base_url.starts_with(o.as_str()))
            .and_then(|o| url::Url::parse(&o).ok().map(|u| (o, u)));
        Ok(Target {
            client,
            direct,
            base: base_url.trim_end_matches('/').to_string(),
            scope,
            origin,
            allowed: Vec::new(),
            sessions,
            requests: AtomicU64::new(0),
            unanswered: AtomicU64::new(0),
            last_unanswered: Default::default(),
            retries: 3,
            pacing: None,
            lost: Default::default(),
            on_loss: None,
            renewals: AtomicU64::new(0),
            check_every: None,
            names: identities.iter().map(|s| s.name.clone()).collect(),
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

    /// Also lets requests go to these origins (`https://auth.example.com`), anywhere on them.
    /// Entries that are not an http(s) origin are ignored (the config validates them first).
    pub fn allow_origins(&mut self, origins: &[String]) {
        self.allowed.extend(
            origins
                .iter()
                .filter_map(|o| crate::config::parse_origin(o).ok()),
        );
        // A proxy for any origin: reqwest, which speaks to proxies, sends everything.
        if self.allowed.iter().any(|o| super::client::proxied(o)) {
            self.direct = None;
        }
    }

    /// Whether `url` may be sent to: below the base URL (same scheme, host and port, and under
    /// its path, after `..` and default ports are normalized the way the client will), or on
    /// an allowed origin. Nothing is ever sent anywhere else (servers in a spec, links and
    /// redirects are never followed).
    pub fn in_scope(&self, url: &str) -> bool {
        self.scoped(url).is_some()
    }

    /// The parsed URL when it is in scope (see [`Target::in_scope`]), parsed once for both the
    /// check and the client.
    fn scoped(&self, url: &str) -> Option<url::Url> {
        let parsed = self.parse(url)?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return None;
        }
        let under_base = !self.scope.is_empty()
            && parsed
                .as_str()
                .strip_prefix(&self.scope)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']));
        (under_base
            || (!self.allowed.is_empty()
                && self
                    .allowed
                    .contains(&parsed.origin().ascii_serialization())))
        .then_some(parsed)
    }

    /// Parses a URL. One on the base's origin is parsed as a path (and query) against it, which
    /// gives the same URL as parsing it whole at a third of the cost (the host is not parsed
    /// again); any path that the parser could take for another host (`//`, `/\\`) or that
    /// holds characters it drops (tab, CR, LF) is parsed whole.
    fn parse(&self, url: &str) -> Option<url::Url> {
        if let Some((origin, base)) = &self.origin {
            if let Some(rest) = url.strip_prefix(origin.as_str()) {
                let plain = rest.starts_with('/')
                    && !rest[1..].starts_with(['/', '\\'])
                    && !rest.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r'));
                if plain {
                    return url::Url::options().base_url(Some(base)).parse(rest).ok();
                }
            }
        }
        url::Url::parse(url).ok()
    }

    /// Why the target is taken as lost, once the last requests in a row all got no answer.
    /// Any answer (whatever its status) clears it.
    pub fn lost(&self) -> Option<String> {
        let n = self.unanswered.load(Ordering::Relaxed);
        (n >= LOST_AFTER).then(|| {
            let last = self
                .last_unanswered
                .lock()
                .map(|l| l.clone())
                .unwrap_or_default();
            format!(
                "the target at {} stopped answering: the last {n} requests got no answer ({last})",
                self.base
            )
        })
    }

    /// Records whether a request (after its retries) got an answer.
    fn note_answer(&self, exchange: &Exchange) {
        if exchange.status.is_some() {
            self.unanswered.store(0, Ordering::Relaxed);
        } else if !exchange
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("refused"))
        {
            if let Ok(mut last) = self.last_unanswered.lock() {
                *last = format!(
                    "{} {}: {}",
                    exchange.method,
                    exchange.url,
                    exchange.error.as_deref().unwrap_or("no answer")
                );
            }
            self.unanswered.fetch_add(1, Ordering::Relaxed);
        }
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
    /// A 401 to an identity whose session worked is checked with its positive control and, when
    /// the session expired, answered by logging in again and sending once more.
    pub async fn send(
        &self,
        identity: usize,
        method: Method,
        url: &str,
        headers: &[(String, String)],
        body: Option<&Value>,
        form: bool,
    ) -> Exchange {
        let Some(session) = self.sessions.get(identity) else {
            let none = Wire::default();
            return self
                .send_with(identity, &none, method, url, headers, body, form)
                .await;
        };
        if let Some(every) = self.check_every {
            if session.check_due(every) {
                self.check_periodically(identity).await;
            }
        }
        let mut renewed = false;
        loop {
            if session.is_lost() {
                return refused(
                    method,
                    url,
                    body,
                    format!("refused: the session of '{}' is lost", session.name),
                );
            }
            let (wire, generation) = session.current();
            let exchange = self
                .send_with(identity, &wire, method, url, headers, body, form)
                .await;
            if exchange.status == Some(401) && !renewed && session.renewable() {
                match self.on_unauthorized(identity, generation).await {
                    Verdict::Renewed => {
                        renewed = true;
                        continue;
                    }
                    Verdict::Genuine => return exchange,
                    Verdict::Lost => {
                        let mut exchange = exchange;
                        exchange.error = Some(format!("the session of '{}' is lost", session.name));
                        return exchange;
                    }
                }
            }
            return exchange;
        }
    }

    /// Waits for the rate limit's next slot.
    pub(super) async fn pace(&self) {
        if let Some((gap, next)) = &self.pacing {
            let slot = {
                let mut next = next.lock().await;
                let slot = (*next).max(Instant::now());
                *next = slot + *gap;
                slot
            };
            tokio::time::sleep_until(slot.into()).await;
        }
    }

    /// Sends with the given credentials, retrying transport errors, 429 and 503.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn send_with(
        &self,
        identity: usize,
        wire: &Wire,
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
        // A lost target is not waited for: one attempt each, until something answers again.
        let retries = if self.lost().is_some() {
            0
        } else {
            self.retries
        };
        loop {
            let exchange = self
                .send_once(identity, wire, method, url, headers, body, form)
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
                Some(wait) if attempt < retries => {
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    self.note_answer(&exchange);
                    return exchange;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_once(
        &self,
        identity: usize,
        wire: &Wire,
        method: Method,
        url: &str,
        headers: &[(String, String)],
        body: Option<&Value>,
        form: bool,
    ) -> Exchange {
        let Some(parsed) = self.scoped(url) else {
            tracing::warn!(
                url,
                base = %self.base,
                "refused: outside the configured base URL and allowed origins"
            );
            return refused(
                method,
                url,
                body,
                "refused: the URL is outside the configured base URL and allowed origins".into(),
            );
        };
        self.pace().await;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let started_at = self.recorder.as_ref().map(|_| std::time::SystemTime::now());
        let mut request_headers: Vec<(String, String)> = Vec::new();
        let mut map = HeaderMap::new();
        for (name, value) in wire.headers(method) {
            map.insert(name.clone(), value.clone());
            request_headers.push((name.as_str().to_string(), "***".to_string()));
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
        // Query credentials go on the wire; the record shows `***` in their place.
        let method_value =
            reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
        let (sent, url) = if wire.query.is_empty() {
            // The URL parsed for the scope check goes to the client as it is.
            (parsed, std::borrow::Cow::Borrowed(url))
        } else {
            let (sent_url, shown) = with_query_credentials(url, &wire.query);
            match url::Url::parse(&sent_url) {
                Ok(sent) => (sent, std::borrow::Cow::Owned(shown)),
                Err(_) => {
                    return refused(
                        method,
                        &shown,
                        body,
                        "refused: the URL with the query credentials does not parse".into(),
                    );
                }
            }
        };
        let url = url.as_ref();
        // The body as reqwest's `json` and `form` write it, with their content type unless the
        // step sets one.
        let payload = body.map(|body| {
            let (bytes, content_type) = if form {
                let mut pairs = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in flatten_form(body) {
                    pairs.append_pair(&k, &v);
                }
                (
                    pairs.finish().into_bytes(),
                    "application/x-www-form-urlencoded",
                )
            } else {
                (
                    serde_json::to_vec(body).unwrap_or_default(),
                    "application/json",
                )
            };
            map.entry(reqwest::header::CONTENT_TYPE)
                .or_insert(HeaderValue::from_static(content_type));
            bytes
        });
        let mut exchange = Exchange {
            method: method.as_str().to_string(),
            url: url.to_string(),
            request_headers,
            request_body: body.cloned(),
            status: None,
            response_headers: Vec::new(),
            response_body: Default::default(),
            error: None,
            duration_ms: 0,
        };
        let answer = match &self.direct {
            Some(direct) => {
                direct
                    .send(
                        method_value,
                        sent.as_str(),
                        map,
                        payload.unwrap_or_default(),
                        MAX_BODY,
                    )
                    .await
            }
            None => {
                let mut builder = self.client.request(method_value, sent).headers(map);
                if let Some(payload) = payload {
                    builder = builder.body(payload);
                }
                send_reqwest(builder).await
            }
        };
        match answer {
            Ok((status, headers, read)) => {
                exchange.status = Some(status);
                exchange.response_headers = headers
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
                match read {
                    Ok(bytes) if bytes.is_empty() => {}
                    Ok(bytes) => {
                        let says_json = exchange
                            .response_header("content-type")
                            .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
                        let text = String::from_utf8(bytes)
                            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                        // A JSON answer that does not parse was cut short or garbled: what it
                        // lacks proves nothing. Checked without building it: the JSON is parsed
                        // only when something asks for it.
                        if says_json && !is_whole_json(&text) {
                            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
                                exchange.error = Some(format!("the JSON body does not parse: {e}"));
                            }
                        }
                        exchange.response_body = crate::exchange::Body::from_text(text);
                    }
                    Err(e) => exchange.error = Some(format!("failed to read the body: {e}")),
                }
            }
            Err(e) => exchange.error = Some(e),
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

/// Whether `text` is one whole JSON object or array: every string closed, every bracket closed
/// by its match, nothing but whitespace after. A body cut short fails this, at about a third of
/// the cost of parsing it (numbers and escapes are not decoded); `false` only says "parse it to
/// know" (a bare scalar, or a body that is not whole).
fn is_whole_json(text: &str) -> bool {
    let b = text.as_bytes();
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    if !matches!(b.get(start), Some(b'{' | b'[')) {
        return false;
    }
    let mut open: Vec<u8> = Vec::new();
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'"' => {
                // To the closing quote, past escaped characters.
                let mut j = i + 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', b.get(j..).unwrap_or_default()) {
                        None => return false,
                        Some(k) if b[j + k] == b'\\' => j += k + 2,
                        Some(k) => {
                            i = j + k;
                            break;
                        }
                    }
                }
            }
            c @ (b'{' | b'[') => open.push(c),
            c @ (b'}' | b']') => {
                let opener = if c == b'}' { b'{' } else { b'[' };
                if open.pop() != Some(opener) {
                    return false;
                }
                if open.is_empty() {
                    return b[i + 1..].iter().all(|c| c.is_ascii_whitespace());
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// An exchange for a request that was never sent.
fn refused(method: Method, url: &str, body: Option<&Value>, reason: String) -> Exchange {
    Exchange {
        method: method.as_str().to_string(),
        url: url.to_string(),
        request_headers: Vec::new(),
        request_body: body.cloned(),
        status: None,
        response_headers: Vec::new(),
        response_body: Default::default(),
        error: Some(reason),
        duration_ms: 0,
    }
}

/// The URL to send (with the query credentials) and the URL to record (with `***` instead).
fn with_query_credentials(url: &str, query: &[(String, Secret)]) -> (String, String) {
    if query.is_empty() {
        return (url.to_string(), url.to_string());
    }
    let mut sent = url::form_urlencoded::Serializer::new(String::new());
    let mut shown = Vec::new();
    for (name, value) in query {
        sent.append_pair(name, value.expose());
        let name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        shown.push(format!("{name}=***"));
    }
    let joiner = if url.contains('?') { '&' } else { '?' };
    (
        format!("{url}{joiner}{}", sent.finish()),
        format!("{url}{joiner}{}", shown.join("&")),
    )
}

/// Sends through reqwest (a proxy is configured) and reads the answer as [`super::client::Direct`]
/// does. Errors are in words, without the URL (it may carry a query credential).
async fn send_reqwest(builder: reqwest::RequestBuilder) -> Result<super::client::Answer, String> {
    match builder.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = read_body(response)
                .await
                .map_err(|e| describe(&e.without_url()));
            Ok((status, headers, body))
        }
        Err(e) => Err(describe(&e.without_url())),
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

/// A transport error in words; the caller strips the URL first (it may carry a query credential).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        format!("connection failed: {}", super::client::root_cause(e))
    } else {
        super::client::chain(e)
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

/// What an execution needs besides the target.
pub struct Runtime<'a> {
    pub api: &'a Api,
    pub model: &'a ResourceModel,
    pub markers: &'a Markers,
    pub discovered: &'a Discovered,
    pub target: &'a Target,
    /// Webhook receivers and how their events are signed: steps on them are signed correctly
    /// unless the step is a forgery.
    pub webhooks: &'a [(usize, crate::config::WebhookSettings)],
    /// Held while a scenario with webhook events runs: two of them crediting the same account
    /// at once would see each other's effects.
    pub exclusive: Exclusive,
    /// Everything any execution created, in creation order, for the cleanup.
    pub created: std::sync::Mutex<Vec<Created>>,
    /// Where a finished execution hands what it created while the campaign deletes as it goes
    /// (`None`: it stays in `created` for the end).
    pub finished: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Vec<Created>>>>,
    /// One permit per request in flight: the campaign's concurrency. Phases that overlap
    /// (exploration and the confirmation of planned findings) share it instead of each taking
    /// all of it.
    pub slots: crate::exec::Slots,
}

/// Locks for scenarios with webhook events, one per tenant: a webhook event credits its
/// victim's account, so two scenarios on one tenant's account run one at a time, and scenarios
/// on different tenants' accounts run side by side.
#[derive(Debug, Default)]
pub struct Exclusive {
    /// Per identity, the key of its tenant (identities of one tenant share it).
    groups: Vec<usize>,
    locks: std::sync::Mutex<BTreeMap<usize, Arc<tokio::sync::Mutex<()>>>>,
}

impl Exclusive {
    /// Identities with the same tenant share a lock; those without one (anonymous) share
    /// another.
    pub fn by_tenant(tenants: &[Option<String>]) -> Exclusive {
        let groups = tenants
            .iter()
            .map(|t| match t {
                Some(_) => tenants.iter().position(|u| u == t).unwrap_or(usize::MAX),
                None => usize::MAX,
            })
            .collect();
        Exclusive {
            groups,
            locks: Default::default(),
        }
    }

    /// The key of `identity`'s tenant (identities of one tenant share it).
    pub(crate) fn tenant_of(&self, identity: usize) -> usize {
        self.groups.get(identity).copied().unwrap_or(usize::MAX)
    }

    /// Holds the locks of every tenant whose account the scenario's attacks are on, taken in
    /// key order (so two scenarios never wait for each other in a cycle). A scenario without
    /// an attack takes the lock of identities without a tenant.
    async fn hold(&self, scenario: &Scenario) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
        let mut keys: Vec<usize> = scenario
            .steps
            .iter()
            .filter_map(|s| match s.role {
                StepRole::Attack { victim, .. } => Some(self.tenant_of(victim)),
                _ => None,
            })
            .collect();
        if keys.is_empty() {
            keys.push(usize::MAX);
        }
        keys.sort_unstable();
        keys.dedup();
        let locks: Vec<_> = {
            let mut all = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter()
                .map(|k| all.entry(*k).or_default().clone())
                .collect()
        };
        let mut held = Vec::with_capacity(locks.len());
        for lock in locks {
            held.push(lock.lock_owned().await);
        }
        held
    }
}

/// A resource some step created: who, through which operation, its id, and the values the
/// request carried (the ids of its parents among them).
#[derive(Debug, Clone)]
pub struct Created {
    pub owner: usize,
    pub op: usize,
    pub id: Value,
    pub args: Vec<(Slot, Value)>,
    /// Created by a scenario holding a tenant's webhook lock (one of a chain that may still
    /// be running).
    pub locked: bool,
}

impl Runtime<'_> {
    /// Executes a scenario step by step. Every request takes a slot of the concurrency while it
    /// is in flight, so the bound holds however many scenarios run at once; a scenario between
    /// two requests holds none.
    pub async fn execute(&self, scenario: &Scenario) -> Execution {
        self.execute_as(scenario, self.slots.ticket()).await
    }

    /// Executes a scenario as part of a chain of executions (a confirmation's replays, a
    /// shrink's candidates) that took `ticket` when it started: its requests wait for slots
    /// as long as the chain's first did, not behind everything that started since.
    pub async fn execute_as(&self, scenario: &Scenario, ticket: u64) -> Execution {
        let webhook = self.has_webhook(scenario);
        // The tenant locks are taken before any slot: a scenario waiting for one holds no slot,
        // and nothing holding a slot ever waits for a lock, so the two cannot deadlock.
        let _guard = if webhook {
            self.exclusive.hold(scenario).await
        } else {
            Vec::new()
        };
        let priority = crate::exec::Priority::new(ticket, webhook);
        let mut exec = Execution::default();
        let steps = &scenario.steps;
        let mut i = 0;
        while i < steps.len() {
            // Consecutive creations of different tenants (the victim's fixture and the
            // attacker's) go out side by side, each tenant's in order; consecutive reads that
            // use nothing among themselves go out together; each request takes its own slot.
            // Webhook scenarios stay strictly in order (their quiet reads measure noise over
            // time).
            if !webhook && matches!(steps[i].role, StepRole::Setup { .. }) {
                let end = setups_from(steps, i);
                if end > i + 1
                    && self
                        .execute_setups(steps, i..end, &mut exec, priority)
                        .await
                {
                    i = end;
                    continue;
                }
            }
            let end = if webhook {
                i + 1
            } else {
                self.reads_from(steps, i)
            };
            if end == i + 1 {
                let record = self.execute_step(&steps[i], &exec, priority).await;
                exec.steps.push(record);
                i += 1;
                continue;
            }
            // Within the run, the owners' reads before an attack still go before it, and those
            // after it after: an answer may depend on what was read first (a cache an owner's
            // read fills). Each of the three waves goes out at once.
            let wave = |step: &Step| match step.role {
                StepRole::ReadBack {
                    phase: crate::scenario::Phase::Before,
                    ..
                } => 0,
                StepRole::ReadBack {
                    phase: crate::scenario::Phase::After,
                    ..
                } => 2,
                _ => 1,
            };
            let mut records: Vec<Option<StepRecord>> = vec![None; end - i];
            for w in 0..3 {
                let so_far = &exec;
                let sent: Vec<(usize, StepRecord)> =
                    futures_util::stream::iter((i..end).filter(|k| wave(&steps[*k]) == w))
                        .map(|k| async move {
                            (k, self.execute_step(&steps[k], so_far, priority).await)
                        })
                        .buffer_unordered(end - i)
                        .collect()
                        .await;
                for (k, record) in sent {
                    records[k - i] = Some(record);
                }
            }
            exec.steps
                .extend(records.into_iter().map(Option::unwrap_or_default));
            i = end;
        }
        if !webhook {
            self.release(scenario, &exec);
        }
        exec
    }

    /// Hands what a finished execution created to the running cleanup, if there is one: no
    /// other execution uses it (each creates what it uses; judging reads only the records).
    /// What a scenario holding a webhook lock created stays for the end.
    fn release(&self, scenario: &Scenario, exec: &Execution) {
        let made: Vec<(usize, &Value)> = exec
            .steps
            .iter()
            .zip(&scenario.steps)
            .filter_map(|(r, s)| r.created.as_ref().map(|id| (s.op, id)))
            .collect();
        if made.is_empty() {
            return;
        }
        let Ok(finished) = self.finished.lock() else {
            return;
        };
        let Some(tx) = finished.as_ref() else {
            return;
        };
        let mine: Vec<Created> = {
            let Ok(mut created) = self.created.lock() else {
                return;
            };
            let (mine, rest): (Vec<Created>, Vec<Created>) =
                std::mem::take(&mut *created).into_iter().partition(|c| {
                    !c.locked && made.iter().any(|(op, id)| c.op == *op && c.id == **id)
                });
            *created = rest;
            mine
        };
        if let Err(back) = tx.send(mine) {
            if let Ok(mut created) = self.created.lock() {
                created.extend(back.0);
            }
        }
    }

    /// Whether a step only reads (GET or HEAD, not a setup): leaving it out, or sending it
    /// beside another read, changes no other answer.
    pub(crate) fn only_reads(&self, step: &Step) -> bool {
        !matches!(step.role, StepRole::Setup { .. })
            && self
                .api
                .operations
                .get(step.op)
                .is_some_and(|op| matches!(op.method, Method::Get | Method::Head))
    }

    /// Whether a step of the scenario sends a webhook event.
    pub(crate) fn has_webhook(&self, scenario: &Scenario) -> bool {
        scenario
            .steps
            .iter()
            .any(|s| self.webhooks.iter().any(|(op, _)| *op == s.op))
    }

    /// Runs the creations `run` (consecutive setup steps) in the lanes [`setup_lanes`] gives,
    /// side by side; `false` (nothing sent) when it gives none. Records land at their steps'
    /// places in `exec`, so references by index stay as in a sequential run.
    async fn execute_setups(
        &self,
        steps: &[Step],
        run: std::ops::Range<usize>,
        exec: &mut Execution,
        priority: crate::exec::Priority,
    ) -> bool {
        let Some(lanes) = setup_lanes(steps, run.clone(), |i| self.exclusive.tenant_of(i)) else {
            return false;
        };
        let done = futures_util::future::join_all(lanes.into_iter().map(|lane| {
            let mut local = exec.clone();
            local.steps.resize(run.end, StepRecord::default());
            async move {
                for k in &lane {
                    local.steps[*k] = self.execute_step(&steps[*k], &local, priority).await;
                }
                (lane, local)
            }
        }))
        .await;
        exec.steps.resize(run.end, StepRecord::default());
        for (lane, mut local) in done {
            for k in lane {
                exec.steps[k] = std::mem::take(&mut local.steps[k]);
            }
        }
        true
    }

    /// The end of the run of reads starting at `start` (at least `start + 1`): steps that read
    /// (GET or HEAD, not a setup) and use no step of the run itself.
    fn reads_from(&self, steps: &[Step], start: usize) -> usize {
        let mut end = start;
        while let Some(step) = steps.get(end) {
            if !self.only_reads(step) || step.uses().any(|u| u >= start) {
                break;
            }
            end += 1;
        }
        end.max(start + 1)
    }

    async fn execute_step(
        &self,
        step: &Step,
        so_far: &Execution,
        priority: crate::exec::Priority,
    ) -> StepRecord {
        let mut record = StepRecord::default();
        let op = &self.api.operations[step.op];
        let mut path = op.path.clone();
        let mut query: Vec<(String, String)> = Vec::new();
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut body: Option<Value> = None;
        let creates = matches!(step.role, StepRole::Setup { .. })
            || matches!(
                step.role,
                StepRole::Attack {
                    effect: crate::scenario::Effect::Create,
                    ..
                }
            );
        // What a creation was sent, for cleanup to find what it made; kept only by creations.
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
            if creates {
                sent.push((slot.clone(), value.clone()));
            }
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
        if let Some((_, w)) = self.webhooks.iter().find(|(o, _)| *o == step.op) {
            if let Err(reason) = sign_event(w, step, so_far, &mut body, &mut headers) {
                record.skipped = Some(reason);
                return record;
            }
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
        let exchange = {
            let _slot = self.slots.acquire(priority).await;
            self.target
                .send(step.actor, op.method, &url, &headers, body.as_ref(), form)
                .await
        };
        record.sent_markers = self
            .markers
            .find_in_request(&exchange)
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        if creates && exchange.is_success() {
            if let Some((id, from)) = self.created_id(step.op, &exchange) {
                if let Ok(mut created) = self.created.lock() {
                    created.push(Created {
                        owner: step.actor,
                        op: step.op,
                        id: id.clone(),
                        args: sent,
                        locked: priority.locked(),
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
            Expr::Unique => Ok((Value::String(uuid::Uuid::new_v4().to_string()), None)),
            Expr::Absent { step } => so_far
                .steps
                .get(*step)
                .and_then(|r| r.created.as_ref())
                .map(|id| (absent_like(id), None))
                .ok_or_else(|| format!("step {} created nothing", step + 1)),
            Expr::Echo { step, pointer } => so_far
                .steps
                .get(*step)
                .and_then(|r| r.exchange.as_ref())
                .filter(|x| x.is_success())
                .and_then(|x| x.response_body.get())
                .and_then(|b| b.pointer(pointer))
                .map(|v| (v.clone(), Some((*step, pointer.clone()))))
                .ok_or_else(|| format!("step {} answered no {pointer}", step + 1)),
        }
    }

    /// The id a create returned: at the producer's pointer, else `/id`, else the `Location`.
    fn created_id(&self, op: usize, exchange: &Exchange) -> Option<(Value, String)> {
        let producer = self.model.producers.iter().find(|p| p.op == op);
        let body = exchange.response_body.get();
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

/// The end of the run of setup steps (creations) that starts at `start`.
fn setups_from(steps: &[Step], start: usize) -> usize {
    start
        + steps[start..]
            .iter()
            .take_while(|s| matches!(s.role, StepRole::Setup { .. }))
            .count()
}

/// How the creations `run` (consecutive setup steps) may go out: one lane per tenant of their
/// actors (`tenant_of`), each lane its tenant's steps in planned order, the lanes side by side.
/// `None` (in order, one by one) when they are all one tenant's, or when one uses another
/// tenant's creation. Within a tenant the order stays: a creation may depend on what came
/// before without naming it (an export of a project holds the documents created before it),
/// and a parent's creation still finishes before its children's start (the cleanup deletes
/// children first). Tenants' fixtures are independent: a server must take two accounts'
/// requests at once.
fn setup_lanes(
    steps: &[Step],
    run: std::ops::Range<usize>,
    tenant_of: impl Fn(usize) -> usize,
) -> Option<Vec<Vec<usize>>> {
    let tenant = |k: usize| tenant_of(steps[k].actor);
    let crossed = run.clone().any(|k| {
        steps[k]
            .uses()
            .any(|u| run.contains(&u) && tenant(u) != tenant(k))
    });
    if crossed {
        return None;
    }
    let mut lanes: Vec<(usize, Vec<usize>)> = Vec::new();
    for k in run {
        match lanes.iter_mut().find(|(t, _)| *t == tenant(k)) {
            Some((_, lane)) => lane.push(k),
            None => lanes.push((tenant(k), vec![k])),
        }
    }
    (lanes.len() > 1).then(|| lanes.into_iter().map(|(_, lane)| lane).collect())
}

/// Signs a webhook event as the step asks: correctly (a control), not at all, with a wrong
/// secret, with a stale timestamp, or as a byte-for-byte copy of the signed control.
fn sign_event(
    w: &crate::config::WebhookSettings,
    step: &Step,
    so_far: &Execution,
    body: &mut Option<Value>,
    headers: &mut Vec<(String, String)>,
) -> Result<(), String> {
    use crate::scenario::{Check, Forgery};
    let forgery = match &step.role {
        StepRole::Attack {
            check: Check::Webhook { forgery, control },
            ..
        } => Some((*forgery, *control)),
        _ => None,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // The spec may declare the signing headers as parameters, which the request was filled
    // with: they are the executor's to set (or, unsigned, to leave out).
    headers.retain(|(k, _)| {
        !k.eq_ignore_ascii_case(&w.signature_header)
            && !w
                .timestamp_header
                .as_deref()
                .is_some_and(|t| k.eq_ignore_ascii_case(t))
    });
    let (secret, timestamp) = match forgery {
        Some((Forgery::Unsigned, _)) => return Ok(()),
        Some((Forgery::Replay, control)) => {
            let sent = so_far
                .steps
                .get(control)
                .and_then(|r| r.exchange.as_ref())
                .ok_or_else(|| format!("step {} sent no event to replay", control + 1))?;
            *body = sent.request_body.clone();
            for (k, v) in &sent.request_headers {
                let signing = k.eq_ignore_ascii_case(&w.signature_header)
                    || w.timestamp_header
                        .as_deref()
                        .is_some_and(|t| k.eq_ignore_ascii_case(t));
                if signing {
                    headers.push((k.clone(), v.clone()));
                }
            }
            return Ok(());
        }
        Some((Forgery::WrongSecret, _)) => ("tfz-not-the-webhook-secret", now),
        Some((Forgery::Stale, _)) => (
            w.secret.expose(),
            now.saturating_sub(w.tolerance.as_secs() + 3600),
        ),
        None => (w.secret.expose(), now),
    };
    let text = body
        .as_ref()
        .map(|b| serde_json::to_string(b).unwrap_or_default())
        .unwrap_or_default();
    if let Some(t) = &w.timestamp_header {
        headers.push((t.clone(), timestamp.to_string()));
    }
    headers.push((
        w.signature_header.clone(),
        super::sign::signature(w, secret, timestamp, &text),
    ));
    Ok(())
}

/// An id shaped like `id` that names nothing: a number far past it, or a string whose last four
/// letters and digits are rotated within their class (`ws_9b62` -> `ws_5f06`), so it still passes
/// the id's format.
pub(crate) fn absent_like(id: &Value) -> Value {
    if let Some(n) = id.as_u64() {
        return Value::from(n.saturating_add(7_000_000_000));
    }
    let text = value_text(id);
    let mut chars: Vec<char> = text.chars().collect();
    let mut changed = 0;
    for c in chars.iter_mut().rev() {
        if changed == 4 {
            break;
        }
        let rotated = match *c {
            '0'..='9' => char::from(b'0' + (*c as u8 - b'0' + 4) % 10),
            'a'..='f' => char::from(b'a' + (*c as u8 - b'a' + 3) % 6),
            'A'..='F' => char::from(b'A' + (*c as u8 - b'A' + 3) % 6),
            'g'..='z' => char::from(b'g' + (*c as u8 - b'g' + 7) % 20),
            'G'..='Z' => char::from(b'G' + (*c as u8 - b'G' + 7) % 20),
            _ => continue,
        };
        *c = rotated;
        changed += 1;
    }
    let out: String = chars.into_iter().collect();
    if id.is_number() {
        // A number too large for u64, or negative: keep its type.
        return out
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(Value::String(out));
    }
    Value::String(out)
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
    // Tokens unescaped only when they hold an escape (most hold none).
    let unescape = |t: &str| -> String {
        if t.contains('~') {
            t.replace("~1", "/").replace("~0", "~")
        } else {
            t.to_string()
        }
    };
    let mut tokens = pointer.trim_start_matches('/').split('/').peekable();
    let mut current = root;
    while let Some(raw) = tokens.next() {
        let last = tokens.peek().is_none();
        let token = unescape(raw);
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
            (Value::Object(map), _) => map.entry(token).or_insert(Value::Null),
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

    use crate::scenario::test_setup as setup;

    #[test]
    fn each_tenants_creations_keep_their_order_in_a_lane_of_their_own() {
        // Identities 0 and 2 share a tenant; 1 is another's.
        let tenant_of = |i: usize| if i == 1 { 1 } else { 0 };
        let steps = vec![
            setup(0, None),
            setup(1, None),
            setup(2, Some(0)),
            setup(1, Some(1)),
            setup(0, None),
        ];
        assert_eq!(
            setup_lanes(&steps, 0..5, tenant_of),
            Some(vec![vec![0, 2, 4], vec![1, 3]])
        );
        // Only part of the run: the steps before it are done.
        assert_eq!(
            setup_lanes(&steps, 2..5, tenant_of),
            Some(vec![vec![2, 4], vec![3]])
        );
        // One tenant alone: in order, one by one.
        assert_eq!(setup_lanes(&steps, 0..1, tenant_of), None);
        assert_eq!(setup_lanes(&steps[..3], 0..3, |_| 0), None);
        // A tenant's creation that uses another's: in order, one by one.
        let crossed = vec![setup(0, None), setup(1, Some(0))];
        assert_eq!(setup_lanes(&crossed, 0..2, tenant_of), None);
    }

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
        // What the client would really send decides: `..` and userinfo cannot leave the base.
        assert!(!t.in_scope("http://127.0.0.1:8080/api/../admin"));
        assert!(!t.in_scope("http://127.0.0.1:8080/api/%2e%2e/admin"));
        assert!(!t.in_scope("http://127.0.0.1:8080@evil.test/api/"));
        assert!(!t.in_scope("http://user@127.0.0.1:8080/api/x"));
        assert!(!t.in_scope("not a url"));
        let t = Target::new("https://h.test", &[], Duration::from_secs(1)).expect("target");
        assert!(t.in_scope("https://h.test:443/x"));
        assert!(t.in_scope("https://h.test"));
        assert!(!t.in_scope("https://h.test.evil/x"));
    }

    #[test]
    fn whole_json_is_told_from_json_cut_short() {
        for whole in [
            r#"{"a":[1,{"b":"x\\"}],"c":"]}\\\\"} "#,
            "[]",
            " {\n}\n",
            r#"[{"s":"\u00e9 \" [ {"}]"#,
        ] {
            assert!(is_whole_json(whole), "{whole}");
            assert!(serde_json::from_str::<Value>(whole).is_ok(), "{whole}");
        }
        let body = r#"{"items":[{"id":1,"title":"a \"quoted\" } ]"},{"id":2}],"next":null}"#;
        assert!(is_whole_json(body));
        // Cut anywhere, it is not whole (what the executor then parses to say why).
        for cut in 0..body.len() {
            assert!(!is_whole_json(&body[..cut]), "{}", &body[..cut]);
        }
        for not in ["", "42", "\"s\"", "{}{}", "{}x", "[}", "{]", r#"{"a":"\"}"#] {
            assert!(!is_whole_json(not), "{not}");
        }
    }

    #[test]
    fn urls_on_the_base_origin_parse_as_a_whole_parse_does() {
        let t =
            Target::new("http://127.0.0.1:8080/api", &[], Duration::from_secs(1)).expect("target");
        assert!(t.origin.is_some());
        let same = |url: &str| {
            assert_eq!(
                t.parse(url).map(String::from),
                url::Url::parse(url).ok().map(String::from),
                "{url:?}"
            );
        };
        for rest in [
            "/api/a/b?x=1&y=%20#f",
            "/api/../admin",
            "/api/%2e%2e/x",
            "/api/./a//b",
            "//evil.test/x",
            "/\\evil.test/x",
            "/\t/evil.test",
            "/api/\u{e9}t\u{e9} x",
            "/api?q=a b",
            "?x",
            "",
            ":9/x",
            ".evil.test/",
        ] {
            same(&format!("http://127.0.0.1:8080{rest}"));
        }
        proptest::proptest!(|(rest in "/[ -~\u{a0}-\u{10ff}]{0,24}")| {
            same(&format!("http://127.0.0.1:8080{rest}"));
        });
        // A base written otherwise than the parser writes it takes the whole parse.
        let t = Target::new("HTTP://LOCALHOST:80/api", &[], Duration::from_secs(1)).expect("t");
        assert!(t.origin.is_none());
        assert!(t.in_scope("http://localhost/api/x"));
    }

    #[test]
    fn allowed_origins_are_in_scope_anywhere_on_them() {
        let mut t =
            Target::new("http://127.0.0.1:8080/api", &[], Duration::from_secs(1)).expect("target");
        assert!(!t.in_scope("https://auth.test/oauth/token"));
        t.allow_origins(&["https://auth.test:443".into(), "not an origin".into()]);
        assert!(t.in_scope("https://auth.test/oauth/token"));
        assert!(!t.in_scope("http://auth.test/oauth/token"));
        assert!(!t.in_scope("https://auth.test:8443/oauth/token"));
        assert!(!t.in_scope("http://127.0.0.1:8080/other"));
    }

    /// A server on 127.0.0.1 that answers every request with what it received: the request
    /// line, the header lines sorted, and the body. `/big` answers 5 MiB; `/slow` never answers.
    async fn echo_server() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        let head_end = loop {
                            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i + 4;
                            }
                            let mut chunk = [0u8; 4096];
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                        let mut lines = head.trim_end().split("\r\n");
                        let request_line = lines.next().unwrap_or_default().to_string();
                        let mut headers: Vec<String> =
                            lines.map(|l| l.to_ascii_lowercase()).collect();
                        headers.sort();
                        let length = headers
                            .iter()
                            .find_map(|h| h.strip_prefix("content-length: "))
                            .and_then(|n| n.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        while buf.len() < head_end + length {
                            let mut chunk = [0u8; 4096];
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let body =
                            String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
                        buf.drain(..head_end + length);
                        if request_line.contains(" /slow") {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                        let answer = if request_line.contains(" /big") {
                            format!("[\"{}\"]", "x".repeat(5 * 1024 * 1024))
                        } else {
                            json!({"line": request_line, "headers": headers, "body": body})
                                .to_string()
                        };
                        let out = format!(
                            "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\nset-cookie: sid=s3cret\r\nx-echo: yes\r\ncontent-length: {}\r\n\r\n{answer}",
                            answer.len()
                        );
                        if socket.write_all(out.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        format!("http://{addr}")
    }

    /// The campaign's requests go through hyper's client directly unless a proxy is set; both
    /// ways must put the same request on the wire (method, URL, credentials in headers and
    /// query, `accept`, user agent, body and content type) and record the same exchange.
    #[tokio::test]
    async fn the_direct_client_sends_and_records_what_reqwest_does() {
        let base = echo_server().await;
        let senders = [Sender {
            name: "a".into(),
            credentials: Credentials {
                headers: vec![("Authorization".into(), Secret::new("Bearer t0ken"))],
                query: vec![("api_key".into(), Secret::new("k3y"))],
                ..Credentials::default()
            },
            login: None,
        }];
        let direct =
            Target::with_senders(&base, &senders, Duration::from_millis(500)).expect("target");
        assert!(
            direct.direct.is_some(),
            "no proxy here: the direct client sends"
        );
        let mut through_reqwest =
            Target::with_senders(&base, &senders, Duration::from_millis(500)).expect("target");
        through_reqwest.direct = None;
        let body = json!({"name": "n", "tags": ["a", "b"], "n": 1});
        let patch = [(
            "Content-Type".to_string(),
            "application/merge-patch+json".to_string(),
        )];
        type Case<'a> = (
            Method,
            String,
            &'a [(String, String)],
            Option<&'a Value>,
            bool,
        );
        let cases: Vec<Case> = vec![
            (
                Method::Get,
                format!("{base}/notes?q=a%20b&x=1"),
                &[],
                None,
                false,
            ),
            (
                Method::Post,
                format!("{base}/notes"),
                &[],
                Some(&body),
                false,
            ),
            (
                Method::Post,
                format!("{base}/login"),
                &[],
                Some(&body),
                true,
            ),
            (
                Method::Patch,
                format!("{base}/notes/1"),
                &patch,
                Some(&body),
                false,
            ),
            (Method::Delete, format!("{base}/notes/1"), &[], None, false),
            (
                Method::Post,
                format!("{base}/notes/1/archive"),
                &[],
                None,
                false,
            ),
            (Method::Get, format!("{base}/big"), &[], None, false),
            (Method::Get, format!("{base}/slow"), &[], None, false),
            (
                Method::Get,
                "http://127.0.0.1:9/closed".to_string(),
                &[],
                None,
                false,
            ),
        ];
        for (method, url, headers, body, form) in cases {
            let mut seen = Vec::new();
            for target in [&direct, &through_reqwest] {
                let closed = url.starts_with("http://127.0.0.1:9/");
                let mut t = target;
                let other;
                if closed {
                    other = Target::with_senders(
                        "http://127.0.0.1:9",
                        &senders,
                        Duration::from_millis(500),
                    )
                    .expect("target");
                    t = &other;
                }
                let wire = t.sessions[0].current().0;
                let mut e = t
                    .send_once(0, &wire, method, &url, headers, body, form)
                    .await;
                e.duration_ms = 0;
                seen.push(e);
            }
            let (d, r) = (&seen[0], &seen[1]);
            assert_eq!(d.url, r.url, "{method:?} {url}");
            assert!(
                !d.url.contains("k3y"),
                "the recorded URL hides the query credential"
            );
            assert_eq!(d.request_headers, r.request_headers, "{method:?} {url}");
            assert_eq!(d.status, r.status, "{method:?} {url}");
            assert_eq!(
                d.response_headers
                    .iter()
                    .filter(|(k, _)| k != "date")
                    .collect::<Vec<_>>(),
                r.response_headers
                    .iter()
                    .filter(|(k, _)| k != "date")
                    .collect::<Vec<_>>(),
                "{method:?} {url}"
            );
            assert_eq!(
                d.response_body.text(),
                r.response_body.text(),
                "{method:?} {url}"
            );
            assert_eq!(
                d.error.is_some(),
                r.error.is_some(),
                "{method:?} {url}: {:?} / {:?}",
                d.error,
                r.error
            );
            if url.ends_with("/big") {
                assert_eq!(d.response_body.text().len(), MAX_BODY);
            } else if url.ends_with("/slow") {
                assert_eq!(d.error.as_deref(), Some("timed out"));
                assert_eq!(r.error.as_deref(), Some("timed out"));
            } else if url.ends_with("/closed") {
                assert_eq!(d.status, None);
                for e in [&d.error, &r.error] {
                    let e = e.as_deref().unwrap_or_default();
                    assert!(e.starts_with("connection failed: "), "{e}");
                    assert!(e.contains("refused"), "the reason is kept: {e}");
                }
            } else {
                assert_eq!(d.status, Some(201));
                assert!(
                    d.response_headers
                        .contains(&("set-cookie".into(), "***".into()))
                );
                let echo = d.response_body.get().expect("the echo is JSON");
                let sent = echo["headers"].as_array().expect("headers");
                let has = |h: &str| sent.iter().any(|s| s == h);
                assert!(has("authorization: bearer t0ken"), "{echo}");
                assert!(has("accept: */*"), "{echo}");
                assert!(
                    has(&format!(
                        "user-agent: tenantfuzz/{}",
                        env!("CARGO_PKG_VERSION")
                    )),
                    "{echo}"
                );
                assert!(
                    echo["line"].as_str().expect("line").contains("api_key=k3y"),
                    "{echo}"
                );
                match (method, form) {
                    _ if body.is_none() => {
                        assert_eq!(echo["body"], "");
                        assert!(
                            !sent
                                .iter()
                                .any(|h| h.as_str().is_some_and(|h| h.starts_with("content-type"))),
                            "{echo}"
                        );
                    }
                    (Method::Post, false) => {
                        assert!(has("content-type: application/json"), "{echo}");
                        assert_eq!(echo["body"], body.expect("a body").to_string());
                    }
                    (Method::Post, true) => {
                        assert!(
                            has("content-type: application/x-www-form-urlencoded"),
                            "{echo}"
                        );
                        assert_eq!(echo["body"], "name=n&tags=%5B%22a%22%2C%22b%22%5D&n=1");
                    }
                    (Method::Patch, _) => {
                        assert!(has("content-type: application/merge-patch+json"), "{echo}");
                        assert!(!has("content-type: application/json"), "{echo}");
                    }
                    _ => assert_eq!(echo["body"], ""),
                }
            }
        }
    }

    /// `https` goes through TLS: a server that does not speak it gives an error, not an answer.
    #[tokio::test]
    async fn the_direct_client_speaks_tls_to_https_urls() {
        let base = echo_server().await.replace("http://", "https://");
        let t = Target::new(&base, &[], Duration::from_millis(500)).expect("target");
        assert!(t.direct.is_some());
        let e = t
            .send_once(
                0,
                &Wire::default(),
                Method::Get,
                &format!("{base}/x"),
                &[],
                None,
                false,
            )
            .await;
        assert_eq!(e.status, None, "{e:?}");
        assert!(e.error.is_some());
    }

    #[test]
    fn a_proxy_in_the_environment_sends_through_reqwest() {
        use hyper_util::client::proxy::matcher::Matcher;
        let none = Matcher::builder().build();
        assert!(!super::super::client::proxied_by(&none, "http://api.test"));
        let proxy = Matcher::builder()
            .all("http://127.0.0.1:8080".to_string())
            .no("localhost,127.0.0.1".to_string())
            .build();
        assert!(super::super::client::proxied_by(
            &proxy,
            "https://api.test:8443/v1"
        ));
        assert!(super::super::client::proxied_by(&proxy, "http://api.test"));
        assert!(!super::super::client::proxied_by(
            &proxy,
            "http://127.0.0.1:3000"
        ));
        assert!(!super::super::client::proxied_by(
            &proxy,
            "http://localhost"
        ));
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

    #[tokio::test]
    async fn query_credentials_are_sent_but_recorded_as_stars() {
        let (sent, shown) = with_query_credentials(
            "http://h/a?x=1",
            &[("api key".into(), Secret::new("s&cret"))],
        );
        assert_eq!(sent, "http://h/a?x=1&api+key=s%26cret");
        assert_eq!(shown, "http://h/a?x=1&api+key=***");
        let senders = [Sender {
            name: "a".into(),
            credentials: Credentials {
                query: vec![("api_key".into(), Secret::new("hunter2"))],
                ..Credentials::default()
            },
            login: None,
        }];
        let t = Target::with_senders("http://127.0.0.1:9", &senders, Duration::from_secs(1))
            .expect("target");
        let e = t
            .send_with(
                0,
                &t.sessions[0].current().0,
                Method::Get,
                "http://127.0.0.1:9/x",
                &[],
                None,
                false,
            )
            .await;
        assert_eq!(e.url, "http://127.0.0.1:9/x?api_key=***");
        assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
    }

    #[test]
    fn unsigned_events_carry_no_signing_header_even_when_the_spec_requires_one() {
        use crate::scenario::{Check, Effect, Forgery};
        let w = crate::config::WebhookSettings {
            operation: "hook".into(),
            secret: Secret::new("s3cret"),
            signature_header: "X-Sig".into(),
            algorithm: crate::config::HmacAlgorithm::Sha256,
            encoding: crate::config::DigestEncoding::Hex,
            prefix: String::new(),
            timestamp_header: Some("X-Ts".into()),
            signed: "{timestamp}.{body}".into(),
            tolerance: Duration::from_secs(300),
        };
        let step = |forgery| Step {
            actor: 1,
            op: 0,
            role: StepRole::Attack {
                victim: 0,
                effect: Effect::Action,
                vector: crate::finding::Vector::Header,
                target_resource: None,
                target_step: None,
                check: Check::Webhook {
                    forgery,
                    control: 0,
                },
            },
            args: Vec::new(),
        };
        let filled = || {
            vec![
                ("x-sig".to_string(), "tf-x".to_string()),
                ("X-Ts".to_string(), "1".to_string()),
                ("Accept".to_string(), "*/*".to_string()),
            ]
        };
        let mut body = Some(json!({"id": "e1"}));
        let mut headers = filled();
        sign_event(
            &w,
            &step(Forgery::Unsigned),
            &Execution::default(),
            &mut body,
            &mut headers,
        )
        .expect("signed");
        assert_eq!(headers, vec![("Accept".to_string(), "*/*".to_string())]);
        let mut headers = filled();
        sign_event(
            &w,
            &step(Forgery::Stale),
            &Execution::default(),
            &mut body,
            &mut headers,
        )
        .expect("signed");
        let sig: Vec<_> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("x-sig"))
            .collect();
        assert_eq!(sig.len(), 1);
        assert_ne!(sig[0].1, "tf-x");
    }

    #[test]
    fn absent_ids_keep_their_shape() {
        assert_eq!(absent_like(&json!(42)), json!(7_000_000_042u64));
        let uuid = "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b";
        let other = value_text(&absent_like(&json!(uuid)));
        assert_eq!(other.len(), uuid.len());
        assert_ne!(other, uuid);
        assert!(other.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
        assert_eq!(&other[..32], &uuid[..32]);
        let prefixed = value_text(&absent_like(&json!("ws_9b6285e977")));
        assert!(prefixed.starts_with("ws_9b6285"));
        assert_ne!(prefixed, "ws_9b6285e977");
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(encode_segment("ws_12-x.y~"), "ws_12-x.y~");
    }
}
