//! Sessions at run time: each identity's current credentials on the wire, logging in (and
//! registering) through its flow, the positive controls before the campaign, and renewing a
//! session that starts answering 401 in the middle of it.
//!
//! Renewal is one at a time per identity: the first request to see a 401 takes the identity's
//! lock, proves with the positive control that the session (not the request) is at fault, and
//! logs in again; requests that saw the same 401 meanwhile wait for the lock and then retry with
//! the new credentials. A session that cannot be renewed is lost: its identity sends nothing
//! more and the campaign stops with the reason.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use futures_util::{FutureExt, StreamExt};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::target::{MAX_BODY, Target};
use crate::identity::{Credentials, FlowResponse, LoginError, LoginFlow, Prepared, Vars};
use crate::secret::Secret;
use crate::spec::{Api, Method};

/// An identity's live credentials: its name, its headers (as sent on writes) and its query
/// parameters, for `replay` to hand to reproduction scripts. Deliberately without `Debug`: its
/// values are credentials in the clear.
pub(crate) struct LiveCredentials {
    /// The identity's name.
    pub identity: String,
    /// The headers it sends on writes (its credentials and CSRF header), as text.
    pub headers: Vec<(String, String)>,
    /// The query parameters that carry its credentials.
    pub query: Vec<(String, String)>,
}

/// Credentials as they go on the wire.
#[derive(Default)]
pub(crate) struct Wire {
    /// Headers of reads (GET, HEAD, OPTIONS, TRACE).
    pub read: Vec<(HeaderName, HeaderValue)>,
    /// Headers of writes: the same plus the CSRF header.
    pub write: Vec<(HeaderName, HeaderValue)>,
    /// Query parameters appended to every URL.
    pub query: Vec<(String, Secret)>,
}

impl Wire {
    /// Fails with the name of the header that cannot go into HTTP (never its value).
    pub(crate) fn build(c: &Credentials) -> Result<Wire, String> {
        let convert =
            |list: Vec<(String, Secret)>| -> Result<Vec<(HeaderName, HeaderValue)>, String> {
                list.into_iter()
                    .map(|(name, value)| {
                        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                            format!("header '{name}' is not a valid HTTP header name")
                        })?;
                        let mut v = HeaderValue::from_str(value.expose()).map_err(|_| {
                            format!("the value of header '{name}' is not valid in HTTP")
                        })?;
                        v.set_sensitive(true);
                        Ok((n, v))
                    })
                    .collect()
            };
        Ok(Wire {
            read: convert(c.wire_headers(false))?,
            write: convert(c.wire_headers(true))?,
            query: c.query.clone(),
        })
    }

    pub(crate) fn headers(&self, method: Method) -> &[(HeaderName, HeaderValue)] {
        if method.is_safe() {
            &self.read
        } else {
            &self.write
        }
    }
}

/// One identity's session.
pub(crate) struct Session {
    pub name: String,
    /// What the config gives, before any login.
    pub configured: Credentials,
    pub flow: Option<LoginFlow>,
    current: RwLock<Arc<Wire>>,
    generation: AtomicU64,
    /// The positive control's URL, once it passed.
    control: RwLock<Option<String>>,
    lost: AtomicBool,
    renewal: tokio::sync::Mutex<Renewal>,
    /// When the session last proved itself (its control answered, or it logged in).
    checked: std::sync::Mutex<Instant>,
    /// Set while a fresh account stands in for the identity's own (an account probe, which
    /// may delete it or change its password): a 401 then is the answer, never renewed, and the
    /// session is never lost for it.
    disposable: AtomicBool,
}

/// An identity's own account while a fresh one stands in for it: [`Target::restore`] puts it
/// back. Deliberately without `Debug`: it holds the account's credentials.
pub(crate) struct Stash {
    wire: Arc<Wire>,
    vars: Option<Vars>,
}

/// State kept under the identity's renewal lock.
#[derive(Default)]
struct Renewal {
    /// Variables after registration (the flow's own, `{unique}`, `{identity}`, and what the
    /// registration extracted).
    vars: Option<Vars>,
}

/// What a 401 turned out to mean.
pub(crate) enum Verdict {
    /// The session was renewed (now or by another request): send again.
    Renewed,
    /// The session works: the 401 is the server's answer to this request.
    Genuine,
    /// The session is gone for good.
    Lost,
}

/// An identity's positive control: the operations to try, best first (a GET without required
/// parameters), and whether the user named it (`identities.<name>.health`).
#[derive(Debug, Clone, Default)]
pub struct Control {
    pub ops: Vec<usize>,
    pub configured: bool,
}

impl Control {
    /// The control the user named.
    pub fn configured(op: usize) -> Control {
        Control {
            ops: vec![op],
            configured: true,
        }
    }
}

/// A control that answered: the operation, its URL, its answer and how long it took.
struct Proved {
    op: usize,
    url: String,
    body: Option<serde_json::Value>,
    ms: u64,
}

impl Session {
    pub(crate) fn new(
        name: String,
        configured: Credentials,
        flow: Option<LoginFlow>,
    ) -> Result<Session, String> {
        let wire = Wire::build(&configured).map_err(|e| format!("identity '{name}': {e}"))?;
        Ok(Session {
            name,
            configured,
            flow,
            current: RwLock::new(Arc::new(wire)),
            generation: AtomicU64::new(0),
            control: RwLock::new(None),
            lost: AtomicBool::new(false),
            renewal: Default::default(),
            checked: std::sync::Mutex::new(Instant::now()),
            disposable: AtomicBool::new(false),
        })
    }

