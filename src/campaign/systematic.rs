//! The systematic phase: every probe of the plan, longest first, judged as it finishes; a probe
//! the target disturbed runs once more. What the probes showed is deduplicated into candidates
//! (the first scenario that showed each violation), and what they attacked into coverage.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::{FutureExt, StreamExt};

use super::confirm::Confirmed;
use super::state::{Candidate, CandidateKey, Run};
use super::{Campaign, CampaignError};
use crate::exchange::Execution;
use crate::finding::Violation;
use crate::oracle::{self, Context};
use crate::outcome::Coverage;
use crate::scenario::{Plan, Scenario, StepRole};

/// A probe's execution, judged as it finished (while its answers are fresh in memory): the
/// violations it showed in this shard, and the execution, stripped to its statuses when it
/// showed none (all coverage and retries read), so a phase's answers do not all stay alive
/// until the phase ends.
#[derive(Clone, Default)]
pub(super) struct Probed {
    pub exec: Execution,
    pub violations: Vec<Violation>,
    /// The attack steps that cannot be judged by what the answers say (a webhook receiver
    /// that ignored even the signed control), with why: read before the answers are stripped.
    pub unjudged: Vec<(usize, String)>,
}

impl Campaign {
    /// Judges a probe's execution as it finishes: see [`Probed`].
    pub(super) fn judged(
        &self,
        ctx: &Context<'_>,
        scenario: &Scenario,
        mut exec: Execution,
    ) -> Probed {
        let violations: Vec<Violation> = oracle::judge(ctx, scenario, &exec)
            .into_iter()
            .filter(|v| self.in_shard[v.op])
            .collect();
        let unjudged = (0..scenario.steps.len())
            .filter_map(|s| Some((s, oracle::webhook_unjudged(scenario, &exec, s)?)))
            .collect();
        if violations.is_empty() {
            exec.strip();
        }
        Probed {
            exec,
            violations,
            unjudged,
        }
    }

    /// Judges the plan's probes in plan order into `first`: each violation not there yet, with
    /// the first scenario that showed it (and its execution).
    pub(super) fn judge_probes(
        &self,
        plan: &Plan,
        mut executions: Vec<(usize, Probed)>,
        first: &mut BTreeMap<CandidateKey, Candidate>,
    ) {
        executions.sort_by_key(|(i, _)| *i);
        for (
            i,
            Probed {
                exec, violations, ..
            },
        ) in executions
        {
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
                first.insert(key, Candidate::new(scenario.clone(), e, v));
            }
        }
    }

    pub(super) fn coverage(&self, plan: &Plan, executions: &[(usize, Probed)]) -> Vec<Coverage> {
        let mut cov: Vec<Coverage> = self
            .api
            .operations
            .iter()
            .enumerate()
            .map(|(i, o)| Coverage {
                method: o.method.to_string(),
                path: o.path.clone(),
                operation_id: o.operation_id.clone(),
                attacked: false,
                vectors: Vec::new(),
                checks: Vec::new(),
                judged: 0,
                unjudged: 0,
                note: None,
                by_design: None,
                // What a clean run must have judged: every operation that takes a resource id,
                // unless excluded (or authentication plumbing). Public by the spec is a claim,
                // not a reason: Kinto's spec declares no security at all while its server
                // wants a login for nearly everything; a public operation's probes are judged
                // like any other's (a public control makes them no finding).
                in_scope: self.in_shard[i]
                    && !self.model.is_skipped(i)
                    && self.model.consumers_of(i).next().is_some(),
                reasons: Default::default(),
                access: Default::default(),
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
    pub(super) fn add_coverage(
        &self,
        cov: &mut [Coverage],
        plan: &Plan,
        executions: &[(usize, Probed)],
    ) {
        for (i, Probed { exec, unjudged, .. }) in executions {
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
                    let attacker = self
                        .settings
                        .identities
                        .get(step.actor)
                        .map_or("anonymous", |i| i.name.as_str());
                    let access = c.access.entry(attacker.to_string()).or_default();
                    // A webhook receiver that refused or ignored even the signed control.
                    let receiver = unjudged
                        .iter()
                        .find(|(k, _)| *k == s && !owner_failed)
                        .map(|(_, why)| why.clone());
                    match exec.steps.get(s).and_then(|r| r.exchange.as_ref()) {
                        Some(e) if !e.is_unjudgeable() && !owner_failed && receiver.is_none() => {
                            c.judged += 1;
                            access.judged(e.status);
                        }
                        answer => {
                            c.unjudged += 1;
                            access.unjudged += 1;
                            let reason = match (answer, control.filter(|_| owner_failed)) {
                                (_, Some(control)) => {
                                    let status = control
                                        .status
                                        .map_or_else(|| "nothing".into(), |s| s.to_string());
                                    let note = format!(
                                        "the owner's own request answered {status}: probes here prove nothing"
                                    );
                                    c.note = Some(note.clone());
                                    note
                                }
                                (Some(e), None) => receiver.unwrap_or_else(|| unjudgeable(e)),
                                (None, None) => self.unsent(steps, exec, s),
                            };
                            *c.reasons.entry(reason).or_default() += 1;
                        }
                    }
                }
            }
        }
    }
}

