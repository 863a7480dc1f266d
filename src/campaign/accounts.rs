//! Probes of the accounts themselves, sent once after discovery through the identities' own
//! login and registration flows (`login.register`, `login.requests`), before any scenario:
//! the `account-enumeration` check (when turned on) and registration with a privilege field
//! (`mass-assignment`): a throwaway account registered with `role: <value>` or
//! `is_admin: true`, compared with one registered without it. Neither changes an identity:
//! throwaway accounts are new, and a login here never sends the real password.

use serde_json::{Value, json};

use super::run::Campaign;
use crate::exec::Target;
use crate::finding::{Finding, Kind, OperationRef, ReproStep, Status, Vector};
use crate::model::{Decision, is_privileged_field, normalize};
use crate::spec::{Method, SchemaKind};

/// How many privileged registrations one identity's flow is probed with.
const MAX_REGISTRATIONS: usize = 6;

/// Privilege fields tried on registration even when no answer shows them, with their value:
/// the effect is then an operation the plain account is refused.
const DEFAULT_FIELDS: &[(&str, bool)] =
    &[("is_admin", true), ("is_superuser", true), ("admin", true)];

/// Words of a password-reset path.
const RESET_WORDS: &[&str] = &["reset", "forgot", "recover"];

impl Campaign {
    /// The findings of the account probes: enumeration (when `campaign.account_enumeration`
    /// is on) through the first identity with a login flow, and privileged registration
    /// through the first non-administrator with a registration.
    pub(super) async fn account_probes(&self, target: &Target, names: &[String]) -> Vec<Finding> {
        let mut out = Vec::new();
        let ids = &self.settings.identities;
        let admin = |i: usize| {
            ids[i]
                .role
                .as_deref()
                .is_some_and(|r| self.policy.is_admin(r))
        };
        let with_flow: Vec<usize> = (0..ids.len())
            .filter(|i| ids[*i].auth.login.is_some())
            .collect();
        if self.settings.campaign.account_enumeration {
            if let Some(&i) = with_flow.first() {
                let resets = self.reset_operations();
                for sample in target.enumeration_samples(i, &resets).await {
                    let surface = match sample.surface {
                        "login" => "login with a wrong password",
                        other => other,
                    };
                    let Some(evidence) = crate::oracle::judge_enumeration(
                        surface,
                        &sample.known,
                        &sample.unknown,
                        &sample.known_user,
                        &sample.unknown_user,
                    ) else {
                        continue;
                    };
                    let steps = sample
                        .known
                        .into_iter()
                        .zip(sample.unknown)
                        .flat_map(|(k, u)| [("control", k), ("attack", u)])
                        .map(|(role, x)| step("anonymous", role, x))
                        .collect();
                    out.push(self.account_finding(
                        Kind::AccountEnumeration,
                        (sample.method, &sample.path),
                        ("anonymous", &names[i]),
                        evidence,
                        None,
                        steps,
                    ));
                }
            }
        }
        let registering = with_flow.iter().copied().find(|i| {
            !admin(*i)
                && ids[*i]
                    .auth
                    .login
                    .as_ref()
                    .is_some_and(|f| !f.register.is_empty())
        });
        if let Some(i) = registering {
            out.extend(self.privileged_registration(target, i, names).await);
        }
        out
    }

    /// Password-reset operations of the spec: a POST without path parameters whose path says
    /// reset, forgot or recover and whose JSON body has an e-mail field (or a user name).
    fn reset_operations(&self) -> Vec<(Method, String, String)> {
        let mut out = Vec::new();
        for op in &self.api.operations {
            let path = op.path.to_ascii_lowercase();
            if op.method != Method::Post
                || path.contains('{')
                || !RESET_WORDS.iter().any(|w| path.contains(w))
            {
                continue;
            }
            let Some(props) = op.body.as_ref().and_then(|b| b.schema.properties()) else {
                continue;
            };
            let key = props
                .keys()
                .find(|k| normalize(k).contains("email"))
                .or_else(|| props.keys().find(|k| normalize(k).contains("user")));
            if let Some(key) = key {
                out.push((op.method, op.path.clone(), key.clone()));
            }
        }
        out
    }

