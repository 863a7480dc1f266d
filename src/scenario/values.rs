//! Values for parameters and body fields, from their schemas: enums, formats, bounds, examples.
//! Free-text strings get markers; id fields get the ids the caller supplies.

use serde_json::{Value, json};

use super::step::{Expr, MarkerFormat};
use crate::model::{Slot, is_privileged_field, normalize};
use crate::spec::{Location, Operation, Schema, SchemaKind};

/// How deep generated bodies nest.
const MAX_DEPTH: usize = 4;

/// Query parameter names that take search terms.
const SEARCH_NAMES: &[&str] = &[
    "q", "query", "search", "term", "keyword", "keywords", "text", "filter", "name",
];

/// Whether a query parameter takes a search term.
pub(crate) fn is_search_param(name: &str) -> bool {
    SEARCH_NAMES.contains(&normalize(name).as_str())
}

/// A literal value that satisfies `schema`, for fields that need no marker.
pub(crate) fn literal(schema: &Schema) -> Value {
    if let Some(v) = schema.enum_values.first() {
        return v.clone();
    }
    if let Some(v) = schema.example.as_ref().or(schema.default.as_ref()) {
        if !v.is_null() {
            return v.clone();
        }
    }
    match &schema.kind {
        SchemaKind::String => json!(formatted_string(schema).unwrap_or_else(|| plain(schema))),
        SchemaKind::Integer => {
            let n = schema.minimum.map(|m| m.ceil() as i64).unwrap_or(1).max(
                if schema.maximum.is_some_and(|m| m < 1.0) {
                    i64::MIN
                } else {
                    1
                },
            );
            json!(n)
        }
        SchemaKind::Number => json!(schema.minimum.unwrap_or(1.0).max(1.0)),
        SchemaKind::Boolean => json!(false),
        SchemaKind::Array(items) => json!([literal(items)]),
        SchemaKind::Object {
            properties,
            required,
        } => {
            let mut obj = serde_json::Map::new();
            for name in required {
                if let Some(p) = properties.get(name) {
                    obj.insert(name.clone(), literal(p));
                }
            }
            Value::Object(obj)
        }
        SchemaKind::OneOf(variants) => variants.first().map(|v| literal(v)).unwrap_or(json!("x")),
        SchemaKind::Any => json!("x"),
    }
}

/// A plain string literal. The `-` keeps it from ever being a substring of a marker (markers are
/// lowercase letters and digits only), so a search for it cannot match a marker by chance.
fn plain(schema: &Schema) -> String {
    let min = schema.min_length.unwrap_or(1).max(1) as usize;
    let max = schema.max_length.map(|m| m as usize).unwrap_or(64).max(1);
    let mut s = String::from("tf-x");
    while s.len() < min.min(64) {
        s.push('x');
    }
    if s.len() > max {
        s = "x".repeat(max.max(min).min(64));
    }
    s
}

fn formatted_string(schema: &Schema) -> Option<String> {
    Some(
        match schema.format.as_deref()? {
            "date-time" => "2026-01-01T00:00:00Z",
            "date" => "2026-01-01",
            "time" => "12:00:00",
            "uuid" => "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "ipv4" => "192.0.2.1",
            "ipv6" => "2001:db8::1",
            "hostname" => "example.com",
            "byte" => "dGVuYW50ZnV6eg==",
            "email" => "someone@example.com",
            "uri" | "url" => "https://example.com/",
            _ => return None,
        }
        .to_string(),
    )
}

/// The expression for a string field that can carry a marker, if it can.
fn marker_for(schema: &Schema, owner: usize) -> Option<Expr> {
    if !schema.enum_values.is_empty() || schema.pattern.is_some() {
        return None;
    }
    let format = match schema.format.as_deref() {
        None | Some("") | Some("password") => MarkerFormat::Plain,
        Some("email") => MarkerFormat::Email,
        Some("uri") | Some("url") => MarkerFormat::Uri,
        Some(_) => return None,
    };
    let fits = schema
        .max_length
        .is_none_or(|max| max >= crate::marker::MARKER_LEN as u64 + 20);
    fits.then_some(Expr::Marker { owner, format })
}

