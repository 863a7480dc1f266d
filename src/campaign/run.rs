//! Running a campaign end to end.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use std::future::Future;
use std::pin::Pin;

use futures_util::future::{MaybeDone, maybe_done};
use tokio::sync::mpsc::UnboundedReceiver;

use super::Phase;
use super::confirm::Confirmed;
use super::discover::discover;
use super::exploration::Known;
use super::state::{Candidate, CandidateKey, Run, alongside};
use super::systematic::Probed;
use crate::config::{ConfigError, Settings};
use crate::exec::{Interpreter, Sender, Target};
use crate::marker::Markers;
use crate::model::{Overrides, ResourceModel, Slot};
use crate::oracle::Context;
use crate::outcome::{CampaignResult, Cleanup, Coverage, PhaseTimes, Stats};
use crate::scenario::{Cast, Plan, StepRole, plan};
use crate::spec::{Api, SpecError};

/// Why a campaign could not run.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The target or an identity's session could not be used.
    #[error("{0}")]
    Target(String),
}

/// A campaign ready to run: settings, the loaded API and its resource model.
pub struct Campaign {
    pub settings: Settings,
    pub api: Api,
    pub model: ResourceModel,
    /// Who may call what beyond ownership, resolved against the spec.
    pub policy: crate::model::Policy,
    /// Webhook receivers: operation index and how its events are signed.
    pub webhooks: Vec<(usize, crate::config::WebhookSettings)>,
    /// Set to stop the run early (Ctrl-C): no new probe, case or confirmation starts, the
    /// cleanup still runs, and the result says the run was interrupted.
    pub(super) stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Fired to end the run at once (a second Ctrl-C): nothing more is sent, what is in flight
    /// is dropped, nothing is cleaned up (every created object is listed as left), and the
    /// result holds what was obtained, marked incomplete.
    pub(super) abort: crate::exec::Abort,
    /// Whether to keep every exchange in the result (for HAR).
    record: bool,
    /// How far the run has got (read by progress displays).
    pub(super) progress: std::sync::Arc<super::Progress>,
    /// Per operation, whether this run's shard attacks it (all true when unsharded).
    pub(super) in_shard: Vec<bool>,
    /// What validating the settings proved about the target; `None` for a campaign built only
    /// to plan ([`Campaign::planning`]).
    reach: Option<crate::config::Reach>,
}

impl Campaign {
    /// A campaign ready to run: validates the settings (once: see [`Settings::validate`]),
    /// loads the spec and infers the model.
    pub fn new(settings: Settings) -> Result<Campaign, CampaignError> {
        let reach = settings.validate()?;
        let api = crate::spec::load(&settings.spec)?;
        Campaign::build(settings, api, Some(reach))
    }

    /// A campaign ready to run over an API already loaded (validates the settings).
    pub fn with_api(settings: Settings, api: Api) -> Result<Campaign, CampaignError> {
        let reach = settings.validate()?;
        Campaign::build(settings, api, Some(reach))
    }

    /// A campaign that only plans (`tenantfuzz plan`, the benches): it needs a spec and two
    /// identities, but no target or credentials, so the settings' run half is not checked;
    /// [`Campaign::run`] on it is an error.
    pub fn planning(settings: Settings) -> Result<Campaign, CampaignError> {
        let api = crate::spec::load(&settings.spec)?;
        Campaign::build(settings, api, None)
    }

    /// A campaign that only plans, over an API already loaded.
    pub fn planning_with_api(settings: Settings, api: Api) -> Result<Campaign, CampaignError> {
        Campaign::build(settings, api, None)
    }

