//! What each finding kind means for the people who fix it: the weakness (CWE), the OWASP API
//! Security Top 10 2023 category, a severity score and help text. Shared by the formats that
//! describe rules (SARIF) or link to them (Markdown, JUnit); knows nothing of a run.

use crate::finding::Kind;

/// The description of one finding kind.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub kind: Kind,
    /// A CamelCase name (SARIF `rule.name`).
    pub name: &'static str,
    /// CWE ids, the most specific first.
    pub cwe: &'static [u32],
    /// OWASP API Security Top 10 2023: (`API1:2023`, its title).
    pub owasp: (&'static str, &'static str),
    /// A CVSS-like score from 0.0 to 10.0 (GitHub's `security-severity`).
    pub severity: f32,
    /// What the finding means and how to fix it, in plain text.
    pub help: &'static str,
}

impl Rule {
    /// The OWASP page of the rule's category.
    pub fn owasp_url(&self) -> &'static str {
        match self.owasp.0 {
            "API1:2023" => {
                "https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/"
            }
            "API2:2023" => {
                "https://owasp.org/API-Security/editions/2023/en/0xa2-broken-authentication/"
            }
            "API3:2023" => {
                "https://owasp.org/API-Security/editions/2023/en/0xa3-broken-object-property-level-authorization/"
            }
            "API5:2023" => {
                "https://owasp.org/API-Security/editions/2023/en/0xa5-broken-function-level-authorization/"
            }
            "API6:2023" => {
                "https://owasp.org/API-Security/editions/2023/en/0xa6-unrestricted-access-to-sensitive-business-flows/"
            }
            "API10:2023" => {
                "https://owasp.org/API-Security/editions/2023/en/0xaa-unsafe-consumption-of-apis/"
            }
            _ => "https://owasp.org/API-Security/editions/2023/en/0x11-t10/",
        }
    }

    /// `critical`, `high`, `medium` or `low`, by GitHub's thresholds on `severity`.
    pub fn severity_label(&self) -> &'static str {
        match self.severity {
            s if s >= 9.0 => "critical",
            s if s >= 7.0 => "high",
            s if s >= 4.0 => "medium",
            _ => "low",
        }
    }
}

const API1: (&str, &str) = ("API1:2023", "Broken Object Level Authorization");
const API2: (&str, &str) = ("API2:2023", "Broken Authentication");
const API3: (&str, &str) = ("API3:2023", "Broken Object Property Level Authorization");
const API5: (&str, &str) = ("API5:2023", "Broken Function Level Authorization");
const API6: (&str, &str) = (
    "API6:2023",
    "Unrestricted Access to Sensitive Business Flows",
);
const API10: (&str, &str) = ("API10:2023", "Unsafe Consumption of APIs");