    /// The reads that show what a throwaway account is: the operation that answers about the
    /// caller (`GET /me`), then up to three operations without parameters the policy denies
    /// the identity.
    fn account_reads(&self, base: &str, identity: usize) -> Vec<(String, Option<usize>)> {
        let ops = &self.api.operations;
        let plain = |i: &usize| ops[*i].method == Method::Get && !ops[*i].path.contains('{');
        let me = self
            .model
            .selves
            .iter()
            .map(|s| s.op)
            .find(plain)
            .or_else(|| {
                (0..ops.len()).filter(plain).find(|i| {
                    let last = ops[*i].path.rsplit('/').next().unwrap_or("");
                    matches!(
                        normalize(last).as_str(),
                        "me" | "self" | "whoami" | "profile" | "account" | "currentuser"
                    )
                })
            });
        let Some(me) = me else { return Vec::new() };
        let url = |i: usize| format!("{}{}", base.trim_end_matches('/'), ops[i].path);
        let id = &self.settings.identities[identity];
        let mut out = vec![(url(me), Some(me))];
        out.extend(
            (0..ops.len())
                .filter(plain)
                .filter(|i| {
                    self.policy
                        .decide(*i, id.role.as_deref(), id.plan.as_deref())
                        != Decision::Allow
                })
                .take(3)
                .map(|i| (url(i), Some(i))),
        );
        out
    }

    /// Throwaway accounts registered with one privilege field each, against one registered
    /// without: the first that reads itself with the value, or is answered where the plain
    /// one is refused, is the finding (confirmed by a second registration).
    async fn privileged_registration(
        &self,
        target: &Target,
        identity: usize,
        names: &[String],
    ) -> Vec<Finding> {
        let reads = self.account_reads(target.base_url(), identity);
        if reads.is_empty() {
            return Vec::new();
        }
        let me_op = reads[0].1;
        let urls: Vec<String> = reads.iter().map(|(u, _)| u.clone()).collect();
        let Some(plain) = target.register_throwaway(identity, None, &urls).await else {
            return Vec::new();
        };
        let shown = plain
            .reads
            .first()
            .and_then(|x| x.response_body.get().cloned());
        let candidates = self.registration_candidates(me_op, shown.as_ref(), identity);
        let flow = self.settings.identities[identity].auth.login.as_ref();
        let Some(register) = flow.and_then(|f| f.register.first()) else {
            return Vec::new();
        };
        for (key, value) in candidates.into_iter().take(MAX_REGISTRATIONS) {
            let pointer = format!("/{}", crate::spec::escape(&key));
            let Some(probed) = target
                .register_throwaway(identity, Some((&key, &value)), &urls)
                .await
            else {
                continue;
            };
            let Some(evidence) =
                crate::oracle::registered_privilege(&pointer, &value, &plain.reads, &probed.reads)
            else {
                continue;
            };
            // The confirming replay: another account registered the same way.
            let Some(again) = target
                .register_throwaway(identity, Some((&key, &value)), &urls)
                .await
            else {
                continue;
            };
            if crate::oracle::registered_privilege(&pointer, &value, &plain.reads, &again.reads)
                .is_none()
            {
                continue;
            }
            let name = &names[identity];
            let mut steps = vec![step(name, "control", plain.register)];
            steps.extend(plain.reads.into_iter().map(|x| step(name, "control", x)));
            steps.push(step(name, "attack", again.register));
            steps.extend(again.reads.into_iter().map(|x| step(name, "read-back", x)));
            let mut f = self.account_finding(
                Kind::MassAssignment,
                (register.method, &register.path),
                (name, name),
                evidence,
                Some(pointer),
                steps,
            );
            f.replays = 1;
            return vec![f];
        }
        Vec::new()
    }

