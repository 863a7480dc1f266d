//! Scenarios: sequences of steps that refer to resources symbolically ("the id step 2 created"),
//! never by server id, so every execution — each confirmation and each shrink candidate — makes
//! its own fresh resources on a server that cannot be reset.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::finding::Vector;
use crate::model::Slot;

/// A value to put in a slot, resolved when the step is sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    /// A literal.
    Lit(Value),
    /// The id of the resource that step `step` of this scenario created.
    Created { step: usize },
    /// An id of `resource` that `identity` had before the campaign (from its lists).
    Discovered { identity: usize, resource: usize },
    /// The id step `step` created, or when it created nothing, the one of `resource` that
    /// `identity` had before the campaign: for what a create refers to (its parent, its tenant),
    /// never for what an attack changes. A create of a kind only administrators may make
    /// (NetBox's tenants) leaves the owner's own in its place.
    CreatedOr {
        step: usize,
        identity: usize,
        resource: usize,
    },
    /// The value of the inner expression, or when it has none (the create it names failed),
    /// the slot left out: an optional reference (NetBox's `region` on a site, which only
    /// administrators may create) must not sink the request that carries it.
    Optional(Box<Expr>),
    /// A fresh marker owned by `owner`, in a shape that passes the field's format.
    Marker { owner: usize, format: MarkerFormat },
    /// The search stem of `owner`'s markers.
    Stem { owner: usize },
    /// The value at `pointer` in the response body of step `step` of this scenario.
    Echo { step: usize, pointer: String },
    /// A fresh random UUID each time it is sent: for required `format: uuid` fields that are not
    /// ids of a resource (event or delivery ids a receiver deduplicates on).
    Unique,
    /// A fresh random private IPv4 network or address each time it is sent, for string fields
    /// named so (`prefix`, `ip_address`) whose spec states no format: servers keep them unique.
    Address(AddressShape),
    /// An id in the shape of the one step `step` created that names nothing: its last
    /// characters changed within their class (a digit for a digit), or a number far past it.
    Absent { step: usize },
}

impl Expr {
    /// The step whose answer this value comes from, if any.
    pub fn step(&self) -> Option<usize> {
        match self {
            Expr::Created { step }
            | Expr::Echo { step, .. }
            | Expr::Absent { step }
            | Expr::CreatedOr { step, .. } => Some(*step),
            Expr::Optional(inner) => inner.step(),
            _ => None,
        }
    }
}

/// The shape of an [`Expr::Address`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressShape {
    /// `10.a.b.c/29`, a network's own address.
    Network,
    /// `10.a.b.c`.
    Host,
    /// `10.a.b.c/32`.
    HostWithMask,
}

impl AddressShape {
    /// The text of one, from 21 random bits.
    pub fn render(self, random: u32) -> String {
        let n = (random & 0x1f_ffff) << 3;
        let (a, b, c) = ((n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
        match self {
            AddressShape::Network => format!("10.{a}.{b}.{c}/29"),
            AddressShape::Host => format!("10.{a}.{b}.{}", c + 1),
            AddressShape::HostWithMask => format!("10.{a}.{b}.{}/32", c + 1),
        }
    }
}

/// How a marker is dressed to pass a field's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkerFormat {
    Plain,
    Email,
    Uri,
}

/// What an attack tries to do with the victim's resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Read it (GET).
    Read,
    /// Change it (PUT, PATCH).
    Write,
    /// Delete it.
    Delete,
    /// Create a new child under it (POST to a collection under the victim's parent).
    Create,
    /// A POST that is not a create: judged both as a read (its answer) and as a write.
    Action,
}

