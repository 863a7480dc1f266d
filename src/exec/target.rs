//! The transport: where requests go (scope), who sends them (credentials on the wire), how
//! fast (pacing), what happens when they fail (retries, a lost target), and what is recorded.
//! It knows nothing of scenarios: the interpreter hands it one request at a time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::session::{Session, Verdict, Wire};
use crate::exchange::{Exchange, value_text};
use crate::identity::{Credentials, LoginFlow};
use crate::secret::Secret;
use crate::spec::Method;

/// The most a response body is read; the rest is cut.
pub(super) const MAX_BODY: usize = 4 * 1024 * 1024;

/// Requests in a row that got no answer at all (after their retries) before the target is
/// taken as lost: the campaign then stops starting new work and reports what it has.
const LOST_AFTER: u64 = 16;

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
    /// The probe running alone right now (one that changes who an identity is), by its
    /// operation and kind: a session lost while it runs, or found broken right after it, is
    /// that probe's doing, and the run goes on without the identity.
    pub(super) solo_probe: std::sync::Mutex<Option<(String, String)>>,
    /// Sessions such probes broke, in the order they broke.
    pub(super) broken: std::sync::Mutex<Vec<crate::outcome::BrokenSession>>,
    /// How often a session proves itself with its positive control (none: only on a 401).
    pub(super) check_every: Option<Duration>,
    /// Identity names in identity order, for the recording.
    names: Vec<String>,
    /// Every exchange sent, when recording was asked for (`--har`); `None` costs nothing.
    pub(super) recorder: Option<std::sync::Mutex<Vec<crate::exchange::Recorded>>>,
    /// Once fired, nothing more is sent and what is in flight is dropped.
    abort: Abort,
}

/// What a second Ctrl-C fires: the target sends nothing more and drops the requests in flight
/// (each is recorded as refused, with no answer), so the run ends at once with what it has.
#[derive(Debug, Clone)]
pub struct Abort(std::sync::Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Abort {
    fn default() -> Abort {
        Abort(std::sync::Arc::new(tokio::sync::watch::Sender::new(false)))
    }
}

impl Abort {
    /// Fires it: every target that shares it stops sending.
    pub fn fire(&self) {
        self.0.send_replace(true);
    }

    pub fn is_fired(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once it is fired.
    async fn fired(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|fired| *fired).await;
    }
}

/// What a request refused by [`Abort`] records as its error.
const ABORTED: &str = "refused: the run was aborted (a second Ctrl-C)";

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
            solo_probe: Default::default(),
            broken: Default::default(),
            check_every: None,
            names: identities.iter().map(|s| s.name.clone()).collect(),
            recorder: None,
            abort: Abort::default(),
        })
    }

    /// Stops sending once `abort` fires (see [`Abort`]).
    pub fn abort_on(&mut self, abort: Abort) {
        self.abort = abort;
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
        // A fresh account standing in for the identity (an account probe) answers as it is:
        // a 401 after a probe that deleted it is the evidence, not an expired session.
        let disposable = session.is_disposable();
        if let Some(every) = self.check_every.filter(|_| !disposable) {
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
            if exchange.status == Some(401) && !renewed && !disposable && session.renewable() {
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
            Method::Get
                | Method::Head
                | Method::Options
                | Method::Put
                | Method::Delete
                | Method::Query
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
        if self.abort.is_fired() {
            return refused(method, url, body, ABORTED.into());
        }
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
        let request = async {
            match &self.direct {
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
            }
        };
        let answer = tokio::select! {
            biased;
            answer = request => answer,
            () = self.abort.fired() => {
                exchange.error = Some(ABORTED.into());
                return exchange;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