/// The rule of a kind.
pub fn rule(kind: Kind) -> Rule {
    let (name, cwe, owasp, severity, help): (_, &'static [u32], _, _, _) = match kind {
        Kind::BolaRead => (
            "CrossTenantRead",
            &[639, 284],
            API1,
            8.1,
            "A request naming another tenant's object returned that object's data: the server \
             found the object by the id the client sent and did not check that the caller may \
             see it. Fix: look objects up within the caller's tenant (or check ownership after \
             the lookup) in every handler that takes an id, including ids in query strings, \
             headers and bodies, and answer 404 for objects of other tenants.",
        ),
        Kind::BolaWrite => (
            "CrossTenantWrite",
            &[639, 284],
            API1,
            8.8,
            "A request naming another tenant's object changed it (or created a child under it), \
             as the owner's own read-back shows. Fix: check that the caller owns the object, and \
             every parent named in the path or body, before applying a change.",
        ),
        Kind::BolaDelete => (
            "CrossTenantDelete",
            &[639, 284],
            API1,
            8.1,
            "A delete naming another tenant's object removed it: the owner could read it just \
             before and no longer can. Fix: check ownership before deleting; a soft delete needs \
             the same check.",
        ),
        Kind::ListLeak => (
            "CrossTenantListLeak",
            &[639, 200],
            API1,
            7.5,
            "A list or search over the caller's own scope returned another tenant's data. Fix: \
             filter list and search queries by the caller's tenant on the server, never by a \
             filter the client chooses.",
        ),
        Kind::Unauthenticated => (
            "UnauthenticatedAccess",
            &[306, 862],
            API2,
            9.1,
            "An operation the spec says is secured answered a request without credentials with \
             a tenant's data, or changed it. Fix: require authentication on the route (check the \
             middleware order and any allow-list of public paths).",
        ),
        Kind::MassAssignment => (
            "MassAssignment",
            &[915],
            API3,
            7.1,
            "A write accepted a property the caller may not set (an owner, a role, a tenant id, \
             a price), and the change took effect. Fix: bind request bodies to an explicit list \
             of writable properties per role.",
        ),
        Kind::Bfla => (
            "FunctionLevelAuthorizationBypass",
            &[285, 862],
            API5,
            8.1,
            "A caller without the required role used a privileged function (an admin or owner \
             operation). Fix: check the caller's role in every privileged handler, not only in \
             the user interface.",
        ),
        Kind::PlanBypass => (
            "PlanRestrictionBypass",
            &[284, 863],
            API6,
            5.4,
            "A tenant used a feature or a quota its plan does not include. Fix: enforce plan \
             limits on the server for every route that offers the feature.",
        ),
        Kind::WebhookUnsigned => (
            "UnsignedWebhookAccepted",
            &[345, 347],
            API10,
            7.5,
            "A webhook was applied without a valid signature. Fix: verify the signature over the \
             raw body with the shared secret, in constant time, before parsing or applying it.",
        ),
        Kind::WebhookReplay => (
            "WebhookReplayAccepted",
            &[294],
            API10,
            6.5,
            "The same signed webhook event was applied twice. Fix: reject events whose timestamp \
             is too old and remember processed event ids.",
        ),
        Kind::UseAfterDelete => (
            "UseAfterDelete",
            &[672, 284],
            API1,
            5.3,
            "A deleted resource could still be read or used through some route. Fix: check the \
             deleted state in every lookup, including child and search routes.",
        ),
        Kind::ExistenceLeak => (
            "ForeignIdExistenceLeak",
            &[204, 203],
            API1,
            3.7,
            "Another tenant's ids can be told apart from ids that do not exist (a 403 for one \
             and a 404 for the other, or different bodies), which lets an attacker enumerate \
             them. Fix: answer the same way for both.",
        ),
        Kind::TokenForgery => (
            "ForgedTokenAccepted",
            &[347, 345, 287],
            API2,
            9.1,
            "A bearer token the server never issued was believed: signed with no algorithm, not \
             verified at all, signed with a guessable key, expired, or cut short. Fix: verify every \
             token's signature with a strong key and a fixed algorithm (never `none`), check \
             `exp`, and look opaque tokens up whole.",
        ),
        Kind::CredentialExposure => (
            "CredentialExposure",
            &[200, 522, 312],
            API3,
            8.2,
            "An answer to another identity, or to no credentials at all, carried an identity's \
             password, token, API key or session id. Fix: never return secrets, not even hashed, \
             and remove debug routes from deployed builds.",
        ),
        Kind::AccountEnumeration => (
            "AccountEnumeration",
            &[204, 203],
            API2,
            3.7,
            "Login, registration or password reset answered an existing account differently \
             from one that does not exist (another status, another message), which lets an \
             attacker learn who has an account. Fix: answer both the same way.",
        ),
    };
    Rule {
        kind,
        name,
        cwe,
        owasp,
        severity,
        help,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_rule_with_tags() {
        for kind in Kind::ALL {
            let r = rule(kind);
            assert!(!r.cwe.is_empty(), "{kind}");
            assert!(r.owasp.0.starts_with("API") && r.owasp.0.ends_with(":2023"));
            assert!((0.0..=10.0).contains(&r.severity));
            assert!(r.help.len() > 40);
        }
        assert_eq!(rule(Kind::Unauthenticated).severity_label(), "critical");
        assert_eq!(rule(Kind::ExistenceLeak).severity_label(), "low");
    }
}
