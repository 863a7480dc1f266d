//! Ground-floor data: one recorded request/response pair, as the executor produced it. Headers that
//! carry credentials are already redacted here; nothing downstream sees a secret.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Whether a header's value is a credential, judged by its name: what every recorded exchange
/// and every report writes as `***`. The one list (the executor records response headers
/// through it, `report::redact` writes every format through it).
pub fn is_sensitive_header(name: &str) -> bool {
    // Header names on the wire are lower case already: no copy for them.
    let name: std::borrow::Cow<str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        name.to_ascii_lowercase().into()
    } else {
        name.into()
    };
    let name = name.as_ref();
    // The headers nearly every answer carries, at once.
    if matches!(
        name,
        "content-type"
            | "content-length"
            | "date"
            | "location"
            | "etag"
            | "vary"
            | "server"
            | "connection"
            | "cache-control"
            | "transfer-encoding"
    ) {
        return false;
    }
    matches!(
        name,
        "authorization"
            | "proxy-authorization"
            | "cookie"
            | "set-cookie"
            | "x-api-key"
            | "api-key"
            | "apikey"
            | "x-auth-token"
            | "x-access-token"
            | "x-csrf-token"
            | "x-xsrf-token"
    ) || [
        "token",
        "secret",
        "api-key",
        "apikey",
        "api_key",
        "password",
        "session",
        "signature",
    ]
    .iter()
    .any(|part| {
        name.as_bytes()
            .windows(part.len())
            .any(|w| w == part.as_bytes())
    })
}

/// A value as it goes into a path, query or header.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A recorded request and what came back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    /// Request headers the user set (credential values redacted).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub request_headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_body: Option<Value>,
    /// The status, or `None` when no response came (see `error`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub response_headers: Vec<(String, String)>,
    /// The response body: JSON when it parses, else the text.
    #[serde(skip_serializing_if = "Body::is_none", default)]
    pub response_body: Body,
    /// A transport error (timeout, refused connection), when there was no response.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// A response body. The executor keeps the text as it came and parses it as JSON only when
/// something asks for the JSON: every oracle searches the text for markers, few answers are
/// ever looked at as JSON. A body made from JSON is serialized to text once, on first use.
#[derive(Default)]
pub struct Body {
    text: std::sync::OnceLock<String>,
    json: std::sync::OnceLock<Option<Value>>,
}

impl Body {
    /// A body received as `text` (not empty); its JSON is parsed on first use, and a text that
    /// is not JSON reads as a JSON string.
    pub fn from_text(text: String) -> Body {
        let body = Body::default();
        let _ = body.text.set(text);
        body
    }

    /// The body as JSON: what it parses to, else its text as a string; `None` when there is no
    /// body.
    pub fn get(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| {
                let text = self.text.get()?;
                Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone())))
            })
            .as_ref()
    }

    /// The body as text: as it came, or its JSON serialized; empty when there is none.
    pub fn text(&self) -> &str {
        self.text.get_or_init(|| match self.json.get() {
            Some(Some(Value::String(s))) => s.clone(),
            Some(Some(v)) => v.to_string(),
            _ => String::new(),
        })
    }

    /// Whether there is no body.
    pub fn is_none(&self) -> bool {
        self.text.get().is_none_or(String::is_empty) && self.json.get().is_none_or(Option::is_none)
    }
}

impl From<Option<Value>> for Body {
    fn from(json: Option<Value>) -> Body {
        let body = Body::default();
        let _ = body.json.set(json);
        body
    }
}

impl From<Value> for Body {
    fn from(json: Value) -> Body {
        Some(json).into()
    }
}

impl Clone for Body {
    fn clone(&self) -> Body {
        let body = Body::default();
        if let Some(text) = self.text.get() {
            let _ = body.text.set(text.clone());
        }
        if let Some(json) = self.json.get() {
            let _ = body.json.set(json.clone());
        }
        body
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Body, D::Error> {
        Option::<Value>::deserialize(deserializer).map(Body::from)
    }
}

impl Exchange {
    /// The response body as text (as it came, or its JSON serialized), empty when there is none.
    pub fn response_text(&self) -> &str {
        self.response_body.text()
    }

