//! Bad input never panics. Property tests feed (a) mutated specs — nodes deleted, replaced or
//! turned into another type, `$ref`s to missing, foreign, malformed or cyclic targets, text cut
//! anywhere — to the loader, the model inference and the planner (what `tenantfuzz plan` runs),
//! and (b) garbage statuses, headers and bodies, with and without markers, in executions of
//! real planned scenarios to every oracle. Errors are fine; panics are not. Each property is
//! bounded so the file runs in seconds.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::LazyLock;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tenantfuzz::campaign::Campaign;
use tenantfuzz::config::Settings;
use tenantfuzz::exchange::{Exchange, Execution, StepRecord};
use tenantfuzz::marker::Markers;
use tenantfuzz::oracle::{Context, judge, leaked_markers};
use tenantfuzz::scenario::{Scenario, compile};

const SPECS: &[&str] = &[
    "specs/demo.yaml",
    "tests/fixtures/inventory.yaml",
    "tests/fixtures/petstore-swagger2.yaml",
];

/// The starting specs: (path, text, parsed).
static BASES: LazyLock<Vec<(&'static str, String, Value)>> = LazyLock::new(|| {
    SPECS
        .iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap();
            let yaml: yaml_serde::Value = yaml_serde::from_str(&text).unwrap();
            let json = serde_json::to_value(yaml).unwrap();
            (*p, text, json)
        })
        .collect()
});

/// 128 cases per property (`PROPTEST_CASES` overrides, for a longer hunt).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(128),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One edit of a spec tree.
#[derive(Debug, Clone)]
enum Edit {
    Delete,
    Replace(Value),
    /// Object <-> array, string <-> number, and so on.
    Retype,
    Ref(String),
    /// `components.schemas.A -> B -> A`, and the node pointed at `A`.
    Cycle,
}

fn refs() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("#/components/schemas/Nope".to_string()),
        Just("#".to_string()),
        Just("#/".to_string()),
        Just("".to_string()),
        Just("#/paths".to_string()),
        Just("#/paths/~1nope/get".to_string()),
        Just("#/components/schemas/~2bad~".to_string()),
        Just("#/components/parameters/0/1/2".to_string()),
        Just("other.yaml#/components/schemas/X".to_string()),
        Just("https://example.invalid/spec.json#/x".to_string()),
        Just("#/info/title".to_string()),
        "#/[a-z/~01]{0,20}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        Just(json!({})),
        Just(json!([])),
        Just(json!({"type": "array"})),
        Just(json!({"in": "body", "name": "x"})),
        Just(json!({"get": null})),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => Just(Edit::Delete),
        3 => leaf().prop_map(Edit::Replace),
        2 => Just(Edit::Retype),
        3 => refs().prop_map(Edit::Ref),
        1 => Just(Edit::Cycle),
    ]
}

fn retype(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Array(m.values().cloned().collect()),
        Value::Array(a) => Value::Object(
            a.iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.clone()))
                .collect(),
        ),
        Value::String(s) => json!(s.len()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Null => json!({}),
    }
}

/// Walks from the root choosing a child by each selector in turn, and applies `edit` there.
fn apply(root: &mut Value, path: &[u16], edit: &Edit) {
    if let Edit::Cycle = edit {
        let schemas = root
            .as_object_mut()
            .map(|o| o.entry("components").or_insert(json!({})));
        if let Some(Value::Object(c)) = schemas {
            let s = c.entry("schemas").or_insert(json!({}));
            if let Value::Object(s) = s {
                s.insert("A".into(), json!({"$ref": "#/components/schemas/B"}));
                s.insert(
                    "B".into(),
                    json!({"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}},
                           "allOf": [{"$ref": "#/components/schemas/B"}]}),
                );
            }
        }
    }
    let mut node = root;
    for (depth, sel) in path.iter().enumerate() {
        let len = match &*node {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        };
        let last = depth + 1 == path.len() || len == 0;
        if len == 0 {
            break;
        }
        let i = *sel as usize % len;
        if last && matches!(edit, Edit::Delete) {
            match node {
                Value::Object(m) => {
                    let key = m.keys().nth(i).cloned().unwrap();
                    m.shift_remove(&key);
                }
                Value::Array(a) => {
                    a.remove(i);
                }
                _ => {}
            }
            return;
        }
        node = match node {
            Value::Object(m) => m.values_mut().nth(i).unwrap(),
            Value::Array(a) => &mut a[i],
            _ => unreachable!(),
        };
        if last {
            break;
        }
    }
    match edit {
        Edit::Delete => *node = Value::Null,
        Edit::Replace(v) => *node = v.clone(),
        Edit::Retype => *node = retype(node),
        Edit::Ref(r) => {
            let mut m = Map::new();
            m.insert("$ref".into(), Value::String(r.clone()));
            *node = Value::Object(m);
        }
        Edit::Cycle => *node = json!({"$ref": "#/components/schemas/A"}),
    }
}

