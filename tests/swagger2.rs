//! Swagger 2.0 goes through the same model as OpenAPI 3: the pet store fixture and its 3.0 twin
//! (`tests/fixtures/petstore-*.yaml`, the same API written twice) infer the same resources,
//! producers and consumers, and plan the same attacks.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tenantfuzz::campaign::Campaign;
use tenantfuzz::config::Settings;
use tenantfuzz::model::Slot;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn campaign(name: &str) -> Campaign {
    let path = fixture(name);
    let api = tenantfuzz::spec::load(&path).unwrap();
    Campaign::planning_with_api(Settings::for_planning(&path), api).unwrap()
}

/// The inferred model and the plan, by names rather than indices.
#[derive(Debug, PartialEq)]
struct Inferred {
    resources: BTreeSet<(String, Vec<String>)>,
    producers: BTreeSet<(String, String, Option<String>, bool)>,
    consumers: BTreeSet<(String, Slot, String)>,
    discoveries: BTreeSet<(String, String, String)>,
    attacks: Vec<String>,
}

fn inferred(c: &Campaign) -> Inferred {
    let m = &c.model;
    let op = |i: usize| c.api.operations[i].label();
    let res = |i: usize| m.resources[i].name.clone();
    let plan = c.plan(None);
    Inferred {
        resources: m
            .resources
            .iter()
            .map(|r| (r.name.clone(), r.parents.iter().map(|p| res(*p)).collect()))
            .collect(),
        producers: m
            .producers
            .iter()
            .map(|p| (op(p.op), res(p.resource), p.id_pointer.clone(), p.derived))
            .collect(),
        consumers: m
            .consumers
            .iter()
            .map(|k| (op(k.op), k.slot.clone(), res(k.resource)))
            .collect(),
        discoveries: m
            .discoveries
            .iter()
            .map(|d| (op(d.op), res(d.resource), d.array_pointer.clone()))
            .collect(),
        attacks: plan.probes.iter().map(|p| format!("{p:?}")).collect(),
    }
}

#[test]
fn swagger_2_infers_the_model_its_openapi_3_twin_does() {
    let two = campaign("petstore-swagger2.yaml");
    let three = campaign("petstore-openapi3.yaml");
    assert_eq!(two.api.spec_version, "2.0");
    let (a, b) = (inferred(&two), inferred(&three));
    assert_eq!(a, b);

    // And that model is the intended one, not merely the same.
    let names: BTreeSet<&str> = a.resources.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["order", "pet", "photo", "store"].into());
    assert!(a.resources.contains(&("pet".into(), vec!["store".into()])));
    assert!(a.producers.contains(&(
        "POST /stores/{store_id}/pets".into(),
        "pet".into(),
        Some("/id".into()),
        false
    )));
    assert!(a.producers.contains(&(
        "POST /stores".into(),
        "store".into(),
        Some("/id".into()),
        false
    )));
    for consumer in [
        ("GET /pets/{pet_id}", Slot::Path("pet_id".into()), "pet"),
        // A form-encoded body and a multipart one take the pet in the path.
        ("POST /pets/{pet_id}", Slot::Path("pet_id".into()), "pet"),
        (
            "POST /pets/{pet_id}/photos",
            Slot::Path("pet_id".into()),
            "pet",
        ),
        ("GET /orders", Slot::Query("pet_id".into()), "pet"),
        ("POST /orders", Slot::Body("/pet_id".into()), "pet"),
        (
            "DELETE /stores/{store_id}",
            Slot::Path("store_id".into()),
            "store",
        ),
    ] {
        let (label, slot, resource) = consumer;
        assert!(
            a.consumers
                .contains(&(label.into(), slot.clone(), resource.into())),
            "{label} [{}] -> {resource} in {:#?}",
            slot.label(),
            a.consumers
        );
    }
    assert!(!a.attacks.is_empty());
}
