//! Ground-floor data of verdicts: what a check concluded ([`Violation`]), and what a campaign
//! reports ([`Finding`]). Oracles produce the first, the campaign turns them into the second after
//! confirmation and shrinking; reporters read both. Nothing here sends or decides anything.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::exchange::{Capture, Exchange};

/// The kind of violation, in the vocabulary of `specs/demo.ground-truth.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    BolaRead,
    BolaWrite,
    BolaDelete,
    ListLeak,
    Unauthenticated,
    MassAssignment,
    Bfla,
    PlanBypass,
    WebhookUnsigned,
    WebhookReplay,
    UseAfterDelete,
    ExistenceLeak,
    TokenForgery,
    CredentialExposure,
    AccountEnumeration,
}

impl Kind {
    /// Every kind, in declaration order (what reports list as rules, produced or not yet).
    pub const ALL: [Kind; 15] = [
        Kind::BolaRead,
        Kind::BolaWrite,
        Kind::BolaDelete,
        Kind::ListLeak,
        Kind::Unauthenticated,
        Kind::MassAssignment,
        Kind::Bfla,
        Kind::PlanBypass,
        Kind::WebhookUnsigned,
        Kind::WebhookReplay,
        Kind::UseAfterDelete,
        Kind::ExistenceLeak,
        Kind::TokenForgery,
        Kind::CredentialExposure,
        Kind::AccountEnumeration,
    ];

    /// The wire name (`bola-read`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BolaRead => "bola-read",
            Kind::BolaWrite => "bola-write",
            Kind::BolaDelete => "bola-delete",
            Kind::ListLeak => "list-leak",
            Kind::Unauthenticated => "unauthenticated",
            Kind::MassAssignment => "mass-assignment",
            Kind::Bfla => "bfla",
            Kind::PlanBypass => "plan-bypass",
            Kind::WebhookUnsigned => "webhook-unsigned",
            Kind::WebhookReplay => "webhook-replay",
            Kind::UseAfterDelete => "use-after-delete",
            Kind::ExistenceLeak => "existence-leak",
            Kind::TokenForgery => "token-forgery",
            Kind::CredentialExposure => "credential-exposure",
            Kind::AccountEnumeration => "account-enumeration",
        }
    }

    /// A one-line description for people.
    pub fn title(self) -> &'static str {
        match self {
            Kind::BolaRead => "cross-tenant read",
            Kind::BolaWrite => "cross-tenant write",
            Kind::BolaDelete => "cross-tenant delete",
            Kind::ListLeak => "list or search leaks another tenant's data",
            Kind::Unauthenticated => "data reachable without credentials",
            Kind::MassAssignment => "mass assignment",
            Kind::Bfla => "function-level authorization bypass",
            Kind::PlanBypass => "plan restriction bypass",
            Kind::WebhookUnsigned => "webhook accepted without a valid signature",
            Kind::WebhookReplay => "webhook event applied twice",
            Kind::UseAfterDelete => "deleted resource still reachable",
            Kind::ExistenceLeak => "foreign ids distinguishable from unknown ones",
            Kind::TokenForgery => "forged or tampered token accepted",
            Kind::CredentialExposure => "another identity's credentials in an answer",
            Kind::AccountEnumeration => "existing accounts distinguishable from unknown ones",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the attacker put the foreign reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vector {
    Path,
    Query,
    Body,
    Header,
    /// The victim's resource as the parent of the attacker's own child (or new child).
    Parent,
}

impl Vector {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Vector::Path => "path",
            Vector::Query => "query",
            Vector::Body => "body",
            Vector::Header => "header",
            Vector::Parent => "parent",
        }
    }
}

impl fmt::Display for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The operation a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OperationRef {
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub operation_id: Option<String>,
    /// The 1-based line where the operation starts in the spec file, where known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<usize>,
}

/// What one oracle concluded from one executed scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub kind: Kind,
    pub vector: Vector,
    /// Index of the attacked operation in the API model.
    pub op: usize,
    /// The identity that attacked (`anonymous` for no credentials).
    pub attacker: String,
    pub victim: String,
    /// Why this is a violation, in one sentence a person can check.
    pub evidence: String,
    /// The index of the attack step in the scenario.
    pub step: usize,
    /// The markers that are the evidence (the victim's in a leak, the attacker's in a write, the
    /// deleted object's in a delete).
    pub markers: Vec<String>,
    /// The JSON pointer of the field whose value is the evidence, when it is a value rather than
    /// a marker (the privilege field a caller set, the balance a forged webhook changed).
    pub field: Option<String>,
}

