//! The checks. Each judges recorded exchanges of one executed scenario and sends nothing; each
//! lives in its own file and none depends on another. A status code alone never makes a
//! violation: evidence is a marker that crossed tenants, or a change the victim can see.

mod account;
mod account_enumeration;
mod bfla;
mod bola_delete;
mod bola_read;
mod bola_write;
mod credential_exposure;
mod evidence;
mod existence_leak;
mod list_leak;
mod mass_assignment;
mod plan_bypass;
mod sweep;
mod token_forgery;
mod unauthenticated;
mod use_after_delete;
mod webhook;

pub(crate) use webhook::unjudged as webhook_unjudged;

use crate::exchange::Execution;
use crate::finding::Violation;
use crate::marker::Markers;
use crate::scenario::Scenario;
use crate::spec::Api;

/// What the checks need to know besides the execution.
pub struct Context<'a> {
    pub api: &'a Api,
    pub markers: &'a Markers,
    /// Identity names by index; the last is `anonymous`.
    pub names: &'a [String],
    /// Each identity's own secrets, markers of the `credential-exposure` check.
    pub credentials: &'a [Credential],
}

/// One secret of an identity's: its password, token, API key or session cookie, or a private
/// contact field (`contact`: an e-mail, a phone), which counts only in anonymous answers.
#[derive(Debug, Clone)]
pub struct Credential {
    pub owner: usize,
    /// What it is, for people: `password`, `bearer token`, `X-Api-Key header`.
    pub what: String,
    pub value: crate::secret::Secret,
    pub contact: bool,
}

impl Credential {
    /// Whether it may serve as a marker (long enough, not a common word).
    pub fn usable(&self) -> bool {
        credential_exposure::usable(self.value.expose())
    }
}

impl Context<'_> {
    pub(crate) fn anonymous(&self) -> usize {
        self.names.len() - 1
    }
}

/// Runs every check over one execution.
pub fn judge(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    let mut out = Vec::new();
    out.extend(bola_read::check(ctx, scenario, exec));
    out.extend(list_leak::check(ctx, scenario, exec));
    out.extend(bola_write::check(ctx, scenario, exec));
    out.extend(bola_delete::check(ctx, scenario, exec));
    out.extend(unauthenticated::check(ctx, scenario, exec));
    out.extend(bfla::check(ctx, scenario, exec));
    out.extend(plan_bypass::check(ctx, scenario, exec));
    out.extend(mass_assignment::check(ctx, scenario, exec));
    out.extend(webhook::check(ctx, scenario, exec));
    out.extend(use_after_delete::check(ctx, scenario, exec));
    out.extend(existence_leak::check(ctx, scenario, exec));
    out.extend(token_forgery::check(ctx, scenario, exec));
    out.extend(credential_exposure::check(ctx, scenario, exec));
    out.extend(account::check(ctx, scenario, exec));
    out
}

/// The kinds the checks above can raise on one attack step: what a report counts as the checks
/// an operation went through. Kept next to [`judge`] so the two change together.
pub(crate) fn checks_for(
    check: &crate::scenario::Check,
    anonymous: bool,
    effect: crate::scenario::Effect,
    targeted: bool,
) -> &'static [crate::finding::Kind] {
    use crate::finding::Kind;
    use crate::scenario::{Check, Effect, Forgery};
    match check {
        Check::Ownership => {}
        Check::Gate { plan: false, .. } => return &[Kind::Bfla],
        Check::Gate { plan: true, .. } => return &[Kind::PlanBypass],
        Check::Assign { .. } => return &[Kind::MassAssignment],
        Check::Webhook {
            forgery: Forgery::Replay,
            ..
        } => return &[Kind::WebhookReplay],
        Check::Webhook { .. } => return &[Kind::WebhookUnsigned],
        Check::AfterDelete => return &[Kind::UseAfterDelete],
        Check::Existence { .. } => return &[Kind::ExistenceLeak],
        Check::Token { .. } => return &[Kind::TokenForgery],
        Check::Account if effect == Effect::Delete => return &[Kind::BolaDelete],
        Check::Account => return &[Kind::BolaWrite],
    }
    if anonymous {
        return &[Kind::Unauthenticated];
    }
    match effect {
        Effect::Read if targeted => &[Kind::BolaRead],
        Effect::Read => &[Kind::ListLeak],
        Effect::Write => &[Kind::BolaWrite],
        Effect::Delete => &[Kind::BolaDelete],
        Effect::Create | Effect::Action if targeted => &[Kind::BolaRead, Kind::BolaWrite],
        // What the attacker makes without naming anything of the victim's is its own.
        Effect::Create | Effect::Action => &[],
    }
}

/// The ownership attack steps of a scenario: (index, attacker, victim, effect, vector, targeted).
pub(crate) fn attacks(
    scenario: &Scenario,
) -> impl Iterator<
    Item = (
        usize,
        usize,
        usize,
        crate::scenario::Effect,
        crate::finding::Vector,
        bool,
    ),
> + '_ {
    scenario
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s.role {
            crate::scenario::StepRole::Attack {
                victim,
                effect,
                vector,
                target_resource,
                check: crate::scenario::Check::Ownership,
                ..
            } => Some((
                i,
                s.actor,
                victim,
                effect,
                vector,
                target_resource.is_some(),
            )),
            _ => None,
        })
}

/// The victim's markers in a response the requester did not send (for controls run elsewhere).
pub fn leaked_markers(
    ctx: &Context<'_>,
    exec: &Execution,
    exchange: &crate::exchange::Exchange,
    victim: usize,
) -> Vec<String> {
    evidence::leaked(ctx.markers, exec, exchange, victim)
}

pub(crate) use account_enumeration::judge as judge_enumeration;
pub(crate) use mass_assignment::registered_privilege;
