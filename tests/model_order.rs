//! The model does not depend on the order of the paths (#22, shape 6). Stripe's producers of
//! invoices, payment intents, setup intents and transfers came and went with the order of its
//! paths: a named schema first reached deep inside another answer was cut by the depth limit and
//! cached as complete. Each spec here is loaded with its paths shuffled under several seeds, and
//! its model (resources, producers, consumers, discoveries, selves, skipped operations, named by
//! operation and resource rather than by index) must be the one of the document's own order.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use tenantfuzz::model::{Overrides, infer};
use tenantfuzz::spec::{Api, load_str};

/// The model of `api`, named rather than indexed, sorted: equal for equal models whatever the
/// order of the operations.
fn canonical(api: &Api) -> BTreeSet<String> {
    let m = infer(api, &[], &Overrides::default());
    let op = |i: usize| api.operations[i].label();
    let res = |i: usize| m.resources[i].name.clone();
    let mut out = BTreeSet::new();
    for r in &m.resources {
        let mut parents: Vec<String> = r.parents.iter().map(|p| res(*p)).collect();
        parents.sort();
        out.insert(format!("resource {} under {parents:?}", r.name));
    }
    for p in &m.producers {
        let mut deps: Vec<String> = p
            .dependencies
            .iter()
            .map(|(slot, r)| format!("{} {}", slot.label(), res(*r)))
            .collect();
        deps.sort();
        out.insert(format!(
            "producer {} of {} id {:?} location {} key {:?} derived {} deps {deps:?}",
            op(p.op),
            res(p.resource),
            p.id_pointer,
            p.location_header,
            p.request_key,
            p.derived
        ));
    }
    for c in &m.consumers {
        out.insert(format!(
            "consumer {} [{}] takes {} explicit {}",
            op(c.op),
            c.slot.label(),
            res(c.resource),
            c.explicit
        ));
    }
    for d in &m.discoveries {
        out.insert(format!(
            "discovery {} lists {} at {:?} by {}",
            op(d.op),
            res(d.resource),
            d.array_pointer,
            d.id_field
        ));
    }
    for s in &m.selves {
        out.insert(format!(
            "self {} names {} at {}",
            op(s.op),
            res(s.resource),
            s.pointer
        ));
    }
    for (o, why) in &m.skipped {
        out.insert(format!("skipped {} ({why})", op(*o)));
    }
    out
}

/// `doc` with its paths in an order drawn from `seed` (a Fisher-Yates shuffle by xorshift).
fn shuffled(doc: &Value, seed: u64) -> String {
    let mut doc = doc.clone();
    let paths = doc.get_mut("paths").and_then(Value::as_object_mut).unwrap();
    let mut entries: Vec<(String, Value)> = std::mem::take(paths).into_iter().collect();
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for i in (1..entries.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        entries.swap(i, (state % (i as u64 + 1)) as usize);
    }
    paths.extend(entries);
    serde_json::to_string(&doc).unwrap()
}

/// Loads `doc` in its own order and shuffled under several seeds; every model must be the same.
/// Returns the model, for the caller's own checks.
fn same_model_in_every_order(doc: &Value, source: &str) -> BTreeSet<String> {
    let reference = canonical(&load_str(&serde_json::to_string(doc).unwrap(), source).unwrap());
    for seed in 1..=5 {
        let model = canonical(&load_str(&shuffled(doc, seed), source).unwrap());
        let missing: Vec<&String> = reference.difference(&model).collect();
        let extra: Vec<&String> = model.difference(&reference).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{source}, paths shuffled with seed {seed}: the model changed\n  lost: {missing:#?}\n  gained: {extra:#?}"
        );
    }
    reference
}

/// A spec of the shape that made Stripe's model depend on its order: a report whose answer nests
/// thirty levels of schemas, each naming an invoice, listed before the invoice's own create.
/// Reached through the report first, the invoice was cut by the depth limit and cached as `Any`,
/// and its create lost its id.
fn deep_spec() -> Value {
    let mut schemas = serde_json::Map::new();
    // Each level holds the next before an invoice: the walk goes down first, and meets the
    // invoice first at the deepest level it reaches.
    for i in 0..30 {
        schemas.insert(
            format!("Level{i}"),
            serde_json::json!({"type": "object", "properties": {
                "next": {"$ref": format!("#/components/schemas/Level{}", i + 1)},
                "invoice": {"$ref": "#/components/schemas/Invoice"}}}),
        );
    }
    schemas.insert("Level30".into(), serde_json::json!({"type": "object"}));
    schemas.insert(
        "Invoice".into(),
        serde_json::json!({"type": "object", "properties": {
            "id": {"type": "string"}, "description": {"type": "string"},
            "customer": {"type": "string"}}}),
    );
    let answer = |name: &str| {
        serde_json::json!({"200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": format!("#/components/schemas/{name}")}}}}})
    };
    serde_json::json!({
        "openapi": "3.0.3",
        "info": {"title": "invoices", "version": "1"},
        "paths": {
            "/v1/reports": {"get": {"responses": answer("Level0")}},
            "/v1/invoices": {"post": {
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "properties": {"description": {"type": "string"}}}}}},
                "responses": answer("Invoice")}},
            "/v1/invoices/{invoice}": {
                "parameters": [{"name": "invoice", "in": "path", "required": true,
                    "schema": {"type": "string"}}],
                "get": {"responses": answer("Invoice")},
                "delete": {"responses": answer("Invoice")}}
        },
        "components": {"schemas": Value::Object(schemas)}
    })
}

#[test]
fn a_schema_first_reached_deep_inside_another_answer_keeps_its_id() {
    let model = same_model_in_every_order(&deep_spec(), "invoices.json");
    // Not only the same in every order: the right one (the create's id is the invoice's).
    assert!(
        model
            .iter()
            .any(|l| l.starts_with("producer POST /v1/invoices of invoice id Some(\"/id\")")),
        "{model:#?}"
    );
}

#[test]
fn corpus_specs_give_the_same_model_in_every_order_of_their_paths() {
    let dir = std::env::var_os("TENANTFUZZ_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs-corpus"));
    let spec = dir.join("stripe.com.json");
    let Ok(text) = std::fs::read_to_string(&spec) else {
        eprintln!(
            "skipped: {} is absent (set TENANTFUZZ_CORPUS to the corpus)",
            spec.display()
        );
        return;
    };
    let doc: Value = serde_json::from_str(&text).unwrap();
    let model = same_model_in_every_order(&doc, "stripe.com.json");
    for resource in ["invoice", "paymentintent", "setupintent", "transfer"] {
        assert!(
            model
                .iter()
                .any(|l| l.starts_with("producer ") && l.contains(&format!(" of {resource} id "))),
            "stripe: no producer of {resource}"
        );
    }
}