impl Violation {
    /// The deduplication key: (kind, operation, vector, attacker, victim).
    pub fn key(&self) -> ViolationKey {
        ViolationKey {
            kind: self.kind,
            op: self.op,
            vector: self.vector,
            attacker: self.attacker.clone(),
            victim: self.victim.clone(),
        }
    }
}

/// Whether a finding held up under replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Reproduced on every confirmation replay.
    Confirmed,
    /// Seen, but not reproduced every time.
    Inconclusive,
}

/// One step of a finding's minimal reproduction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReproStep {
    /// Who sends it (an identity name, or `anonymous`).
    pub identity: String,
    /// Why it is there: `setup`, `attack`, `control` or `read-back`.
    pub role: String,
    /// The exchange as recorded in the last confirming run (credentials redacted).
    #[serde(flatten)]
    pub exchange: Exchange,
    /// Values this step takes from earlier responses: `{placeholder: "step N <json pointer>"}`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub captures: Vec<Capture>,
    /// For a webhook event, how it was signed: `signed`, `unsigned`, `wrong-secret`, `stale`,
    /// or `replay` (the last signed event of the steps, sent again byte for byte). For a forged
    /// bearer token (`token-forgery`), `forged token: ` and its recipe (never the token).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub signature: Option<String>,
    /// Values of its request the campaign made up afresh for every request (a uuid for an
    /// event's or a delivery's id, which a receiver may apply once): reproductions send new ones
    /// rather than these.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub fresh: Vec<String>,
}

/// What makes two violations the same finding: kind, operation, vector, attacker, victim.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ViolationKey {
    pub kind: Kind,
    pub op: usize,
    pub vector: Vector,
    pub attacker: String,
    pub victim: String,
}

/// A reported finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// A fingerprint stable across runs and seeds.
    pub id: String,
    /// The bug this finding is one attacker/victim pair of: a fingerprint of kind, operation
    /// and vector alone (see [`bug_id`]), shared by every pair the bug was found for. Empty in
    /// reports written before it existed (a merge computes it again).
    #[serde(default)]
    pub bug: String,
    pub kind: Kind,
    pub vector: Vector,
    pub status: Status,
    /// How many confirmation replays reproduced it (of `replays`; the setting
    /// `campaign.confirmations` is how many must). Read as `confirmations` in reports written
    /// before it had this name.
    #[serde(alias = "confirmations")]
    pub reproduced: u32,
    /// How many replays were attempted.
    pub replays: u32,
    pub operation: OperationRef,
    pub attacker: String,
    pub victim: String,
    pub evidence: String,
    /// The markers the evidence rests on, as sent in the last confirming run.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub evidence_markers: Vec<String>,
    /// The JSON pointer of the field whose value is the evidence, when it is a value rather
    /// than a marker (see [`Violation::field`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub evidence_field: Option<String>,
    /// How webhook events in the steps are signed, for reproductions that must sign afresh.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub signing: Option<Signing>,
    pub steps: Vec<ReproStep>,
    /// Whether shrinking stopped at a bound before reaching a minimum.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shrink_note: Option<String>,
    /// Requests spent confirming and shrinking this finding.
    pub requests_spent: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reproduction: Option<Reproduction>,
    /// Whether its id is in the baseline the run was given: a known finding is reported but does
    /// not fail the run.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub known: bool,
}

/// Puts findings in the order every report lists them: by kind, operation (path, then method),
/// vector, attacker and victim. One place, so that a campaign's result and a merge of several
/// reports list the same findings alike.
pub(crate) fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (
            a.kind,
            &a.operation.path,
            &a.operation.method,
            a.vector,
            &a.attacker,
            &a.victim,
        )
            .cmp(&(
                b.kind,
                &b.operation.path,
                &b.operation.method,
                b.vector,
                &b.attacker,
                &b.victim,
            ))
    });
}

/// How a webhook receiver's events are signed (the secret itself is never here: reproductions
/// read it from `TFZ_WEBHOOK_SECRET`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Signing {
    pub signature_header: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timestamp_header: Option<String>,
    /// `hmac-sha256` or `hmac-sha512`.
    pub algorithm: String,
    /// `hex` or `base64`.
    pub encoding: String,
    pub prefix: String,
    /// What is signed: `{timestamp}` and `{body}` are replaced.
    pub signed: String,
    /// How old a timestamp the receiver accepts, in seconds.
    pub tolerance_seconds: u64,
}