    /// The current credentials and their generation.
    pub(crate) fn current(&self) -> (Arc<Wire>, u64) {
        let wire = self
            .current
            .read()
            .map(|w| w.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        (wire, self.generation.load(Ordering::Acquire))
    }

    fn mark_checked(&self) {
        if let Ok(mut at) = self.checked.lock() {
            *at = Instant::now();
        }
    }

    /// Whether the periodic check is due: the session has a control and last proved itself
    /// more than `every` ago.
    pub(crate) fn check_due(&self, every: std::time::Duration) -> bool {
        self.control.read().is_ok_and(|c| c.is_some())
            && self.checked.lock().is_ok_and(|at| at.elapsed() >= every)
    }

    fn install(&self, wire: Wire) {
        self.put(Arc::new(wire));
    }

    fn put(&self, wire: Arc<Wire>) {
        match self.current.write() {
            Ok(mut w) => *w = wire,
            Err(p) => *p.into_inner() = wire,
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether a 401 may mean an expired session: the identity sends credentials at all.
    pub(crate) fn renewable(&self) -> bool {
        self.flow.is_some() || !self.configured.is_empty()
    }

    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    /// Whether a fresh account stands in for the identity's own (see [`Target::enroll`]).
    pub(crate) fn is_disposable(&self) -> bool {
        self.disposable.load(Ordering::Acquire)
    }

    fn control(&self) -> Option<String> {
        self.control.read().ok().and_then(|c| c.clone())
    }
}

pub(super) fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

impl Target {
    /// Marks a session lost and says why; the first reason is kept. While a probe runs alone
    /// (see [`Target::begin_solo_probe`]) the loss is that probe's: it is recorded as a broken
    /// session, the identity sends nothing more, and the run goes on with the others.
    fn lose(&self, identity: usize, reason: String) {
        if let Some(s) = self.sessions.get(identity) {
            s.lost.store(true, Ordering::Release);
        }
        let probe = self
            .solo_probe
            .lock()
            .ok()
            .and_then(|p| p.as_ref().cloned());
        if let (Some((operation, kind)), Some(s)) = (probe, self.sessions.get(identity)) {
            tracing::error!(
                "{reason} (after the probe {operation} ({kind}), which changes who an identity is)"
            );
            if let Ok(mut broken) = self.broken.lock() {
                broken.push(crate::outcome::BrokenSession {
                    identity: s.name.clone(),
                    operation,
                    kind,
                    reason,
                });
            }
            return;
        }
        tracing::error!("{reason}");
        if let Ok(mut lost) = self.lost.lock() {
            lost.get_or_insert(reason);
        }
        if let Some(flag) = &self.on_loss {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Each identity's current credentials as they go on writes: (name, headers, query
    /// parameters). Only for handing to a reproduction script; never logged.
    pub(crate) fn current_credentials(&self) -> Vec<LiveCredentials> {
        self.sessions
            .iter()
            .map(|s| {
                let wire = s.current().0;
                let headers = wire
                    .write
                    .iter()
                    .filter_map(|(n, v)| {
                        Some((n.as_str().to_string(), v.to_str().ok()?.to_string()))
                    })
                    .collect();
                let query = wire
                    .query
                    .iter()
                    .map(|(n, v)| (n.clone(), v.expose().to_string()))
                    .collect();
                LiveCredentials {
                    identity: s.name.clone(),
                    headers,
                    query,
                }
            })
            .collect()
    }

    /// How many times a session was renewed by logging in again.
    pub fn session_renewals(&self) -> u64 {
        self.renewals.load(Ordering::Relaxed)
    }

    /// Why a session was lost during the run, if one was.
    pub fn session_lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    /// The first login request of `identity`'s flow, as a method and a URL (templates as they
    /// are written: no secret), for the record of a login an account probe makes.
    pub(crate) fn login_request(&self, identity: usize) -> (String, String) {
        let first = self
            .sessions
            .get(identity)
            .and_then(|s| s.flow.as_ref())
            .and_then(|f| f.requests.first());
        match first {
            Some(r) => (
                r.method.as_str().to_string(),
                format!("{}{}", self.base.trim_end_matches('/'), r.path),
            ),
            None => ("POST".into(), self.base.clone()),
        }
    }

    /// Whether a fresh account can stand in for `identity`: its flow registers one (with the
    /// run's `{unique}` in its names, a second registration makes a second account).
    pub(crate) fn can_enroll(&self, identity: usize) -> bool {
        self.sessions
            .get(identity)
            .and_then(|s| s.flow.as_ref())
            .is_some_and(|f| !f.register.is_empty())
    }

    /// Registers a fresh account for `identity` through its own flow (with a `{unique}` of its
    /// own) and logs in to it: until [`Target::restore`], the identity's requests are the fresh
    /// account's, so a probe that may delete an account or change its password never touches
    /// the identity's own. A registration answered "exists" is an error: the flow's names do
    /// not change with `{unique}`, and the account would be the identity's own. The caller
    /// holds the interpreter's solo lock: nothing else is in flight.
    pub(crate) async fn enroll(&self, identity: usize) -> Result<Stash, String> {
        let s = self
            .sessions
            .get(identity)
            .ok_or_else(|| format!("identity {identity} has no session"))?;
        if !self.can_enroll(identity) {
            return Err(format!(
                "identity '{}' registers no account of its own (login.register)",
                s.name
            ));
        }
        let mut state = s.renewal.lock().await;
        let stash = Stash {
            wire: s.current().0,
            vars: state.vars.clone(),
        };
        let mut fresh = Renewal::default();
        match self.log_in_as(identity, &mut fresh, true).await {
            Ok(()) => {
                state.vars = fresh.vars;
                s.disposable.store(true, Ordering::Release);
                Ok(stash)
            }
            Err(e) => {
                // Nothing changed: the identity keeps its own session.
                s.put(stash.wire);
                Err(format!("a fresh account for '{}': {e}", s.name))
            }
        }
    }

    /// Puts `identity`'s own account back after [`Target::enroll`]: its credentials and flow
    /// variables as they were (the account itself was never touched).
    pub(crate) async fn restore(&self, identity: usize, stash: Stash) {
        let Some(s) = self.sessions.get(identity) else {
            return;
        };
        let mut state = s.renewal.lock().await;
        state.vars = stash.vars;
        s.put(stash.wire);
        s.disposable.store(false, Ordering::Release);
        s.mark_checked();
    }

    /// Logs `identity` in again with the credentials its flow holds (after
    /// [`Target::enroll`]: the fresh account's), without installing what the login gives: does
    /// its password still work? `Ok` with the last answer's status when it does, `Err` with the
    /// refusing answer's status (if one came) and the reason when it does not.
    pub(crate) async fn logs_in(&self, identity: usize) -> Result<u16, (Option<u16>, String)> {
        let Some(s) = self.sessions.get(identity) else {
            return Err((None, "no session".into()));
        };
        let Some(flow) = &s.flow else {
            return Err((None, "no login flow".into()));
        };
        let state = s.renewal.lock().await;
        let vars = state.vars.clone().unwrap_or_default();
        let mut vars = vars;
        let mut jar = Vars::new();
        let mut last = None;
        for r in &flow.requests {
            let p = r.prepare(&vars, &jar).map_err(|e| (None, e.to_string()))?;
            let response = self
                .send_flow(identity, &p)
                .await
                .map_err(|e| (None, e.to_string()))?;
            last = Some(response.status);
            r.absorb(&response, &mut vars, &mut jar)
                .map_err(|e| (Some(response.status), e.to_string()))?;
        }
        flow.credentials(&vars, &jar)
            .map_err(|e| (last, e.to_string()))?;
        Ok(last.unwrap_or(200))
    }

    /// Checks each session with its positive control when it has not proved itself for
    /// `every`: before a request is sent, a session whose last proof is older gets its control
    /// sent first, and a refusal renews it like a 401 would (for sessions that die without a
    /// 401: a 403, a redirect to a login page).
    pub fn check_sessions_every(&mut self, every: std::time::Duration) {
        self.check_every = Some(every).filter(|d| !d.is_zero());
    }

    /// Sets `flag` when a session is lost, so the campaign stops starting new work.
    pub fn stop_on_session_loss(&mut self, flag: Arc<AtomicBool>) {
        self.on_loss = Some(flag);
    }

    /// Sends one login or registration request: in scope, paced and counted like any other,
    /// logged without its values.
    pub(super) async fn send_flow(
        &self,
        identity: usize,
        p: &Prepared,
    ) -> Result<FlowResponse, LoginError> {
        let path = p.path.expose();
        let slash = if path.starts_with('/') { "" } else { "/" };
        let url = format!("{}{slash}{path}", self.base);
        let fail = |reason: String| LoginError::Send {
            request: p.label.clone(),
            reason,
        };
        if !self.in_scope(&url) {
            return Err(fail(
                "refused: the URL is outside the configured base URL".into(),
            ));
        }
        self.pace().await;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut map = HeaderMap::new();
        for (name, value) in &p.headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| fail(format!("header '{name}' is not a valid HTTP header name")))?;
            let mut v = HeaderValue::from_str(value.expose())
                .map_err(|_| fail(format!("the value of header '{name}' is not valid in HTTP")))?;
            v.set_sensitive(true);
            map.append(n, v);
        }
        let method = reqwest::Method::from_bytes(p.method.as_str().as_bytes())
            .unwrap_or(reqwest::Method::POST);
        let mut builder = self.client.request(method, url).headers(map);
        if let Some(body) = &p.body {
            builder = builder.body(body.expose().to_string());
        }
        let response = builder.send().await.map_err(|e| {
            fail(if e.is_timeout() {
                "timed out".into()
            } else {
                // Without the URL: it may carry a credential in its query.
                format!(
                    "connection failed: {}",
                    super::client::root_cause(&e.without_url())
                )
            })
        })?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut response = response;
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                break;
            }
        }
        tracing::debug!(request = %p.label, status, "login exchange");
        if let Some(recorder) = &self.recorder {
            // Logins are recorded too, but every value is a credential or made from one: only
            // the URL, the header names and the status are kept.
            let redacted = |list: &[(String, String)]| {
                list.iter()
                    .map(|(k, _)| (k.clone(), "***".to_string()))
                    .collect::<Vec<_>>()
            };
            let request_headers: Vec<(String, String)> = p
                .headers
                .iter()
                .map(|(k, _)| (k.clone(), "***".to_string()))
                .collect();
            // The path template from the label, not the path (which may hold a value).
            let template = p.label.split_once(' ').map(|(_, t)| t).unwrap_or("");
            let slash = if template.starts_with('/') { "" } else { "/" };
            let record = crate::exchange::Recorded {
                identity: self.sessions[identity].name.clone(),
                started_unix_ms: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0),
                exchange: crate::exchange::Exchange {
                    method: p.method.as_str().to_string(),
                    url: format!("{}{slash}{template}", self.base),
                    request_headers,
                    request_body: p
                        .body
                        .as_ref()
                        .map(|_| serde_json::Value::String("***".into())),
                    status: Some(status),
                    response_headers: redacted(&headers),
                    response_body: (!body.is_empty())
                        .then(|| serde_json::Value::String("***".into()))
                        .into(),
                    error: None,
                    duration_ms: 0,
                },
            };
            recorder
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(record);
        }
        Ok(FlowResponse {
            status,
            headers,
            body,
        })
    }

