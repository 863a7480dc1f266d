//! Values for parameters and body fields, from their schemas: enums, formats, bounds, examples.
//! Free-text strings get markers; id fields get the ids the caller supplies.

use serde_json::{Value, json};

use super::step::{AddressShape, Expr, MarkerFormat};
use crate::model::{Slot, is_privileged_field, normalize, words};
use crate::spec::{Location, Method, Operation, Schema, SchemaKind};

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
    if !schema.enum_values.is_empty() || schema.pattern.as_deref().is_some_and(|p| !fits_markers(p))
    {
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

/// Whether every marker satisfies the pattern `pattern` (a slug's `^[-a-zA-Z0-9_]+$`): tried on
/// marker-shaped samples, all letters, all digits and mixed. A pattern the regex engine cannot
/// read, or one a marker fails, gets a literal. The answers are kept per thread: a spec repeats
/// its patterns on hundreds of fields.
fn fits_markers(pattern: &str) -> bool {
    thread_local! {
        static SEEN: std::cell::RefCell<std::collections::HashMap<String, bool>> =
            std::cell::RefCell::default();
    }
    if let Some(known) = SEEN.with(|s| s.borrow().get(pattern).copied()) {
        return known;
    }
    let fits = regex::Regex::new(pattern).is_ok_and(|re| {
        ["tfzabcdefghijkl", "tfz000000000000", "tfzq1w2e3r4t5y6"]
            .iter()
            .all(|m| re.is_match(m))
    });
    SEEN.with(|s| s.borrow_mut().insert(pattern.to_string(), fits));
    fits
}

/// Words that name free text a person writes: an optional field with one of them takes a marker
/// on any server. Other optional strings (a `time_zone`, an `assigned_object_type`, a `facility`)
/// often have a format the spec does not state, and a marker there makes the whole create fail:
/// they are left out, and the server's default stands.
const FREE_TEXT: &[&str] = &[
    "name",
    "title",
    "description",
    "desc",
    "comment",
    "comments",
    "note",
    "notes",
    "label",
    "summary",
    "text",
    "body",
    "content",
    "message",
    "subject",
    "caption",
    "remark",
    "remarks",
    "memo",
    "details",
    "bio",
    "about",
    "nickname",
    "alias",
    "headline",
    "question",
    "answer",
    "reason",
    "purpose",
    "instructions",
];

/// Last words that make a name a code rather than text (`content_type`, `name_format`).
const CODE_WORDS: &[&str] = &[
    "type", "kind", "format", "mode", "zone", "code", "lang", "language", "locale", "status",
    "state", "id", "ids", "url", "uri", "key", "hash", "version",
];

/// Whether a field's name makes it one of a set of values the server knows (`type`,
/// `content_type`, `status`), which the spec's example names better than a marker. Keys, codes
/// and ids are left out: a client may choose those, and each create needs its own.
fn is_code(name: &str) -> bool {
    const KNOWN_SETS: &[&str] = &[
        "type", "kind", "format", "mode", "lang", "language", "locale", "status", "state", "zone",
        "version",
    ];
    words(name)
        .last()
        .is_some_and(|l| KNOWN_SETS.contains(&l.as_str()))
}

/// Whether a body slot's field is named as a code (its last word is one of [`CODE_WORDS`]).
fn slot_names_a_code(slot: &Slot) -> bool {
    let Slot::Body(pointer) = slot else {
        return false;
    };
    let name = pointer.rsplit('/').next().unwrap_or_default();
    words(name)
        .last()
        .is_some_and(|l| CODE_WORDS.contains(&l.as_str()))
}

/// Whether an optional string field holds free text (see [`FREE_TEXT`]).
fn is_free_text(name: &str) -> bool {
    let w = words(name);
    w.iter().any(|w| FREE_TEXT.contains(&w.as_str()))
        && !w.last().is_some_and(|l| CODE_WORDS.contains(&l.as_str()))
}

/// A value for a string field whose name says what it holds while the spec states no format:
/// network prefixes and addresses (fresh for each request: servers keep them unique), time
/// zones, languages, countries and currencies. `path` is the operation's, for `address`, which
/// is an IP address only on a resource of IP addresses.
fn known_string(name: &str, path: &str) -> Option<Expr> {
    let n = normalize(name);
    let ip_path = {
        let p = normalize(path);
        p.contains("ipaddress") || p.contains("ips")
    };
    Some(match n.as_str() {
        "prefix" | "cidr" | "subnet" | "network" | "ipprefix" | "cidrblock" => {
            Expr::Address(AddressShape::Network)
        }
        "ip" | "ipaddress" | "ipv4" | "ipv4address" | "hostip" => Expr::Address(AddressShape::Host),
        "address" if ip_path => Expr::Address(AddressShape::HostWithMask),
        "timezone" | "tz" | "tzname" => Expr::Lit(json!("UTC")),
        "language" | "lang" | "locale" => Expr::Lit(json!("en")),
        "country" | "countrycode" => Expr::Lit(json!("US")),
        "currency" | "currencycode" => Expr::Lit(json!("USD")),
        _ => return None,
    })
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
        // A search term is text: a `q` that holds a structure (Flask-AppBuilder's rison
        // `q`, declared with `content: application/json` and an object schema) is not one.
        let text = matches!(p.schema.kind, SchemaKind::String | SchemaKind::Any);
        if p.location == Location::Query && is_search_param(&p.name) && text {
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
        let mut fill = BodyFill {
            owner,
            path: &op.path,
            args: &mut args,
            spare: Vec::new(),
            open: Vec::new(),
        };
        fill.body(&body.schema, "", id_for, 0);
        let BodyFill { spare, open, .. } = fill;
        let marked = args[before..]
            .iter()
            .any(|(_, e)| matches!(e, Expr::Marker { .. }));
        let update = is_update(op);
        let mut spare = spare.into_iter();
        if update {
            // An update sends every writable field it can mark: the one the server keeps is the
            // one the victim's read-back shows. Not codes (`scope_type`, `assigned_object_type`):
            // the server knows their values, and a marker there fails the whole update.
            let (text, codes): (Vec<_>, Vec<_>) =
                spare.partition(|(slot, _)| !slot_names_a_code(slot));
            args.extend(text);
            spare = codes.into_iter();
        }
        let marked = marked
            || args[before..]
                .iter()
                .any(|(_, e)| matches!(e, Expr::Marker { .. }));
        if !marked {
            // Nothing the body lists took a marker: the first other text field takes one.
            args.extend(spare.next());
        }
        let marked = args[before..]
            .iter()
            .any(|(_, e)| matches!(e, Expr::Marker { .. }));
        if !marked {
            // Else a member of its own in the first free-form object (a document store's `data`).
            if let Some((pointer, member)) = open.into_iter().next() {
                args.push((
                    Slot::Body(format!("{pointer}/{member}")),
                    Expr::Marker {
                        owner,
                        format: MarkerFormat::Plain,
                    },
                ));
            }
        }
        if update && args.len() == before {
            // Never `{}`: a write that changes nothing proves nothing and hides nothing.
            args.extend(first_writable(&body.schema));
        }
    }
    args
}

/// Whether a field takes an object that exists, by its id or by its fields: a choice of an id
/// (an integer, a uuid) and an object.
fn is_reference(schema: &Schema) -> bool {
    let SchemaKind::OneOf(variants) = &schema.kind else {
        return false;
    };
    let id = variants.iter().any(|v| {
        v.kind == SchemaKind::Integer
            || (v.kind == SchemaKind::String && v.format.as_deref() == Some("uuid"))
    });
    id && variants.iter().any(|v| v.properties().is_some())
}

/// Whether `op` changes an object that exists (`PUT` or `PATCH` of an item path).
fn is_update(op: &Operation) -> bool {
    matches!(op.method, Method::Put | Method::Patch) && op.path.trim_end_matches('/').ends_with('}')
}

/// The first writable field of an object body, with a literal: what an update that can mark
/// nothing sends instead of `{}`.
fn first_writable(schema: &Schema) -> Option<(Slot, Expr)> {
    schema
        .properties()?
        .iter()
        .find(|(name, p)| !p.read_only && !is_privileged_field(name))
        .map(|(name, p)| {
            (
                Slot::Body(format!("/{}", crate::spec::escape(name))),
                Expr::Lit(literal(p)),
            )
        })
}

/// What filling one request body gathers.
struct BodyFill<'a> {
    owner: usize,
    /// The operation's path (for [`known_string`]).
    path: &'a str,
    args: &'a mut Vec<(Slot, Expr)>,
    /// Optional strings that could take a marker but hold no free text, in order: the first
    /// takes one when nothing else did.
    spare: Vec<(Slot, Expr)>,
    /// Free-form objects (`additionalProperties` of any kind), by pointer, with a member name
    /// they do not list: one takes a marker of its own when nothing else did. A member made up
    /// in a free-form object beside fields that took markers (NetBox's `custom_fields`) is one
    /// the server may refuse.
    open: Vec<(String, &'static str)>,
}

impl BodyFill<'_> {
    fn body(
        &mut self,
        schema: &Schema,
        pointer: &str,
        id_for: &mut dyn FnMut(&Slot) -> Option<Expr>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        if schema.open && matches!(schema.kind, SchemaKind::Object { .. }) {
            let listed = |m: &str| schema.properties().is_some_and(|p| p.contains_key(m));
            if let Some(member) = ["name", "title", "note"].into_iter().find(|m| !listed(m)) {
                self.open.push((pointer.to_string(), member));
            }
        }
        let Some(props) = schema.properties() else {
            if pointer.is_empty() {
                // A list of objects: its first, filled as a body is (`[{"id": tag}]`).
                if let SchemaKind::Array(items) = &schema.kind {
                    if items.properties().is_some() {
                        let before = self.args.len();
                        self.body(items, "/0", id_for, depth + 1);
                        if self.args.len() > before {
                            return;
                        }
                    }
                }
                // A body that is not an object: one literal.
                self.args
                    .push((Slot::Body(String::new()), Expr::Lit(literal(schema))));
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
                self.args.push((Slot::Body(here), expr));
                continue;
            }
            // An array of ids is filled through its first element.
            if let Some(expr) = id_for(&Slot::Body(format!("{here}/0"))) {
                self.args.push((Slot::Body(format!("{here}/0")), expr));
                continue;
            }
            if !required && is_privileged_field(name) {
                continue;
            }
            // An optional reference to an object that exists, by its id or by the fields that
            // identify it (NetBox's `"region": 7` or `{"slug": ...}`): made-up fields name
            // nothing the server has, and the whole create fails. Left out unless the model
            // knows what it takes (then `id_for` gave it above).
            if !required && is_reference(prop) {
                continue;
            }
            // A choice of shapes (`anyOf` of a string and an integer): its text one, else its
            // object one, is the field's.
            let prop: &Schema = match &prop.kind {
                SchemaKind::OneOf(variants) => variants
                    .iter()
                    .find(|v| v.kind == SchemaKind::String)
                    .or_else(|| variants.iter().find(|v| v.properties().is_some()))
                    .map_or(&**prop, |v| &**v),
                _ => prop,
            };
            match &prop.kind {
                SchemaKind::String => self.string(name, prop, here, required),
                SchemaKind::Object { .. } if required || depth < 1 => {
                    let before = self.args.len();
                    self.body(prop, &here, id_for, depth + 1);
                    if self.args.len() == before && required {
                        // An object the spec lists nothing of but shows an example of (n8n's
                        // credential `data`): the example, which the server's own checks know.
                        let example = prop.example.clone().filter(Value::is_object);
                        self.args
                            .push((Slot::Body(here), Expr::Lit(example.unwrap_or(json!({})))));
                    }
                }
                _ if required => self.args.push((Slot::Body(here), Expr::Lit(literal(prop)))),
                _ => {}
            }
        }
    }

    fn string(&mut self, name: &str, prop: &Schema, here: String, required: bool) {
        let slot = Slot::Body(here);
        let unformatted = prop.format.is_none() && prop.enum_values.is_empty();
        if unformatted && prop.example.is_none() {
            if let Some(expr) = known_string(name, self.path) {
                if required {
                    self.args.push((slot, expr));
                }
                return;
            }
        }
        // A required code (`type`, `kind`, `content_type`) the spec shows an example or default
        // of takes that: a marker is no credential type a server knows (n8n's `githubApi`).
        if required && is_code(name) && (prop.example.is_some() || prop.default.is_some()) {
            self.args.push((slot, Expr::Lit(literal(prop))));
            return;
        }
        match marker_for(prop, self.owner) {
            // A stated format (`email`, `uri`) is one the marker is dressed for.
            Some(expr) if required || is_free_text(name) || prop.format.is_some() => {
                self.args.push((slot, expr))
            }
            Some(expr) => self.spare.push((slot, expr)),
            // A required uuid that names no resource (an event or delivery id): a fresh one per
            // request, or a receiver that deduplicates would see one event only.
            None if required
                && prop.format.as_deref() == Some("uuid")
                && prop.enum_values.is_empty() =>
            {
                self.args.push((slot, Expr::Unique))
            }
            None if required => self.args.push((slot, Expr::Lit(literal(prop)))),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load_str;

    fn marked(api: &crate::spec::Api) -> Vec<String> {
        fill_request(&api.operations[0], 1, &mut |_| None, None)
            .into_iter()
            .filter(|(_, e)| matches!(e, Expr::Marker { owner: 1, .. }))
            .filter_map(|(slot, _)| match slot {
                Slot::Body(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    fn body_spec(schema: &str) -> crate::spec::Api {
        let text = format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /records:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: {schema}\n      responses: {{'201': {{description: ok}}}}\n"
        );
        load_str(&text, "t").expect("loads")
    }

    #[test]
    fn a_free_form_object_carries_a_marker_only_where_nothing_else_took_one() {
        // `data` lists only an enum and an object: a member of its own (`name` is listed, so
        // `title`), as nothing else in the body takes a marker; `fixed` takes no other members.
        let alone = body_spec(
            "{type: object, properties: {data: {type: object, additionalProperties: {}, properties: {name: {type: string, enum: [a]}, schema: {type: object}}}, fixed: {type: object, properties: {size: {type: integer}}}}}",
        );
        assert_eq!(marked(&alone), ["/data/title"]);
        // Beside a listed text field that took one, nothing is made up in the free-form one.
        let beside = body_spec(
            "{type: object, properties: {data: {type: object, additionalProperties: {}}, meta: {type: object, additionalProperties: true, properties: {label: {type: string}}}}}",
        );
        assert_eq!(marked(&beside), ["/meta/label"]);
    }

    #[test]
    fn optional_strings_take_markers_only_when_they_hold_free_text() {
        // NetBox's site: a required name, a slug pattern a marker satisfies, a time zone and a
        // facility code with formats the spec does not state, custom fields the server checks.
        let site = body_spec(
            "{type: object, required: [name, slug], properties: {name: {type: string}, slug: {type: string, pattern: '^[-a-zA-Z0-9_]+$'}, time_zone: {type: string}, facility: {type: string}, content_type: {type: string}, description: {type: string}, physical_address: {type: string}, custom_fields: {type: object, additionalProperties: {}}}}",
        );
        assert_eq!(marked(&site), ["/name", "/slug", "/description"]);
        // When no field holds free text, the first other string takes the marker.
        let codes = body_spec(
            "{type: object, properties: {facility: {type: string}, code: {type: string, pattern: '^[A-Z]{3}$'}}}",
        );
        assert_eq!(marked(&codes), ["/facility"]);
    }

    #[test]
    fn nullable_text_takes_markers_and_updates_send_every_field_they_can_mark() {
        // FastAPI's `Optional[str]` and `EmailStr | None`: text, the e-mail dressed as one.
        let create = body_spec(
            "{type: object, required: [email], properties: {email: {anyOf: [{type: string, format: email}, {type: 'null'}]}, notes: {anyOf: [{type: string}, {type: 'null'}]}, born: {anyOf: [{type: string, format: date}, {type: 'null'}]}}}",
        );
        assert_eq!(marked(&create), ["/email", "/notes"]);
        let args = fill_request(&create.operations[0], 1, &mut |_| None, None);
        assert!(args.iter().any(|(s, e)| *s == Slot::Body("/email".into())
            && matches!(
                e,
                Expr::Marker {
                    format: MarkerFormat::Email,
                    ..
                }
            )));
        // An update marks the optional strings a create leaves out (`facility`), and sends
        // something when it can mark nothing, never `{}`.
        let update = |schema: &str| {
            let text = format!(
                "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /sites/{{id}}:\n    patch:\n      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]\n      requestBody:\n        content:\n          application/json:\n            schema: {schema}\n      responses: {{'200': {{description: ok}}}}\n"
            );
            load_str(&text, "t").expect("loads")
        };
        let site = update(
            "{type: object, properties: {description: {type: string}, facility: {type: string}, serial: {type: string}}}",
        );
        assert_eq!(marked(&site), ["/description", "/facility", "/serial"]);
        // Not codes the server knows the values of (NetBox's `scope_type`): unless nothing
        // else can take a marker.
        let scoped = update(
            "{type: object, properties: {description: {type: string}, scope_type: {type: string}, assigned_object_type: {type: string}}}",
        );
        assert_eq!(marked(&scoped), ["/description"]);
        let only_codes = update("{type: object, properties: {scope_type: {type: string}}}");
        assert_eq!(marked(&only_codes), ["/scope_type"]);
        let counter = update("{type: object, properties: {count: {type: integer}}}");
        let args = fill_request(&counter.operations[0], 1, &mut |_| None, None);
        assert_eq!(
            args.iter()
                .filter(|(s, _)| matches!(s, Slot::Body(_)))
                .count(),
            1,
            "{args:?}"
        );
    }

    #[test]
    fn optional_references_by_id_or_by_fields_are_left_out_unless_known() {
        // NetBox's `region`: an id, or the fields of the region it names. Made-up fields name
        // no region, and the create fails (400 "Related object not found").
        let site = body_spec(
            "{type: object, required: [name], properties: {name: {type: string}, region: {oneOf: [{type: integer}, {allOf: [{type: object, required: [name, slug], properties: {name: {type: string}, slug: {type: string}}}], nullable: true}], nullable: true}, place: {type: object, properties: {label: {type: string}}}}}",
        );
        assert_eq!(marked(&site), ["/name", "/place/label"]);
        let args = fill_request(&site.operations[0], 1, &mut |_| None, None);
        assert!(
            !args
                .iter()
                .any(|(s, _)| matches!(s, Slot::Body(p) if p.starts_with("/region"))),
            "{args:?}"
        );
        // When the model knows what it takes, the id goes there.
        let args = fill_request(
            &site.operations[0],
            1,
            &mut |s| (*s == Slot::Body("/region".into())).then_some(Expr::Lit(json!(7))),
            None,
        );
        assert!(args.contains(&(Slot::Body("/region".into()), Expr::Lit(json!(7)))));
    }

    #[test]
    fn strings_named_for_what_they_hold_get_values_of_that_kind() {
        let api = body_spec(
            "{type: object, required: [prefix, time_zone, address], properties: {prefix: {type: string}, time_zone: {type: string}, address: {type: string}, ip: {type: string}}}",
        );
        let args = fill_request(&api.operations[0], 0, &mut |_| None, None);
        let get = |p: &str| {
            args.iter()
                .find(|(s, _)| *s == Slot::Body(p.into()))
                .map(|(_, e)| e.clone())
        };
        assert_eq!(get("/prefix"), Some(Expr::Address(AddressShape::Network)));
        assert_eq!(get("/time_zone"), Some(Expr::Lit(json!("UTC"))));
        // `address` is an IP address only on a resource of them; an optional `ip` is left out.
        assert!(matches!(get("/address"), Some(Expr::Marker { .. })));
        assert_eq!(get("/ip"), None);
        // A required code with an example takes the example; an object known by its example
        // alone, too.
        let credential = body_spec(
            "{type: object, required: [name, type, data], properties: {name: {type: string}, type: {type: string, example: githubApi}, data: {type: object, example: {accessToken: abc}}}}",
        );
        let args = fill_request(&credential.operations[0], 0, &mut |_| None, None);
        let get = |p: &str| {
            args.iter()
                .find(|(s, _)| *s == Slot::Body(p.into()))
                .map(|(_, e)| e.clone())
        };
        assert_eq!(get("/type"), Some(Expr::Lit(json!("githubApi"))));
        assert_eq!(get("/data"), Some(Expr::Lit(json!({"accessToken": "abc"}))));
        assert!(matches!(get("/name"), Some(Expr::Marker { .. })));
        let network = AddressShape::Network.render(0x1f_ffff);
        assert_eq!(network, "10.255.255.248/29");
        assert_eq!(AddressShape::HostWithMask.render(0), "10.0.0.1/32");
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
    fn search_terms_go_only_where_text_goes() {
        let api = load_str(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /queries:\n    get:\n      parameters:\n        - {name: q, in: query, content: {application/json: {schema: {type: object, properties: {page: {type: integer}}}}}}\n        - {name: search, in: query, schema: {type: string}}\n      responses: {'200': {description: ok}}\n",
            "t.yaml",
        )
        .expect("loads");
        let args = fill_request(
            &api.operations[0],
            0,
            &mut |_| None,
            Some(Expr::Stem { owner: 0 }),
        );
        // Flask-AppBuilder's rison `q` is a structure, not a search term.
        assert_eq!(
            args,
            [(Slot::Query("search".into()), Expr::Stem { owner: 0 })]
        );
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