/// Why an attack's answer proves nothing.
fn unjudgeable(e: &crate::exchange::Exchange) -> String {
    match e.status {
        None => format!(
            "the attack got no answer ({}): raise campaign.timeout_seconds, or lower campaign.concurrency",
            e.error.as_deref().unwrap_or("no response")
        ),
        Some(429) => {
            "the attack was rate-limited (429): set campaign.rate below the server's limit".into()
        }
        Some(status) => format!("the attack answered {status}, a server error"),
    }
}

impl Campaign {
    /// Why attack step `s` of `steps` was not sent: the step it needed that made nothing, and
    /// what that step's answer was.
    fn unsent(&self, steps: &[crate::scenario::Step], exec: &Execution, s: usize) -> String {
        let Some(record) = exec.steps.get(s) else {
            return "the run stopped before it was sent".into();
        };
        // The earliest step it needed that created nothing, followed to the first such one.
        let mut culprit = None;
        let mut at = s;
        for _ in 0..steps.len() {
            // An optional reference goes without its step: never what stopped this one.
            let needed = steps[at]
                .args
                .iter()
                .filter(|(_, e)| !matches!(e, crate::scenario::Expr::Optional(_)))
                .filter_map(|(_, e)| e.step())
                .filter(|u| *u < at)
                .find(|u| exec.steps.get(*u).is_none_or(|r| r.created.is_none()));
            match needed {
                Some(u) => {
                    culprit = Some(u);
                    if exec.steps.get(u).is_some_and(|r| r.exchange.is_some()) {
                        break;
                    }
                    at = u;
                }
                None => break,
            }
        }
        let Some(u) = culprit else {
            return format!(
                "not sent: {}",
                record.skipped.as_deref().unwrap_or("no reason recorded")
            );
        };
        let step = &steps[u];
        let op = &self.api.operations[step.op];
        let who = self
            .settings
            .identities
            .get(step.actor)
            .map_or("anonymous", |i| i.name.as_str());
        let what = format!("{who}'s {} {}", op.method, op.path);
        match exec.steps.get(u).and_then(|r| r.exchange.as_ref()) {
            None => match exec.steps.get(u).and_then(|r| r.skipped.as_deref()) {
                Some(why) if why.starts_with(crate::exec::REFUSED) => format!(
                    "{what}, which it needs, {why}: {who} may not create one (grant it, or \
                     exclude the operations with campaign.exclude)"
                ),
                _ => format!("{what}, which it needs, was not sent"),
            },
            Some(x) => match x.status {
                None => format!("{what}, which it needs, got no answer"),
                Some(st @ (401 | 403)) => format!(
                    "{what}, which it needs, answered {st}: {who} may not create one (grant it, \
                     or exclude the operations with campaign.exclude)"
                ),
                Some(st) if (200..300).contains(&st) => format!(
                    "{what}, which it needs, answered {st} but no id was found in it (at /id, a \
                     Location header or the request's key): name it with [[model.ids]]"
                ),
                Some(st) if (400..500).contains(&st) => format!(
                    "{what}, which it needs, answered {st}: the server refused the request built \
                     from the spec (see it with --har)"
                ),
                Some(st) => format!("{what}, which it needs, answered {st}, a server error"),
            },
        }
    }
}

