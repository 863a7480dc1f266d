//! Running a campaign end to end.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use futures_util::{FutureExt, StreamExt};

use super::confirm::{Bounds, confirm};
use super::discover::discover;
use crate::config::{ConfigError, Settings};
use crate::exchange::Execution;
use crate::exec::{Interpreter, Sender, Target};
use crate::finding::{
    Finding, Kind, OperationRef, ReproStep, Status, Vector, Violation, fingerprint,
};
use crate::marker::Markers;
use crate::model::{Overrides, ResourceModel, Slot};
use crate::oracle::{self, Context};
use crate::outcome::{CampaignResult, Coverage, PhaseTimes, Stats};
use crate::scenario::{Cast, Plan, Scenario, StepRole, compile, plan};
use crate::spec::{Api, SpecError};

/// Scenarios in flight per slot of the concurrency. A scenario holds a slot only while one of
/// its requests is out; between requests (judging, waiting for a tenant's webhook lock) it
/// holds none, so more scenarios than slots keep every slot busy.
const SCENARIOS_PER_SLOT: usize = 4;

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

/// A violation with the scenario and execution that first showed it.
type Candidate = (Scenario, Execution, Violation);

/// A probe's execution, judged as it finished (while its answers are fresh in memory): the
/// violations it showed in this shard, and the execution, stripped to its statuses when it
/// showed none (all coverage and retries read), so a phase's answers do not all stay alive
/// until the phase ends.
#[derive(Clone, Default)]
struct Probed {
    exec: Execution,
    violations: Vec<Violation>,
}
/// What makes two violations the same finding: kind, operation, vector, attacker, victim.
type CandidateKey = (Kind, usize, Vector, String, String);

/// What exploration judges a violation new against: the violations of the plan's probes,
/// arriving when the systematic phase (which exploration starts beside) is judged, and those
/// of its webhook probes (`later_ops` are the operations they attack) arriving when those
/// probes, which run on into exploration, are all judged.
struct Known {
    plan: tokio::sync::watch::Receiver<Option<BTreeSet<CandidateKey>>>,
    later_ops: BTreeSet<usize>,
    later: tokio::sync::watch::Receiver<Option<BTreeSet<CandidateKey>>>,
}

/// Exploration's verdicts, decided in draw order: what each case showed that nothing before it
/// did (the plan's probes or earlier cases). A case that showed a violation waits until the
/// plan's violations are learnt, and one that showed a violation on one of `later_ops` until
/// the webhook probes' are too, so what is new never depends on which finished first.
struct InOrder<T> {
    held: std::collections::VecDeque<(T, Vec<Violation>)>,
    known: Option<BTreeSet<CandidateKey>>,
    later_ops: BTreeSet<usize>,
    later: Option<BTreeSet<CandidateKey>>,
    claimed: BTreeSet<CandidateKey>,
}

impl<T> InOrder<T> {
    fn new(known: Option<BTreeSet<CandidateKey>>, later_ops: BTreeSet<usize>) -> Self {
        InOrder {
            held: Default::default(),
            known,
            later_ops,
            later: None,
            claimed: BTreeSet::new(),
        }
    }

    /// The next case in draw order, with the violations it showed.
    fn push(&mut self, case: T, violations: Vec<Violation>) {
        self.held.push_back((case, violations));
    }

    /// The plan's violations, now all judged.
    fn learn_plan(&mut self, known: BTreeSet<CandidateKey>) {
        self.known = Some(known);
    }

    /// The webhook probes' violations, now all judged.
    fn learn(&mut self, later: BTreeSet<CandidateKey>) {
        self.later = Some(later);
    }

    fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Whether the next case waits for [`InOrder::learn_plan`].
    fn waiting_plan(&self) -> bool {
        self.known.is_none()
            && self
                .held
                .front()
                .is_some_and(|(_, violations)| !violations.is_empty())
    }

    /// Whether the next case waits for [`InOrder::learn`].
    fn waiting_later(&self) -> bool {
        self.later.is_none()
            && self.held.front().is_some_and(|(_, violations)| {
                violations.iter().any(|v| self.later_ops.contains(&v.op))
            })
    }

    /// Whether the next case cannot be decided yet.
    fn waiting(&self) -> bool {
        self.waiting_plan() || self.waiting_later()
    }

    /// The next case, if it can be decided now, with its new violations.
    fn next_decided(&mut self) -> Option<(T, Vec<Violation>)> {
        if self.waiting() {
            return None;
        }
        let (case, violations) = self.held.pop_front()?;
        let new = violations
            .into_iter()
            .filter(|v| {
                let key = v.key();
                !self.known.as_ref().is_some_and(|k| k.contains(&key))
                    && !self.later.as_ref().is_some_and(|l| l.contains(&key))
                    && self.claimed.insert(key)
            })
            .collect();
        Some((case, new))
    }

    /// Distinct violations seen so far: the plan's and the new ones.
    fn seen(&self) -> usize {
        self.known.as_ref().map_or(0, BTreeSet::len)
            + self.later.as_ref().map_or(0, BTreeSet::len)
            + self.claimed.len()
    }
}

