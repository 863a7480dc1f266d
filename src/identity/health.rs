//! Session health as data: which operation serves as an identity's positive control, and
//! whether two identities' answers to it show the same account.

use serde_json::Value;

use crate::spec::{Api, Location, Method, Security};

/// Paths that answer "who am I" in real APIs, best first.
const SELF_PATHS: &[&str] = &[
    "/me",
    "/users/me",
    "/user",
    "/account",
    "/profile",
    "/whoami",
    "/self",
    "/session",
    "/users/self",
    "/auth/me",
    "/account/me",
    "/me/profile",
    "/user/profile",
];

/// The positive control inferred from the spec: a GET without required parameters whose path
/// is a "who am I" path (`/me`, `/user`, `/account`, `/profile`, `/users/me`, ...), possibly
/// under a version or `api` prefix, and that is not documented as public.
pub fn infer_control(api: &Api) -> Option<usize> {
    infer_controls(api).first().copied()
}

/// Every operation that could serve as the positive control (see [`infer_control`]), best
/// first: an identity that may not call the first (a staff member refused a user's `/me`) tries
/// the next.
pub fn infer_controls(api: &Api) -> Vec<usize> {
    let mut ranked: Vec<(usize, usize)> = Vec::new();
    for (i, op) in api.operations.iter().enumerate() {
        if op.method != Method::Get || op.security == Security::Public {
            continue;
        }
        if op
            .parameters
            .iter()
            .any(|p| p.required && p.location != Location::Header)
        {
            continue;
        }
        let path = op.path.trim_end_matches('/').to_ascii_lowercase();
        let rank = SELF_PATHS.iter().position(|candidate| {
            path == *candidate
                || path.strip_suffix(candidate).is_some_and(|prefix| {
                    // `/api`, `/v1`, `/api/v2` in front are fine; anything else is another thing.
                    prefix.split('/').filter(|s| !s.is_empty()).all(|s| {
                        s == "api"
                            || (s.starts_with('v') && s[1..].chars().all(|c| c.is_ascii_digit()))
                    })
                })
        });
        if let Some(rank) = rank {
            ranked.push((rank, i));
        }
    }
    // Stable: among equals, the spec's order.
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().map(|(_, i)| i).collect()
}

/// The first two identities (by index) whose controls answered the same JSON body: the same
/// account behind two names. Empty or non-JSON bodies prove nothing and are skipped.
pub fn same_account(answers: &[(usize, Option<Value>)]) -> Option<(usize, usize)> {
    for (n, (a, body_a)) in answers.iter().enumerate() {
        let Some(body_a) = body_a.as_ref().filter(|b| meaningful(b)) else {
            continue;
        };
        for (b, body_b) in &answers[n + 1..] {
            if body_b.as_ref() == Some(body_a) {
                return Some((*a, *b));
            }
        }
    }
    None
}

fn meaningful(v: &Value) -> bool {
    match v {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn api(paths: &str) -> Api {
        let text = format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\nsecurity: [{{b: []}}]\npaths:\n{paths}components:\n  securitySchemes:\n    b: {{type: http, scheme: bearer}}\n"
        );
        crate::spec::load_str(&text, "t.yaml").unwrap()
    }

    #[test]
    fn the_control_is_a_parameterless_self_get() {
        let a = api(
            "  /health:\n    get:\n      security: []\n      responses: {'200': {description: ok}}\n  /users/{id}:\n    get:\n      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n      responses: {'200': {description: ok}}\n  /api/v1/users/me:\n    get:\n      responses: {'200': {description: ok}}\n  /api/v1/me:\n    get:\n      responses: {'200': {description: ok}}\n",
        );
        let op = infer_control(&a).unwrap();
        assert_eq!(a.operations[op].path, "/api/v1/me");
        let none = api("  /things:\n    get:\n      responses: {'200': {description: ok}}\n");
        assert_eq!(infer_control(&none), None);
    }

    #[test]
    fn identical_profiles_are_one_account() {
        let answers = vec![
            (0, Some(json!({"id": "u1"}))),
            (1, Some(json!({"id": "u2"}))),
            (2, Some(json!({}))),
            (3, Some(json!({}))),
            (4, Some(json!({"id": "u2"}))),
        ];
        assert_eq!(same_account(&answers), Some((1, 4)));
        assert_eq!(same_account(&answers[..4]), None);
    }
}