/// Where a finding's runnable reproduction was written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reproduction {
    pub curl: String,
    /// The same steps as a `.hurl` file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hurl: Option<String>,
}

/// FNV-1a of a text, as the hex of a `u64`.
fn fnv(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// A bug's stable id: FNV-1a of kind, vector and operation (method and path), the fields that
/// make one bug whichever attacker and victim it was found for (`tfzb-` and 16 hex digits).
pub fn bug_id(kind: Kind, vector: Vector, op: &OperationRef) -> String {
    let text = format!(
        "{}|{}|{}|{}",
        kind.as_str(),
        vector.as_str(),
        op.method,
        op.path
    );
    format!("tfzb-{}", fnv(&text))
}

/// One bug: a (kind, operation, vector), with every finding (attacker/victim pair) that showed
/// it, in report order. What reports list one entry for.
#[derive(Debug, Clone)]
pub struct Bug<'a> {
    /// The bug's id (see [`bug_id`]).
    pub id: String,
    /// Its findings, one per attacker/victim pair, in report order; never empty.
    pub findings: Vec<&'a Finding>,
}

impl<'a> Bug<'a> {
    /// The finding whose reproduction stands for the bug: a confirmed one before an
    /// inconclusive one, a new one before a known one, then the fewest steps, then report order.
    pub fn representative(&self) -> &'a Finding {
        let mut best = self.findings[0];
        for f in &self.findings[1..] {
            if rank(f) < rank(best) {
                best = f;
            }
        }
        best
    }

    /// The first of its findings (they share kind, operation and vector).
    pub fn first(&self) -> &'a Finding {
        self.findings[0]
    }

    /// Its confirmed findings.
    pub fn confirmed(&self) -> impl Iterator<Item = &'a Finding> + '_ {
        self.findings
            .iter()
            .copied()
            .filter(|f| f.status == Status::Confirmed)
    }

    /// Confirmed for at least one pair.
    pub fn is_confirmed(&self) -> bool {
        self.confirmed().next().is_some()
    }

    /// Confirmed, and every confirmed pair is in the baseline: it does not fail the run.
    pub fn is_known(&self) -> bool {
        self.is_confirmed() && self.confirmed().all(|f| f.known)
    }

    /// Confirmed for a pair the baseline does not list: it fails the run.
    pub fn is_new(&self) -> bool {
        self.confirmed().any(|f| !f.known)
    }
}

fn rank(f: &Finding) -> (bool, bool, usize) {
    (f.status != Status::Confirmed, f.known, f.steps.len())
}

/// Groups findings into bugs by kind, operation and vector, in the order each bug's first
/// finding comes (report order, since [`sort`] keeps a bug's findings together).
pub fn bugs<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<Bug<'a>> {
    let mut out: Vec<Bug<'a>> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for f in findings {
        let id = bug_id(f.kind, f.vector, &f.operation);
        match index.get(&id) {
            Some(&i) => out[i].findings.push(f),
            None => {
                index.insert(id.clone(), out.len());
                out.push(Bug {
                    id,
                    findings: vec![f],
                });
            }
        }
    }
    out
}

/// How many bugs were confirmed (for at least one pair).
pub fn confirmed_bugs(findings: &[Finding]) -> usize {
    bugs(findings).iter().filter(|b| b.is_confirmed()).count()
}