impl Check {
    /// What the check is called in the plan and in reports (`mass-assignment`, `bfla`).
    pub fn name(&self) -> &'static str {
        match self {
            Check::Ownership => "ownership",
            Check::Gate { plan: false, .. } => "bfla",
            Check::Gate { plan: true, .. } => "plan-bypass",
            Check::Assign { .. } => "mass-assignment",
            Check::Webhook {
                forgery: Forgery::Replay,
                ..
            } => "webhook-replay",
            Check::Webhook { .. } => "webhook-unsigned",
            Check::AfterDelete => "use-after-delete",
            Check::Existence { .. } => "existence-leak",
            Check::Token { .. } => "token-forgery",
            Check::Account => "account",
        }
    }
}

impl Effect {
    /// Whether the effect can change the victim's data.
    pub fn mutates(self) -> bool {
        !matches!(self, Effect::Read)
    }
}

/// Which rule an attack tests. The ownership oracles judge `Ownership` attacks; each other check
/// has its own oracle.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "check", rename_all = "kebab-case")]
pub enum Check {
    /// Cross-tenant ownership: bola-read/write/delete, list-leak, unauthenticated.
    Ownership,
    /// An operation the policy denies the attacker's role (`bfla`) or plan (`plan-bypass`);
    /// `control` is the step where a permitted identity makes the same call.
    Gate { plan: bool, control: Option<usize> },
    /// A body field the caller must not set (`mass-assignment`), by its JSON pointer in the
    /// request: an owner or tenant id set to the victim's (`own: false`, judged by the victim's
    /// read-back showing the attacker's object), or a privilege field of the caller's own object
    /// (`own: true`, judged by its own read-back following two different injected values).
    Assign { field: String, own: bool },
    /// A webhook event sent without a valid signature (`webhook-unsigned`), or the replay of a
    /// signed one (`webhook-replay`); `control` is the signed event the owner saw applied.
    /// `state` holds the pointers of the event's body fields that name the state it sets (an
    /// invoice's `status: paid`): the forgery then names a fresh object of the owner's, still in
    /// an earlier state, and is judged by that object's read moving to the state the event
    /// names. Empty for an event that changes the owner's read each time it is applied (a
    /// credit added to a balance).
    Webhook {
        forgery: Forgery,
        control: usize,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        state: Vec<String>,
    },
    /// A read of a resource its owner deleted (`use-after-delete`).
    AfterDelete,
    /// A foreign id answered differently from an id that does not exist (`existence-leak`):
    /// `control` is the step that asks for the non-existent one.
    Existence { control: usize },
    /// A forged bearer token (`token-forgery`): the attacker's token made the victim's (or, for
    /// a forgery of the caller's own token, the victim is the caller); `control` is the step
    /// that asks the same with the unforged credentials that must not see the data (the
    /// attacker's own token, or none at all).
    Token {
        forgery: TokenForgery,
        control: usize,
    },
    /// Another user's account changed or deleted through an operation keyed by that user
    /// (`PATCH /users/{name}`, `PUT /users/{name}/password`, `DELETE /users/{id}`, a body
    /// `username`): judged the way the user would notice, by its own answer about itself and
    /// by whether its password still logs in. Both accounts are fresh ones (`Enroll`).
    Account,
}

/// How a bearer token is forged. Those of [`TokenForgery::is_own`] keep the caller's own
/// subject (evidence: its own data, which no credentials do not get); the others name the
/// victim (evidence: the victim's data, which the attacker's own token does not get).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "forgery", rename_all = "kebab-case")]
pub enum TokenForgery {
    /// `alg` set to `spelling` (`none`, `None`, `NONE`), the victim's subject, no signature.
    AlgNone { spelling: NoneSpelling },
    /// The victim's subject under the token's own, now wrong, signature.
    Unverified,
    /// Re-signed with weak key `entry` of the list, with the victim's subject.
    WeakKey { entry: usize },
    /// Re-signed with weak key `entry`, the caller's role and admin claims raised.
    WeakKeyRole { entry: usize },
    /// Re-signed with weak key `entry`, `exp` in the past (the caller's own subject).
    Expired { entry: usize },
    /// The caller's own token without its signature.
    Stripped,
    /// The caller's own opaque token, cut short.
    Truncated,
    /// The caller's own opaque token with one character changed.
    Altered,
}