    /// Every piece of text the request carried, one at a time: the URL, each header's name and
    /// value, and each key and string of the body. A marker (letters and digits) is in one of
    /// these exactly when it is in the request as sent, and the body need not be written out.
    pub fn request_parts(&self, mut each: impl FnMut(&str)) {
        fn walk(v: &Value, each: &mut impl FnMut(&str)) {
            match v {
                Value::String(s) => each(s),
                Value::Array(items) => items.iter().for_each(|i| walk(i, each)),
                Value::Object(map) => map.iter().for_each(|(k, i)| {
                    each(k);
                    walk(i, each)
                }),
                _ => {}
            }
        }
        each(&self.url);
        for (k, v) in &self.request_headers {
            each(k);
            each(v);
        }
        if let Some(body) = &self.request_body {
            walk(body, &mut each);
        }
    }

    /// Whether `needle` (letters and digits, a marker) is anywhere in the request.
    pub fn request_contains(&self, needle: &str) -> bool {
        let mut found = false;
        self.request_parts(|part| found = found || part.contains(needle));
        found
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// Whether the answer cannot be judged: no response, a body that could not be read, 5xx,
    /// or 429.
    pub fn is_unjudgeable(&self) -> bool {
        match self.status {
            None => true,
            Some(s) => s >= 500 || s == 429 || self.error.is_some(),
        }
    }

    /// A response header value (case-insensitive name).
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One exchange as the run sent it, with who sent it and when. Kept only when a report of every
/// exchange (HAR) was asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recorded {
    /// The identity that sent it (`anonymous` for no credentials).
    pub identity: String,
    /// When it was sent, in milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    pub exchange: Exchange,
}

/// What happened to one step of a scenario when it was executed.
#[derive(Debug, Clone, Default)]
pub struct StepRecord {
    /// The exchange, or `None` when the step was not sent (see `skipped`).
    pub exchange: Option<Exchange>,
    /// Why the step was not sent (a step it depends on produced no id).
    pub skipped: Option<String>,
    /// The id the step created, when it created something.
    pub created: Option<Value>,
    /// Where that id came from: a JSON pointer into the body, `header:Location`, or
    /// `request:POINTER` (the key the request itself chose).
    pub created_from: Option<String>,
    /// The markers this step's request carried.
    pub sent_markers: Vec<String>,
    /// Values in this request taken from earlier responses.
    pub captures: Vec<Capture>,
}

/// One execution of a scenario: a record per step, in order.
#[derive(Debug, Clone, Default)]
pub struct Execution {
    pub steps: Vec<StepRecord>,
}

impl Execution {
    /// Whether any answer cannot be judged (no answer, 5xx, 429, a body cut short).
    pub fn unjudgeable(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.exchange.as_ref().is_some_and(|x| x.is_unjudgeable()))
    }

    /// Requests this execution sent (retries not counted).
    pub fn sent(&self) -> u64 {
        self.steps.iter().filter(|s| s.exchange.is_some()).count() as u64
    }

    /// Drops what only judging reads (bodies, headers, markers, captures), keeping each step's
    /// request line, status, error and created id: all an execution that showed no violation
    /// is still kept for (coverage, a retry of what the target disturbed). Freed as soon as it
    /// is judged, its answers do not stay alive until a whole phase has run.
    pub fn strip(&mut self) {
        for step in &mut self.steps {
            step.sent_markers = Vec::new();
            step.captures = Vec::new();
            if let Some(x) = &mut step.exchange {
                x.request_headers = Vec::new();
                x.request_body = None;
                x.response_headers = Vec::new();
                x.response_body = Body::default();
            }
        }
    }

    /// The step whose request first carried `marker`.
    pub fn origin_of(&self, marker: &str) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| s.sent_markers.iter().any(|m| m == marker))
    }
}

/// Whether a JSON key names an id (`id`, `workspaceId`, `owner_id`, `uuid`).
fn is_id_key(key: &str) -> bool {
    key.eq_ignore_ascii_case("id")
        || key.eq_ignore_ascii_case("uuid")
        || key.ends_with("Id")
        || key.ends_with("_id")
        || key.ends_with("-id")
        || key.ends_with("ID")
}

/// The id values in a JSON document: values under id keys, strings of 4 characters or more
/// and numbers of 1000 or more (small numbers coincide too easily).
pub fn ids_in(value: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if is_id_key(k) {
                    match v {
                        Value::String(s) if s.len() >= 4 => {
                            out.insert(s.clone());
                        }
                        Value::Number(n) if n.as_u64().is_some_and(|n| n >= 1000) => {
                            out.insert(n.to_string());
                        }
                        _ => {}
                    }
                }
                ids_in(v, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                ids_in(v, out);
            }
        }
        _ => {}
    }
}