    /// The model, policy and webhooks resolved against the spec: every selector in the
    /// settings must name an operation.
    fn build(
        settings: Settings,
        api: Api,
        reach: Option<crate::config::Reach>,
    ) -> Result<Campaign, CampaignError> {
        let source = settings.spec.display().to_string();
        let config = settings.source.clone();
        let unknown = |what: &str, reference: &str| {
            CampaignError::Config(ConfigError::Invalid {
                path: config.clone(),
                key: what.into(),
                message: format!("'{reference}' names no operation of {source}"),
            })
        };
        let mut excluded = Vec::new();
        for selector in &settings.campaign.exclude {
            let selected = api.select(selector);
            if selected.is_empty() {
                return Err(unknown("campaign.exclude", selector));
            }
            excluded.extend(selected);
        }
        let mut overrides = Overrides::default();
        for (reference, pointer) in &settings.id_overrides {
            let op = api
                .find(reference)
                .ok_or_else(|| unknown("model.ids", reference))?;
            overrides.id_pointers.push((op, pointer.clone()));
        }
        for link in &settings.links {
            let op = api
                .find(&link.operation)
                .ok_or_else(|| unknown("model.links", &link.operation))?;
            let slot = parse_slot(&link.parameter).ok_or_else(|| {
                CampaignError::Config(ConfigError::Invalid {
                    path: config.clone(),
                    key: "model.links.parameter".into(),
                    message: format!(
                        "'{}' must be path.NAME, query.NAME, header.NAME or body./POINTER",
                        link.parameter
                    ),
                })
            })?;
            overrides.links.push((op, slot, link.resource.clone()));
        }
        let model = crate::model::infer(&api, &excluded, &overrides);
        if let Some((key, message)) = model.idle_hints(&api, &overrides).into_iter().next() {
            return Err(CampaignError::Config(ConfigError::Invalid {
                path: config.clone(),
                key: key.into(),
                message,
            }));
        }
        let plans: Vec<String> = settings
            .identities
            .iter()
            .filter_map(|i| i.plan.clone())
            .collect();
        let policy =
            crate::model::Policy::resolve(&api, &settings.policy, &plans).map_err(|e| {
                CampaignError::Config(ConfigError::Invalid {
                    path: config.clone(),
                    key: e.key.clone(),
                    message: format!("'{}' names no operation of {source}", e.selector),
                })
            })?;
        let mut webhooks = Vec::new();
        for w in &settings.webhooks {
            let op = api
                .find(&w.operation)
                .ok_or_else(|| unknown("webhooks.operation", &w.operation))?;
            webhooks.push((op, w.clone()));
        }
        let in_shard = shard_members(&api, settings.campaign.shard);
        Ok(Campaign {
            settings,
            api,
            model,
            policy,
            webhooks,
            stop: Default::default(),
            abort: Default::default(),
            record: false,
            progress: Default::default(),
            in_shard,
            reach,
        })
    }

    /// Keeps every exchange of the run in [`CampaignResult::exchanges`] (off by default: it costs
    /// a copy of each exchange).
    pub fn record_exchanges(&mut self) {
        self.record = true;
    }

    /// A handle on the run's progress, for a progress bar or log lines.
    pub fn progress(&self) -> std::sync::Arc<super::Progress> {
        self.progress.clone()
    }

    /// A handle that stops the run early when set (what the CLI's Ctrl-C handler sets).
    pub fn stop_handle(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.stop.clone()
    }

    /// A handle that ends the run at once when fired (what the CLI's second Ctrl-C fires): see
    /// [`crate::exec::Abort`]. Firing it also stops the run as [`Campaign::stop_handle`] does.
    pub fn abort_handle(&self) -> crate::exec::Abort {
        self.abort.clone()
    }

    /// Identity names in index order, `anonymous` last.
    pub fn identity_names(&self) -> Vec<String> {
        self.settings
            .identities
            .iter()
            .map(|i| i.name.clone())
            .chain(["anonymous".to_string()])
            .collect()
    }

    fn tenants(&self) -> Vec<Option<String>> {
        self.settings
            .identities
            .iter()
            .map(|i| Some(i.tenant.clone()))
            .chain([None])
            .collect()
    }

    /// The systematic plan for a given set of owned resources (none: as `plan` shows it before
    /// discovery, assuming every identity holds one of each resource nothing creates, and that
    /// its own answer names its own user and what else the model expects there).
    pub fn plan(&self, owned: Option<&BTreeSet<(usize, usize)>>) -> Plan {
        let tenants = self.tenants();
        let selves: BTreeSet<(usize, usize)> = (0..tenants.len() - 1)
            .flat_map(|identity| {
                self.model
                    .selves
                    .iter()
                    .map(move |s| (identity, s.resource))
            })
            .collect();
        let owned = owned.cloned().unwrap_or_else(|| {
            let mut all = selves.clone();
            for identity in 0..tenants.len() - 1 {
                for r in 0..self.model.resources.len() {
                    if self.model.producer_of(r).is_none() {
                        all.insert((identity, r));
                    }
                }
            }
            all
        });
        let selves = selves.intersection(&owned).copied().collect();
        plan(&self.api, &self.model, &self.cast(owned, selves))
    }