/// A stable fingerprint: FNV-1a of the fields that identify a finding across runs.
pub fn fingerprint(
    kind: Kind,
    vector: Vector,
    op: &OperationRef,
    attacker: &str,
    victim: &str,
) -> String {
    let text = format!(
        "{}|{}|{}|{}|{}|{}",
        kind.as_str(),
        vector.as_str(),
        op.method,
        op.path,
        attacker,
        victim
    );
    format!("tfz-{}", fnv(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        let op = OperationRef {
            method: "GET".into(),
            path: "/a/{id}".into(),
            operation_id: None,
            line: None,
        };
        let a = fingerprint(Kind::BolaRead, Vector::Path, &op, "bob", "alice");
        assert_eq!(
            a,
            fingerprint(Kind::BolaRead, Vector::Path, &op, "bob", "alice")
        );
        assert_ne!(
            a,
            fingerprint(Kind::BolaRead, Vector::Query, &op, "bob", "alice")
        );
        assert_ne!(
            a,
            fingerprint(Kind::BolaRead, Vector::Path, &op, "alice", "bob")
        );
    }

    fn finding(kind: Kind, path: &str, attacker: &str, status: Status, steps: usize) -> Finding {
        let operation = OperationRef {
            method: "GET".into(),
            path: path.into(),
            operation_id: None,
            line: None,
        };
        let step = ReproStep {
            identity: attacker.into(),
            role: "attack".into(),
            exchange: Exchange {
                method: "GET".into(),
                url: format!("http://127.0.0.1:1{path}"),
                request_headers: Vec::new(),
                request_body: None,
                status: Some(200),
                response_headers: Vec::new(),
                response_body: Default::default(),
                error: None,
                duration_ms: 1,
            },
            captures: Vec::new(),
            signature: None,
            fresh: Vec::new(),
        };
        Finding {
            id: fingerprint(kind, Vector::Path, &operation, attacker, "alice"),
            bug: bug_id(kind, Vector::Path, &operation),
            kind,
            vector: Vector::Path,
            status,
            reproduced: 2,
            replays: 2,
            operation,
            attacker: attacker.into(),
            victim: "alice".into(),
            evidence: String::new(),
            evidence_markers: Vec::new(),
            evidence_field: None,
            signing: None,
            steps: vec![step; steps],
            shrink_note: None,
            requests_spent: 0,
            reproduction: None,
            known: false,
        }
    }

    #[test]
    fn findings_group_into_bugs_by_kind_operation_and_vector() {
        let mut findings = vec![
            finding(Kind::BolaRead, "/a/{id}", "bob", Status::Inconclusive, 1),
            finding(Kind::BolaRead, "/a/{id}", "carol", Status::Confirmed, 4),
            finding(Kind::BolaRead, "/a/{id}", "dave", Status::Confirmed, 2),
            finding(Kind::BolaRead, "/b/{id}", "bob", Status::Confirmed, 2),
            finding(Kind::BolaWrite, "/a/{id}", "bob", Status::Inconclusive, 2),
        ];
        findings[2].known = true;
        let bugs = bugs(&findings);
        assert_eq!(bugs.len(), 3);
        assert_eq!(bugs[0].findings.len(), 3);
        assert!(bugs[0].findings.iter().all(|f| f.bug == bugs[0].id));
        assert_ne!(bugs[0].id, bugs[1].id);
        // The id ignores attacker and victim, not kind, vector or operation.
        let op = &findings[0].operation;
        assert_eq!(bugs[0].id, bug_id(Kind::BolaRead, Vector::Path, op));
        assert_ne!(bugs[0].id, bug_id(Kind::BolaRead, Vector::Query, op));
        assert_ne!(bugs[0].id, bug_id(Kind::BolaWrite, Vector::Path, op));
        // Confirmed before inconclusive, new before known, then fewer steps.
        assert_eq!(bugs[0].representative().attacker, "carol");
        assert!(bugs[0].is_new() && !bugs[0].is_known());
        assert!(!bugs[2].is_confirmed() && !bugs[2].is_new());
        assert_eq!(confirmed_bugs(&findings), 2);
        findings[1].known = true;
        let bugs = super::bugs(&findings);
        assert_eq!(bugs[0].representative().attacker, "dave");
        assert!(bugs[0].is_known() && !bugs[0].is_new());
    }

    #[test]
    fn all_lists_every_kind_once() {
        // A new variant must be added to `ALL`: this match stops compiling until it is handled.
        let position = |k: Kind| match k {
            Kind::BolaRead => 0,
            Kind::BolaWrite => 1,
            Kind::BolaDelete => 2,
            Kind::ListLeak => 3,
            Kind::Unauthenticated => 4,
            Kind::MassAssignment => 5,
            Kind::Bfla => 6,
            Kind::PlanBypass => 7,
            Kind::WebhookUnsigned => 8,
            Kind::WebhookReplay => 9,
            Kind::UseAfterDelete => 10,
            Kind::ExistenceLeak => 11,
            Kind::TokenForgery => 12,
            Kind::CredentialExposure => 13,
            Kind::AccountEnumeration => 14,
        };
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert_eq!(position(*k), i, "{k}");
        }
    }

    #[test]
    fn kinds_round_trip_through_serde() {
        for kind in [Kind::BolaRead, Kind::ListLeak, Kind::WebhookReplay] {
            let s = serde_json::to_string(&kind).expect("serializes");
            assert_eq!(s, format!("\"{}\"", kind.as_str()));
            let back: Kind = serde_json::from_str(&s).expect("parses");
            assert_eq!(back, kind);
        }
    }
}