    /// Runs an identity's flow (its registration too, the first time) and installs what it
    /// produced. Call with the identity's renewal lock held.
    async fn log_in(&self, identity: usize, state: &mut Renewal) -> Result<(), String> {
        self.log_in_as(identity, state, false).await
    }

    /// [`Target::log_in`]; with `fresh`, a registration must make a new account: one that
    /// answers that the account exists is an error, not an account to log in to.
    async fn log_in_as(
        &self,
        identity: usize,
        state: &mut Renewal,
        fresh: bool,
    ) -> Result<(), String> {
        let s = &self.sessions[identity];
        let Some(flow) = &s.flow else {
            return Ok(());
        };
        if state.vars.is_none() {
            let mut vars = flow
                .initial_vars(&random_token(), &s.name)
                .map_err(|e| e.to_string())?;
            let mut jar = Vars::new();
            for r in &flow.register {
                let p = r
                    .prepare(&vars, &jar)
                    .map_err(|e| format!("registration: {e}"))?;
                let response = self
                    .send_flow(identity, &p)
                    .await
                    .map_err(|e| format!("registration: {e}"))?;
                if let Err(e) = r.absorb(&response, &mut vars, &mut jar) {
                    // The account is there from an earlier run: log in to it.
                    if crate::identity::already_exists(&response) && !fresh {
                        tracing::info!(
                            identity = %s.name,
                            request = %r.label(),
                            status = response.status,
                            "the account already exists; logging in to it"
                        );
                        break;
                    }
                    return Err(format!("registration: {e}"));
                }
            }
            state.vars = Some(vars);
        }
        let mut vars = state.vars.clone().unwrap_or_default();
        let mut jar = Vars::new();
        for r in &flow.requests {
            let p = r.prepare(&vars, &jar).map_err(|e| e.to_string())?;
            let response = self
                .send_flow(identity, &p)
                .await
                .map_err(|e| e.to_string())?;
            r.absorb(&response, &mut vars, &mut jar)
                .map_err(|e| e.to_string())?;
        }
        let produced = flow.credentials(&vars, &jar).map_err(|e| e.to_string())?;
        let wire = Wire::build(&s.configured.merged(&produced))?;
        s.install(wire);
        s.mark_checked();
        Ok(())
    }

    /// The variables of `identity`'s flow after its registration (`None`: no flow, or it has
    /// not logged in).
    pub(super) async fn flow_vars(&self, identity: usize) -> Option<Vars> {
        let s = self.sessions.get(identity)?;
        s.renewal.lock().await.vars.clone()
    }

    /// Decides what a 401 to `identity`, sent with credentials of `generation`, means; renews
    /// the session when it expired.
    pub(crate) async fn on_unauthorized(&self, identity: usize, generation: u64) -> Verdict {
        let Some(s) = self.sessions.get(identity) else {
            return Verdict::Genuine;
        };
        let mut state = s.renewal.lock().await;
        if s.is_lost() {
            return Verdict::Lost;
        }
        let (wire, current) = s.current();
        if current != generation {
            return Verdict::Renewed;
        }
        // A 401 can be the server's answer to this very request: if the control still works
        // with the same credentials, the session is fine.
        if let Some(url) = s.control() {
            let control = self
                .send_with(identity, &wire, Method::Get, &url, &[], None, false)
                .await;
            if control.is_success() {
                return Verdict::Genuine;
            }
        }
        if s.flow.is_none() {
            self.lose(
                identity,
                format!(
                    "identity '{}': its credentials stopped working during the run (401) and it has no login flow to renew them",
                    s.name
                ),
            );
            return Verdict::Lost;
        }
        match self.log_in(identity, &mut state).await {
            Ok(()) => {
                self.renewals.fetch_add(1, Ordering::Relaxed);
                tracing::info!(identity = %s.name, "session renewed after a 401");
                Verdict::Renewed
            }
            Err(e) => {
                self.lose(
                    identity,
                    format!(
                        "identity '{}': its session expired and logging in again failed: {e}",
                        s.name
                    ),
                );
                Verdict::Lost
            }
        }
    }