/// How `alg: none` is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoneSpelling {
    Lower,
    Title,
    Upper,
}

impl NoneSpelling {
    pub fn text(self) -> &'static str {
        match self {
            NoneSpelling::Lower => "none",
            NoneSpelling::Title => "None",
            NoneSpelling::Upper => "NONE",
        }
    }
}

impl TokenForgery {
    /// Whether it keeps the caller's own subject.
    pub fn is_own(self) -> bool {
        matches!(
            self,
            TokenForgery::Expired { .. }
                | TokenForgery::Stripped
                | TokenForgery::Truncated
                | TokenForgery::Altered
        )
    }

    /// How the token was made, for people and reproductions (never the token): `victim` names
    /// whose subject it took.
    pub fn recipe(self, victim: &str) -> String {
        let key = |entry: usize| {
            format!(
                "re-signed with a weak key from the list (entry {})",
                entry + 1
            )
        };
        match self {
            TokenForgery::AlgNone { spelling } => format!(
                "alg {}, the subject claims of {victim}, no signature",
                spelling.text()
            ),
            TokenForgery::Unverified => {
                format!("the subject claims of {victim} under the token's own signature")
            }
            TokenForgery::WeakKey { entry } => {
                format!("{}, the subject claims of {victim}", key(entry))
            }
            TokenForgery::WeakKeyRole { entry } => {
                format!("{}, role and admin claims raised", key(entry))
            }
            TokenForgery::Expired { entry } => format!("{}, exp an hour in the past", key(entry)),
            TokenForgery::Stripped => "the caller's own token, its signature stripped".into(),
            TokenForgery::Truncated => "the caller's own token, its last 4 characters cut".into(),
            TokenForgery::Altered => "the caller's own token, one character changed".into(),
        }
    }
}

/// How a webhook event is forged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Forgery {
    /// No signature headers at all.
    Unsigned,
    /// A signature made with a wrong secret.
    WrongSecret,
    /// A correct signature over a timestamp outside the tolerance.
    Stale,
    /// The signed control event, sent again byte for byte.
    Replay,
}

/// Which read-back of an attack a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Before,
    After,
}

/// Why a step is in a scenario; the oracles read this.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "role", rename_all = "kebab-case")]
pub enum StepRole {
    /// Creates a resource for its actor.
    Setup { resource: usize },
    /// The attacker's probe.
    Attack {
        victim: usize,
        effect: Effect,
        vector: Vector,
        /// The victim's resource under attack: its type and the step that created it (`None`
        /// for a discovered, pre-existing resource, or for a list/search probe).
        target_resource: Option<usize>,
        target_step: Option<usize>,
        /// The rule under test.
        check: Check,
    },
    /// The victim reading its own resource around an attack (step index of the attack).
    ReadBack { attack: usize, phase: Phase },
    /// Removing what the campaign created, as its owner.
    Cleanup,
    /// A fresh account, registered through the actor's own login flow, stands in for the
    /// actor's account until the execution ends: an account probe (which may delete the
    /// account or change its password) never touches an identity's own. The step's operation
    /// is the one that answers about the caller, for reports; nothing of the spec is sent.
    Enroll,
    /// The actor (an enrolled account) logs in again with its password after attack `attack`:
    /// whether the password still works.
    Relogin { attack: usize },
}

/// One request in a scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Who sends it (an identity index; the last identity is anonymous).
    pub actor: usize,
    /// The operation (index in the API model).
    pub op: usize,
    pub role: StepRole,
    /// Values for path, query and header parameters and body fields.
    pub args: Args,
}