/// The plan's probes in the order they go out, apart by whether they attack a webhook receiver.
pub(super) struct Order {
    /// The probes that attack no webhook receiver: the longest first, so the phase does not
    /// end with a few long ones running alone (results are judged in plan order).
    pub plain: Vec<usize>,
    /// The webhook probes: a chain that starts first and runs on beside exploration.
    pub hooked: Vec<usize>,
    /// The operations the webhook probes attack.
    pub later_ops: BTreeSet<usize>,
    /// Whether a plain probe attacks one of `later_ops` (then it can show the same violations
    /// as a webhook probe, and the chain waits for its verdicts).
    pub overlap: bool,
}

impl Run<'_> {
    /// The plan's probes in order: the webhook probes are a chain (those on one tenant run one
    /// after another: events that credit one account must not interleave), then their
    /// findings' confirmations do the same. They start first and run on beside exploration,
    /// which waits for their verdicts only to judge a case on an operation they attack; the
    /// systematic phase itself ends when the other probes have run.
    pub(super) fn order(&self) -> Order {
        let plan = self.plan;
        let webhooks = &self.campaign.webhooks;
        let attacks_webhook = |i: &usize| {
            plan.probes[*i].scenario.steps.iter().any(|s| {
                matches!(s.role, StepRole::Attack { .. })
                    && webhooks.iter().any(|(op, _)| *op == s.op)
            })
        };
        let mut order: Vec<usize> = (0..plan.probes.len()).collect();
        order.sort_by_cached_key(|i| {
            let s = &plan.probes[*i].scenario;
            std::cmp::Reverse((self.interpreter.has_webhook(s), s.steps.len()))
        });
        if self.deadline.is_some() {
            // With a time limit, breadth first: every operation's first probe, then every
            // operation's second, and so on (the longest first within each round). A large
            // API on a slow server (NetBox: 1,256 operations, about 20 requests a second) then
            // has each of its operations attacked once before any is attacked a fourth time.
            order = breadth_first(order, |i| {
                plan.probes[i]
                    .scenario
                    .steps
                    .iter()
                    .find(|s| matches!(s.role, StepRole::Attack { .. }))
                    .map_or(usize::MAX, |s| s.op)
            });
        }
        let (hooked, plain): (Vec<usize>, Vec<usize>) =
            order.into_iter().partition(attacks_webhook);
        let later_ops: BTreeSet<usize> = hooked
            .iter()
            .flat_map(|i| &plan.probes[*i].scenario.steps)
            .filter(|s| matches!(s.role, StepRole::Attack { .. }))
            .map(|s| s.op)
            .collect();
        let overlap = plain.iter().any(|i| {
            plan.probes[*i]
                .scenario
                .steps
                .iter()
                .any(|s| matches!(s.role, StepRole::Attack { .. }) && later_ops.contains(&s.op))
        });
        Order {
            plain,
            hooked,
            later_ops,
            overlap,
        }
    }

    /// Runs the probes `list`, a window of them at a time (more scenarios than there are
    /// slots: each holds a slot only while one of its requests is in flight), each judged as it
    /// finishes. `counted` when the progress display counts them; `tell` to notify
    /// [`Run::launched`] once the last has started.
    fn run_probes(
        &self,
        list: Vec<usize>,
        counted: bool,
        tell: bool,
    ) -> futures_util::future::BoxFuture<'_, Vec<(usize, Probed)>> {
        let mut list = list.into_iter();
        let list = std::iter::from_fn(move || {
            let next = list.next();
            if next.is_none() && tell {
                self.launched.notify_one();
            }
            next
        });
        futures_util::stream::iter(list.map(move |i| (i, &self.plan.probes[i])))
            .map(move |(i, probe)| async move {
                if self.probing_over() {
                    return (i, Probed::default());
                }
                let execution = self.interpreter.execute(&probe.scenario).await;
                if counted {
                    self.progress.step(self.target.requests());
                } else {
                    self.progress.requests(self.target.requests());
                }
                let probed = self.campaign.judged(self.ctx, &probe.scenario, execution);
                if !probed.violations.is_empty() {
                    self.found();
                }
                (i, probed)
            })
            .buffer_unordered(self.window)
            .collect::<Vec<_>>()
            .boxed()
    }

    /// Runs the probes `list` (see [`Run::run_probes`]). A probe the target disturbed (a 5xx, a
    /// 429 after the retries, a body cut short, no answer) proves nothing either way: it runs
    /// once more, and the second execution is kept when the target let it through.
    pub(super) async fn probe_all(
        &self,
        list: Vec<usize>,
        counted: bool,
        tell: bool,
    ) -> Vec<(usize, Probed)> {
        let mut executions = self.run_probes(list, counted, tell).await;
        let again: Vec<usize> = executions
            .iter()
            .filter(|(_, p)| p.exec.unjudgeable())
            .map(|(i, _)| *i)
            .collect();
        if !again.is_empty() && !self.probing_over() {
            let mut retried: BTreeMap<usize, Probed> = self
                .run_probes(again, false, false)
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
    }

    /// The webhook probes' chain: runs them, judges them, waits for the other probes' verdicts
    /// when they can overlap (`plain`), tells exploration what they found that the others did
    /// not (`later`), and confirms it.
    pub(super) async fn webhook_chain(
        &self,
        hooked: Vec<usize>,
        overlap: bool,
        mut plain: tokio::sync::watch::Receiver<Option<BTreeSet<CandidateKey>>>,
        later: tokio::sync::watch::Sender<Option<BTreeSet<CandidateKey>>>,
    ) -> (Vec<(usize, Probed)>, Vec<Confirmed>) {
        let executions = self.probe_all(hooked, false, false).await;
        let mut first: BTreeMap<CandidateKey, Candidate> = BTreeMap::new();
        self.campaign
            .judge_probes(self.plan, executions.clone(), &mut first);
        // Only when another probe attacks the same operations can it show the same violations:
        // then its verdicts are awaited.
        let known = if !overlap {
            BTreeSet::new()
        } else {
            match plain.wait_for(Option::is_some).await {
                Ok(keys) => keys.clone().unwrap_or_default(),
                Err(_) => BTreeSet::new(),
            }
        };
        first.retain(|k, _| !known.contains(k));
        let _ = later.send(Some(first.keys().cloned().collect()));
        let mut list: Vec<Candidate> = first.into_values().collect();
        list.sort_by_key(|c| std::cmp::Reverse(c.scenario.steps.len()));
        (executions, self.confirm_all(list, false).await)
    }

    /// Fails when the target answered none of the requests the probes sent.
    pub(super) fn check_answered(
        &self,
        executions: &[(usize, Probed)],
    ) -> Result<(), CampaignError> {
        let sent = || {
            executions
                .iter()
                .flat_map(|(_, p)| p.exec.steps.iter().filter_map(|s| s.exchange.as_ref()))
        };
        if sent().next().is_some() && sent().all(|x| x.status.is_none()) {
            return Err(CampaignError::Target(format!(
                "the target at {} answered no request",
                self.campaign.settings.base_url
            )));
        }
        Ok(())
    }
}

/// `order` (probe indexes) regrouped in rounds: each operation's first probe (by `op_of`), then
/// each one's second, and so on, keeping `order` within a round.
fn breadth_first(order: Vec<usize>, op_of: impl Fn(usize) -> usize) -> Vec<usize> {
    let mut taken: std::collections::HashMap<usize, usize> = Default::default();
    let mut rounds: Vec<(usize, usize)> = order
        .into_iter()
        .map(|i| {
            let round = taken.entry(op_of(i)).or_default();
            *round += 1;
            (*round, i)
        })
        .collect();
    rounds.sort_by_key(|(round, _)| *round);
    rounds.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn with_a_time_limit_every_operation_goes_once_before_any_goes_twice() {
        // Probes 0..6 attack operations a a a b c b (longest first already).
        let ops = [0, 0, 0, 1, 2, 1];
        let order = super::breadth_first((0..6).collect(), |i| ops[i]);
        assert_eq!(order, [0, 3, 4, 1, 5, 2]);
    }
}
