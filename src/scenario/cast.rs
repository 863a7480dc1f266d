//! Who is who for planning and exploration: each identity's tenant, role and plan, what each
//! owns before the campaign, who may call what by design, and which operations are webhook
//! receivers.

use std::collections::BTreeSet;

use crate::model::{Decision, Policy};

/// What a bearer token is, for forging it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenShape {
    /// Not a JWT: it can only be cut short or changed.
    Opaque,
    /// A JWT; `cracked` is the entry of the weak-key list that signed it, if one did.
    Jwt { cracked: Option<usize> },
}

/// Who is who, for planning.
#[derive(Debug, Clone, Default)]
pub struct Cast {
    /// Tenant of each identity; the last identity is anonymous (tenant `None`).
    pub tenants: Vec<Option<String>>,
    /// (identity, resource) pairs the identity already owns (from discovery).
    pub owned: BTreeSet<(usize, usize)>,
    /// Of those, the ones the identity's own answer (`GET /user`) named: the identity's own
    /// user, organization or workspace. Planning takes these as they are, never creating a
    /// new one (a new user is not the identity; a new organization is not the one it is in).
    pub selves: BTreeSet<(usize, usize)>,
    /// Role and plan of each identity (anonymous last, with neither).
    pub roles: Vec<Option<String>>,
    pub plans: Vec<Option<String>>,
    /// Who may call what beyond ownership.
    pub policy: Policy,
    /// Operations that are webhook receivers (signed by the executor, attacked by the webhook
    /// checks only).
    pub webhooks: Vec<usize>,
    /// The webhook receivers whose signature covers a timestamp (the only ones a stale event
    /// can be sent to).
    pub timestamped: Vec<usize>,
    /// Whether the `existence-leak` check runs (off by default).
    pub existence_leak: bool,
    /// The bearer token each identity sent when the campaign started, by its shape (`None`: no
    /// bearer token, or not known, as when only planning): what the `token-forgery` probes
    /// can forge.
    pub tokens: Vec<Option<TokenShape>>,
    /// Per identity (anonymous last, `false`): whether a fresh account can stand in for it,
    /// registered through its own login flow (`login.register`): the account probes need one
    /// for the victim and one for the attacker.
    pub enrolls: Vec<bool>,
    /// Whether attacks may write to, delete, or act on pre-existing (discovered) resources.
    /// Off by default: only what the campaign created is ever changed.
    pub mutate_seeded: bool,
}

impl Cast {
    /// A cast of identities in `tenants` (anonymous last) with no roles, plans or policy.
    pub fn of_tenants(tenants: Vec<Option<String>>, owned: BTreeSet<(usize, usize)>) -> Cast {
        let n = tenants.len();
        Cast {
            tenants,
            owned,
            selves: BTreeSet::new(),
            roles: vec![None; n],
            plans: vec![None; n],
            ..Cast::default()
        }
    }

    /// The anonymous identity's index.
    pub fn anonymous(&self) -> usize {
        self.tenants.len() - 1
    }

    /// Whether identity `i` acts on every tenant by design (a platform administrator).
    pub fn is_admin(&self, i: usize) -> bool {
        self.roles
            .get(i)
            .and_then(|r| r.as_deref())
            .is_some_and(|r| self.policy.is_admin(r))
    }

    /// Ordered (attacker, victim) pairs: different tenants, plus anonymous against everyone.
    /// Administrators are neither: reaching every tenant is their job.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        let anon = self.anonymous();
        let mut out = Vec::new();
        for v in (0..anon).filter(|v| !self.is_admin(*v)) {
            for a in (0..anon).filter(|a| !self.is_admin(*a)) {
                if a != v && self.tenants[a] != self.tenants[v] {
                    out.push((a, v));
                }
            }
        }
        for v in (0..anon).filter(|v| !self.is_admin(*v)) {
            out.push((anon, v));
        }
        out
    }

    /// Whether ownership attacks by `attacker` on `op` are planned: not when the policy denies
    /// its role the operation. An administrative operation spans every tenant by design, so
    /// another tenant's data in its answer is the `bfla` probe's evidence, not a list leak.
    pub fn ownership_applies(&self, attacker: usize, op: usize) -> bool {
        self.decide(attacker, op) != Decision::DenyRole
            // Data shared by design is every identity's to read and change; only anonymous
            // callers are still attackers of it.
            && (attacker == self.anonymous() || !self.policy.is_shared(op))
    }

    /// What the policy says of identity `i` calling `op`.
    pub fn decide(&self, i: usize, op: usize) -> Decision {
        self.policy.decide(
            op,
            self.roles.get(i).and_then(|r| r.as_deref()),
            self.plans.get(i).and_then(|p| p.as_deref()),
        )
    }
}
