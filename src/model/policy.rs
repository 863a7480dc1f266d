//! Who may call what beyond ownership: per operation, the roles and plans allowed, from the
//! config's `[[policy.rules]]` over defaults inferred from the spec. Every entry says where it
//! came from, so `tenantfuzz plan` can show what was inferred and from what.
//!
//! Inference is deliberately narrow, because a wrong rule is a false finding: an operation tagged
//! or pathed as administrative (`admin`, `internal`, `staff`, ...) is for the admin roles, and an
//! operation that documents `402 Payment Required` is for identities on a plan that is not a free
//! tier. Descriptions alone are never read as rules.

use serde::Serialize;

use super::naming::normalize;
use crate::config::PolicySettings;
use crate::spec::Api;

/// What the policy says of one operation.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OpPolicy {
    /// The roles allowed to call it (`None`: any role).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The plans allowed to call it (`None`: any plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plans: Option<Vec<String>>,
    /// Where each restriction came from (`tag 'admin'`, `402 response`, `config rule 1`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Its data is shared by every identity by design (`policy.shared`): no ownership check.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
    /// Its data is private to its tenant by declaration (`policy.private`): never set aside as
    /// public or shared by behaviour.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
}

/// The resolved policy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Policy {
    /// One entry per operation of the API, in order.
    pub ops: Vec<OpPolicy>,
    /// Roles that act on every tenant by design.
    pub admin_roles: Vec<String>,
}

/// Whether an identity may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Allow,
    /// Its role is not among the allowed ones.
    DenyRole,
    /// Its plan is not among the allowed ones.
    DenyPlan,
    /// The operation is restricted, but the identity declares no role (or plan) to judge by.
    Unknown,
}

/// Tags and first path segments that mark administrative operations.
const ADMIN_WORDS: &[&str] = &[
    "admin",
    "admins",
    "administration",
    "administrator",
    "administrators",
    "internal",
    "staff",
    "superuser",
    "backoffice",
    "platformadmin",
    "sysadmin",
];

/// Plan names of free tiers.
const FREE_PLANS: &[&str] = &[
    "free",
    "basic",
    "trial",
    "starter",
    "hobby",
    "community",
    "lite",
    "none",
];

/// Whether a plan name is a free tier.
pub fn is_free_plan(plan: &str) -> bool {
    FREE_PLANS.contains(&normalize(plan).as_str())
}

/// The first literal path segment, skipping version and `api` prefixes (`/api/v1/admin/x` ->
/// `admin`).
fn first_segment(path: &str) -> Option<String> {
    path.split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .map(normalize)
        .find(|s| {
            s != "api"
                && !(s.starts_with('v')
                    && s.len() > 1
                    && s[1..].chars().all(|c| c.is_ascii_digit()))
        })
}

/// An invalid policy: a rule (or a `shared` selector) naming no operation.
#[derive(Debug, thiserror::Error)]
#[error("{key}: '{selector}' names no operation of the spec")]
pub struct PolicyError {
    /// The config key: `policy.rules[N].operations` or `policy.shared`.
    pub key: String,
    pub selector: String,
}

impl Policy {
    /// Resolves the policy for `api`. `plans` are the plans the identities declare (to know which
    /// plans a `402` operation is for).
    pub fn resolve(
        api: &Api,
        settings: &PolicySettings,
        plans: &[String],
    ) -> Result<Policy, PolicyError> {
        let mut ops = vec![OpPolicy::default(); api.operations.len()];
        if settings.infer {
            let paid: Vec<String> = {
                let mut p: Vec<String> =
                    plans.iter().filter(|p| !is_free_plan(p)).cloned().collect();
                p.sort();
                p.dedup();
                p
            };
            for (i, op) in api.operations.iter().enumerate() {
                let entry = &mut ops[i];
                if let Some(tag) = op
                    .tags
                    .iter()
                    .find(|t| ADMIN_WORDS.contains(&normalize(t).as_str()))
                {
                    entry.roles = Some(settings.admin_roles.clone());
                    entry.sources.push(format!("tag '{tag}'"));
                } else if let Some(seg) =
                    first_segment(&op.path).filter(|s| ADMIN_WORDS.contains(&s.as_str()))
                {
                    entry.roles = Some(settings.admin_roles.clone());
                    entry.sources.push(format!("path segment '{seg}'"));
                }
                if op.responses.iter().any(|r| r.status == "402") {
                    entry.plans = Some(paid.clone());
                    entry.sources.push("402 response".into());
                }
            }
        }
        for (n, rule) in settings.rules.iter().enumerate() {
            for selector in &rule.operations {
                let selected = api.select(selector);
                if selected.is_empty() {
                    return Err(PolicyError {
                        key: format!("policy.rules[{n}].operations"),
                        selector: selector.clone(),
                    });
                }
                for op in selected {
                    let entry = &mut ops[op];
                    entry.sources.retain(|_| false);
                    entry.roles = rule.roles.clone();
                    entry.plans = rule.plans.clone();
                    entry.sources.push(format!("config rule {}", n + 1));
                }
            }
        }
        for selector in &settings.shared {
            let selected = api.select(selector);
            if selected.is_empty() {
                return Err(PolicyError {
                    key: "policy.shared".into(),
                    selector: selector.clone(),
                });
            }
            for op in selected {
                ops[op].shared = true;
            }
        }
        for selector in &settings.private {
            let selected = api.select(selector);
            if selected.is_empty() {
                return Err(PolicyError {
                    key: "policy.private".into(),
                    selector: selector.clone(),
                });
            }
            for op in selected {
                ops[op].private = true;
            }
        }
        Ok(Policy {
            ops,
            admin_roles: settings.admin_roles.clone(),
        })
    }

