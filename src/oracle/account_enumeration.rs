//! `account-enumeration` (low severity, off by default): the same login, registration or
//! password-reset request answered one way for an existing account and another for one that
//! does not exist. Each side is sent twice: a difference the two answers of one side show too
//! (a timestamp, a request id) is noise, and what remains must still differ between the sides.
//! The account names the requests sent are taken out of the answers first, so an answer that
//! only echoes the name it was given is no difference.

use serde_json::Value;

use crate::exchange::Exchange;

/// An answer as compared: its status and its body with numbers, long tokens and the account
/// name taken out.
fn shape(x: &Exchange, user: &str) -> (Option<u16>, String) {
    let text = x.response_body.text();
    let text = if user.is_empty() {
        text.to_string()
    } else {
        text.replace(user, "{account}")
    };
    let normalized = match serde_json::from_str::<Value>(&text) {
        Ok(v) => skeleton(&v),
        Err(_) => words(&text),
    };
    (x.status, normalized)
}

/// A JSON value with its strings normalized word by word and its numbers all `0`.
fn skeleton(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", skeleton(&map[k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(skeleton).collect::<Vec<_>>().join(",")
            )
        }
        Value::String(s) => format!("\"{}\"", words(s)),
        Value::Number(_) => "0".into(),
        other => other.to_string(),
    }
}

/// Text with runs of digits as `0` and token-like words (long, with digits) as `*`.
fn words(text: &str) -> String {
    text.split_whitespace()
        .map(|w| {
            let tokenish = w.len() >= 16
                && w.chars().any(|c| c.is_ascii_digit())
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+/=._-".contains(c));
            if tokenish {
                return "*".to_string();
            }
            let mut out = String::new();
            let mut in_digits = false;
            for c in w.chars() {
                if c.is_ascii_digit() {
                    if !in_digits {
                        out.push('0');
                    }
                    in_digits = true;
                } else {
                    out.push(c);
                    in_digits = false;
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A short excerpt of an answer, for the evidence.
fn excerpt(x: &Exchange) -> String {
    let text: String = x
        .response_body
        .text()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if text.chars().count() > 120 {
        format!("{}...", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

/// The evidence when `known` (two answers for the existing account) and `unknown` (two for
/// an account that does not exist) differ beyond the noise of each side; `surface` names the
/// request (`login with a wrong password`).
pub(crate) fn judge(
    surface: &str,
    known: &[Exchange],
    unknown: &[Exchange],
    known_user: &str,
    unknown_user: &str,
) -> Option<String> {
    let [k1, k2] = known else { return None };
    let [u1, u2] = unknown else { return None };
    if [k1, k2, u1, u2].iter().any(|x| x.status.is_none()) {
        return None;
    }
    let (a, b) = (shape(k1, known_user), shape(k2, known_user));
    let (c, d) = (shape(u1, unknown_user), shape(u2, unknown_user));
    if a != b || c != d || a == c {
        return None;
    }
    let status = |x: &Exchange| x.status.map(|s| s.to_string()).unwrap_or_default();
    Some(format!(
        "the {surface} answered an existing account {} \"{}\" and an unknown one {} \"{}\", the same twice on each side",
        status(k1),
        excerpt(k1),
        status(u1),
        excerpt(u1)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Body;

    fn answer(status: u16, body: &str) -> Exchange {
        Exchange {
            method: "POST".into(),
            url: "http://x/login".into(),
            request_headers: Vec::new(),
            request_body: None,
            status: Some(status),
            response_headers: Vec::new(),
            response_body: Body::from_text(body.into()),
            error: None,
            duration_ms: 0,
        }
    }

    #[test]
    fn different_messages_are_enumeration_and_noise_or_echoes_are_not() {
        let k = |s: &str| vec![answer(401, s), answer(401, s)];
        let found = judge(
            "login",
            &k(r#"{"error":"wrong password"}"#),
            &k(r#"{"error":"no such user"}"#),
            "alice",
            "tfz-nouser-1",
        );
        assert!(found.is_some_and(|e| e.contains("no such user")));
        // The same answer, but for a request id and the name it echoes.
        let known = vec![
            answer(
                401,
                r#"{"error":"bad credentials for alice","request":4411}"#,
            ),
            answer(
                401,
                r#"{"error":"bad credentials for alice","request":4412}"#,
            ),
        ];
        let unknown = vec![
            answer(
                401,
                r#"{"error":"bad credentials for tfz-nouser-1","request":4413}"#,
            ),
            answer(
                401,
                r#"{"error":"bad credentials for tfz-nouser-1","request":4414}"#,
            ),
        ];
        assert_eq!(
            judge("login", &known, &unknown, "alice", "tfz-nouser-1"),
            None
        );
        // A side whose two answers differ is noise nothing explains: no finding.
        let noisy = vec![answer(401, "a"), answer(429, "slow down")];
        assert_eq!(judge("login", &noisy, &k("b"), "alice", "x"), None);
        // A status alone differing is enough.
        assert!(
            judge(
                "registration",
                &k("taken"),
                &[answer(201, "taken"), answer(201, "taken")],
                "a",
                "b"
            )
            .is_some()
        );
    }
}
