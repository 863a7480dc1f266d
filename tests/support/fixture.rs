//! A small fixed campaign result for snapshot tests of the report formats: four confirmed
//! findings (a read with captured ids, found for two attacker/victim pairs, so one bug of two
//! findings; a write; a delete), an inconclusive one, a known one, an
//! operation that was not attacked and one with unjudged requests, and recorded exchanges for
//! HAR. Every port, time and id is fixed, so the snapshots need no redaction.
#![allow(dead_code)]

use serde_json::json;
use tenantfuzz::exchange::{Capture, Exchange, Recorded};
use tenantfuzz::finding::{Finding, Kind, OperationRef, ReproStep, Status, Vector, fingerprint};
use tenantfuzz::outcome::{Access, CampaignResult, Cleanup, Coverage, LeftBehind, Stats};

pub const BASE: &str = "http://127.0.0.1:41639";
pub const RUN: &str = "tfzq7x2k";

fn ex(
    method: &str,
    path: &str,
    identity_has_token: bool,
    body: Option<serde_json::Value>,
    status: u16,
    response: serde_json::Value,
) -> Exchange {
    Exchange {
        method: method.into(),
        url: format!("{BASE}{path}"),
        request_headers: if identity_has_token {
            vec![("authorization".into(), "***".into())]
        } else {
            Vec::new()
        },
        request_body: body,
        status: Some(status),
        response_headers: vec![
            ("content-type".into(), "application/json".into()),
            ("set-cookie".into(), "***".into()),
        ],
        response_body: Some(response).into(),
        error: None,
        duration_ms: 3,
    }
}

fn step(identity: &str, role: &str, exchange: Exchange, captures: Vec<Capture>) -> ReproStep {
    ReproStep {
        identity: identity.into(),
        role: role.into(),
        exchange,
        captures,
        signature: None,
        fresh: Vec::new(),
    }
}