/// Fills the request of `op` for `owner`. `id_for(slot)` gives the id expression for a slot that
/// takes a resource id (`None` when the slot is not an id slot or no id is available); every
/// other required parameter gets a literal, and body strings get the owner's markers.
pub(crate) fn fill_request(
    op: &Operation,
    owner: usize,
    id_for: &mut dyn FnMut(&Slot) -> Option<Expr>,
    search: Option<Expr>,
) -> Vec<(Slot, Expr)> {
    let mut args = Vec::new();
    for p in &op.parameters {
        let slot = match p.location {
            Location::Path => Slot::Path(p.name.clone()),
            Location::Query => Slot::Query(p.name.clone()),
            Location::Header => Slot::Header(p.name.clone()),
            Location::Cookie => continue,
        };
        if let Some(expr) = id_for(&slot) {
            args.push((slot, expr));
            continue;
        }
        if p.location == Location::Query && is_search_param(&p.name) {
            if let Some(term) = &search {
                args.push((slot, term.clone()));
                continue;
            }
        }
        if p.required {
            args.push((slot, Expr::Lit(literal(&p.schema))));
        }
    }
    if let Some(body) = &op.body {
        let before = args.len();
        fill_body(&body.schema, "", owner, id_for, &mut args, 0);
        mark_open(&body.schema, "", owner, &mut args, before);
    }
    args
}

/// A free-form object (a document store's `data`: `additionalProperties` of any kind) carries a
/// marker in a member of its own when nothing it lists took one since `before`: what is stored
/// there is what the owner's object holds, and the evidence of a leak.
fn mark_open(
    schema: &Schema,
    pointer: &str,
    owner: usize,
    args: &mut Vec<(Slot, Expr)>,
    before: usize,
) {
    let marked = args[before..]
        .iter()
        .any(|(_, e)| matches!(e, Expr::Marker { .. }));
    if !schema.open || marked || !matches!(schema.kind, SchemaKind::Object { .. }) {
        return;
    }
    let listed = |m: &str| schema.properties().is_some_and(|p| p.contains_key(m));
    if let Some(member) = ["name", "title", "note"].into_iter().find(|m| !listed(m)) {
        args.push((
            Slot::Body(format!("{pointer}/{member}")),
            Expr::Marker {
                owner,
                format: MarkerFormat::Plain,
            },
        ));
    }
}