    /// Who is who for planning, with `owned` resources, of which `selves` are the identity's
    /// own (named by its own answer, `GET /user`).
    pub fn cast(&self, owned: BTreeSet<(usize, usize)>, selves: BTreeSet<(usize, usize)>) -> Cast {
        let ids = &self.settings.identities;
        Cast {
            tenants: self.tenants(),
            owned,
            selves,
            roles: ids.iter().map(|i| i.role.clone()).chain([None]).collect(),
            plans: ids.iter().map(|i| i.plan.clone()).chain([None]).collect(),
            policy: self.policy.clone(),
            webhooks: self.webhooks.iter().map(|(op, _)| *op).collect(),
            timestamped: self
                .webhooks
                .iter()
                .filter(|(_, w)| w.signed.contains("{timestamp}"))
                .map(|(op, _)| *op)
                .collect(),
            existence_leak: self.settings.campaign.existence_leak,
            mutate_seeded: self.settings.campaign.mutate_seeded,
            tokens: Vec::new(),
            enrolls: ids
                .iter()
                .map(|i| {
                    i.auth
                        .login
                        .as_ref()
                        .is_some_and(|l| !l.register.is_empty())
                })
                .chain([false])
                .collect(),
        }
    }

    /// Runs the campaign as a task of the current tokio runtime, which is how the CLI runs it:
    /// on a multi-threaded runtime the campaign then runs on the same workers as its
    /// connections (and an in-process target), and an answer wakes it on the thread that read
    /// the answer. Awaited inside the caller's own future (`run`), it lives on the thread that
    /// blocks on that future and every answer is handed over to that thread: a demo campaign at
    /// 64 in flight on two cores ran about a sixth faster as a task (no faster at 16). A panic
    /// in the campaign resumes in the caller.
    ///
    /// The campaign's future must be `Send` for this. rustc cannot always prove that for a
    /// stream of `async move` blocks built from closures that borrow (it asks for the closures
    /// to work for any lifetime: "implementation of `FnOnce` is not general enough"), so such
    /// pipelines are collected into a boxed `Send` future where they are built, which proves
    /// it there; exploration's strategies box their value trees as `Send`
    /// (`scenario::SendBoxed`).
    pub async fn run_as_task(self: std::sync::Arc<Self>) -> Result<CampaignResult, CampaignError> {
        match tokio::spawn(async move { self.run().await }).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(CampaignError::Target(format!(
                "the campaign's task ended before the campaign did: {e}"
            ))),
        }
    }

    /// Runs the campaign against the target, inside the caller's future (see `run_as_task`):
    /// logins, discovery, then the systematic phase with exploration starting beside its tail
    /// and the webhook probes' chain beside both, the confirmation of what they found, and the
    /// cleanup (which deletes as executions finish, and once more at the end).
    ///
    /// The settings were validated when the campaign was built ([`Campaign::new`]), so the
    /// phases take them as valid: a concurrency of at least 1, a base URL, and the rest of
    /// [`Settings::validate`]. A campaign built only to plan cannot run.
    pub async fn run(&self) -> Result<CampaignResult, CampaignError> {
        self.reach()?;
        let started = Instant::now();
        let c = &self.settings.campaign;
        let names = self.identity_names();
        let tenants = self.tenants();
        let session_lost = Arc::new(AtomicBool::new(false));
        let target = &self.open_target(session_lost.clone()).await?;
        let progress = &*self.progress;
        let mut laps = Laps::new(started);
        // Discovery doubles as the sessions' health check.
        progress.enter(Phase::Discovery, 0);
        let admins: Vec<bool> = {
            let cast = self.cast(BTreeSet::new(), BTreeSet::new());
            (0..tenants.len()).map(|i| cast.is_admin(i)).collect()
        };
        let discovery = discover(
            &self.api,
            &self.model,
            target,
            &tenants,
            &admins,
            c.concurrency,
        )
        .await;
        self.check_sessions(&discovery.answers, &names)?;
        // Before any scenario: nothing of it depends on them, and they change no identity.
        let accounts = self.account_probes(target, &names).await;
        let owned: BTreeSet<(usize, usize)> = discovery.owned.keys().copied().collect();
        // What each identity's bearer token is, its weak key guessed offline.
        let tokens: Vec<Option<crate::scenario::TokenShape>> = (0..tenants.len())
            .map(|i| target.bearer_token(i).map(|t| token_shape(t.expose())))
            .collect();
        let plan = &self.shard_plan(&owned, &discovery.selves, &tokens);
        let markers = Markers::new();
        // What finished executions created, deleted as they finish (see `Interpreter::release`).
        let (finished, to_delete) = tokio::sync::mpsc::unbounded_channel();
        let interpreter = Interpreter {
            api: &self.api,
            model: &self.model,
            markers: &markers,
            discovered: &discovery.owned,
            target,
            webhooks: &self.webhooks,
            exclusive: crate::exec::Exclusive::by_tenant(&tenants),
            slots: crate::exec::Slots::new(c.concurrency),
            created: Default::default(),
            finished: std::sync::Mutex::new(Some(finished)),
            cleaned: Default::default(),
            solo: Default::default(),
            refusals: Default::default(),
        };
        let credentials = self.credentials(target);
        let ctx = Context {
            api: &self.api,
            markers: &markers,
            names: &names,
            credentials: &credentials,
        };
        let run = &Run::new(
            self,
            target,
            &interpreter,
            &ctx,
            plan,
            &tenants,
            started,
            session_lost,
        );
        laps.times.discovery = laps.lap();
        let mut cast = self.cast(owned, discovery.selves.clone());
        cast.tokens = tokens;
        let tally = run.phases(cast, to_delete, laps).await?;
        self.result(run, tally, &discovery, &markers, started, accounts)
    }

    /// The result: findings from what the replays confirmed, the coverage, the counters.
    fn result(
        &self,
        run: &Run<'_>,
        tally: Tally,
        discovery: &super::discover::Discovery,
        markers: &Markers,
        started: Instant,
        accounts: Vec<crate::finding::Finding>,
    ) -> Result<CampaignResult, CampaignError> {
        let (target, plan, names) = (run.target, run.plan, run.ctx.names);
        let Tally {
            confirmed,
            mut coverage,
            cleanup,
            systematic_requests,
            cleanup_requests,
            explored,
            phases,
            failure,
            stopped_early,
        } = tally;
        let mut findings = Vec::new();
        let mut confirmation_requests = 0;
        let shared =
            super::visibility::by_design(&self.api, &self.model, names, &confirmed, &coverage);
        let mut by_design: BTreeMap<usize, (String, usize)> = BTreeMap::new();
        for (done, mut shared) in confirmed.iter().zip(shared) {
            if self.policy.is_private(done.violation.op) {
                shared = None;
            }
            confirmation_requests += done.requests;
            if done.reproduced == 0 && done.replays > 0 {
                continue;
            }
            if let Some(why) = shared {
                by_design
                    .entry(done.violation.op)
                    .or_insert_with(|| (why, 0))
                    .1 += 1;
                continue;
            }
            let mut finding = self.finding(done, names, discovery);
            for step in &mut finding.steps {
                redact_credentials(&mut step.exchange, run.ctx.credentials);
            }
            findings.push(finding);
        }
        for (op, (why, n)) in by_design {
            if let Some(cov) = coverage.get_mut(op) {
                cov.by_design = Some(if n > 1 {
                    format!("{why} (and {} more like it)", n - 1)
                } else {
                    why
                });
            }
        }
        for mut finding in accounts {
            for step in &mut finding.steps {
                redact_credentials(&mut step.exchange, run.ctx.credentials);
            }
            findings.push(finding);
        }
        crate::finding::sort(&mut findings);
        for cov in &mut coverage {
            cov.vectors.sort();
            cov.vectors.dedup();
            cov.checks.sort();
            cov.checks.dedup();
            cov.explain();
        }
        // What exploration sent: everything but the other phases' requests (retries and
        // session renewals included).
        let exploration_requests = target
            .requests()
            .saturating_sub(systematic_requests)
            .saturating_sub(confirmation_requests)
            .saturating_sub(cleanup_requests);
        // Results obtained with a dead session prove nothing: no result at all.
        if let Some(reason) = target.session_lost() {
            return Err(CampaignError::Target(format!(
                "{reason}; the run stopped and its results are not reported"
            )));
        }
        let untested_allowed = self
            .settings
            .campaign
            .max_untested
            .of(coverage.iter().filter(|c| c.in_scope).count());
        Ok(CampaignResult {
            untested_allowed,
            base_url: self.settings.base_url.clone(),
            spec: self.settings.spec.display().to_string(),
            identities: names.to_vec(),
            findings,
            coverage,
            stats: Stats {
                requests: target.requests(),
                duration_ms: started.elapsed().as_millis() as u64,
                systematic_requests,
                exploration_requests,
                explored_cases: explored,
                confirmation_requests,
                cleanup_requests,
                scenarios: plan.probes.len() as u64,
                session_renewals: target.session_renewals(),
                phase_ms: Some(phases),
            },
            operations_total: self.api.operations.len(),
            marker_prefix: format!("tfz{}", markers.run()),
            stopped_early,
            failure: failure.or_else(|| target.lost()),
            broken_sessions: target.broken_sessions(),
            cleanup,
            exchanges: {
                let mut recorded = target.take_recorded();
                for r in &mut recorded {
                    redact_credentials(&mut r.exchange, run.ctx.credentials);
                }
                recorded
            },
            shard: self.settings.campaign.shard,
        })
    }

    /// The target, set up as the settings say, with every identity logged in and its session
    /// proved to work and to be its own account.
    async fn open_target(&self, session_lost: Arc<AtomicBool>) -> Result<Target, CampaignError> {
        let c = &self.settings.campaign;
        let mut target = self.target()?;
        target.stop_on_session_loss(session_lost);
        if let Some(rate) = c.rate {
            target.limit_rate(rate);
        }
        if self.record {
            target.record();
        }
        if let Some(every) = c.session_check {
            target.check_sessions_every(every);
        }
        let controls = self.controls()?;
        target
            .open_sessions(&self.api, &controls, c.concurrency)
            .await
            .map_err(CampaignError::Target)?;
        Ok(target)
    }

    /// The plan for what discovery found each identity owns, cut to this run's shard: a probe
    /// runs in the shard of any operation it attacks; only that shard's attacks on it are
    /// judged and counted, so the shards together judge each attack once.
    fn shard_plan(
        &self,
        owned: &BTreeSet<(usize, usize)>,
        selves: &BTreeSet<(usize, usize)>,
        tokens: &[Option<crate::scenario::TokenShape>],
    ) -> Plan {
        let mut cast = self.cast(owned.clone(), selves.clone());
        cast.tokens = tokens.to_vec();
        let mut plan = plan(&self.api, &self.model, &cast);
        if !self.settings.campaign.systematic {
            plan.probes.clear();
        }
        plan.probes.retain(|p| {
            p.scenario
                .steps
                .iter()
                .any(|s| matches!(s.role, StepRole::Attack { .. }) && self.in_shard[s.op])
        });
        plan
    }

    /// Each identity's own secrets as the sessions hold them now: its bearer token, API key
    /// headers, basic password, cookies and query credentials, and its login flow's password,
    /// token and key variables (an e-mail or phone as a contact field).
    fn credentials(&self, target: &crate::exec::Target) -> Vec<crate::oracle::Credential> {
        use crate::oracle::Credential;
        use crate::secret::Secret;
        let mut out = Vec::new();
        let mut push = |owner: usize, what: String, value: &str, contact: bool| {
            let c = Credential {
                owner,
                what,
                value: Secret::new(value),
                contact,
            };
            if c.usable() {
                out.push(c);
            }
        };
        for (owner, live) in target.current_credentials().iter().enumerate() {
            if owner >= self.settings.identities.len() {
                break;
            }
            for (name, value) in &live.headers {
                let lower = name.to_ascii_lowercase();
                if lower.contains("csrf") || lower.contains("xsrf") {
                    continue;
                }
                if lower == "authorization" {
                    let (scheme, rest) = value.split_once(' ').unwrap_or(("", value));
                    if scheme.eq_ignore_ascii_case("basic") {
                        use base64::Engine;
                        let decoded = base64::engine::general_purpose::STANDARD
                            .decode(rest.trim())
                            .ok()
                            .and_then(|b| String::from_utf8(b).ok());
                        if let Some((_, password)) =
                            decoded.as_deref().and_then(|d| d.split_once(':'))
                        {
                            push(owner, "password".into(), password, false);
                        }
                    } else {
                        push(
                            owner,
                            format!("{} token", scheme.to_ascii_lowercase()),
                            rest.trim(),
                            false,
                        );
                    }
                } else if lower == "cookie" {
                    for pair in value.split(';') {
                        if let Some((k, v)) = pair.trim().split_once('=') {
                            push(owner, format!("{k} cookie"), v, false);
                        }
                    }
                } else {
                    push(owner, format!("{name} header"), value, false);
                }
            }
            for (name, value) in &live.query {
                push(owner, format!("{name} query credential"), value, false);
            }
            let identity = &self.settings.identities[owner];
            let vars = identity.auth.login.iter().flat_map(|f| f.vars.iter());
            let basic = identity
                .auth
                .credentials
                .basic
                .iter()
                .map(|(_, p)| ("password".to_string(), p.clone()));
            for (name, value) in vars.cloned().chain(basic) {
                let lower = name.to_ascii_lowercase();
                if lower.contains("pass") {
                    push(owner, "password".into(), value.expose(), false);
                } else if ["secret", "token", "key"].iter().any(|w| lower.contains(w)) {
                    push(owner, name.to_string(), value.expose(), false);
                } else if lower.contains("mail") || lower.contains("phone") {
                    push(
                        owner,
                        format!("{name} (a contact field)"),
                        value.expose(),
                        true,
                    );
                }
            }
        }
        out
    }

    /// Logs every identity in (login flows included) and proves each session works, without
    /// running the campaign; returns each identity's current credentials (name, headers, query
    /// parameters), for `replay` to hand to reproduction scripts.
    pub(crate) async fn open_sessions(
        &self,
    ) -> Result<Vec<crate::exec::LiveCredentials>, CampaignError> {
        let target = self.target()?;
        let controls = self.controls()?;
        target
            .open_sessions(&self.api, &controls, self.settings.campaign.concurrency)
            .await
            .map_err(CampaignError::Target)?;
        Ok(target.current_credentials())
    }

    /// What validation proved about the target, or the error that this campaign only plans.
    fn reach(&self) -> Result<&crate::config::Reach, CampaignError> {
        self.reach.as_ref().ok_or_else(|| {
            CampaignError::Config(ConfigError::Invalid {
                path: self.settings.source.clone(),
                key: "base_url".into(),
                message: "this campaign was built only to plan (Campaign::planning); build it \
                          with Campaign::new to run it"
                    .into(),
            })
        })
    }

    /// The target with every identity's credentials and login flow, anonymous last, allowed
    /// to send to the base URL and the allowed origins.
    fn target(&self) -> Result<Target, CampaignError> {
        let reach = self.reach()?;
        let senders: Vec<Sender> = self
            .settings
            .identities
            .iter()
            .map(|i| {
                let mut credentials = i.auth.credentials.clone();
                credentials.headers = i.headers.clone();
                Sender {
                    name: i.name.clone(),
                    credentials,
                    login: i.auth.login.clone(),
                }
            })
            .chain([Sender {
                name: "anonymous".into(),
                credentials: Default::default(),
                login: None,
            }])
            .collect();
        let mut target = Target::with_senders(
            &self.settings.base_url,
            &senders,
            self.settings.campaign.request_timeout,
        )
        .map_err(|e| CampaignError::Target(e.to_string()))?;
        target.allow_origins(&reach.allow_origins);
        target.abort_on(self.abort.clone());
        Ok(target)
    }

    /// Each identity's positive control: its configured `health` operation, else the one the
    /// spec suggests (`GET /me` and the like); none for anonymous.
    fn controls(&self) -> Result<Vec<crate::exec::Control>, CampaignError> {
        // An excluded operation is never sent, not even as a control.
        let excluded: Vec<usize> = self
            .settings
            .campaign
            .exclude
            .iter()
            .flat_map(|selector| self.api.select(selector))
            .collect();
        let inferred = crate::exec::Control {
            ops: crate::identity::infer_controls(&self.api)
                .into_iter()
                .filter(|op| !excluded.contains(op))
                .collect(),
            configured: false,
        };
        let mut out = Vec::new();
        for i in &self.settings.identities {
            let op = match &i.auth.health {
                Some(reference) => {
                    let op = self.api.find(reference).ok_or_else(|| {
                        CampaignError::Config(ConfigError::Invalid {
                            path: self.settings.source.clone(),
                            key: format!("identities.{}.health", i.name),
                            message: format!(
                                "'{reference}' names no operation of {}",
                                self.settings.spec.display()
                            ),
                        })
                    })?;
                    if excluded.contains(&op) {
                        return Err(CampaignError::Config(ConfigError::Invalid {
                            path: self.settings.source.clone(),
                            key: format!("identities.{}.health", i.name),
                            message: format!("'{reference}' is excluded by campaign.exclude"),
                        }));
                    }
                    if self.api.operations[op].path.contains('{') {
                        return Err(CampaignError::Config(ConfigError::Invalid {
                            path: self.settings.source.clone(),
                            key: format!("identities.{}.health", i.name),
                            message: format!(
                                "'{reference}' takes path parameters; name an operation without any, like GET /me"
                            ),
                        }));
                    }
                    crate::exec::Control::configured(op)
                }
                None => inferred.clone(),
            };
            out.push(op);
        }
        out.push(crate::exec::Control::default());
        Ok(out)
    }
}