/// A value taken from an earlier step's response, for runnable reproductions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Capture {
    /// The literal value as sent in this run.
    pub value: String,
    /// The 0-based step whose response it came from.
    pub from_step: usize,
    /// Where in that response: a JSON pointer, `header:Location`, or `request:POINTER` (a key
    /// the step's own request chose).
    pub pointer: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_stripped_execution_keeps_what_coverage_and_retries_read() {
        let step = |status: Option<u16>, error: Option<&str>| StepRecord {
            exchange: Some(Exchange {
                method: "GET".into(),
                url: "http://127.0.0.1:1/docs/7".into(),
                request_headers: vec![("x-tenant".into(), "a".into())],
                request_body: Some(serde_json::json!({"title": "t"})),
                status,
                response_headers: vec![("content-type".into(), "application/json".into())],
                response_body: Body::from_text(r#"{"id":7}"#.into()),
                error: error.map(String::from),
                duration_ms: 3,
            }),
            created: Some(serde_json::json!(7)),
            sent_markers: vec!["tfz-m".into()],
            ..StepRecord::default()
        };
        let mut exec = Execution {
            steps: vec![
                step(Some(200), None),
                step(Some(503), None),
                step(Some(200), Some("cut")),
                StepRecord::default(),
            ],
        };
        // Per sent step: whether it succeeded and whether it can be judged.
        let verdicts = |exec: &Execution| -> Vec<Option<(bool, bool)>> {
            exec.steps
                .iter()
                .map(|s| {
                    s.exchange
                        .as_ref()
                        .map(|x| (x.is_success(), x.is_unjudgeable()))
                })
                .collect()
        };
        let before = verdicts(&exec);
        exec.strip();
        let after = verdicts(&exec);
        assert_eq!(before, after);
        assert_eq!(exec.sent(), 3);
        assert!(exec.unjudgeable());
        let first = exec.steps[0].exchange.as_ref().unwrap();
        assert_eq!((first.method.as_str(), first.status), ("GET", Some(200)));
        assert!(first.url.ends_with("/docs/7"));
        assert_eq!(exec.steps[0].created, Some(serde_json::json!(7)));
        // What only judging reads is gone.
        assert!(first.response_body.is_none() && first.request_body.is_none());
        assert!(first.request_headers.is_empty() && first.response_headers.is_empty());
        assert!(exec.steps[0].sent_markers.is_empty());
    }

    #[test]
    fn credential_headers_are_recognised_in_any_case() {
        for name in [
            "Authorization",
            "cookie",
            "Set-Cookie",
            "X-Api-Key",
            "x-session-id",
            "X-Upstream-TOKEN",
            "x-hub-signature-256",
            "Client-Secret",
        ] {
            assert!(is_sensitive_header(name), "{name}");
        }
        for name in ["content-type", "Content-Length", "x-request-id", "etag", ""] {
            assert!(!is_sensitive_header(name), "{name}");
        }
    }

    #[test]
    fn the_response_text_is_the_body_serialized_once_unless_the_wire_text_was_kept() {
        let x = Exchange {
            response_body: serde_json::json!({"a": [1, "b"]}).into(),
            ..Exchange::default()
        };
        assert_eq!(x.response_text(), r#"{"a":[1,"b"]}"#);
        let kept = Exchange {
            response_body: Body::from_text("{ \"a\" : 1 }".to_string()),
            ..Exchange::default()
        };
        assert_eq!(kept.response_text(), "{ \"a\" : 1 }");
        assert_eq!(kept.response_body.get(), Some(&serde_json::json!({"a": 1})));
        let text = Exchange {
            response_body: Value::String("plain".into()).into(),
            ..Exchange::default()
        };
        assert_eq!(text.response_text(), "plain");
        assert_eq!(Exchange::default().response_text(), "");
        assert!(Exchange::default().response_body.is_none());
    }

    #[test]
    fn a_body_that_is_not_json_reads_as_a_string_and_round_trips() {
        let b = Body::from_text("<html>no</html>".to_string());
        assert_eq!(b.get(), Some(&Value::String("<html>no</html>".into())));
        assert!(!b.is_none());
        let x = Exchange {
            response_body: Body::from_text(r#"{"id": 7}"#.to_string()),
            ..Exchange::default()
        };
        let written = serde_json::to_value(&x).unwrap();
        assert_eq!(written["response_body"], serde_json::json!({"id": 7}));
        let read: Exchange = serde_json::from_value(written).unwrap();
        assert_eq!(
            read.response_body.get(),
            Some(&serde_json::json!({"id": 7}))
        );
        let none = serde_json::to_value(Exchange::default()).unwrap();
        assert!(none.get("response_body").is_none());
    }
}
