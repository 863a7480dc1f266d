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
    /// The response body: JSON when it parsed, else the text.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub response_body: Option<Value>,
    /// A transport error (timeout, refused connection), when there was no response.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    pub duration_ms: u64,
    /// The response body as text: the bytes as they came (set by the executor), or the body
    /// serialized once on first use. Every oracle searches it for markers; nothing serializes
    /// the body twice. Never written out.
    #[serde(skip)]
    pub body_text: std::sync::OnceLock<String>,
}

impl Exchange {
    /// The response body as text (JSON serialized), empty when there is none.
    pub fn response_text(&self) -> &str {
        self.body_text.get_or_init(|| match &self.response_body {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        })
    }

    /// Everything the request carried that a marker could hide in: URL, headers, body.
    pub fn request_text(&self) -> String {
        let mut s = self.url.clone();
        for (k, v) in &self.request_headers {
            s.push('\n');
            s.push_str(k);
            s.push_str(": ");
            s.push_str(v);
        }
        if let Some(body) = &self.request_body {
            s.push('\n');
            s.push_str(&body.to_string());
        }
        s
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
    /// Where that id came from: a JSON pointer into the body, or `header:Location`.
    pub created_from: Option<String>,
    /// The markers this step's request carried.
    pub sent_markers: Vec<String>,
    /// Values in this request taken from earlier responses.
    pub captures: Vec<crate::finding::Capture>,
}

/// One execution of a scenario: a record per step, in order.
#[derive(Debug, Clone, Default)]
pub struct Execution {
    pub steps: Vec<StepRecord>,
}

impl Execution {
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

#[cfg(test)]
mod tests {
    use super::*;

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
            response_body: Some(serde_json::json!({"a": [1, "b"]})),
            ..Exchange::default()
        };
        assert_eq!(x.response_text(), r#"{"a":[1,"b"]}"#);
        let kept = Exchange {
            response_body: Some(serde_json::json!({"a": 1})),
            body_text: "{ \"a\" : 1 }".to_string().into(),
            ..Exchange::default()
        };
        assert_eq!(kept.response_text(), "{ \"a\" : 1 }");
        let text = Exchange {
            response_body: Some(Value::String("plain".into())),
            ..Exchange::default()
        };
        assert_eq!(text.response_text(), "plain");
        assert_eq!(Exchange::default().response_text(), "");
    }
}