/// The result of the systematic phase: the first scenario that showed each violation, the
/// coverage so far and the requests it took.
type Systematic = (BTreeMap<CandidateKey, Candidate>, Vec<Coverage>, u64);

/// What the webhook probes' chain and the deleter beside it give once both are done.
type SideOutput = ((Vec<(usize, Probed)>, Vec<Confirmed>), (Cleanup, u64));

impl Run<'_> {
    /// The phases after discovery, in order. Exploration starts beside the systematic phase's
    /// tail and goes on while its violations are confirmed; the webhook probes' chain and the
    /// deleter (of what finished executions created) run beside everything until the cleanup.
    async fn phases(
        &self,
        cast: Cast,
        to_delete: UnboundedReceiver<Vec<crate::exec::Created>>,
        mut laps: Laps,
    ) -> Result<Tally, CampaignError> {
        let concurrency = self.campaign.settings.campaign.concurrency;
        let order = self.order();
        let (plain_tx, plain_rx) = tokio::sync::watch::channel(None::<BTreeSet<CandidateKey>>);
        let (later_tx, later_rx) = tokio::sync::watch::channel(None::<BTreeSet<CandidateKey>>);
        let known = Known {
            plan: plain_rx.clone(),
            later_ops: order.later_ops.clone(),
            later: later_rx.clone(),
        };
        // Both boxed to be dropped (with their borrows) once their output is taken.
        let mut exploring = Box::pin(maybe_done(self.exploration(&cast, known)));
        let chain = self.webhook_chain(order.hooked, order.overlap, plain_rx, later_tx);
        let deleter =
            super::cleanup::deleting(self.interpreter, self.tenants, concurrency, to_delete);
        let mut side = Box::pin(maybe_done(async move { tokio::join!(chain, deleter) }));

        let (first, coverage, systematic_requests) = self
            .systematic(order.plain, exploring.as_mut(), side.as_mut())
            .await?;
        laps.times.systematic = laps.lap();
        // Exploration and the webhook probes deduplicate against what the plan found.
        let _ = plain_tx.send(Some(first.keys().cloned().collect()));

        // The rest of exploration, and meanwhile the confirmation of what the plan found
        // (longest first, as in the systematic phase).
        let planned = longest_first(first);
        self.progress.violations(planned.len() as u64);
        self.progress.enter(
            Phase::Exploration,
            u64::from(self.campaign.settings.campaign.cases),
        );
        let (mut confirmed, ()) = alongside(
            async { tokio::join!(self.confirm_all(planned, false), exploring.as_mut()) },
            side.as_mut(),
        )
        .await;
        let (explored, found) = exploring.as_mut().take_output().unwrap_or_default();
        drop(exploring);
        laps.times.exploration = laps.lap();

        // The confirmation of what exploration found, counted with the webhook probes'
        // violations once they are judged.
        let planned_count = confirmed.len() as u64;
        let fresh = longest_first(found);
        let webhook_count = later_rx.borrow().as_ref().map_or(0, BTreeSet::len) as u64;
        self.progress
            .violations(planned_count + fresh.len() as u64 + webhook_count);
        self.progress
            .enter(Phase::Confirmation, planned_count + fresh.len() as u64);
        self.progress.advance(planned_count);
        confirmed.extend(alongside(self.confirm_all(fresh, true), side.as_mut()).await);
        laps.times.confirmation = laps.lap();

        let mut tally = self.cleanup_phase(side.as_mut(), coverage).await;
        drop(side);
        tally.confirmed.splice(0..0, confirmed);
        tally.systematic_requests += systematic_requests;
        tally.explored = explored;
        laps.times.cleanup = laps.lap();
        tally.phases = laps.times;
        Ok(tally)
    }

    /// The systematic phase: every planned probe (exploration and the webhook chain polled
    /// beside it), then the check that the target answered, the coverage, and the violations
    /// judged and deduplicated.
    async fn systematic(
        &self,
        plain: Vec<usize>,
        exploring: Pin<&mut impl Future<Output = ()>>,
        side: Pin<&mut impl Future<Output = ()>>,
    ) -> Result<Systematic, CampaignError> {
        let before = self.target.requests();
        self.progress.enter(Phase::Systematic, plain.len() as u64);
        let executions = alongside(
            alongside(self.probe_all(plain, true, true), exploring),
            side,
        )
        .await;
        self.check_answered(&executions)?;
        let coverage = self.campaign.coverage(self.plan, &executions);
        let requests = before + executions.iter().map(|(_, p)| p.exec.sent()).sum::<u64>();
        let mut first = BTreeMap::new();
        self.campaign
            .judge_probes(self.plan, executions, &mut first);
        Ok((first, coverage, requests))
    }

    /// The cleanup. Most of what was created is gone already, deleted as its execution
    /// finished; what is left without a webhook lock goes next, while the webhook chains
    /// finish (they use only what they create); then the rest. Whether the run stopped short
    /// is decided before the last of the cleanup, which runs regardless.
    async fn cleanup_phase<S: Future<Output = SideOutput>>(
        &self,
        mut side: Pin<&mut MaybeDone<S>>,
        mut coverage: Vec<Coverage>,
    ) -> Tally {
        self.progress.enter(Phase::Cleanup, 0);
        self.progress.requests(self.target.requests());
        let (mut cleanup, mut cleanup_requests) =
            alongside(self.clean_up(true), side.as_mut()).await;
        // No more hand-overs: the deleter ends once it has deleted what it was given.
        if let Ok(mut finished) = self.interpreter.finished.lock() {
            finished.take();
        }
        side.as_mut().await;
        let ((hook_executions, hook_confirmed), (gone, requests)) =
            side.as_mut().take_output().unwrap_or_default();
        cleanup.absorb(gone);
        cleanup_requests += requests;
        self.campaign
            .add_coverage(&mut coverage, self.plan, &hook_executions);
        let systematic_requests = hook_executions
            .iter()
            .map(|(_, p)| p.exec.sent())
            .sum::<u64>();
        let failure = self.failure();
        let stopped_early = self.stopped_early(failure.as_ref());
        let (rest, requests) = self.clean_up(false).await;
        cleanup.absorb(rest);
        cleanup_requests += requests;
        // Each object once, by what was last found of it (an upsert's object made again after
        // its delete was deleted again).
        if let Ok(ledger) = self.interpreter.cleaned.lock() {
            cleanup = ledger.summary();
        }
        self.progress.requests(self.target.requests());
        self.progress.enter(Phase::Done, 0);
        tracing::info!(
            deleted = cleanup.deleted,
            left = cleanup.left.len(),
            requests = cleanup_requests,
            "cleanup"
        );
        Tally {
            confirmed: hook_confirmed,
            coverage,
            cleanup,
            systematic_requests,
            cleanup_requests,
            explored: 0,
            phases: PhaseTimes::default(),
            failure,
            stopped_early,
        }
    }
}