/// A step's values, by slot: shared between the steps that send the same request. A plan holds
/// the same few requests many times over (DocuSign's 48,676 planned steps have 1,914 different
/// argument lists with 481,324 arguments in all), so each step keeps a reference, and a step
/// that changes its own (renumbering, a forged field) gets a copy first: to the code that
/// uses it, it is a `Vec` of its own.
#[derive(Clone, Default, PartialEq)]
pub struct Args(Arc<Vec<(Slot, Expr)>>);

impl std::ops::Deref for Args {
    type Target = Vec<(Slot, Expr)>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Args {
    fn deref_mut(&mut self) -> &mut Self::Target {
        Arc::make_mut(&mut self.0)
    }
}

impl From<Vec<(Slot, Expr)>> for Args {
    fn from(args: Vec<(Slot, Expr)>) -> Self {
        Args(Arc::new(args))
    }
}

impl FromIterator<(Slot, Expr)> for Args {
    fn from_iter<I: IntoIterator<Item = (Slot, Expr)>>(iter: I) -> Self {
        Args(Arc::new(iter.into_iter().collect()))
    }
}

impl PartialEq<Vec<(Slot, Expr)>> for Args {
    fn eq(&self, other: &Vec<(Slot, Expr)>) -> bool {
        *self.0 == *other
    }
}

impl<'a> IntoIterator for &'a Args {
    type Item = &'a (Slot, Expr);
    type IntoIter = std::slice::Iter<'a, (Slot, Expr)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a mut Args {
    type Item = &'a mut (Slot, Expr);
    type IntoIter = std::slice::IterMut<'a, (Slot, Expr)>;

    fn into_iter(self) -> Self::IntoIter {
        Arc::make_mut(&mut self.0).iter_mut()
    }
}

// As the list it holds: reports, snapshots and the plan's keys read the same text as before.
impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Args {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl Step {
    /// Steps whose created ids this step uses.
    pub fn uses(&self) -> impl Iterator<Item = usize> + '_ {
        self.args.iter().filter_map(|(_, e)| e.step())
    }

    /// The role label for reports: `setup`, `attack`, `control` or `read-back`.
    pub fn role_label(&self) -> &'static str {
        match self.role {
            StepRole::Setup { .. } => "setup",
            StepRole::Attack { .. } => "attack",
            StepRole::ReadBack {
                phase: Phase::Before,
                ..
            } => "control",
            StepRole::ReadBack {
                phase: Phase::After,
                ..
            } => "read-back",
            StepRole::Cleanup => "cleanup",
            StepRole::Enroll => "fresh-account",
            StepRole::Relogin { .. } => "login-check",
        }
    }
}

/// A sequence of steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    pub steps: Vec<Step>,
}

