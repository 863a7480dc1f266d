//! Id resolution: a step's symbolic values (the id step 1 created, a discovered id, a fresh
//! marker, an id that names nothing) into the values it sends, where they go in the request, and
//! the id a create answered with.

use serde_json::Value;

use super::interpret::Interpreter;
use crate::exchange::{Exchange, Execution, value_text};
use crate::model::Slot;
use crate::scenario::{Expr, MarkerFormat};

impl Interpreter<'_> {
    /// Resolves an expression; the capture says which earlier response it came from.
    pub(super) fn resolve(
        &self,
        expr: &Expr,
        so_far: &Execution,
    ) -> Result<(Value, Option<(usize, String)>), String> {
        match expr {
            Expr::Lit(v) => Ok((v.clone(), None)),
            Expr::Created { step } => {
                let record = so_far.steps.get(*step);
                match record.and_then(|r| r.created.clone()) {
                    Some(id) => Ok((
                        id,
                        Some((
                            *step,
                            record
                                .and_then(|r| r.created_from.clone())
                                .unwrap_or_default(),
                        )),
                    )),
                    None => Err(format!("step {} created nothing", step + 1)),
                }
            }
            Expr::Optional(inner) => self.resolve(inner, so_far),
            Expr::CreatedOr {
                step,
                identity,
                resource,
            } => self
                .resolve(&Expr::Created { step: *step }, so_far)
                .or_else(|_| {
                    self.resolve(
                        &Expr::Discovered {
                            identity: *identity,
                            resource: *resource,
                        },
                        so_far,
                    )
                }),
            Expr::Discovered { identity, resource } => self
                .discovered
                .get(&(*identity, *resource))
                .and_then(|ids| ids.first())
                .map(|v| (v.clone(), None))
                .ok_or_else(|| "no pre-existing resource was discovered".to_string()),
            Expr::Marker { owner, format } => {
                let m = self.markers.fresh(*owner);
                let text = match format {
                    MarkerFormat::Plain => m,
                    MarkerFormat::Email => format!("{m}@example.com"),
                    MarkerFormat::Uri => format!("https://example.com/{m}"),
                };
                Ok((Value::String(text), None))
            }
            Expr::Stem { owner } => Ok((Value::String(self.markers.stem(*owner)), None)),
            Expr::Unique => Ok((Value::String(uuid::Uuid::new_v4().to_string()), None)),
            Expr::Address(shape) => Ok((
                Value::String(shape.render(uuid::Uuid::new_v4().as_u128() as u32)),
                None,
            )),
            Expr::Absent { step } => so_far
                .steps
                .get(*step)
                .and_then(|r| r.created.as_ref())
                .map(|id| (absent_like(id), None))
                .ok_or_else(|| format!("step {} created nothing", step + 1)),
            Expr::Echo { step, pointer } => so_far
                .steps
                .get(*step)
                .and_then(|r| r.exchange.as_ref())
                .filter(|x| x.is_success())
                .and_then(|x| x.response_body.get())
                .and_then(|b| b.pointer(pointer))
                .map(|v| (v.clone(), Some((*step, pointer.clone()))))
                .ok_or_else(|| format!("step {} answered no {pointer}", step + 1)),
        }
    }

    /// The id a create returned: at the producer's pointer, else `/id`, else in the one object
    /// the answer wraps it in (`{"data": {"id": ...}}`, when the schema did not say), else the
    /// `Location`, else the key the request chose (`sent` holds what the request carried).
    pub(super) fn created_id(
        &self,
        op: usize,
        exchange: &Exchange,
        sent: &[(Slot, Value)],
    ) -> Option<(Value, String)> {
        let producer = self.model.producers.iter().find(|p| p.op == op);
        let body = exchange.response_body.get();
        let pointers = producer
            .and_then(|p| p.id_pointer.clone())
            .into_iter()
            .chain(["/id".to_string()])
            .chain(body.and_then(wrapped_id));
        for pointer in pointers {
            if let Some(v) = body.and_then(|b| b.pointer(&pointer)) {
                if v.is_string() || v.is_number() {
                    return Some((v.clone(), pointer));
                }
            }
        }
        let location = exchange.response_header("location").and_then(|location| {
            let last = location.trim_end_matches('/').rsplit('/').next()?;
            let last = last.split(['?', '#']).next()?;
            (!last.is_empty()).then(|| {
                (
                    Value::String(last.to_string()),
                    "header:Location".to_string(),
                )
            })
        });
        location.or_else(|| {
            let key = producer?.request_key.as_ref()?;
            sent.iter()
                .find(|(slot, _)| matches!(slot, Slot::Body(p) if p == key))
                .filter(|(_, v)| v.is_string())
                .map(|(_, v)| (v.clone(), format!("request:{key}")))
        })
    }
}