    /// Whether an identity with `role` and `plan` may call `op`.
    pub fn decide(&self, op: usize, role: Option<&str>, plan: Option<&str>) -> Decision {
        let Some(entry) = self.ops.get(op) else {
            return Decision::Allow;
        };
        if let Some(roles) = &entry.roles {
            match role {
                None => return Decision::Unknown,
                Some(r) if !roles.iter().any(|x| x == r) => return Decision::DenyRole,
                _ => {}
            }
        }
        if let Some(plans) = &entry.plans {
            // Administrators are not customers: plans do not bind them.
            if role.is_some_and(|r| self.is_admin(r)) {
                return Decision::Allow;
            }
            match plan {
                None => return Decision::Unknown,
                Some(p) if !plans.iter().any(|x| x == p) => return Decision::DenyPlan,
                _ => {}
            }
        }
        Decision::Allow
    }

    /// Whether `op`'s data is shared by every identity by design (`policy.shared`).
    pub fn is_shared(&self, op: usize) -> bool {
        self.ops.get(op).is_some_and(|o| o.shared)
    }

    /// Whether `op`'s data is private to its tenant by declaration (`policy.private`).
    pub fn is_private(&self, op: usize) -> bool {
        self.ops.get(op).is_some_and(|o| o.private)
    }

    /// Whether `role` acts on every tenant by design.
    pub fn is_admin(&self, role: &str) -> bool {
        self.admin_roles.iter().any(|r| r == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyRule;
    use crate::spec::load_str;

    const SPEC: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /api/v2/admin/users:\n    get:\n      responses: {'200': {description: ok}}\n  /reports:\n    get:\n      tags: [Administration]\n      responses: {'200': {description: ok}}\n  /automations:\n    post:\n      operationId: createAutomation\n      responses: {'201': {description: ok}, '402': {description: upgrade}}\n  /things:\n    get:\n      description: Only admins may list things.\n      responses: {'200': {description: ok}}\n";

    #[test]
    fn infers_admin_operations_and_paid_features_from_the_spec_only() {
        let api = load_str(SPEC, "t.yaml").expect("loads");
        let plans = vec!["free".to_string(), "pro".to_string()];
        let p = Policy::resolve(&api, &PolicySettings::default(), &plans).expect("valid");
        let op = |path: &str| {
            api.operations
                .iter()
                .position(|o| o.path == path)
                .expect("op")
        };
        let users = op("/api/v2/admin/users");
        assert_eq!(p.ops[users].roles, Some(vec!["admin".to_string()]));
        assert_eq!(p.ops[users].sources, vec!["path segment 'admin'"]);
        assert_eq!(p.ops[op("/reports")].sources, vec!["tag 'Administration'"]);
        let auto = op("/automations");
        assert_eq!(p.ops[auto].plans, Some(vec!["pro".to_string()]));
        // A description is not a rule.
        assert_eq!(p.ops[op("/things")], OpPolicy::default());
        assert_eq!(p.decide(users, Some("member"), None), Decision::DenyRole);
        assert_eq!(p.decide(users, Some("admin"), None), Decision::Allow);
        assert_eq!(p.decide(users, None, None), Decision::Unknown);
        assert_eq!(
            p.decide(auto, Some("owner"), Some("free")),
            Decision::DenyPlan
        );
        assert_eq!(p.decide(auto, Some("owner"), Some("pro")), Decision::Allow);
        assert_eq!(p.decide(auto, Some("admin"), None), Decision::Allow);
        assert_eq!(p.decide(op("/things"), None, None), Decision::Allow);
    }

    #[test]
    fn config_rules_override_inference_and_must_name_operations() {
        let api = load_str(SPEC, "t.yaml").expect("loads");
        let settings = PolicySettings {
            rules: vec![PolicyRule {
                operations: vec!["GET /things".into()],
                roles: Some(vec!["owner".into()]),
                plans: None,
            }],
            ..PolicySettings::default()
        };
        let p = Policy::resolve(&api, &settings, &[]).expect("valid");
        let things = api.find("GET /things").expect("op");
        assert_eq!(p.decide(things, Some("member"), None), Decision::DenyRole);
        assert_eq!(p.ops[things].sources, vec!["config rule 1"]);
        let bad = PolicySettings {
            rules: vec![PolicyRule {
                operations: vec!["GET /nothing".into()],
                roles: None,
                plans: None,
            }],
            ..PolicySettings::default()
        };
        let e = Policy::resolve(&api, &bad, &[]).expect_err("names nothing");
        assert!(e.to_string().contains("policy.rules[0]"));
        let off = PolicySettings {
            infer: false,
            ..PolicySettings::default()
        };
        let p = Policy::resolve(&api, &off, &[]).expect("valid");
        assert!(p.ops.iter().all(|o| *o == OpPolicy::default()));
    }
}