/// Candidates, the longest scenario first (they take longest to replay).
fn longest_first(found: BTreeMap<CandidateKey, Candidate>) -> Vec<Candidate> {
    let mut list: Vec<Candidate> = found.into_values().collect();
    list.sort_by_key(|c| std::cmp::Reverse(c.scenario.steps.len()));
    list
}

/// Per operation, whether `shard` attacks it: the operations sorted by `METHOD /path` are dealt
/// round-robin over the shards, so every machine of a matrix computes the same split.
fn shard_members(api: &Api, shard: Option<crate::config::Shard>) -> Vec<bool> {
    let Some(shard) = shard else {
        return vec![true; api.operations.len()];
    };
    let mut order: Vec<usize> = (0..api.operations.len()).collect();
    order.sort_by_key(|op| api.operations[*op].label());
    let mut members = vec![false; api.operations.len()];
    for (position, op) in order.into_iter().enumerate() {
        members[op] = shard.owns(position);
    }
    members
}

/// `path.NAME`, `query.NAME`, `header.NAME`, `body./pointer`.
fn parse_slot(text: &str) -> Option<Slot> {
    let (kind, name) = text.split_once('.')?;
    Some(match kind {
        "path" => Slot::Path(name.to_string()),
        "query" => Slot::Query(name.to_string()),
        "header" => Slot::Header(name.to_string()),
        "body" => Slot::Body(name.to_string()),
        _ => return None,
    })
}