impl Scenario {
    /// The scenario with only the steps in `keep` (sorted indexes), references renumbered.
    /// `None` when a kept step uses a step that is not kept.
    pub fn retain(&self, keep: &[usize]) -> Option<Scenario> {
        let new_index = |old: usize| keep.iter().position(|k| *k == old);
        let mut steps = Vec::with_capacity(keep.len());
        for &i in keep {
            let mut step = self.steps.get(i)?.clone();
            // An optional reference to a step not kept is left out.
            step.args.retain(|(_, e)| match e {
                Expr::Optional(inner) => inner.step().is_none_or(|s| new_index(s).is_some()),
                _ => true,
            });
            for (_, expr) in &mut step.args {
                let expr = match expr {
                    Expr::Optional(inner) => inner.as_mut(),
                    e => e,
                };
                if let Expr::CreatedOr {
                    step: s,
                    identity,
                    resource,
                } = expr
                {
                    // Without its create, the owner's own pre-existing one stands in.
                    match new_index(*s) {
                        Some(n) => *s = n,
                        None => {
                            *expr = Expr::Discovered {
                                identity: *identity,
                                resource: *resource,
                            }
                        }
                    }
                } else if let Expr::Created { step: s }
                | Expr::Echo { step: s, .. }
                | Expr::Absent { step: s } = expr
                {
                    *s = new_index(*s)?;
                }
            }
            step.role = match step.role {
                StepRole::Attack {
                    victim,
                    effect,
                    vector,
                    target_resource,
                    target_step,
                    check,
                } => StepRole::Attack {
                    victim,
                    effect,
                    vector,
                    target_resource,
                    target_step: match target_step {
                        Some(t) => Some(new_index(t)?),
                        None => None,
                    },
                    check: match check {
                        Check::Gate {
                            plan,
                            control: Some(c),
                        } => Check::Gate {
                            plan,
                            control: Some(new_index(c)?),
                        },
                        Check::Webhook {
                            forgery,
                            control,
                            state,
                        } => Check::Webhook {
                            forgery,
                            control: new_index(control)?,
                            state,
                        },
                        Check::Existence { control } => Check::Existence {
                            control: new_index(control)?,
                        },
                        Check::Token { forgery, control } => Check::Token {
                            forgery,
                            control: new_index(control)?,
                        },
                        other => other,
                    },
                },
                StepRole::ReadBack { attack, phase } => StepRole::ReadBack {
                    attack: new_index(attack)?,
                    phase,
                },
                other => other,
            };
            steps.push(step);
        }
        Some(Scenario { steps })
    }

    /// The indexes `roots` need, transitively through created ids and attack targets, sorted.
    pub fn closure(&self, roots: &[usize]) -> Vec<usize> {
        let mut keep: Vec<usize> = Vec::new();
        let mut stack: Vec<usize> = roots.to_vec();
        while let Some(i) = stack.pop() {
            if i >= self.steps.len() || keep.contains(&i) {
                continue;
            }
            keep.push(i);
            let step = &self.steps[i];
            stack.extend(step.uses());
            if let StepRole::Attack {
                target_step, check, ..
            } = &step.role
            {
                stack.extend(*target_step);
                match check {
                    Check::Gate {
                        control: Some(c), ..
                    }
                    | Check::Webhook { control: c, .. }
                    | Check::Existence { control: c }
                    | Check::Token { control: c, .. } => stack.push(*c),
                    _ => {}
                }
            }
            if let StepRole::ReadBack { attack, .. } = step.role {
                stack.push(attack);
            }
        }
        keep.sort_unstable();
        keep
    }
}

/// For tests: a creation by `actor` of resource 0 through operation 0, under the resource
/// step `uses` created if any.
#[cfg(test)]
pub(crate) fn test_setup(actor: usize, uses: Option<usize>) -> Step {
    Step {
        actor,
        op: 0,
        role: StepRole::Setup { resource: 0 },
        args: uses
            .map(|s| vec![(Slot::Path("p".into()), Expr::Created { step: s })])
            .unwrap_or_default()
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(uses: Option<usize>) -> Step {
        test_setup(0, uses)
    }

    #[test]
    fn closure_and_retain_renumber_references() {
        let attack = Step {
            actor: 1,
            op: 1,
            role: StepRole::Attack {
                victim: 0,
                effect: Effect::Read,
                vector: Vector::Path,
                target_resource: Some(0),
                target_step: Some(2),
                check: Check::Ownership,
            },
            args: vec![(Slot::Path("id".into()), Expr::Created { step: 2 })].into(),
        };
        let s = Scenario {
            steps: vec![setup(None), setup(None), setup(Some(0)), attack],
        };
        let keep = s.closure(&[3]);
        assert_eq!(keep, vec![0, 2, 3]);
        let small = s.retain(&keep).expect("closed");
        assert_eq!(small.steps.len(), 3);
        assert_eq!(small.steps[1].args[0].1, Expr::Created { step: 0 });
        assert_eq!(small.steps[2].args[0].1, Expr::Created { step: 1 });
        // Dropping a step that is used is refused.
        assert!(s.retain(&[2, 3]).is_none());
    }
}