fn fill_body(
    schema: &Schema,
    pointer: &str,
    owner: usize,
    id_for: &mut dyn FnMut(&Slot) -> Option<Expr>,
    args: &mut Vec<(Slot, Expr)>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some(props) = schema.properties() else {
        if pointer.is_empty() {
            // A body that is not an object: one literal.
            args.push((Slot::Body(String::new()), Expr::Lit(literal(schema))));
        }
        return;
    };
    for (name, prop) in props {
        if prop.read_only {
            continue;
        }
        let here = format!("{pointer}/{}", crate::spec::escape(name));
        let required = schema.requires(name);
        if let Some(expr) = id_for(&Slot::Body(here.clone())) {
            args.push((Slot::Body(here), expr));
            continue;
        }
        // An array of ids is filled through its first element.
        if let Some(expr) = id_for(&Slot::Body(format!("{here}/0"))) {
            args.push((Slot::Body(format!("{here}/0")), expr));
            continue;
        }
        if !required && is_privileged_field(name) {
            continue;
        }
        match &prop.kind {
            SchemaKind::String => match marker_for(prop, owner) {
                Some(expr) => args.push((Slot::Body(here), expr)),
                // A required uuid that names no resource (an event or delivery id): a fresh one
                // per request, or a receiver that deduplicates would see one event only.
                None if required
                    && prop.format.as_deref() == Some("uuid")
                    && prop.enum_values.is_empty() =>
                {
                    args.push((Slot::Body(here), Expr::Unique))
                }
                None if required => args.push((Slot::Body(here), Expr::Lit(literal(prop)))),
                None => {}
            },
            SchemaKind::Object { .. } if required || depth < 1 => {
                let before = args.len();
                fill_body(prop, &here, owner, id_for, args, depth + 1);
                mark_open(prop, &here, owner, args, before);
                if args.len() == before && required {
                    args.push((Slot::Body(here), Expr::Lit(json!({}))));
                }
            }
            _ if required => args.push((Slot::Body(here), Expr::Lit(literal(prop)))),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load_str;

    #[test]
    fn a_free_form_object_carries_a_marker_only_where_nothing_it_lists_took_one() {
        let api = load_str(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /records:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema:\n              type: object\n              properties:\n                data:\n                  type: object\n                  additionalProperties: {}\n                  properties:\n                    name: {type: string, enum: [a]}\n                    schema: {type: object}\n                meta:\n                  type: object\n                  additionalProperties: true\n                  properties:\n                    label: {type: string}\n                fixed:\n                  type: object\n                  properties:\n                    size: {type: integer}\n      responses: {'201': {description: ok}}\n",
            "t",
        )
        .expect("loads");
        let args = fill_request(&api.operations[0], 1, &mut |_| None, None);
        let marked: Vec<&str> = args
            .iter()
            .filter(|(_, e)| matches!(e, Expr::Marker { owner: 1, .. }))
            .filter_map(|(slot, _)| match slot {
                Slot::Body(p) => Some(p.as_str()),
                _ => None,
            })
            .collect();
        // `data` lists only an enum and an object: a member of its own (`name` is listed, so
        // `title`). `meta`'s listed `label` took one already; `fixed` takes no other members.
        assert_eq!(marked, ["/data/title", "/meta/label"]);
    }

    #[test]
    fn bodies_get_markers_literals_and_ids() {
        let api = load_str(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /projects/{projectId}/docs:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema:\n              type: object\n              required: [title, kind]\n              properties:\n                id: {type: integer, readOnly: true}\n                title: {type: string, maxLength: 200}\n                kind: {type: string, enum: [note, memo]}\n                role: {type: string}\n                count: {type: integer, minimum: 3}\n                ownerEmail: {type: string, format: email}\n      responses: {'201': {description: ok}}\n",
            "t",
        )
        .expect("loads");
        let op = &api.operations[0];
        let args = fill_request(
            op,
            0,
            &mut |slot| {
                (*slot == Slot::Path("projectId".into())).then(|| Expr::Created { step: 0 })
            },
            None,
        );
        let get = |s: &str| {
            args.iter()
                .find(|(slot, _)| *slot == Slot::Body(s.into()))
                .map(|(_, e)| e.clone())
        };
        assert_eq!(
            args[0],
            (Slot::Path("projectId".into()), Expr::Created { step: 0 })
        );
        assert!(matches!(
            get("/title"),
            Some(Expr::Marker {
                owner: 0,
                format: MarkerFormat::Plain
            })
        ));
        assert_eq!(get("/kind"), Some(Expr::Lit(json!("note"))));
        assert!(matches!(
            get("/ownerEmail"),
            Some(Expr::Marker {
                format: MarkerFormat::Email,
                ..
            })
        ));
        // Read-only, privileged and optional non-text fields are left out.
        assert_eq!(get("/id"), None);
        assert_eq!(get("/role"), None);
        assert_eq!(get("/count"), None);
    }

    #[test]
    fn required_uuids_that_name_nothing_are_fresh_per_request() {
        let api = load_str(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /hooks:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema:\n              type: object\n              required: [delivery_id, kind]\n              properties:\n                delivery_id: {type: string, format: uuid}\n                kind: {type: string, format: uuid, enum: ['3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b']}\n      responses: {'200': {description: ok}}\n",
            "t.yaml",
        )
        .expect("loads");
        let args = fill_request(&api.operations[0], 0, &mut |_| None, None);
        let get = |p: &str| {
            args.iter()
                .find(|(s, _)| *s == Slot::Body(p.into()))
                .map(|(_, e)| e.clone())
        };
        assert_eq!(get("/delivery_id"), Some(Expr::Unique));
        assert!(matches!(get("/kind"), Some(Expr::Lit(_))));
    }

    #[test]
    fn literals_respect_bounds_and_formats() {
        let mut s = Schema::of(SchemaKind::Integer);
        s.minimum = Some(5.0);
        assert_eq!(literal(&s), json!(5));
        let mut s = Schema::of(SchemaKind::String);
        s.format = Some("uuid".into());
        assert_eq!(literal(&s), json!("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
        let mut s = Schema::of(SchemaKind::String);
        s.min_length = Some(6);
        assert_eq!(literal(&s), json!("tf-xxx"));
        s.max_length = Some(2);
        s.min_length = Some(2);
        assert_eq!(literal(&s), json!("xx"));
    }
}