/// Wall-clock milliseconds of each phase, each from the end of the one before.
struct Laps {
    times: PhaseTimes,
    since: Instant,
}

impl Laps {
    fn new(started: Instant) -> Laps {
        Laps {
            times: PhaseTimes::default(),
            since: started,
        }
    }

    /// Milliseconds since the last lap (or the start), and a new lap begins.
    fn lap(&mut self) -> u64 {
        let ms = self.since.elapsed().as_millis() as u64;
        self.since = Instant::now();
        ms
    }
}

/// What the phases of a run gathered for its result.
struct Tally {
    confirmed: Vec<super::confirm::Confirmed>,
    coverage: Vec<crate::outcome::Coverage>,
    cleanup: crate::outcome::Cleanup,
    systematic_requests: u64,
    cleanup_requests: u64,
    explored: u64,
    phases: PhaseTimes,
    failure: Option<String>,
    stopped_early: Option<String>,
}

/// A bearer token's shape: a JWT (with the entry of the weak-key list that signed it, tried
/// offline), or opaque.
fn token_shape(token: &str) -> crate::scenario::TokenShape {
    match crate::identity::jwt::Jwt::parse(token) {
        Some(jwt) => crate::scenario::TokenShape::Jwt {
            cracked: jwt.crack(),
        },
        None => crate::scenario::TokenShape::Opaque,
    }
}

/// `exchange`'s answer with every identity's secret replaced by `***`: a report shows which
/// secret an answer carried, never the secret.
fn redact_credentials(
    exchange: &mut crate::exchange::Exchange,
    credentials: &[crate::oracle::Credential],
) {
    let text = exchange.response_text();
    if !credentials.iter().any(|c| text.contains(c.value.expose())) {
        return;
    }
    let mut text = text.to_string();
    for c in credentials {
        text = text.replace(c.value.expose(), crate::report::redact::REDACTED);
    }
    exchange.response_body = crate::exchange::Body::from_text(text);
}