    /// The periodic check, for sessions that die without a 401 (a 403, a redirect to a login
    /// page): when it is due, the control is sent; a refusal renews the session like a 401
    /// would. Skipped while another check or renewal of the identity is under way.
    pub(crate) async fn check_periodically(&self, identity: usize) {
        let Some(s) = self.sessions.get(identity) else {
            return;
        };
        let Ok(mut state) = s.renewal.try_lock() else {
            return;
        };
        let Some(url) = s.control() else {
            return;
        };
        if s.is_lost() {
            return;
        }
        s.mark_checked();
        self.prove_or_renew(
            identity,
            &mut state,
            &url,
            "during the run",
            "a failed periodic check",
        )
        .await;
    }

    /// Sends `identity`'s positive control (`url`); a refusal renews the session by logging in
    /// again, and when that fails (or there is no flow) the session is lost. `when` goes into
    /// the reason (`during the run`), `after` into the log of a renewal. `true` when the control
    /// passed as it was.
    async fn prove_or_renew(
        &self,
        identity: usize,
        state: &mut Renewal,
        url: &str,
        when: &str,
        after: &str,
    ) -> bool {
        let s = &self.sessions[identity];
        let (wire, _) = s.current();
        let control = self
            .send_with(identity, &wire, Method::Get, url, &[], None, false)
            .await;
        // No answer, a server error or a rate limit tell nothing about the session.
        if control.is_success() || control.status.is_none_or(|st| st >= 500 || st == 429) {
            return true;
        }
        let status = control.status.unwrap_or(0);
        let when = if when.is_empty() {
            String::new()
        } else {
            format!(" {when}")
        };
        if s.flow.is_none() {
            self.lose(
                identity,
                format!(
                    "identity '{}': its positive control answered {status}{when} and it has no login flow to renew its session",
                    s.name
                ),
            );
            return false;
        }
        match self.log_in(identity, state).await {
            Ok(()) => {
                self.renewals.fetch_add(1, Ordering::Relaxed);
                tracing::info!(identity = %s.name, status, "session renewed after {after}");
            }
            Err(e) => self.lose(
                identity,
                format!(
                    "identity '{}': its positive control answered {status} and logging in again failed: {e}",
                    s.name
                ),
            ),
        }
        false
    }

    /// Marks the start of a probe that runs alone because it changes who an identity is
    /// (`operation` and `kind` name it): until [`Target::end_solo_probe`], a session lost is
    /// that probe's doing.
    pub(crate) fn begin_solo_probe(&self, operation: String, kind: String) {
        if let Ok(mut p) = self.solo_probe.lock() {
            *p = Some((operation, kind));
        }
    }

    /// Marks the end of the probe [`Target::begin_solo_probe`] started.
    pub(crate) fn end_solo_probe(&self) {
        if let Ok(mut p) = self.solo_probe.lock() {
            *p = None;
        }
    }

    /// The sessions probes broke (see [`Target::check_after_probe`]), in the order they broke.
    pub fn broken_sessions(&self) -> Vec<crate::outcome::BrokenSession> {
        self.broken.lock().map(|b| b.clone()).unwrap_or_default()
    }

    /// The health check after a probe that changes who an identity is (its password, its
    /// name, its account): the identity's positive control is sent; a refusal renews the
    /// session (logs in again), and when that fails the session is lost, recorded as that
    /// probe's doing. Waits for a renewal under way; an identity without a control is not
    /// checked (a 401 to a later request still renews it).
    pub(crate) async fn check_after_probe(&self, identity: usize) {
        let Some(s) = self.sessions.get(identity) else {
            return;
        };
        let mut state = s.renewal.lock().await;
        let Some(url) = s.control() else {
            return;
        };
        if s.is_lost() {
            return;
        }
        if self
            .prove_or_renew(
                identity,
                &mut state,
                &url,
                "",
                "a probe that changes who an identity is",
            )
            .await
        {
            s.mark_checked();
        }
    }

    /// Proves `identity`'s session with its control: the first of the candidates that answers
    /// 2xx becomes the control. A 401 means the credentials do not work. A refusal of another
    /// kind (a 403 or 404: a staff member may not read what `/me` shows a user) means only that
    /// this identity may not call it: the next candidate is tried, and when none answers, the
    /// identity goes without a control (`Ok(None)`) unless the user named it, or unless the
    /// first candidate answers anonymous callers exactly so (then the credentials made no
    /// difference: they do not work).
    async fn prove(
        &self,
        api: &Api,
        identity: usize,
        control: &Control,
        anonymous: Option<usize>,
    ) -> Result<Option<Proved>, String> {
        let s = &self.sessions[identity];
        let mut refused: Option<(usize, String, crate::exchange::Exchange)> = None;
        for &op in &control.ops {
            let o = &api.operations[op];
            let url = format!("{}{}", self.base, o.path);
            let (wire, _) = s.current();
            let started = Instant::now();
            let e = self
                .send_with(identity, &wire, o.method, &url, &[], None, false)
                .await;
            let ms = started.elapsed().as_millis() as u64;
            match e.status {
                None => {
                    return Err(format!(
                        "the target at {} could not be reached: {} ({})",
                        self.base,
                        e.error.as_deref().unwrap_or("no answer"),
                        e.url
                    ));
                }
                Some(status) if (200..300).contains(&status) => {
                    return Ok(Some(Proved {
                        op,
                        url,
                        body: e.response_body.get().cloned(),
                        ms,
                    }));
                }
                Some(401) => {
                    return Err(format!(
                        "identity '{}' cannot use its session: its positive control {} answered 401 (check its credentials)",
                        s.name,
                        o.label()
                    ));
                }
                Some(_) => {
                    if refused.is_none() {
                        refused = Some((op, url, e));
                    }
                }
            }
        }
        let Some((op, url, e)) = refused else {
            return Ok(None);
        };
        let o = &api.operations[op];
        let status = e.status.unwrap_or(0);
        if control.configured {
            return Err(format!(
                "identity '{}' cannot use its session: its positive control {} (identities.{}.health) answered {status}{}",
                s.name,
                o.label(),
                s.name,
                if status == 403 {
                    " (check its credentials, or name an operation this identity may call)"
                } else {
                    ""
                }
            ));
        }
        // Without credentials, does the server answer the same? Then they made no difference.
        if let Some(anon) = anonymous.filter(|a| *a != identity) {
            let (wire, _) = self.sessions[anon].current();
            let bare = self
                .send_with(anon, &wire, o.method, &url, &[], None, false)
                .await;
            if bare.status == e.status && bare.response_body.get() == e.response_body.get() {
                return Err(format!(
                    "identity '{}' cannot use its session: its positive control {} answered {status}, as it does without credentials (check its credentials)",
                    s.name,
                    o.label()
                ));
            }
        }
        tracing::warn!(
            identity = %s.name,
            control = %o.label(),
            status,
            "no positive control for this identity: it may not call the inferred one, which answers anonymous callers otherwise; set identities.<name>.health to an operation it may call"
        );
        Ok(None)
    }