/// Polls `side` (to completion, then no more) while awaiting `main`.
async fn alongside<F: std::future::Future>(
    main: F,
    mut side: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> F::Output {
    let mut main = std::pin::pin!(main);
    futures_util::future::poll_fn(|cx| {
        let _ = side.as_mut().poll(cx);
        main.as_mut().poll(cx)
    })
    .await
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
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Whether to keep every exchange in the result (for HAR).
    record: bool,
    /// How far the run has got (read by progress displays).
    progress: std::sync::Arc<super::Progress>,
    /// Per operation, whether this run's shard attacks it (all true when unsharded).
    in_shard: Vec<bool>,
}

impl Campaign {
    /// Loads the spec and infers the model.
    pub fn new(settings: Settings) -> Result<Campaign, CampaignError> {
        let api = crate::spec::load(&settings.spec)?;
        Campaign::with_api(settings, api)
    }

    /// A campaign over an API already loaded.
    pub fn with_api(settings: Settings, api: Api) -> Result<Campaign, CampaignError> {
        let source = settings.spec.display().to_string();
        let unknown = |what: &str, reference: &str| {
            CampaignError::Config(ConfigError::Invalid {
                path: "config".into(),
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
                    path: "config".into(),
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
        let plans: Vec<String> = settings
            .identities
            .iter()
            .filter_map(|i| i.plan.clone())
            .collect();
        let policy =
            crate::model::Policy::resolve(&api, &settings.policy, &plans).map_err(|e| {
                CampaignError::Config(ConfigError::Invalid {
                    path: "config".into(),
                    key: format!("policy.rules[{}].operations", e.rule),
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
            record: false,
            progress: Default::default(),
            in_shard,
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
    /// discovery, assuming every identity holds one of each resource nothing creates).
    pub fn plan(&self, owned: Option<&BTreeSet<(usize, usize)>>) -> Plan {
        let tenants = self.tenants();
        let owned = owned.cloned().unwrap_or_else(|| {
            let mut all = BTreeSet::new();
            for identity in 0..tenants.len() - 1 {
                for r in 0..self.model.resources.len() {
                    if self.model.producer_of(r).is_none() {
                        all.insert((identity, r));
                    }
                }
            }
            all
        });
        plan(&self.api, &self.model, &self.cast(owned))
    }

    /// Who is who for planning, with `owned` resources.
    pub fn cast(&self, owned: BTreeSet<(usize, usize)>) -> Cast {
        let ids = &self.settings.identities;
        Cast {
            tenants: self.tenants(),
            owned,
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
        }
    }

    /// Runs the campaign as a task of the current tokio interpreter, which is how the CLI runs it:
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

    /// Runs the campaign against the target, inside the caller's future (see `run_as_task`).
    pub async fn run(&self) -> Result<CampaignResult, CampaignError> {
        let started = Instant::now();
        let c = &self.settings.campaign;
        let deadline = c.max_time.map(|t| started + t);
        let stop = self.stop.clone();
        // Set when an identity's session is lost mid-run: stop like an interrupt, then fail.
        let session_lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let lost_flag = session_lost.clone();
        let interrupted = &move || {
            stop.load(std::sync::atomic::Ordering::Relaxed)
                || lost_flag.load(std::sync::atomic::Ordering::Relaxed)
        };
        let names = self.identity_names();
        let mut target = self.target()?;
        target.stop_on_session_loss(session_lost.clone());
        if let Some(rate) = c.rate {
            target.limit_rate(rate);
        }
        target.allow_origins(&self.settings.allow_origins);
        if self.record {
            target.record();
        }
        if let Some(every) = c.session_check {
            target.check_sessions_every(every);
        }
        let target = &target;
        // Log every identity in, and prove each session works and is its own account.
        let controls = self.controls()?;
        target
            .open_sessions(&self.api, &controls, self.settings.campaign.concurrency)
            .await
            .map_err(CampaignError::Target)?;
        // Set when work was left undone because the run had to stop (time, Ctrl-C, lost target).
        let skipped = &std::sync::atomic::AtomicBool::new(false);
        // Why the target was taken as lost, the first time it was (it may answer again later).
        let lost = &std::sync::Mutex::new(None::<String>);
        let out_of_time = &|| {
            let gone = target.lost();
            let stop =
                deadline.is_some_and(|d| Instant::now() >= d) || interrupted() || gone.is_some();
            if let (Some(why), Ok(mut first)) = (gone, lost.lock()) {
                first.get_or_insert(why);
            }
            if stop {
                skipped.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            stop
        };
        let tenants = self.tenants();
        let progress = &*self.progress;
        progress.enter(super::Phase::Discovery, 0);
        // Discovery doubles as the sessions' health check.
        let discovery = discover(&self.api, &self.model, target, &tenants, c.concurrency).await;
        self.check_sessions(&discovery.answers, &names)?;
        let owned_set: BTreeSet<(usize, usize)> = discovery.owned.keys().copied().collect();
        let mut plan = self.plan(Some(&owned_set));
        if !c.systematic {
            plan.probes.clear();
        }
        // A probe runs in the shard of any operation it attacks; only that shard's attacks on it
        // are judged and counted, so the shards together judge each attack once.
        plan.probes.retain(|p| {
            p.scenario
                .steps
                .iter()
                .any(|s| matches!(s.role, StepRole::Attack { .. }) && self.in_shard[s.op])
        });
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
        };
        let ctx = Context {
            api: &self.api,
            markers: &markers,
            names: &names,
        };
        let mut phases = PhaseTimes::default();
        let mut phase_start = started;
        let mut lap = |slot: &mut u64| {
            *slot = phase_start.elapsed().as_millis() as u64;
            phase_start = Instant::now();
        };
        lap(&mut phases.discovery);
        let before_systematic = target.requests();
        let bounds = Bounds {
            confirmations: c.confirmations,
            shrink_iterations: c.shrink_iterations,
            shrink_time: c.shrink_time,
        };
        let window = c.concurrency.max(1) * SCENARIOS_PER_SLOT;
        let (rt, cx, bd) = (&interpreter, &ctx, &bounds);
        // Confirms a list of candidates, a window of them at a time (their requests share the
        // slots); `counted` when the progress display is on the confirmation phase.
        let confirm_all = move |list: Vec<Candidate>, counted: bool| {
            futures_util::stream::iter(list)
                .map(move |(scenario, exec, v)| async move {
                    if out_of_time() {
                        let why = if interrupted() {
                            "not confirmed: the run was interrupted"
                        } else if target.lost().is_some() {
                            "not confirmed: the target stopped answering"
                        } else {
                            "not confirmed: the run reached its time limit (--max-time)"
                        };
                        return super::confirm::Confirmed::not_attempted(&scenario, &exec, &v, why);
                    }
                    let done = confirm(rt, cx, &scenario, &exec, &v, bd).await;
                    if counted {
                        progress.step(target.requests());
                    } else {
                        progress.requests(target.requests());
                    }
                    done
                })
                // Findings are sorted afterwards: no need to wait for the slowest in order.
                .buffer_unordered(window)
                .collect::<Vec<_>>()
                .boxed()
        };
        // Systematic phase. More scenarios run than there are slots: each holds a slot only
        // while one of its requests is in flight. Within it, the longest start first, so the
        // phase does not end with a few long ones running alone (results are judged in plan
        // order).
        //
        // The webhook probes are a chain: those on one tenant run one after another (events
        // that credit one account must not interleave), then their findings' confirmations do
        // the same. They start first and run on beside exploration, which waits for their
        // verdicts only to judge a case on an operation they attack; the phase itself ends
        // when the other probes have run.
        let plan = &plan;
        let attacks_webhook = |i: &usize| {
            plan.probes[*i].scenario.steps.iter().any(|s| {
                matches!(s.role, StepRole::Attack { .. })
                    && self.webhooks.iter().any(|(op, _)| *op == s.op)
            })
        };
        let mut order: Vec<usize> = (0..plan.probes.len()).collect();
        order.sort_by_cached_key(|i| {
            let s = &plan.probes[*i].scenario;
            std::cmp::Reverse((interpreter.has_webhook(s), s.steps.len()))
        });
        let (hooked, order): (Vec<usize>, Vec<usize>) =
            order.into_iter().partition(attacks_webhook);
        let later_ops: BTreeSet<usize> = hooked
            .iter()
            .flat_map(|i| &plan.probes[*i].scenario.steps)
            .filter(|s| matches!(s.role, StepRole::Attack { .. }))
            .map(|s| s.op)
            .collect();
        let overlap = order.iter().any(|i| {
            plan.probes[*i]
                .scenario
                .steps
                .iter()
                .any(|s| matches!(s.role, StepRole::Attack { .. }) && later_ops.contains(&s.op))
        });
        // Told once every probe of the systematic phase has started: exploration fills the
        // slots its tail leaves idle.
        let launched = &tokio::sync::Notify::new();
        let run_probes = move |list: Vec<usize>, counted: bool, tell: bool| {
            let mut list = list.into_iter();
            let list = std::iter::from_fn(move || {
                let next = list.next();
                if next.is_none() && tell {
                    launched.notify_one();
                }
                next
            });
            futures_util::stream::iter(list.map(move |i| (i, &plan.probes[i])))
                .map(move |(i, probe)| async move {
                    if out_of_time() {
                        return (i, Probed::default());
                    }
                    let execution = rt.execute(&probe.scenario).await;
                    if counted {
                        progress.step(target.requests());
                    } else {
                        progress.requests(target.requests());
                    }
                    (i, self.judged(cx, &probe.scenario, execution))
                })
                .buffer_unordered(window)
                .collect::<Vec<_>>()
                .boxed()
        };
        // A probe the target disturbed (a 5xx, a 429 after the retries, a body cut short, no
        // answer) proves nothing either way: it runs once more, and the second execution is
        // kept when the target let it through.
        let probe_all = move |list: Vec<usize>, counted: bool, tell: bool| async move {
            let mut executions = run_probes(list, counted, tell).await;
            let again: Vec<usize> = executions
                .iter()
                .filter(|(_, p)| p.exec.unjudgeable())
                .map(|(i, _)| *i)
                .collect();
            if !again.is_empty() && !out_of_time() {
                let mut retried: BTreeMap<usize, Probed> = run_probes(again, false, false)
                    .await
                    .into_iter()
                    .filter(|(_, p)| !p.exec.steps.is_empty() && !p.exec.unjudgeable())
                    .collect();
                for (i, e) in &mut executions {
                    if let Some(better) = retried.remove(i) {
                        *e = better;
                    }
                }
            }
            executions
        };
        // The other probes' violations, for the webhook probes' and exploration's to be
        // deduplicated against.
        let (plain_tx, mut plain_rx) = tokio::sync::watch::channel(None::<BTreeSet<CandidateKey>>);
        let (later_tx, later_rx) = tokio::sync::watch::channel(None::<BTreeSet<CandidateKey>>);
        // Exploration (random drafts beyond the plan; new violations are shrunk by proptest)
        // starts once every probe of the plan has: its cases run beside the systematic phase's
        // tail, then beside the confirmation of what the plan found, all taking their slots from
        // the interpreter, so together they keep to the concurrency. It judges a violation new
        // against the plan's alone (waiting for them), so what it adds does not depend on
        // timing.
        let cast = self.cast(owned_set.clone());
        let known = Known {
            plan: plain_rx.clone(),
            later_ops: later_ops.clone(),
            later: later_rx.clone(),
        };
        let exploring = async {
            launched.notified().await;
            if c.cases == 0 || out_of_time() {
                (0, BTreeMap::new())
            } else {
                self.explore(&interpreter, &ctx, &cast, known, out_of_time)
                    .await
            }
        };
        // Boxed to be dropped (with its borrows) once its output is taken.
        let mut exploring = Box::pin(futures_util::future::maybe_done(exploring));
        let webhook_chain = async move {
            let executions = probe_all(hooked, false, false).await;
            let mut first: BTreeMap<CandidateKey, Candidate> = BTreeMap::new();
            self.judge_probes(plan, executions.clone(), &mut first);
            // Only when another probe attacks the same operations can it show the same
            // violations: then its verdicts are awaited.
            let plain = if !overlap {
                BTreeSet::new()
            } else {
                match plain_rx.wait_for(Option::is_some).await {
                    Ok(keys) => keys.clone().unwrap_or_default(),
                    Err(_) => BTreeSet::new(),
                }
            };
            first.retain(|k, _| !plain.contains(k));
            let _ = later_tx.send(Some(first.keys().cloned().collect()));
            let mut list: Vec<Candidate> = first.into_values().collect();
            list.sort_by_key(|c| std::cmp::Reverse(c.0.steps.len()));
            (executions, confirm_all(list, false).await)
        };
        // Beside it all, from now on: deleting what finished executions created.
        let deleter = super::cleanup::deleting(rt, &tenants, c.concurrency, to_delete);
        // Boxed to be dropped (with its borrows) once its output is taken.
        let mut webhook_chain = Box::pin(futures_util::future::maybe_done(async move {
            tokio::join!(webhook_chain, deleter)
        }));
        progress.enter(super::Phase::Systematic, order.len() as u64);
        let executions = alongside(
            alongside(probe_all(order, true, true), exploring.as_mut()),
            webhook_chain.as_mut(),
        )
        .await;
        lap(&mut phases.systematic);
        let sent = || {
            executions
                .iter()
                .flat_map(|(_, p)| p.exec.steps.iter().filter_map(|s| s.exchange.as_ref()))
        };
        if sent().next().is_some() && sent().all(|x| x.status.is_none()) {
            return Err(CampaignError::Target(format!(
                "the target at {} answered no request",
                self.settings.base_url
            )));
        }
        let mut coverage = self.coverage(plan, &executions);
        let mut systematic_requests =
            before_systematic + executions.iter().map(|(_, p)| p.exec.sent()).sum::<u64>();
        // Judge, deduplicate, keep the first scenario that showed each violation.
        let mut first: BTreeMap<CandidateKey, Candidate> = BTreeMap::new();
        self.judge_probes(plan, executions, &mut first);
        let _ = plain_tx.send(Some(first.keys().cloned().collect()));
        // The rest of exploration, and meanwhile the confirmation of what the plan found.
        let mut planned: Vec<Candidate> = first.into_values().collect();
        // Longest first, as in the systematic phase.
        planned.sort_by_key(|c| std::cmp::Reverse(c.0.steps.len()));
        progress.violations(planned.len() as u64);
        progress.enter(super::Phase::Exploration, u64::from(c.cases));
        let (mut confirmed, ()) = alongside(
            async { tokio::join!(confirm_all(planned, false), exploring.as_mut()) },
            webhook_chain.as_mut(),
        )
        .await;
        let (explored, found) = exploring.as_mut().take_output().unwrap_or_default();
        drop(exploring);
        lap(&mut phases.exploration);
        let planned_count = confirmed.len() as u64;
        let mut fresh: Vec<Candidate> = found.into_values().collect();
        fresh.sort_by_key(|c| std::cmp::Reverse(c.0.steps.len()));
        // With the webhook probes' violations, once they are judged.
        let webhook_count = later_rx.borrow().as_ref().map_or(0, BTreeSet::len) as u64;
        progress.violations(planned_count + fresh.len() as u64 + webhook_count);
        progress.enter(
            super::Phase::Confirmation,
            planned_count + fresh.len() as u64,
        );
        progress.advance(planned_count);
        confirmed.extend(alongside(confirm_all(fresh, true), webhook_chain.as_mut()).await);
        lap(&mut phases.confirmation);
        // Cleanup. Most of what was created is gone already, deleted as its execution
        // finished; what is left without a webhook lock goes next, while the webhook chains
        // finish (they use only what they create); then the rest.
        progress.enter(super::Phase::Cleanup, 0);
        progress.requests(target.requests());
        let (mut cleanup, mut cleanup_requests) = alongside(
            super::cleanup::cleanup(&interpreter, &tenants, c.concurrency, true),
            webhook_chain.as_mut(),
        )
        .await;
        // No more hand-overs: the deleter ends once it has deleted what it was given.
        if let Ok(mut finished) = interpreter.finished.lock() {
            finished.take();
        }
        webhook_chain.as_mut().await;
        let ((hook_executions, hook_confirmed), (gone, requests)) =
            webhook_chain.as_mut().take_output().unwrap_or_default();
        drop(webhook_chain);
        cleanup.deleted += gone.deleted;
        cleanup.left.extend(gone.left);
        cleanup_requests += requests;
        self.add_coverage(&mut coverage, plan, &hook_executions);
        systematic_requests += hook_executions
            .iter()
            .map(|(_, p)| p.exec.sent())
            .sum::<u64>();
        confirmed.extend(hook_confirmed);
        // Whether the run stopped short, decided once every probe and confirmation is done and
        // before the last of the cleanup (which runs regardless).
        let failure = lost
            .lock()
            .ok()
            .and_then(|mut l| l.take())
            .or_else(|| target.lost());
        let stopped_early = if !skipped.load(std::sync::atomic::Ordering::Relaxed) {
            None
        } else if interrupted() {
            Some("the run was interrupted: some probes were not sent and some findings are not confirmed".to_string())
        } else if let Some(why) = &failure {
            Some(format!(
                "{why}: some probes were not sent and some findings are not confirmed"
            ))
        } else {
            Some(format!(
                "the run reached its time limit ({} s): some probes were not sent and some findings are not confirmed; raise --max-time",
                c.max_time.map(|t| t.as_secs()).unwrap_or(0)
            ))
        };
        let (rest, requests) =
            super::cleanup::cleanup(&interpreter, &tenants, c.concurrency, false).await;
        cleanup.deleted += rest.deleted;
        cleanup.left.extend(rest.left);
        cleanup_requests += requests;
        lap(&mut phases.cleanup);
        progress.requests(target.requests());
        progress.enter(super::Phase::Done, 0);
        tracing::info!(
            deleted = cleanup.deleted,
            left = cleanup.left.len(),
            requests = cleanup_requests,
            "cleanup"
        );
        let mut findings = Vec::new();
        let mut confirmation_requests = 0;
        for done in confirmed {
            confirmation_requests += done.requests;
            if done.public || (done.reproduced == 0 && done.replays > 0) {
                continue;
            }
            findings.push(self.finding(&done, &names, &discovery));
        }
        crate::finding::sort(&mut findings);
        for cov in &mut coverage {
            cov.vectors.sort();
            cov.vectors.dedup();
            cov.checks.sort();
            cov.checks.dedup();
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
        Ok(CampaignResult {
            base_url: self.settings.base_url.clone(),
            spec: self.settings.spec.display().to_string(),
            identities: names,
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
            cleanup,
            exchanges: target.take_recorded(),
            shard: c.shard,
        })
    }

    /// Logs every identity in (login flows included) and proves each session works, without
    /// running the campaign; returns each identity's current credentials (name, headers, query
    /// parameters), for `replay` to hand to reproduction scripts.
    pub(crate) async fn open_sessions(
        &self,
    ) -> Result<Vec<crate::exec::LiveCredentials>, CampaignError> {
        let mut target = self.target()?;
        target.allow_origins(&self.settings.allow_origins);
        let controls = self.controls()?;
        target
            .open_sessions(&self.api, &controls, self.settings.campaign.concurrency)
            .await
            .map_err(CampaignError::Target)?;
        Ok(target.current_credentials())
    }

    /// The target with every identity's credentials and login flow, anonymous last.
    fn target(&self) -> Result<Target, CampaignError> {
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
        Target::with_senders(
            &self.settings.base_url,
            &senders,
            self.settings.campaign.request_timeout,
        )
        .map_err(|e| CampaignError::Target(e.to_string()))
    }

    /// Each identity's positive control: its configured `health` operation, else the one the
    /// spec suggests (`GET /me` and the like); none for anonymous.
    fn controls(&self) -> Result<Vec<Option<usize>>, CampaignError> {
        // An excluded operation is never sent, not even as a control.
        let excluded: Vec<usize> = self
            .settings
            .campaign
            .exclude
            .iter()
            .flat_map(|selector| self.api.select(selector))
            .collect();
        let inferred =
            crate::identity::infer_control(&self.api).filter(|op| !excluded.contains(op));
        let mut out = Vec::new();
        for i in &self.settings.identities {
            let op = match &i.auth.health {
                Some(reference) => {
                    let op = self.api.find(reference).ok_or_else(|| {
                        CampaignError::Config(ConfigError::Invalid {
                            path: "config".into(),
                            key: format!("identities.{}.health", i.name),
                            message: format!(
                                "'{reference}' names no operation of {}",
                                self.settings.spec.display()
                            ),
                        })
                    })?;
                    if excluded.contains(&op) {
                        return Err(CampaignError::Config(ConfigError::Invalid {
                            path: "config".into(),
                            key: format!("identities.{}.health", i.name),
                            message: format!("'{reference}' is excluded by campaign.exclude"),
                        }));
                    }
                    if self.api.operations[op].path.contains('{') {
                        return Err(CampaignError::Config(ConfigError::Invalid {
                            path: "config".into(),
                            key: format!("identities.{}.health", i.name),
                            message: format!(
                                "'{reference}' takes path parameters; name an operation without any, like GET /me"
                            ),
                        }));
                    }
                    Some(op)
                }
                None => inferred,
            };
            out.push(op);
        }
        out.push(None);
        Ok(out)
    }

    /// Runs `campaign.cases` explored scenarios, `concurrency` at a time, drawn by proptest with
    /// the campaign's seed. A violation not seen before is shrunk through proptest's value tree
    /// (fewer moves, smaller choices), re-executing each candidate, and joins the candidates.
    /// Returns how many cases ran.
    async fn explore(
        &self,
        interpreter: &Interpreter<'_>,
        ctx: &Context<'_>,
        cast: &Cast,
        known: Known,
        out_of_time: &(dyn Fn() -> bool + Sync),
    ) -> (u64, BTreeMap<CandidateKey, Candidate>) {
        let mut candidates = BTreeMap::new();
        use proptest::strategy::{Strategy, ValueTree};
        use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
        let c = &self.settings.campaign;
        let Some(strategy) = crate::scenario::strategy(&self.api, &self.model, cast, c.max_steps)
        else {
            return (0, candidates);
        };
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&c.seed.to_le_bytes());
        }
        let config = Config {
            cases: c.cases,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        let mut drawn = 0;
        let mut ran = 0;
        // Cases are drawn one after another (the same draws for the same seed) and run through a
        // window of `concurrency`: a case starts as soon as any other finishes, not when a whole
        // batch has. Results come back in draw order, so what is judged new is deterministic.
        let draws = std::iter::from_fn(|| {
            while drawn < c.cases && !out_of_time() {
                drawn += 1;
                let Ok(tree) = strategy.new_tree(&mut runner) else {
                    continue;
                };
                if let Some(probe) = compile(&self.api, &self.model, cast, &tree.current()) {
                    return Some((tree, probe));
                }
            }
            None
        });
        let window = c.concurrency.max(1) * SCENARIOS_PER_SLOT;
        let mut results = futures_util::stream::iter(draws)
            .map(|(tree, probe)| async move {
                let exec = interpreter.execute(&probe.scenario).await;
                (tree, probe, exec)
            })
            .buffered(window)
            .boxed();
        // A case that shows something new is shrunk beside the window, which keeps running:
        // what is new is decided in draw order (against the plan's violations and those of
        // earlier cases, shrunk or still shrinking), so it does not depend on timing.
        let mut shrinking = futures_util::stream::FuturesUnordered::new();
        // Judged cases wait in draw order for their turn: one that showed a violation waits for
        // the plan's verdicts, and one on an operation the plan's webhook probes attack until
        // those probes are judged too.
        let mut verdicts = InOrder::new(None, known.later_ops);
        let mut plan = known.plan;
        let mut later = known.later;
        let mut drained = false;
        while !(drained && shrinking.is_empty() && verdicts.is_empty()) {
            tokio::select! {
                Some(found) = shrinking.next(), if !shrinking.is_empty() => {
                    let found: Vec<(CandidateKey, Candidate)> = found;
                    candidates.extend(found);
                }
                // The plan's violations, once the systematic phase is judged (none if it
                // stopped short of that: the run is stopping).
                changed = plan.wait_for(Option::is_some), if verdicts.waiting_plan() => {
                    verdicts.learn_plan(match changed {
                        Ok(keys) => keys.clone().unwrap_or_default(),
                        Err(_) => BTreeSet::new(),
                    });
                }
                // The webhook probes' violations, once they are all judged (none if that work
                // was dropped: the run is stopping).
                changed = later.changed(), if verdicts.waiting_later() => {
                    verdicts.learn(match changed {
                        Ok(()) => later.borrow_and_update().clone().unwrap_or_default(),
                        Err(_) => BTreeSet::new(),
                    });
                }
                next = results.next(), if !drained => {
                    let Some((tree, probe, exec)) = next else {
                        drained = true;
                        continue;
                    };
                    ran += 1;
                    self.progress
                        .step_in(super::Phase::Exploration, interpreter.target.requests());
                    let violations: Vec<Violation> = oracle::judge(ctx, &probe.scenario, &exec)
                        .into_iter()
                        .filter(|v| self.in_shard[v.op])
                        .collect();
                    // Only a case that shows something is shrunk from its execution: the
                    // others' answers are freed now, not when their turn comes.
                    let exec = if violations.is_empty() {
                        Execution::default()
                    } else {
                        exec
                    };
                    verdicts.push((tree, probe, exec), violations);
                }
            }
            while let Some(((tree, probe, exec), new)) = verdicts.next_decided() {
                self.progress.violations(verdicts.seen() as u64);
                if !new.is_empty() {
                    shrinking.push(self.shrink_case(
                        interpreter,
                        ctx,
                        cast,
                        tree,
                        probe,
                        exec,
                        new,
                    ));
                }
            }
        }
        (ran, candidates)
    }

    /// Shrinks an exploration case through proptest's value tree, once for each violation it
    /// showed that nothing before it did (in order: each starts where the last left the tree).
    #[allow(clippy::too_many_arguments)]
    async fn shrink_case(
        &self,
        interpreter: &Interpreter<'_>,
        ctx: &Context<'_>,
        cast: &Cast,
        mut tree: crate::scenario::SendTree<crate::scenario::Draft>,
        probe: crate::scenario::Probe,
        exec: Execution,
        new: Vec<Violation>,
    ) -> Vec<(CandidateKey, Candidate)> {
        use proptest::strategy::ValueTree;
        let c = &self.settings.campaign;
        let ticket = interpreter.slots.ticket();
        let mut out = Vec::new();
        for v in new {
            let key = v.key();
            let mut best = (probe.scenario.clone(), exec.clone(), v);
            let started = Instant::now();
            let mut iterations = 0;
            if tree.simplify() {
                loop {
                    iterations += 1;
                    if iterations > c.shrink_iterations || started.elapsed() > c.shrink_time {
                        break;
                    }
                    let reproduced = match compile(&self.api, &self.model, cast, &tree.current()) {
                        Some(p) => {
                            let e = interpreter.execute_as(&p.scenario, ticket).await;
                            oracle::judge(ctx, &p.scenario, &e)
                                .into_iter()
                                .find(|f| f.key() == key)
                                .map(|f| (p.scenario, e, f))
                        }
                        None => None,
                    };
                    match reproduced {
                        Some(found) => {
                            best = found;
                            if !tree.simplify() {
                                break;
                            }
                        }
                        None => {
                            if !tree.complicate() {
                                break;
                            }
                        }
                    }
                }
            }
            tracing::info!(kind = %key.0, op = %self.api.operations[key.1].label(), "exploration found a violation the plan did not");
            out.push((key, best));
        }
        out
    }

    /// Fails when an identity's session does not work: every discovery request it sent was
    /// refused (401/403) or got no answer.
    fn check_sessions(
        &self,
        answers: &BTreeMap<usize, Vec<(usize, crate::exchange::Exchange)>>,
        names: &[String],
    ) -> Result<(), CampaignError> {
        for (identity, list) in answers {
            if list.is_empty() {
                continue;
            }
            if list.iter().all(|(_, e)| e.status.is_none()) {
                let e = &list[0].1;
                return Err(CampaignError::Target(format!(
                    "the target at {} could not be reached: {} ({})",
                    self.settings.base_url,
                    e.error.as_deref().unwrap_or("no answer"),
                    e.url
                )));
            }
            if list
                .iter()
                .all(|(_, e)| matches!(e.status, Some(401) | Some(403) | None))
            {
                let (op, e) = &list[0];
                return Err(CampaignError::Target(format!(
                    "identity '{}' cannot use its session: {} answered {} (check its credentials)",
                    names[*identity],
                    self.api.operations[*op].label(),
                    e.status.unwrap_or(0)
                )));
            }
        }
        Ok(())
    }

    fn coverage(&self, plan: &Plan, executions: &[(usize, Probed)]) -> Vec<Coverage> {
        let mut cov: Vec<Coverage> = self
            .api
            .operations
            .iter()
            .map(|o| Coverage {
                method: o.method.to_string(),
                path: o.path.clone(),
                operation_id: o.operation_id.clone(),
                attacked: false,
                vectors: Vec::new(),
                checks: Vec::new(),
                judged: 0,
                unjudged: 0,
                note: None,
            })
            .collect();
        self.add_coverage(&mut cov, plan, executions);
        for gap in &plan.gaps {
            cov[gap.op].note.get_or_insert_with(|| gap.reason.clone());
        }
        if let Some(shard) = self.settings.campaign.shard {
            for (c, mine) in cov.iter_mut().zip(&self.in_shard) {
                if !mine {
                    c.note
                        .get_or_insert_with(|| format!("left to another shard than {shard}"));
                }
            }
        }
        cov
    }

    /// Adds what the probes' attacks covered to `cov` (one entry per operation).
    fn add_coverage(&self, cov: &mut [Coverage], plan: &Plan, executions: &[(usize, Probed)]) {
        for (i, Probed { exec, .. }) in executions {
            let steps = &plan.probes[*i].scenario.steps;
            for (s, step) in steps.iter().enumerate() {
                if let StepRole::Attack {
                    vector,
                    effect,
                    target_resource,
                    ref check,
                    ..
                } = step.role
                {
                    if !self.in_shard[step.op] {
                        continue;
                    }
                    let c = &mut cov[step.op];
                    let sent = exec.steps.get(s).is_some_and(|r| r.exchange.is_some());
                    c.attacked |= sent;
                    if sent {
                        c.vectors.push(vector);
                        let anonymous = step.actor == self.settings.identities.len();
                        c.checks.extend(oracle::checks_for(
                            check,
                            anonymous,
                            effect,
                            target_resource.is_some(),
                        ));
                    }
                    // The owner's control for this attack: a read-back before it, of this attack
                    // or of an earlier attack on the same operation.
                    let control =
                        steps
                            .iter()
                            .enumerate()
                            .find_map(|(k, other)| match other.role {
                                StepRole::ReadBack {
                                    attack,
                                    phase: crate::scenario::Phase::Before,
                                } if attack == s || (other.op == step.op && k < s) => {
                                    exec.steps.get(k).and_then(|r| r.exchange.as_ref())
                                }
                                _ => None,
                            });
                    let owner_failed = control.is_some_and(|e| !e.is_success());
                    match exec.steps.get(s).and_then(|r| r.exchange.as_ref()) {
                        Some(e) if !e.is_unjudgeable() && !owner_failed => c.judged += 1,
                        _ => {
                            c.unjudged += 1;
                            if let Some(status) =
                                control.filter(|_| owner_failed).and_then(|e| e.status)
                            {
                                c.note = Some(format!(
                                    "the owner's own request answered {status}: probes here prove nothing"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }

    /// Judges a probe's execution as it finishes: see [`Probed`].
    fn judged(&self, ctx: &Context<'_>, scenario: &Scenario, mut exec: Execution) -> Probed {
        let violations: Vec<Violation> = oracle::judge(ctx, scenario, &exec)
            .into_iter()
            .filter(|v| self.in_shard[v.op])
            .collect();
        if violations.is_empty() {
            exec.strip();
        }
        Probed { exec, violations }
    }

    /// Judges the plan's probes in plan order into `first`: each violation not there yet, with
    /// the first scenario that showed it (and its execution).
    fn judge_probes(
        &self,
        plan: &Plan,
        mut executions: Vec<(usize, Probed)>,
        first: &mut BTreeMap<CandidateKey, Candidate>,
    ) {
        executions.sort_by_key(|(i, _)| *i);
        for (i, Probed { exec, violations }) in executions {
            let scenario = &plan.probes[i].scenario;
            let new: Vec<_> = violations
                .into_iter()
                .filter(|v| !first.contains_key(&v.key()))
                .collect();
            // The execution moves into its last new candidate; only the others copy it.
            let mut exec = Some(exec);
            let last = new.len().saturating_sub(1);
            for (n, v) in new.into_iter().enumerate() {
                let key = v.key();
                if first.contains_key(&key) {
                    continue;
                }
                let e = if n == last {
                    exec.take().unwrap_or_default()
                } else {
                    exec.clone().unwrap_or_default()
                };
                first.insert(key, (scenario.clone(), e, v));
            }
        }
    }

    fn finding(
        &self,
        done: &super::confirm::Confirmed,
        names: &[String],
        discovery: &super::discover::Discovery,
    ) -> Finding {
        let v = &done.violation;
        let op = &self.api.operations[v.op];
        let operation = OperationRef {
            method: op.method.to_string(),
            path: op.path.clone(),
            operation_id: op.operation_id.clone(),
            line: op.line,
        };
        // Pre-existing ids are re-read the way discovery found them, so the reproduction works on
        // another instance of the target too.
        let mut used: Vec<(usize, usize)> = Vec::new();
        for step in &done.scenario.steps {
            for (_, expr) in &step.args {
                if let crate::scenario::Expr::Discovered { identity, resource } = expr {
                    if !used.contains(&(*identity, *resource)) {
                        used.push((*identity, *resource));
                    }
                }
            }
        }
        let mut steps: Vec<ReproStep> = Vec::new();
        let mut from_discovery: Vec<((usize, usize), usize, String, String)> = Vec::new();
        for key in &used {
            let Some((op, pointer)) = discovery.sources.get(key) else {
                continue;
            };
            let Some(exchange) = discovery
                .answers
                .get(&key.0)
                .and_then(|list| list.iter().find(|(o, _)| o == op))
                .map(|(_, e)| e.clone())
            else {
                continue;
            };
            let value = discovery
                .owned
                .get(key)
                .and_then(|ids| ids.first())
                .map(crate::exchange::value_text)
                .unwrap_or_default();
            let index = match steps
                .iter()
                .position(|s| s.identity == names[key.0] && s.exchange.url == exchange.url)
            {
                Some(i) => i,
                None => {
                    steps.push(ReproStep {
                        identity: names[key.0].clone(),
                        role: "discover".into(),
                        exchange,
                        captures: Vec::new(),
                        signature: None,
                        fresh: Vec::new(),
                    });
                    steps.len() - 1
                }
            };
            from_discovery.push((*key, index, pointer.clone(), value));
        }
        let shift = steps.len();
        for (step, record) in done.scenario.steps.iter().zip(&done.execution.steps) {
            let Some(exchange) = record.exchange.clone() else {
                continue;
            };
            let mut captures: Vec<crate::finding::Capture> = record
                .captures
                .iter()
                .map(|c| crate::finding::Capture {
                    from_step: c.from_step + shift,
                    ..c.clone()
                })
                .collect();
            for (_, expr) in &step.args {
                if let crate::scenario::Expr::Discovered { identity, resource } = expr {
                    if let Some((_, index, pointer, value)) = from_discovery
                        .iter()
                        .find(|(k, ..)| *k == (*identity, *resource))
                    {
                        captures.push(crate::finding::Capture {
                            value: value.clone(),
                            from_step: *index,
                            pointer: pointer.clone(),
                        });
                    }
                }
            }
            let signature = self
                .webhooks
                .iter()
                .any(|(op, _)| *op == step.op)
                .then_some(match &step.role {
                    StepRole::Attack {
                        check: crate::scenario::Check::Webhook { forgery, .. },
                        ..
                    } => match forgery {
                        crate::scenario::Forgery::Unsigned => "unsigned",
                        crate::scenario::Forgery::WrongSecret => "wrong-secret",
                        crate::scenario::Forgery::Stale => "stale",
                        crate::scenario::Forgery::Replay => "replay",
                    },
                    _ => "signed",
                })
                .map(str::to_string);
            // What was made up afresh for this request, as sent.
            let fresh = step
                .args
                .iter()
                .filter_map(|(slot, expr)| match (slot, expr) {
                    (Slot::Body(pointer), crate::scenario::Expr::Unique) => exchange
                        .request_body
                        .as_ref()?
                        .pointer(pointer)?
                        .as_str()
                        .map(str::to_string),
                    _ => None,
                })
                .collect();
            steps.push(ReproStep {
                identity: names[step.actor].clone(),
                role: step.role_label().to_string(),
                exchange,
                captures,
                signature,
                fresh,
            });
        }
        Finding {
            id: fingerprint(v.kind, v.vector, &operation, &v.attacker, &v.victim),
            kind: v.kind,
            vector: v.vector,
            status: if done.replays > 0 && done.reproduced == done.replays {
                Status::Confirmed
            } else {
                Status::Inconclusive
            },
            confirmations: done.reproduced,
            replays: done.replays,
            operation,
            attacker: v.attacker.clone(),
            victim: v.victim.clone(),
            evidence: v.evidence.clone(),
            evidence_markers: v.markers.clone(),
            evidence_field: v.field.clone(),
            signing: self
                .webhooks
                .iter()
                .find(|(op, _)| done.scenario.steps.iter().any(|s| s.op == *op))
                .map(|(_, w)| crate::finding::Signing {
                    signature_header: w.signature_header.clone(),
                    timestamp_header: w.timestamp_header.clone(),
                    algorithm: match w.algorithm {
                        crate::config::HmacAlgorithm::Sha256 => "hmac-sha256".into(),
                        crate::config::HmacAlgorithm::Sha512 => "hmac-sha512".into(),
                    },
                    encoding: match w.encoding {
                        crate::config::DigestEncoding::Hex => "hex".into(),
                        crate::config::DigestEncoding::Base64 => "base64".into(),
                    },
                    prefix: w.prefix.clone(),
                    signed: w.signed.clone(),
                    tolerance_seconds: w.tolerance.as_secs(),
                }),
            steps,
            shrink_note: done.shrink_note.clone(),
            requests_spent: done.requests,
            reproduction: None,
            known: false,
        }
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn violation(op: usize, victim: &str) -> Violation {
        Violation {
            kind: Kind::BolaRead,
            vector: Vector::Path,
            op,
            attacker: "mallory".into(),
            victim: victim.into(),
            evidence: String::new(),
            step: 0,
            markers: Vec::new(),
            field: None,
        }
    }

    #[test]
    fn a_case_on_a_webhook_operation_waits_for_the_webhook_verdicts_and_those_after_it_too() {
        let known: BTreeSet<CandidateKey> = [violation(1, "alice").key()].into();
        let mut verdicts = InOrder::new(Some(known), [7].into());
        verdicts.push("a", vec![violation(1, "alice"), violation(2, "alice")]);
        verdicts.push("b", vec![violation(7, "bob")]);
        verdicts.push("c", vec![violation(3, "bob")]);
        // The plan's violation is not new; the other one is.
        let (case, new) = verdicts.next_decided().unwrap();
        assert_eq!((case, new.len(), new[0].op), ("a", 1, 2));
        // "b" waits, and so does "c", behind it.
        assert!(verdicts.waiting());
        assert!(verdicts.next_decided().is_none());
        // The webhook probes showed b's violation: not new.
        verdicts.learn([violation(7, "bob").key()].into());
        assert!(!verdicts.waiting());
        let (case, new) = verdicts.next_decided().unwrap();
        assert_eq!((case, new.len()), ("b", 0));
        let (case, new) = verdicts.next_decided().unwrap();
        assert_eq!((case, new.len()), ("c", 1));
        assert!(verdicts.is_empty() && verdicts.next_decided().is_none());
        assert_eq!(verdicts.seen(), 4);
    }

    #[test]
    fn a_case_that_showed_a_violation_waits_for_the_plans_verdicts() {
        let mut verdicts = InOrder::new(None, BTreeSet::new());
        verdicts.push("quiet", vec![]);
        verdicts.push("a", vec![violation(1, "alice"), violation(2, "alice")]);
        verdicts.push("b", vec![]);
        // A case that showed nothing is decided at once; the next one waits, "b" behind it.
        assert_eq!(verdicts.next_decided().unwrap(), ("quiet", vec![]));
        assert!(verdicts.waiting_plan() && verdicts.waiting());
        assert!(verdicts.next_decided().is_none());
        verdicts.learn_plan([violation(1, "alice").key()].into());
        assert!(!verdicts.waiting());
        let (case, new) = verdicts.next_decided().unwrap();
        assert_eq!((case, new.len(), new[0].op), ("a", 1, 2));
        assert_eq!(verdicts.next_decided().unwrap().0, "b");
    }

    #[test]
    fn what_an_earlier_case_claimed_is_not_new_again() {
        let mut verdicts = InOrder::new(Some(BTreeSet::new()), BTreeSet::new());
        verdicts.push(1, vec![violation(4, "alice")]);
        verdicts.push(2, vec![violation(4, "alice"), violation(4, "bob")]);
        assert!(!verdicts.waiting());
        assert_eq!(verdicts.next_decided().unwrap().1.len(), 1);
        let (_, new) = verdicts.next_decided().unwrap();
        assert_eq!(
            new.iter().map(|v| v.victim.as_str()).collect::<Vec<_>>(),
            ["bob"]
        );
    }
}