fn op(method: &str, path: &str, id: &str, line: usize) -> OperationRef {
    OperationRef {
        method: method.into(),
        path: path.into(),
        operation_id: Some(id.into()),
        line: Some(line),
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    kind: Kind,
    vector: Vector,
    operation: OperationRef,
    attacker: &str,
    victim: &str,
    status: Status,
    evidence: &str,
    markers: &[&str],
    steps: Vec<ReproStep>,
) -> Finding {
    Finding {
        id: fingerprint(kind, vector, &operation, attacker, victim),
        bug: tenantfuzz::finding::bug_id(kind, vector, &operation),
        kind,
        vector,
        status,
        reproduced: if status == Status::Confirmed { 2 } else { 1 },
        replays: 2,
        operation,
        attacker: attacker.into(),
        victim: victim.into(),
        evidence: evidence.into(),
        evidence_markers: markers.iter().map(|m| m.to_string()).collect(),
        evidence_field: None,
        signing: None,
        steps,
        shrink_note: None,
        requests_spent: 9,
        reproduction: None,
        known: false,
    }
}

fn coverage(method: &str, path: &str, id: &str) -> Coverage {
    Coverage {
        method: method.into(),
        path: path.into(),
        operation_id: Some(id.into()),
        attacked: true,
        vectors: vec![Vector::Path],
        checks: Vec::new(),
        judged: 4,
        unjudged: 0,
        note: None,
        by_design: None,
        in_scope: true,
        reasons: Default::default(),
        access: Default::default(),
    }
}

/// Per-identity answers of an operation's attacks: (identity, allowed, denied, other, unjudged).
fn access(rows: &[(&str, u64, u64, u64, u64)]) -> std::collections::BTreeMap<String, Access> {
    rows.iter()
        .map(|&(who, allowed, denied, other, unjudged)| {
            (
                who.to_string(),
                Access {
                    allowed,
                    denied,
                    other,
                    unjudged,
                },
            )
        })
        .collect()
}

/// The fixed result.
pub fn result() -> CampaignResult {
    let ws = || {
        ex(
            "GET",
            "/workspaces",
            true,
            None,
            200,
            json!({"workspaces": [{"id": "ws_a1"}]}),
        )
    };
    let read = finding(
        Kind::BolaRead,
        Vector::Path,
        op("GET", "/projects/{projectId}", "getProject", 120),
        "bob",
        "alice",
        Status::Confirmed,
        "bob's response (status 200) contains alice's marker tfzq7x2kaa01, which bob never sent",
        &["tfzq7x2kaa01"],
        vec![
            step("alice", "discover", ws(), Vec::new()),
            step(
                "alice",
                "setup",
                ex(
                    "POST",
                    "/workspaces/ws_a1/projects",
                    true,
                    Some(json!({"name": "tfzq7x2kaa01", "budget": 7})),
                    201,
                    json!({"id": "prj_9", "name": "tfzq7x2kaa01"}),
                ),
                vec![Capture {
                    value: "ws_a1".into(),
                    from_step: 0,
                    pointer: "/workspaces/0/id".into(),
                }],
            ),
            step(
                "bob",
                "attack",
                ex(
                    "GET",
                    "/projects/prj_9",
                    true,
                    None,
                    200,
                    json!({"id": "prj_9", "name": "tfzq7x2kaa01"}),
                ),
                vec![Capture {
                    value: "prj_9".into(),
                    from_step: 1,
                    pointer: "/id".into(),
                }],
            ),
        ],
    );
    let write = finding(
        Kind::BolaWrite,
        Vector::Path,
        op("PUT", "/projects/{projectId}", "updateProject", 131),
        "bob",
        "alice",
        Status::Confirmed,
        "alice's read-back shows bob's marker tfzq7x2kbb02",
        &["tfzq7x2kbb02"],
        vec![
            step(
                "alice",
                "setup",
                ex(
                    "POST",
                    "/projects",
                    true,
                    Some(json!({"name": "tfzq7x2kaa03"})),
                    201,
                    json!({"id": 17}),
                ),
                Vec::new(),
            ),
            step(
                "bob",
                "attack",
                ex(
                    "PUT",
                    "/projects/17",
                    true,
                    Some(json!({"name": "tfzq7x2kbb02", "parent": 17})),
                    200,
                    json!({"ok": true}),
                ),
                vec![Capture {
                    value: "17".into(),
                    from_step: 0,
                    pointer: "/id".into(),
                }],
            ),
            step(
                "alice",
                "read-back",
                ex(
                    "GET",
                    "/projects/17",
                    true,
                    None,
                    200,
                    json!({"id": 17, "name": "tfzq7x2kbb02"}),
                ),
                vec![Capture {
                    value: "17".into(),
                    from_step: 0,
                    pointer: "/id".into(),
                }],
            ),
        ],
    );
    let delete = finding(
        Kind::BolaDelete,
        Vector::Path,
        op("DELETE", "/documents/{documentId}", "deleteDocument", 210),
        "anonymous",
        "carol",
        Status::Confirmed,
        "carol's read-back showed its object before anonymous's delete and no longer does",
        &["tfzq7x2kcc04"],
        vec![
            step(
                "carol",
                "setup",
                ex(
                    "POST",
                    "/documents",
                    true,
                    Some(json!({"title": "tfzq7x2kcc04"})),
                    201,
                    json!({"id": "doc_3"}),
                ),
                Vec::new(),
            ),
            step(
                "carol",
                "control",
                ex(
                    "GET",
                    "/documents/doc_3",
                    true,
                    None,
                    200,
                    json!({"id": "doc_3", "title": "tfzq7x2kcc04"}),
                ),
                vec![Capture {
                    value: "doc_3".into(),
                    from_step: 0,
                    pointer: "header:Location".into(),
                }],
            ),
            step(
                "anonymous",
                "attack",
                Exchange {
                    response_body: Default::default(),
                    ..ex(
                        "DELETE",
                        "/documents/doc_3?force=doc_3",
                        false,
                        None,
                        204,
                        json!(null),
                    )
                },
                vec![Capture {
                    value: "doc_3".into(),
                    from_step: 0,
                    pointer: "header:Location".into(),
                }],
            ),
            step(
                "carol",
                "read-back",
                ex(
                    "GET",
                    "/documents/doc_3",
                    true,
                    None,
                    404,
                    json!({"error": "not found"}),
                ),
                vec![Capture {
                    value: "doc_3".into(),
                    from_step: 0,
                    pointer: "header:Location".into(),
                }],
            ),
        ],
    );
    let mut leak = finding(
        Kind::ListLeak,
        Vector::Query,
        op("GET", "/search", "search", 300),
        "bob",
        "alice",
        Status::Inconclusive,
        "bob's search (status 200) contains alice's marker tfzq7x2kaa05 | once",
        &["tfzq7x2kaa05"],
        vec![step(
            "bob",
            "attack",
            ex(
                "GET",
                "/search?q=tfzq7x2kaa05",
                true,
                None,
                200,
                json!({"items": ["tfzq7x2kaa05"]}),
            ),
            Vec::new(),
        )],
    );
    leak.shrink_note =
        Some("shrinking stopped after 64 iterations; raise shrink_iterations".into());
    let mut known = finding(
        Kind::Unauthenticated,
        Vector::Path,
        op("GET", "/documents/{documentId}", "getDocument", 200),
        "anonymous",
        "alice",
        Status::Confirmed,
        "a request without credentials (status 200) contains alice's marker tfzq7x2kaa06",
        &["tfzq7x2kaa06"],
        vec![
            step(
                "alice",
                "setup",
                ex(
                    "POST",
                    "/documents",
                    true,
                    Some(json!({"title": "tfzq7x2kaa06"})),
                    201,
                    json!({"id": "doc_4"}),
                ),
                Vec::new(),
            ),
            step(
                "anonymous",
                "attack",
                ex(
                    "GET",
                    "/documents/doc_4",
                    false,
                    None,
                    200,
                    json!({"title": "tfzq7x2kaa06"}),
                ),
                vec![Capture {
                    value: "doc_4".into(),
                    from_step: 0,
                    pointer: "/id".into(),
                }],
            ),
        ],
    );
    known.known = true;
    // The same bug for a second pair: carol reads alice's project too.
    let mut read_carol = read.clone();
    read_carol.attacker = "carol".into();
    read_carol.id = fingerprint(read.kind, read.vector, &read.operation, "carol", "alice");
    read_carol.evidence =
        "carol's response (status 200) contains alice's marker tfzq7x2kaa01, which carol never sent"
            .into();
    if let Some(attack) = read_carol.steps.iter_mut().find(|s| s.role == "attack") {
        attack.identity = "carol".into();
    }
    let findings = vec![read, read_carol, write, delete, leak, known];
    let mut get_project = coverage("GET", "/projects/{projectId}", "getProject");
    get_project.checks = vec![Kind::BolaRead, Kind::Unauthenticated];
    get_project.access = access(&[
        ("bob", 1, 0, 0, 0),
        ("carol", 1, 0, 0, 0),
        ("anonymous", 0, 2, 0, 0),
    ]);
    let mut put_project = coverage("PUT", "/projects/{projectId}", "updateProject");
    put_project.checks = vec![Kind::BolaWrite];
    put_project.unjudged = 2;
    put_project.access = access(&[("bob", 2, 0, 0, 1), ("anonymous", 0, 1, 0, 1)]);
    put_project.note =
        Some("the owner's own request answered 500: probes here prove nothing".into());
    let mut delete_doc = coverage("DELETE", "/documents/{documentId}", "deleteDocument");
    delete_doc.checks = vec![Kind::BolaDelete, Kind::Unauthenticated];
    let mut get_doc = coverage("GET", "/documents/{documentId}", "getDocument");
    get_doc.checks = vec![Kind::BolaRead, Kind::Unauthenticated];
    get_doc.access = access(&[("bob", 0, 2, 0, 0), ("anonymous", 2, 0, 0, 0)]);
    delete_doc.access = access(&[("carol", 1, 0, 0, 0), ("anonymous", 1, 0, 1, 0)]);
    let mut search = coverage("GET", "/search", "search");
    search.checks = vec![Kind::ListLeak];
    search.vectors = vec![Vector::Query];
    search.in_scope = false;
    search.access = access(&[("bob", 4, 0, 0, 0)]);
    let mut unjudged = coverage("GET", "/reports/{reportId}", "getReport");
    unjudged.checks = vec![Kind::BolaRead];
    unjudged.judged = 0;
    unjudged.unjudged = 3;
    unjudged.access = access(&[("bob", 0, 0, 0, 3)]);
    unjudged.note = Some(
        "bob's POST /reports, which it needs, answered 403: bob may not create one (grant it, or \
         exclude the operations with campaign.exclude)"
            .into(),
    );
    let mut health = coverage("GET", "/health", "health");
    health.attacked = false;
    health.vectors.clear();
    health.judged = 0;
    health.in_scope = false;
    health.note = Some("public (security: [])".into());
    let exchanges = findings
        .iter()
        .flat_map(|f| f.steps.iter())
        .enumerate()
        .map(|(i, s)| Recorded {
            identity: s.identity.clone(),
            started_unix_ms: 1_795_000_000_000 + 7 * i as u64,
            exchange: s.exchange.clone(),
        })
        .collect();
    CampaignResult {
        untested_allowed: 0,
        failure: None,
        broken_sessions: Vec::new(),
        base_url: BASE.into(),
        spec: "specs/demo.yaml".into(),
        identities: vec![
            "alice".into(),
            "bob".into(),
            "carol".into(),
            "anonymous".into(),
        ],
        findings,
        coverage: vec![
            get_project,
            put_project,
            delete_doc,
            get_doc,
            search,
            unjudged,
            health,
        ],
        stats: Stats {
            requests: 42,
            duration_ms: 120,
            systematic_requests: 30,
            exploration_requests: 4,
            explored_cases: 2,
            confirmation_requests: 8,
            cleanup_requests: 0,
            scenarios: 12,
            session_renewals: 0,
            phase_ms: None,
        },
        operations_total: 7,
        marker_prefix: RUN.into(),
        cleanup: Cleanup {
            deleted: 3,
            already_gone: 1,
            left: vec![LeftBehind {
                resource: "document".into(),
                id: "doc_3".into(),
                url: Some(format!("{BASE}/documents/doc_3")),
                reason: "already gone".into(),
            }],
        },
        stopped_early: None,
        exchanges,
        shard: None,
    }
}