    /// The (field, value) pairs to register with, most telling first: the privilege fields
    /// the account's answer about itself shows (or its schema declares), each with every
    /// value its schema's enum allows, the identities' declared and the administrator roles
    /// for a role field, `true` for a flag; then the usual flags when none is shown (their
    /// effect can only be an operation that now answers).
    fn registration_candidates(
        &self,
        me_op: Option<usize>,
        shown: Option<&Value>,
        identity: usize,
    ) -> Vec<(String, Value)> {
        let schema = me_op.and_then(|op| {
            self.api.operations[op]
                .responses
                .iter()
                .filter(|r| r.status.starts_with('2'))
                .find_map(|r| r.schema.as_ref()?.properties().cloned())
        });
        let mut fields: Vec<String> = Vec::new();
        if let Some(Value::Object(map)) = shown {
            fields.extend(map.keys().filter(|k| is_privileged_field(k)).cloned());
        }
        if let Some(props) = &schema {
            for k in props.keys() {
                if is_privileged_field(k) && !fields.contains(k) {
                    fields.push(k.clone());
                }
            }
        }
        // Ids, owners and balances are other checks' business.
        fields.retain(|k| {
            let n = normalize(k);
            !(n.ends_with("id") || matches!(n.as_str(), "owner" | "tenant" | "balance" | "credits"))
        });
        let mut out: Vec<(String, Value)> = Vec::new();
        let id = &self.settings.identities[identity];
        for k in &fields {
            let prop = schema.as_ref().and_then(|p| p.get(k));
            let current = shown.and_then(|s| s.get(k));
            let mut values: Vec<Value> = Vec::new();
            if let Some(p) = prop.filter(|p| !p.enum_values.is_empty()) {
                values.extend(p.enum_values.iter().cloned());
                crate::scenario::most_privileged_first(&mut values);
            } else if prop.is_some_and(|p| p.kind == SchemaKind::Boolean)
                || current.is_some_and(Value::is_boolean)
            {
                values.push(json!(true));
            } else if prop.is_some_and(|p| p.kind == SchemaKind::String)
                || current.is_some_and(Value::is_string)
            {
                let roles = self.policy.admin_roles.iter().chain(
                    self.settings
                        .identities
                        .iter()
                        .filter_map(|i| i.role.as_ref()),
                );
                let plans = self
                    .settings
                    .identities
                    .iter()
                    .filter_map(|i| i.plan.as_ref());
                let n = normalize(k);
                let named: Vec<&String> = if n == "plan" || n == "tier" {
                    plans.collect()
                } else {
                    roles.collect()
                };
                values.extend(named.into_iter().map(|r| json!(r)));
            }
            // The identity's own value and the plain account's prove nothing.
            let own = [id.role.as_deref(), id.plan.as_deref()];
            values.retain(|v| {
                Some(v) != current && !v.as_str().is_some_and(|s| own.contains(&Some(s)))
            });
            for v in values {
                if !out.contains(&(k.clone(), v.clone())) {
                    out.push((k.clone(), v));
                }
            }
        }
        for (k, v) in DEFAULT_FIELDS {
            if !fields.iter().any(|f| normalize(f) == normalize(k)) {
                out.push(((*k).to_string(), json!(v)));
            }
        }
        out
    }

    /// A finding of an account probe, on the flow request it changed (which the spec may
    /// not declare).
    fn account_finding(
        &self,
        kind: Kind,
        (method, path): (Method, &str),
        (attacker, victim): (&str, &str),
        evidence: String,
        field: Option<String>,
        steps: Vec<ReproStep>,
    ) -> Finding {
        let spec_op = self
            .api
            .operations
            .iter()
            .find(|o| o.method == method && o.path == path);
        let operation = OperationRef {
            method: method.to_string(),
            path: path.to_string(),
            operation_id: spec_op.and_then(|o| o.operation_id.clone()),
            line: spec_op.and_then(|o| o.line),
        };
        Finding {
            id: crate::finding::fingerprint(kind, Vector::Body, &operation, attacker, victim),
            bug: crate::finding::bug_id(kind, Vector::Body, &operation),
            kind,
            vector: Vector::Body,
            status: Status::Confirmed,
            reproduced: 1,
            replays: 1,
            operation,
            attacker: attacker.to_string(),
            victim: victim.to_string(),
            evidence,
            evidence_markers: Vec::new(),
            evidence_field: field,
            signing: None,
            requests_spent: steps.len() as u64,
            steps,
            shrink_note: None,
            reproduction: None,
            known: false,
        }
    }
}

fn step(identity: &str, role: &str, exchange: crate::exchange::Exchange) -> ReproStep {
    ReproStep {
        identity: identity.to_string(),
        role: role.to_string(),
        exchange,
        captures: Vec::new(),
        signature: None,
        fresh: Vec::new(),
    }
}