/// Load, infer and plan, as `tenantfuzz plan --spec` does: the number of planned scenarios, or
/// `None` when the spec was refused (cleanly).
fn load_and_plan(text: &str) -> Option<usize> {
    let api = tenantfuzz::spec::load_str(text, "mutated.yaml").ok()?;
    let campaign =
        Campaign::planning_with_api(Settings::for_planning(Path::new("mutated.yaml")), api).ok()?;
    let plan = campaign.plan(None);
    serde_json::to_string(&plan).unwrap();
    if std::env::var("ROBUSTNESS_VERBOSE").is_ok() {
        eprintln!("planned {}", plan.probes.len());
    }
    Some(plan.probes.len())
}

/// The properties start from specs that load and plan through the same path.
#[test]
fn unmutated_specs_plan() {
    for (path, text, json) in BASES.iter() {
        assert!(load_and_plan(text).unwrap() > 0, "{path}");
        assert!(
            load_and_plan(&serde_json::to_string(json).unwrap()).unwrap() > 0,
            "{path}"
        );
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_specs_load_and_plan_or_fail_cleanly(
        base in 0..SPECS.len(),
        edits in proptest::collection::vec(
            (proptest::collection::vec(any::<u16>(), 1..9), edit()),
            1..6,
        ),
    ) {
        let mut spec = BASES[base].2.clone();
        for (path, e) in &edits {
            apply(&mut spec, path, e);
        }
        let _ = load_and_plan(&serde_json::to_string(&spec).unwrap());
    }

    #[test]
    fn truncated_spec_text_fails_cleanly(base in 0..SPECS.len(), cut in 0.0f64..1.0) {
        let text = &BASES[base].1;
        let mut at = (text.len() as f64 * cut) as usize;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let _ = load_and_plan(&text[..at]);
    }
}

/// The demo's model and real planned scenarios, for the oracles.
static DEMO: LazyLock<(Campaign, Vec<Scenario>)> = LazyLock::new(|| {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/demo.yaml");
    let campaign = Campaign::planning(Settings::for_planning(&path)).unwrap();
    let scenarios = campaign
        .plan(None)
        .probes
        .into_iter()
        .map(|p| p.scenario)
        .collect();
    (campaign, scenarios)
});

/// A response body: any JSON, with markers of any identity among its strings.
fn body(markers: Vec<String>) -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        ".{0,10}".prop_map(Value::String),
        proptest::sample::select(markers).prop_map(Value::String),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        text,
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(("[a-z]{1,4}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
struct Garbage {
    sent: bool,
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    error: Option<String>,
    sent_markers: Vec<String>,
    created: Option<Value>,
}

fn garbage(markers: Vec<String>) -> impl Strategy<Value = Garbage> {
    (
        any::<bool>(),
        proptest::option::of(prop_oneof![
            Just(200u16),
            Just(201),
            Just(204),
            Just(404),
            Just(500),
            0u16..1000
        ]),
        proptest::collection::vec(("[a-zA-Z-]{1,12}", ".{0,16}"), 0..3),
        proptest::option::of(body(markers.clone())),
        proptest::option::of(".{0,8}"),
        proptest::sample::subsequence(markers.clone(), 0..3),
        proptest::option::of(body(markers)),
    )
        .prop_map(
            |(sent, status, headers, body, error, sent_markers, created)| Garbage {
                sent,
                status,
                headers,
                body,
                error,
                sent_markers,
                created,
            },
        )
}

fn record(g: Garbage) -> StepRecord {
    StepRecord {
        exchange: g.sent.then(|| Exchange {
            method: "GET".into(),
            url: "http://127.0.0.1:1/x".into(),
            request_headers: Vec::new(),
            request_body: None,
            status: g.status,
            response_headers: g.headers,
            response_body: g.body.into(),
            error: g.error,
            duration_ms: 0,
        }),
        skipped: (!g.sent).then(|| "skipped".into()),
        created: g.created,
        created_from: None,
        sent_markers: g.sent_markers,
        captures: Vec::new(),
    }
}

/// Markers of a fixed run, owned by each identity (and odd ones: truncated, of owner 9).
static POOL: LazyLock<(Markers, Vec<String>)> = LazyLock::new(|| {
    let m = Markers::with_run("qzq01");
    let mut pool: Vec<String> = (0..12).map(|i| m.fresh(i % 4)).collect();
    pool.push(m.fresh(9));
    pool.push(m.stem(0));
    pool.push(pool[0][..pool[0].len() - 2].to_string());
    pool.push(format!("{}{}", pool[1], pool[2]));
    (m, pool)
});

proptest! {
    #![proptest_config(config())]

    #[test]
    fn oracles_judge_garbage_without_panicking(
        (pick, records) in any::<prop::sample::Index>().prop_flat_map(|pick| {
            let n = DEMO.1[pick.index(DEMO.1.len())].steps.len();
            (Just(pick), proptest::collection::vec(garbage(POOL.1.clone()), n..=n))
        }),
    ) {
        let (campaign, scenarios) = &*DEMO;
        let scenario = &scenarios[pick.index(scenarios.len())];
        let names = campaign.identity_names();
        let ctx = Context { api: &campaign.api, markers: &POOL.0, names: &names, credentials: &[] };
        let exec = Execution { steps: records.into_iter().map(record).collect() };
        for v in judge(&ctx, scenario, &exec) {
            prop_assert!(v.step < scenario.steps.len());
        }
        for step in exec.steps.iter().filter_map(|s| s.exchange.as_ref()) {
            for victim in 0..names.len() {
                let _ = leaked_markers(&ctx, &exec, step, victim);
            }
        }
    }
}

/// Explored drafts of any shape compile (or are refused) without panicking, on a mutated spec
/// as much as on the demo.
#[test]
fn drafts_compile_on_the_demo() {
    use proptest::strategy::ValueTree;
    let (campaign, _) = &*DEMO;
    let tenants = vec![Some("a".to_string()), Some("b".to_string()), None];
    let cast = tenantfuzz::scenario::Cast::of_tenants(tenants, Default::default());
    let strategy =
        tenantfuzz::scenario::strategy(&campaign.api, &campaign.model, &cast, 8).unwrap();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..200 {
        let tree = strategy.new_tree(&mut runner).unwrap();
        let _ = compile(&campaign.api, &campaign.model, &cast, &tree.current());
    }
}

/// A campaign built to plan cannot run, and one built to run validates its settings when it is
/// built, naming where they came from: validation happens once, before anything is sent.
#[tokio::test]
async fn only_a_validated_campaign_runs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/demo.yaml");
    let planning = Campaign::planning(Settings::for_planning(&path)).unwrap();
    let Err(err) = planning.run().await else {
        panic!("a planning campaign ran");
    };
    assert!(err.to_string().contains("only to plan"), "{err}");
    let mut settings = Settings::for_planning(&path);
    settings.source = "staging.toml".into();
    let Err(err) = Campaign::new(settings) else {
        panic!("a campaign without a base URL was built to run");
    };
    let msg = err.to_string();
    assert!(
        msg.contains("staging.toml") && msg.contains("base_url"),
        "{msg}"
    );
}
