//! What an identity sends with every request, and how it goes on the wire.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::secret::Secret;

/// Credentials sent with every request of an identity. Every value is a [`Secret`].
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Headers (`Authorization: Bearer ...`, `X-Api-Key: ...`).
    pub headers: Vec<(String, Secret)>,
    /// Query parameters appended to every URL (`api_key=...`).
    pub query: Vec<(String, Secret)>,
    /// Cookies, sent together in one `Cookie` header.
    pub cookies: Vec<(String, Secret)>,
    /// HTTP basic: user and password, sent as `Authorization: Basic ...`.
    pub basic: Option<(Secret, Secret)>,
    /// A header carrying a CSRF token, sent on writes only (every method but GET, HEAD, OPTIONS).
    pub csrf: Option<(String, Secret)>,
}

impl Credentials {
    /// Whether nothing at all is sent.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
            && self.query.is_empty()
            && self.cookies.is_empty()
            && self.basic.is_none()
            && self.csrf.is_none()
    }

    /// `self` with `other`'s values added; a header, parameter or cookie of the same name is
    /// replaced by `other`'s (what a login produced wins over what was configured).
    pub fn merged(&self, other: &Credentials) -> Credentials {
        fn merge(
            a: &[(String, Secret)],
            b: &[(String, Secret)],
            fold: bool,
        ) -> Vec<(String, Secret)> {
            let same = |x: &str, y: &str| {
                if fold {
                    x.eq_ignore_ascii_case(y)
                } else {
                    x == y
                }
            };
            let mut out: Vec<(String, Secret)> = a
                .iter()
                .filter(|(k, _)| !b.iter().any(|(n, _)| same(k, n)))
                .cloned()
                .collect();
            out.extend(b.iter().cloned());
            out
        }
        Credentials {
            headers: merge(&self.headers, &other.headers, true),
            query: merge(&self.query, &other.query, false),
            cookies: merge(&self.cookies, &other.cookies, false),
            basic: other.basic.clone().or_else(|| self.basic.clone()),
            csrf: other.csrf.clone().or_else(|| self.csrf.clone()),
        }
    }

    /// The headers that carry these credentials: the configured ones, `Authorization` for HTTP
    /// basic, one `Cookie` header, and the CSRF header on writes. Values stay secret.
    pub fn wire_headers(&self, write: bool) -> Vec<(String, Secret)> {
        let mut out = self.headers.clone();
        if let Some((user, password)) = &self.basic {
            let pair = format!("{}:{}", user.expose(), password.expose());
            out.push((
                "Authorization".into(),
                Secret::new(format!("Basic {}", STANDARD.encode(pair))),
            ));
        }
        if !self.cookies.is_empty() {
            let text = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={}", v.expose()))
                .collect::<Vec<_>>()
                .join("; ");
            out.push(("Cookie".into(), Secret::new(text)));
        }
        if write {
            if let Some((name, value)) = &self.csrf {
                out.push((name.clone(), value.clone()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_sent_as_rfc_7617_says() {
        let c = Credentials {
            basic: Some((Secret::new("Aladdin"), Secret::new("open sesame"))),
            ..Credentials::default()
        };
        let headers = c.wire_headers(false);
        let (name, value) = &headers[0];
        assert_eq!(name, "Authorization");
        assert_eq!(value.expose(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn every_kind_goes_into_headers_and_csrf_only_on_writes() {
        let c = Credentials {
            headers: vec![("X-Api-Key".into(), Secret::new("k1"))],
            query: vec![("api_key".into(), Secret::new("k2"))],
            cookies: vec![
                ("a".into(), Secret::new("1")),
                ("b".into(), Secret::new("2")),
            ],
            basic: Some((Secret::new("Aladdin"), Secret::new("open sesame"))),
            csrf: Some(("X-CSRF-Token".into(), Secret::new("c"))),
        };
        let read = c.wire_headers(false);
        let text: Vec<(String, String)> = read
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_string()))
            .collect();
        assert_eq!(
            text,
            [
                ("X-Api-Key".to_string(), "k1".to_string()),
                (
                    "Authorization".to_string(),
                    "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".to_string()
                ),
                ("Cookie".to_string(), "a=1; b=2".to_string()),
            ]
        );
        assert_eq!(c.wire_headers(true).len(), 4);
        assert!(!format!("{c:?}").contains("k1"));
    }

    #[test]
    fn what_a_login_produced_replaces_what_was_configured() {
        let configured = Credentials {
            headers: vec![
                ("authorization".into(), Secret::new("old")),
                ("X-Tenant".into(), Secret::new("acme")),
            ],
            ..Credentials::default()
        };
        let produced = Credentials {
            headers: vec![("Authorization".into(), Secret::new("new"))],
            ..Credentials::default()
        };
        let merged = configured.merged(&produced);
        assert_eq!(merged.headers.len(), 2);
        assert_eq!(merged.headers[1].1.expose(), "new");
    }
}