/// Where the one object an answer wraps its object in keeps its id: `/data/id` for
/// `{"data": {"id": "b1", ...}, "permissions": {...}}`. `None` when no top-level member, or more
/// than one, is an object with a text or number `id`.
fn wrapped_id(body: &Value) -> Option<String> {
    let mut found = body.as_object()?.iter().filter(|(_, v)| {
        v.get("id")
            .is_some_and(|id| id.is_string() || id.is_number())
    });
    let (name, _) = found.next()?;
    found
        .next()
        .is_none()
        .then(|| format!("/{}/id", crate::spec::escape(name)))
}

/// An id shaped like `id` that names nothing: a number far past it, or a string whose last four
/// letters and digits are rotated within their class (`ws_9b62` -> `ws_5f06`), so it still passes
/// the id's format.
pub(crate) fn absent_like(id: &Value) -> Value {
    if let Some(n) = id.as_u64() {
        return Value::from(n.saturating_add(7_000_000_000));
    }
    let text = value_text(id);
    let mut chars: Vec<char> = text.chars().collect();
    let mut changed = 0;
    for c in chars.iter_mut().rev() {
        if changed == 4 {
            break;
        }
        let rotated = match *c {
            '0'..='9' => char::from(b'0' + (*c as u8 - b'0' + 4) % 10),
            'a'..='f' => char::from(b'a' + (*c as u8 - b'a' + 3) % 6),
            'A'..='F' => char::from(b'A' + (*c as u8 - b'A' + 3) % 6),
            'g'..='z' => char::from(b'g' + (*c as u8 - b'g' + 7) % 20),
            'G'..='Z' => char::from(b'G' + (*c as u8 - b'G' + 7) % 20),
            _ => continue,
        };
        *c = rotated;
        changed += 1;
    }
    let out: String = chars.into_iter().collect();
    if id.is_number() {
        // A number too large for u64, or negative: keep its type.
        return out
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(Value::String(out));
    }
    Value::String(out)
}

/// What stays as it is in a path segment: RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a path segment.
pub(super) fn encode_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

/// Sets `value` at a JSON pointer, creating objects (or arrays for numeric tokens) on the way.
pub(crate) fn set_pointer(root: &mut Value, pointer: &str, value: Value) {
    if pointer.is_empty() {
        *root = value;
        return;
    }
    // Tokens unescaped only when they hold an escape (most hold none).
    let unescape = |t: &str| -> String {
        if t.contains('~') {
            t.replace("~1", "/").replace("~0", "~")
        } else {
            t.to_string()
        }
    };
    let mut tokens = pointer.trim_start_matches('/').split('/').peekable();
    let mut current = root;
    while let Some(raw) = tokens.next() {
        let last = tokens.peek().is_none();
        let token = unescape(raw);
        let index = token.parse::<usize>().ok();
        if current.is_null() {
            *current = if index.is_some() {
                Value::Array(Vec::new())
            } else {
                Value::Object(serde_json::Map::new())
            };
        }
        let slot = match (current, index) {
            (Value::Array(items), Some(n)) => {
                while items.len() <= n {
                    items.push(Value::Null);
                }
                &mut items[n]
            }
            (Value::Object(map), _) => map.entry(token).or_insert(Value::Null),
            _ => return,
        };
        if last {
            *slot = value;
            return;
        }
        current = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_build_nested_bodies() {
        let mut v = Value::Null;
        set_pointer(&mut v, "/a/b", json!(1));
        set_pointer(&mut v, "/ids/0", json!("x"));
        set_pointer(&mut v, "/a/c~1d", json!(true));
        assert_eq!(v, json!({"a": {"b": 1, "c/d": true}, "ids": ["x"]}));
    }

    #[test]
    fn an_id_wrapped_in_the_one_object_of_an_answer_is_found() {
        let kinto = json!({"data": {"id": "b1", "last_modified": 1}, "permissions": {"write": []}});
        assert_eq!(wrapped_id(&kinto).as_deref(), Some("/data/id"));
        // Two objects with ids: which one is the new object's cannot be told.
        let two = json!({"project": {"id": 1}, "owner": {"id": 2}});
        assert_eq!(wrapped_id(&two), None);
        assert_eq!(wrapped_id(&json!({"data": {"name": "x"}})), None);
        assert_eq!(wrapped_id(&json!([{"id": 1}])), None);
    }

    #[test]
    fn absent_ids_keep_their_shape() {
        assert_eq!(absent_like(&json!(42)), json!(7_000_000_042u64));
        let uuid = "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b";
        let other = value_text(&absent_like(&json!(uuid)));
        assert_eq!(other.len(), uuid.len());
        assert_ne!(other, uuid);
        assert!(other.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
        assert_eq!(&other[..32], &uuid[..32]);
        let prefixed = value_text(&absent_like(&json!("ws_9b6285e977")));
        assert!(prefixed.starts_with("ws_9b6285"));
        assert_ne!(prefixed, "ws_9b6285e977");
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(encode_segment("ws_12-x.y~"), "ws_12-x.y~");
    }
}