    /// Before the campaign: logs every identity in, then proves each session with its positive
    /// control (`controls[i]`: an operation without required parameters) and that no two
    /// identities are the same account, `concurrency` requests at a time (logins, then
    /// controls). The error names the identity; with several failing, the first in identity
    /// order.
    pub async fn open_sessions(
        &self,
        api: &Api,
        controls: &[Control],
        concurrency: usize,
    ) -> Result<(), String> {
        let logins: Vec<Result<(), String>> =
            futures_util::stream::iter(self.sessions.iter().enumerate())
                .map(|(i, s)| async move {
                    let mut state = s.renewal.lock().await;
                    self.log_in(i, &mut state)
                        .await
                        .map_err(|e| format!("identity '{}' could not log in: {e}", s.name))
                })
                .buffered(concurrency)
                .collect::<Vec<_>>()
                // Boxed as `Send`: rustc can prove it here (see `Campaign::run_as_task`).
                .boxed()
                .await;
        for result in logins {
            result?;
        }
        // Every identity's controls at once (each only reads), judged in identity order.
        let anonymous = self.sessions.len().checked_sub(1);
        let checks: Vec<(usize, Result<Option<Proved>, String>)> = futures_util::stream::iter(
            controls
                .iter()
                .enumerate()
                .filter(|(i, c)| *i < self.sessions.len() && !c.ops.is_empty()),
        )
        .map(|(i, c)| async move { (i, self.prove(api, i, c, anonymous).await) })
        .buffered(concurrency)
        .collect::<Vec<_>>()
        .boxed()
        .await;
        let mut answers: Vec<(usize, usize, Option<serde_json::Value>)> = Vec::new();
        for (i, proved) in checks {
            let s = &self.sessions[i];
            let Some(Proved { op, url, body, ms }) = proved? else {
                continue;
            };
            tracing::debug!(identity = %s.name, control = %api.operations[op].label(), ms, "session works");
            if let Ok(mut c) = s.control.write() {
                *c = Some(url);
            }
            s.mark_checked();
            answers.push((op, i, body));
        }
        let mut ops: Vec<usize> = answers.iter().map(|(op, _, _)| *op).collect();
        ops.sort_unstable();
        ops.dedup();
        for op in ops {
            let same: Vec<(usize, Option<serde_json::Value>)> = answers
                .iter()
                .filter(|(o, _, _)| *o == op)
                .map(|(_, i, b)| (*i, b.clone()))
                .collect();
            if let Some((a, b)) = crate::identity::same_account(&same) {
                return Err(format!(
                    "identities '{}' and '{}' are the same account: {} answered both with the same body; give each identity its own account",
                    self.sessions[a].name,
                    self.sessions[b].name,
                    api.operations[op].label()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use axum::extract::State;
    use axum::http::{HeaderMap as AxumHeaders, StatusCode};
    use axum::routing::{get, post};
    use serde_json::json;

    use super::*;
    use crate::exec::Sender;
    use crate::identity::{Extract, FlowRequest};

    fn header(wire: &[(HeaderName, HeaderValue)], name: &str) -> Option<String> {
        wire.iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_str().expect("ascii").to_string())
    }

    fn with_csrf() -> Credentials {
        Credentials {
            headers: vec![("X-Api-Key".into(), Secret::new("fake-key"))],
            query: vec![("api_key".into(), Secret::new("fake-query-key"))],
            csrf: Some(("X-CSRF-Token".into(), Secret::new("fake-csrf"))),
            ..Credentials::default()
        }
    }

    #[test]
    fn a_write_credential_is_not_sent_on_reads() {
        let wire = Wire::build(&with_csrf()).expect("valid");
        for method in [Method::Get, Method::Head, Method::Options, Method::Trace] {
            let headers = wire.headers(method);
            assert_eq!(header(headers, "x-api-key").as_deref(), Some("fake-key"));
            assert_eq!(header(headers, "x-csrf-token"), None, "{method:?}");
        }
        for method in [Method::Post, Method::Put, Method::Patch, Method::Delete] {
            let headers = wire.headers(method);
            assert_eq!(header(headers, "x-api-key").as_deref(), Some("fake-key"));
            assert_eq!(
                header(headers, "x-csrf-token").as_deref(),
                Some("fake-csrf"),
                "{method:?}"
            );
        }
    }

    #[test]
    fn every_credential_header_is_marked_sensitive() {
        let wire = Wire::build(&with_csrf()).expect("valid");
        assert_eq!(wire.read.len(), 1);
        assert_eq!(wire.write.len(), 2);
        assert!(
            wire.read
                .iter()
                .chain(&wire.write)
                .all(|(_, v)| v.is_sensitive())
        );
    }

    #[test]
    fn query_credentials_go_into_the_query_and_no_header() {
        let wire = Wire::build(&with_csrf()).expect("valid");
        assert_eq!(wire.query.len(), 1);
        assert_eq!(wire.query[0].0, "api_key");
        assert_eq!(wire.query[0].1.expose(), "fake-query-key");
        for (n, v) in wire.read.iter().chain(&wire.write) {
            assert_ne!(n.as_str(), "api_key");
            assert_ne!(v.to_str().ok(), Some("fake-query-key"));
        }
    }

    #[test]
    fn a_header_that_cannot_go_into_http_is_named_without_its_value() {
        let bad_value = Credentials {
            headers: vec![("X-Token".into(), Secret::new("fake\nsecret"))],
            ..Credentials::default()
        };
        let e = Wire::build(&bad_value).err().expect("refused");
        assert!(e.contains("'X-Token'"), "{e}");
        assert!(!e.contains("fake"), "{e}");
        let bad_name = Credentials {
            headers: vec![("X Token".into(), Secret::new("fake-secret"))],
            ..Credentials::default()
        };
        let e = Wire::build(&bad_name).err().expect("refused");
        assert!(
            e.contains("'X Token' is not a valid HTTP header name"),
            "{e}"
        );
        assert!(!e.contains("fake-secret"), "{e}");
        // A session names its identity.
        let e = Session::new("alice".into(), bad_value, None)
            .err()
            .expect("refused");
        assert!(e.starts_with("identity 'alice': "), "{e}");
        assert!(!e.contains("fake"), "{e}");
    }

    #[test]
    fn a_session_starts_on_its_configured_credentials_at_generation_zero() {
        let s = Session::new("alice".into(), with_csrf(), None).expect("valid");
        let (wire, generation) = s.current();
        assert_eq!(generation, 0);
        assert_eq!(
            header(&wire.write, "x-csrf-token").as_deref(),
            Some("fake-csrf")
        );
        s.install(Wire::default());
        let (wire, generation) = s.current();
        assert_eq!(generation, 1);
        assert!(wire.write.is_empty());
    }

    /// Makes the session's last proof two minutes old.
    fn backdate(s: &Session) {
        *s.checked.lock().expect("lock") = Instant::now()
            .checked_sub(Duration::from_secs(120))
            .expect("the clock runs for two minutes");
    }

    #[test]
    fn the_periodic_check_is_due_only_once_a_control_passed_and_its_time_came() {
        let s = Session::new("alice".into(), with_csrf(), None).expect("valid");
        assert!(!s.check_due(Duration::ZERO), "no control yet");
        *s.control.write().expect("lock") = Some("http://127.0.0.1:9/me".into());
        assert!(s.check_due(Duration::ZERO));
        assert!(
            !s.check_due(Duration::from_secs(60)),
            "it just proved itself"
        );
        backdate(&s);
        assert!(s.check_due(Duration::from_secs(60)));
        assert!(!s.check_due(Duration::from_secs(24 * 3600)));
        s.mark_checked();
        assert!(!s.check_due(Duration::from_secs(60)), "proved again");
    }

    #[test]
    fn only_an_identity_that_sends_credentials_may_have_an_expired_session() {
        let none = Session::new("anonymous".into(), Credentials::default(), None).expect("ok");
        assert!(!none.renewable());
        let fixed = Session::new("a".into(), with_csrf(), None).expect("ok");
        assert!(fixed.renewable());
        let flow = Session::new(
            "b".into(),
            Credentials::default(),
            Some(LoginFlow::default()),
        )
        .expect("ok");
        assert!(flow.renewable());
    }

    /// A server on 127.0.0.1 with one valid token at a time: `POST /login` issues a new one
    /// (`fake-tok-N`) unless `refuse_login` is set; `GET /me` (the positive control) and
    /// `GET /items` answer 200 with the token that works and 401 otherwise (`/me` answers
    /// `me_refusal` instead, 401 by default); `GET /private` always answers 401.
    #[derive(Clone, Default)]
    struct Auth {
        valid: Arc<Mutex<String>>,
        logins: Arc<AtomicU64>,
        controls: Arc<AtomicU64>,
        items: Arc<AtomicU64>,
        refuse_login: Arc<AtomicBool>,
        me_refusal: Arc<std::sync::atomic::AtomicU16>,
        /// The names `POST /register` took; a name taken before answers 409, a name without
        /// an `@` answers 400.
        registered: Arc<Mutex<Vec<String>>>,
    }

    impl Auth {
        fn works(&self, headers: &AxumHeaders) -> bool {
            let valid = self.valid.lock().expect("lock").clone();
            !valid.is_empty()
                && headers.get("authorization").and_then(|v| v.to_str().ok())
                    == Some(&format!("Bearer {valid}"))
        }

        fn forget(&self) {
            self.valid.lock().expect("lock").clear();
        }
    }

    async fn auth_server(valid: &str) -> (String, Auth) {
        let auth = Auth::default();
        *auth.valid.lock().expect("lock") = valid.to_string();
        auth.me_refusal.store(401, Ordering::SeqCst);
        let app = axum::Router::new()
            .route(
                "/login",
                post(|State(a): State<Auth>| async move {
                    if a.refuse_login.load(Ordering::SeqCst) {
                        return (StatusCode::FORBIDDEN, axum::Json(json!({})));
                    }
                    let n = a.logins.fetch_add(1, Ordering::SeqCst) + 1;
                    let token = format!("fake-tok-{n}");
                    *a.valid.lock().expect("lock") = token.clone();
                    (StatusCode::OK, axum::Json(json!({ "token": token })))
                }),
            )
            .route(
                "/register",
                post(
                    |State(a): State<Auth>, axum::Json(body): axum::Json<serde_json::Value>| async move {
                        let name = body["name"].as_str().unwrap_or_default().to_string();
                        let mut taken = a.registered.lock().expect("lock");
                        if !name.contains('@') {
                            let message = format!("'{name}' is not an e-mail address");
                            return (StatusCode::BAD_REQUEST, axum::Json(json!({ "message": message })));
                        }
                        if taken.contains(&name) {
                            return (StatusCode::CONFLICT, axum::Json(json!({"error": "that name is already registered"})));
                        }
                        taken.push(name);
                        (StatusCode::CREATED, axum::Json(json!({})))
                    },
                ),
            )
            .route(
                "/me",
                get(|State(a): State<Auth>, h: AxumHeaders| async move {
                    a.controls.fetch_add(1, Ordering::SeqCst);
                    let status = if a.works(&h) {
                        StatusCode::OK
                    } else {
                        StatusCode::from_u16(a.me_refusal.load(Ordering::SeqCst)).expect("status")
                    };
                    // A 429 is retried at once.
                    (
                        status,
                        [("retry-after", "0")],
                        axum::Json(json!({"id": "u1"})),
                    )
                }),
            )
            .route(
                "/items",
                get(|State(a): State<Auth>, h: AxumHeaders| async move {
                    a.items.fetch_add(1, Ordering::SeqCst);
                    let sent = h
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    if a.works(&h) {
                        (StatusCode::OK, axum::Json(json!({"sent": sent})))
                    } else {
                        (StatusCode::UNAUTHORIZED, axum::Json(json!({})))
                    }
                }),
            )
            .route(
                "/private",
                get(|| async { (StatusCode::UNAUTHORIZED, axum::Json(json!({}))) }),
            )
            .with_state(auth.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, auth)
    }

    /// A server where `/me` refuses a staff token (403) as it refuses a missing or unknown one,
    /// with another body, and `/users/me` answers any known token.
    async fn staff_server() -> String {
        let app = axum::Router::new()
            .route(
                "/me",
                get(|h: AxumHeaders| async move {
                    match h.get("authorization").and_then(|v| v.to_str().ok()) {
                        Some("Bearer user") => (StatusCode::OK, axum::Json(json!({"id": "u1"}))),
                        Some("Bearer staff") => (
                            StatusCode::FORBIDDEN,
                            axum::Json(json!({"detail": "staff accounts have no profile"})),
                        ),
                        _ => (
                            StatusCode::FORBIDDEN,
                            axum::Json(
                                json!({"detail": "authentication credentials were not provided"}),
                            ),
                        ),
                    }
                }),
            )
            .route(
                "/users/me",
                get(|h: AxumHeaders| async move {
                    match h.get("authorization").and_then(|v| v.to_str().ok()) {
                        Some("Bearer user" | "Bearer staff") => {
                            (StatusCode::OK, axum::Json(json!({"id": "s1"})))
                        }
                        _ => (StatusCode::UNAUTHORIZED, axum::Json(json!({}))),
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    /// Opens the sessions of one identity with `token` and `control`.
    async fn open_with(base: &str, token: &str, control: Control) -> (Target, Result<(), String>) {
        let senders = [
            Sender {
                name: "u".into(),
                credentials: bearer(token),
                login: None,
            },
            Sender {
                name: "anonymous".into(),
                credentials: Credentials::default(),
                login: None,
            },
        ];
        let target = Target::with_senders(base, &senders, Duration::from_secs(5)).expect("target");
        let api = crate::spec::load_str(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /me:\n    get:\n      responses: {'200': {description: ok}}\n  /users/me:\n    get:\n      responses: {'200': {description: ok}}\n",
            "t.yaml",
        )
        .expect("loads");
        let control = Control {
            ops: control.ops.iter().map(|&i| [0, 1][i]).collect(),
            ..control
        };
        let result = target
            .open_sessions(&api, &[control, Control::default()], 2)
            .await;
        (target, result)
    }

    #[tokio::test]
    async fn an_identity_refused_its_inferred_control_tries_the_next_and_keeps_its_session() {
        let base = staff_server().await;
        let both = Control {
            ops: vec![0, 1],
            configured: false,
        };
        let (target, result) = open_with(&base, "staff", both.clone()).await;
        assert_eq!(result, Ok(()));
        assert_eq!(
            target.sessions[0].control(),
            Some(format!("{base}/users/me"))
        );
        // A user's first candidate answers: it stays the control.
        let (target, result) = open_with(&base, "user", both).await;
        assert_eq!(result, Ok(()));
        assert_eq!(target.sessions[0].control(), Some(format!("{base}/me")));
        // With no other candidate, the staff member goes without one: a 403 is its access to
        // /me, not a dead session (anonymous callers are answered otherwise).
        let only_me = Control {
            ops: vec![0],
            configured: false,
        };
        let (target, result) = open_with(&base, "staff", only_me.clone()).await;
        assert_eq!(result, Ok(()));
        assert_eq!(target.sessions[0].control(), None);
        assert!(!target.sessions[0].is_lost());
        // A token the server does not know is refused exactly as no token is: not a session.
        let (_, result) = open_with(&base, "fake-unknown", only_me).await;
        let e = result.expect_err("an unknown token does not open a session");
        assert!(e.contains("as it does without credentials"), "{e}");
        // A control the user named and the identity may not call is the user's to fix.
        let (_, result) = open_with(&base, "staff", Control::configured(0)).await;
        let e = result.expect_err("the named control refuses");
        assert!(
            e.contains("identities.u.health") && e.contains("403"),
            "{e}"
        );
        // A 401 is the credentials', whichever candidate answers it.
        let (_, result) = open_with(
            &base,
            "fake-unknown",
            Control {
                ops: vec![1, 0],
                configured: false,
            },
        )
        .await;
        assert!(result.expect_err("401").contains("answered 401"));
    }

    fn api() -> Api {
        crate::spec::load_str(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /me:\n    get:\n      responses: {'200': {description: ok}}\n",
            "t.yaml",
        )
        .expect("loads")
    }

    fn login_flow() -> LoginFlow {
        LoginFlow {
            requests: vec![FlowRequest {
                method: Method::Post,
                path: "/login".into(),
                headers: Vec::new(),
                body: None,
                extract: vec![("token".into(), Extract::Json("$.token".into()))],
            }],
            apply: Credentials {
                headers: vec![("Authorization".into(), Secret::new("Bearer {token}"))],
                ..Credentials::default()
            },
            ..LoginFlow::default()
        }
    }

    /// A target whose identity `u` has `credentials` and `login`, its sessions opened with
    /// `GET /me` as the control.
    async fn opened(base: &str, credentials: Credentials, login: Option<LoginFlow>) -> Target {
        let senders = [
            Sender {
                name: "u".into(),
                credentials,
                login,
            },
            Sender {
                name: "anonymous".into(),
                credentials: Credentials::default(),
                login: None,
            },
        ];
        let target = Target::with_senders(base, &senders, Duration::from_secs(5)).expect("target");
        let api = api();
        target
            .open_sessions(
                &api,
                &[
                    Control::configured(api.find("GET /me").expect("GET /me")),
                    Control::default(),
                ],
                2,
            )
            .await
            .expect("sessions open");
        target
    }

    fn bearer(token: &str) -> Credentials {
        Credentials {
            headers: vec![(
                "Authorization".into(),
                Secret::new(format!("Bearer {token}")),
            )],
            ..Credentials::default()
        }
    }

    fn registering(name: &str) -> LoginFlow {
        let mut flow = login_flow();
        flow.vars = vec![("name".into(), Secret::new(name))];
        flow.templated = vec!["name".into()];
        flow.register = vec![FlowRequest {
            method: Method::Post,
            path: "/register".into(),
            headers: Vec::new(),
            body: Some(crate::identity::FlowBody::Json(Secret::new(
                r#"{"name": "{name}"}"#,
            ))),
            extract: Vec::new(),
        }];
        flow
    }

    #[tokio::test]
    async fn a_second_run_whose_registration_already_exists_logs_in_and_unique_names_are_fresh() {
        let (base, auth) = auth_server("").await;
        // The same name twice (a second run against the same database): 409, then the login.
        opened(&base, Credentials::default(), Some(registering("u@x"))).await;
        opened(&base, Credentials::default(), Some(registering("u@x"))).await;
        assert_eq!(auth.logins.load(Ordering::SeqCst), 2);
        assert_eq!(*auth.registered.lock().expect("lock"), ["u@x"]);
        // `{unique}` in a variable: each run registers a name of its own.
        for _ in 0..2 {
            opened(
                &base,
                Credentials::default(),
                Some(registering("u-{unique}@x")),
            )
            .await;
        }
        let names = auth.registered.lock().expect("lock").clone();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(
            names[1].starts_with("u-") && names[1] != names[2],
            "{names:?}"
        );
        assert!(!names[1].contains("{unique}"), "{names:?}");
    }

    #[tokio::test]
    async fn a_refused_registration_names_the_servers_reason() {
        let (base, auth) = auth_server("").await;
        let senders = [Sender {
            name: "u".into(),
            credentials: Credentials::default(),
            login: Some(registering("no-at-sign")),
        }];
        let target = Target::with_senders(&base, &senders, Duration::from_secs(5)).expect("target");
        let api = api();
        let err = target
            .open_sessions(
                &api,
                &[Control::configured(api.find("GET /me").expect("GET /me"))],
                2,
            )
            .await
            .expect_err("the registration fails");
        assert!(
            err.contains("registration: POST /register answered 400: the server said \"'***' is not an e-mail address\""),
            "{err}"
        );
        assert_eq!(auth.logins.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_401_while_the_control_still_passes_is_the_servers_answer_and_renews_nothing() {
        let (base, auth) = auth_server("").await;
        let target = opened(&base, Credentials::default(), Some(login_flow())).await;
        assert_eq!(auth.logins.load(Ordering::SeqCst), 1);
        assert_eq!(auth.controls.load(Ordering::SeqCst), 1);
        let e = target
            .send(0, Method::Get, &format!("{base}/private"), &[], None, false)
            .await;
        assert_eq!(e.status, Some(401));
        assert_eq!(e.error, None);
        assert_eq!(
            auth.controls.load(Ordering::SeqCst),
            2,
            "the control was asked"
        );
        assert_eq!(auth.logins.load(Ordering::SeqCst), 1, "no new login");
        assert_eq!(target.session_renewals(), 0);
        assert_eq!(target.sessions[0].current().1, 1, "still the first login's");
        assert!(!target.sessions[0].is_lost());
    }

    #[tokio::test]
    async fn an_expired_session_is_renewed_through_its_flow_and_the_request_sent_again() {
        let (base, auth) = auth_server("").await;
        let target = opened(&base, Credentials::default(), Some(login_flow())).await;
        let items = format!("{base}/items");
        let first = target.send(0, Method::Get, &items, &[], None, false).await;
        assert_eq!(first.status, Some(200));
        auth.forget();
        let again = target.send(0, Method::Get, &items, &[], None, false).await;
        assert_eq!(again.status, Some(200));
        assert_eq!(
            again.response_body.get(),
            Some(&json!({"sent": "Bearer fake-tok-2"})),
            "sent again with the second login's token"
        );
        assert_eq!(auth.logins.load(Ordering::SeqCst), 2);
        assert_eq!(
            auth.items.load(Ordering::SeqCst),
            3,
            "the 401 and its retry"
        );
        assert_eq!(target.session_renewals(), 1);
        assert_eq!(target.sessions[0].current().1, 2);
        assert_eq!(target.session_lost(), None);
    }

    #[tokio::test]
    async fn a_401_from_credentials_of_an_older_generation_is_sent_again_without_a_login() {
        let (base, auth) = auth_server("").await;
        let target = opened(&base, Credentials::default(), Some(login_flow())).await;
        let (_, generation) = target.sessions[0].current();
        // Another request renewed the session meanwhile.
        target.sessions[0].install(Wire::default());
        let verdict = target.on_unauthorized(0, generation).await;
        assert!(matches!(verdict, Verdict::Renewed));
        assert_eq!(auth.controls.load(Ordering::SeqCst), 1, "no control sent");
        assert_eq!(auth.logins.load(Ordering::SeqCst), 1, "no login");
    }

    #[tokio::test]
    async fn a_session_without_a_flow_that_stops_working_is_lost_and_its_identity_sends_nothing_more()
     {
        let (base, auth) = auth_server("fake-static-token").await;
        let mut target = opened(&base, bearer("fake-static-token"), None).await;
        let stop = Arc::new(AtomicBool::new(false));
        target.stop_on_session_loss(stop.clone());
        let items = format!("{base}/items");
        assert_eq!(
            target
                .send(0, Method::Get, &items, &[], None, false)
                .await
                .status,
            Some(200)
        );
        auth.forget();
        let lost = target.send(0, Method::Get, &items, &[], None, false).await;
        assert_eq!(lost.status, Some(401));
        assert_eq!(lost.error.as_deref(), Some("the session of 'u' is lost"));
        assert!(target.sessions[0].is_lost());
        assert!(stop.load(Ordering::SeqCst), "the campaign is told to stop");
        let reason = target.session_lost().expect("a reason");
        assert!(reason.contains("identity 'u'"), "{reason}");
        assert!(reason.contains("no login flow"), "{reason}");
        assert!(!reason.contains("fake-static-token"), "{reason}");
        // Nothing more goes out as that identity.
        let sent = target.requests();
        let hits = auth.items.load(Ordering::SeqCst);
        let refused = target.send(0, Method::Get, &items, &[], None, false).await;
        assert_eq!(refused.status, None);
        assert_eq!(
            refused.error.as_deref(),
            Some("refused: the session of 'u' is lost")
        );
        assert_eq!(target.requests(), sent);
        assert_eq!(auth.items.load(Ordering::SeqCst), hits);
        assert!(matches!(target.on_unauthorized(0, 0).await, Verdict::Lost));
    }

    #[tokio::test]
    async fn a_session_whose_login_fails_again_is_lost_with_the_reason() {
        let (base, auth) = auth_server("").await;
        let target = opened(&base, Credentials::default(), Some(login_flow())).await;
        auth.forget();
        auth.refuse_login.store(true, Ordering::SeqCst);
        let e = target
            .send(0, Method::Get, &format!("{base}/items"), &[], None, false)
            .await;
        assert_eq!(e.status, Some(401));
        assert_eq!(e.error.as_deref(), Some("the session of 'u' is lost"));
        assert_eq!(target.session_renewals(), 0);
        let reason = target.session_lost().expect("a reason");
        assert!(
            reason.contains("identity 'u': its session expired and logging in again failed"),
            "{reason}"
        );
        assert!(reason.contains("answered 403"), "{reason}");
        assert!(!reason.contains("fake-tok"), "{reason}");
    }

    #[tokio::test]
    async fn an_identity_without_credentials_takes_a_401_as_it_is() {
        let (base, auth) = auth_server("fake-static-token").await;
        let target = opened(&base, bearer("fake-static-token"), None).await;
        // The anonymous identity (1) sends nothing: its 401 says nothing about a session.
        let e = target
            .send(1, Method::Get, &format!("{base}/items"), &[], None, false)
            .await;
        assert_eq!(e.status, Some(401));
        assert_eq!(e.error, None);
        assert_eq!(
            auth.controls.load(Ordering::SeqCst),
            1,
            "only the one opening"
        );
        assert!(!target.sessions[1].is_lost());
        assert_eq!(target.session_lost(), None);
    }

    #[tokio::test]
    async fn a_periodic_check_refused_with_403_renews_the_session_before_the_request() {
        let (base, auth) = auth_server("").await;
        let mut target = opened(&base, Credentials::default(), Some(login_flow())).await;
        target.check_sessions_every(Duration::from_secs(60));
        backdate(&target.sessions[0]);
        auth.forget();
        auth.me_refusal.store(403, Ordering::SeqCst);
        let e = target
            .send(0, Method::Get, &format!("{base}/items"), &[], None, false)
            .await;
        assert_eq!(e.status, Some(200));
        assert_eq!(auth.items.load(Ordering::SeqCst), 1, "no 401 on the way");
        assert_eq!(auth.logins.load(Ordering::SeqCst), 2);
        assert_eq!(target.session_renewals(), 1);
    }

    #[tokio::test]
    async fn a_rate_limited_periodic_check_neither_renews_nor_loses_the_session() {
        let (base, auth) = auth_server("fake-static-token").await;
        let target = opened(&base, bearer("fake-static-token"), None).await;
        auth.forget();
        auth.me_refusal.store(429, Ordering::SeqCst);
        target.check_periodically(0).await;
        assert!(
            auth.controls.load(Ordering::SeqCst) > 1,
            "the control was sent"
        );
        assert!(!target.sessions[0].is_lost());
        assert_eq!(target.session_lost(), None);
        // A refusal does lose it (no flow to renew it).
        auth.me_refusal.store(403, Ordering::SeqCst);
        target.check_periodically(0).await;
        assert!(target.sessions[0].is_lost());
        let reason = target.session_lost().expect("a reason");
        assert!(reason.contains("positive control answered 403"), "{reason}");
    }

    #[tokio::test]
    async fn current_credentials_are_the_write_headers_and_the_query() {
        let (base, _auth) = auth_server("").await;
        let mut configured = with_csrf();
        configured.headers.clear();
        let target = opened(&base, configured, Some(login_flow())).await;
        let all = target.current_credentials();
        assert_eq!(all.len(), 2);
        let LiveCredentials {
            identity: name,
            headers,
            query,
        } = &all[0];
        assert_eq!(name, "u");
        let mut headers = headers.clone();
        headers.sort();
        assert_eq!(
            headers,
            vec![
                ("authorization".to_string(), "Bearer fake-tok-1".to_string()),
                ("x-csrf-token".to_string(), "fake-csrf".to_string()),
            ]
        );
        assert_eq!(
            query,
            &vec![("api_key".to_string(), "fake-query-key".to_string())]
        );
        assert_eq!(all[1].identity, "anonymous");
        assert!(all[1].headers.is_empty() && all[1].query.is_empty());
    }
}
