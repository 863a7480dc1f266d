//! Forged bearer tokens on the wire: the step's forgery made from the caller's current token
//! (and the victim's, for its subject), sent in place of the caller's own. The forged token is
//! a credential like any other: the recording shows `***`, and only its recipe is reported.

use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::Value;

use super::session::Wire;
use super::target::Target;
use crate::exchange::Exchange;
use crate::identity::jwt::{Jwt, Sign};
use crate::scenario::TokenForgery;
use crate::secret::Secret;
use crate::spec::Method;

/// The token `forgery` makes of `own` (the caller's) with `victim`'s subject; why not, when it
/// does not apply (not a JWT, no weak key, no other subject).
pub(crate) fn forge(
    forgery: TokenForgery,
    own: &str,
    victim: Option<&str>,
    now: u64,
) -> Result<String, String> {
    let opaque = || "the token is not a JWT".to_string();
    let theirs = || -> Result<Jwt, String> {
        victim
            .and_then(Jwt::parse)
            .ok_or_else(|| "the victim's token is not a JWT".to_string())
    };
    match forgery {
        TokenForgery::Truncated | TokenForgery::Altered => {
            if Jwt::parse(own).is_some() || own.chars().count() < 8 {
                return Err("the token is a JWT or too short to tamper with".into());
            }
            let chars: Vec<char> = own.chars().collect();
            if forgery == TokenForgery::Truncated {
                return Ok(chars[..chars.len() - 4].iter().collect());
            }
            // The middle character, changed within its class.
            let mut chars = chars;
            let at = chars.len() / 2;
            chars[at] = match chars[at] {
                '0'..='8' => ((chars[at] as u8) + 1) as char,
                '9' => '0',
                'a'..='y' | 'A'..='Y' => ((chars[at] as u8) + 1) as char,
                'z' => 'a',
                'Z' => 'A',
                _ => 'x',
            };
            Ok(chars.into_iter().collect())
        }
        TokenForgery::Stripped => {
            let me = Jwt::parse(own).ok_or_else(opaque)?;
            me.encode(&me.header, &me.claims, Sign::Empty)
                .ok_or_else(opaque)
        }
        TokenForgery::AlgNone { spelling } => {
            let me = Jwt::parse(own).ok_or_else(opaque)?;
            let claims = me
                .claims_of(&theirs()?)
                .ok_or("the victim's token names no other subject")?;
            let mut header = me.header.clone();
            header.insert("alg".into(), Value::String(spelling.text().into()));
            me.encode(&header, &claims, Sign::Empty).ok_or_else(opaque)
        }
        TokenForgery::Unverified => {
            let me = Jwt::parse(own).ok_or_else(opaque)?;
            let claims = me
                .claims_of(&theirs()?)
                .ok_or("the victim's token names no other subject")?;
            me.encode(&me.header, &claims, Sign::Kept)
                .ok_or_else(opaque)
        }
        TokenForgery::WeakKey { entry }
        | TokenForgery::WeakKeyRole { entry }
        | TokenForgery::Expired { entry } => {
            let me = Jwt::parse(own).ok_or_else(opaque)?;
            if !me.signed_by(entry) {
                return Err("the token is not signed by the weak key".into());
            }
            let claims = match forgery {
                TokenForgery::WeakKey { .. } => me
                    .claims_of(&theirs()?)
                    .ok_or("the victim's token names no other subject")?,
                TokenForgery::WeakKeyRole { .. } => me.raised_claims(),
                _ => me.expired_claims(now),
            };
            me.encode(&me.header, &claims, Sign::Key(entry))
                .ok_or_else(opaque)
        }
    }
}

impl Target {
    /// The bearer token identity `identity` sends now (its `Authorization: Bearer` header).
    pub(crate) fn bearer_token(&self, identity: usize) -> Option<Secret> {
        let (wire, _) = self.sessions.get(identity)?.current();
        wire.write
            .iter()
            .filter(|(n, _)| *n == AUTHORIZATION)
            .find_map(|(_, v)| {
                let text = v.to_str().ok()?;
                let (scheme, token) = text.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| Secret::new(token.trim()))
            })
    }

    /// Sends as `identity` with its bearer token forged as `forgery` says (the victim's token
    /// giving the subject); why not, when the forgery does not apply. No renewal: a 401 is the
    /// answer.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn send_forged(
        &self,
        identity: usize,
        victim: usize,
        forgery: TokenForgery,
        method: Method,
        url: &str,
        headers: &[(String, String)],
        body: Option<&Value>,
        form: bool,
    ) -> Result<Exchange, String> {
        let own = self
            .bearer_token(identity)
            .ok_or("the identity sends no bearer token")?;
        let theirs = self.bearer_token(victim);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let forged = forge(
            forgery,
            own.expose(),
            theirs.as_ref().map(Secret::expose),
            now,
        )?;
        let mut value = HeaderValue::from_str(&format!("Bearer {forged}"))
            .map_err(|_| "the forged token is not valid in HTTP".to_string())?;
        value.set_sensitive(true);
        let (wire, _) = self
            .sessions
            .get(identity)
            .ok_or("the identity has no session")?
            .current();
        let swap = |list: &[(reqwest::header::HeaderName, HeaderValue)]| {
            list.iter()
                .map(|(n, v)| {
                    if *n == AUTHORIZATION {
                        (n.clone(), value.clone())
                    } else {
                        (n.clone(), v.clone())
                    }
                })
                .collect()
        };
        let forged_wire = Wire {
            read: swap(&wire.read),
            write: swap(&wire.write),
            query: wire.query.clone(),
        };
        Ok(self
            .send_with(identity, &forged_wire, method, url, headers, body, form)
            .await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::jwt::test_token;
    use crate::scenario::NoneSpelling;
    use serde_json::json;

    #[test]
    fn each_forgery_applies_only_where_it_can() {
        let alice = test_token("secret", json!({"sub": "alice", "role": "user"}));
        let bob = test_token("secret", json!({"sub": "bob"}));
        let none = forge(
            TokenForgery::AlgNone {
                spelling: NoneSpelling::Upper,
            },
            &alice,
            Some(&bob),
            0,
        )
        .expect("forged");
        let t = Jwt::parse(&none).expect("a jwt");
        assert_eq!(t.alg(), "NONE");
        assert_eq!(t.claims["sub"], "bob");
        assert!(none.ends_with('.'));
        let entry = Jwt::parse(&alice).and_then(|t| t.crack()).expect("weak");
        let resigned = forge(TokenForgery::WeakKey { entry }, &alice, Some(&bob), 0).expect("ok");
        assert!(Jwt::parse(&resigned).is_some_and(|t| t.signed_by(entry)));
        let strong = test_token("a-long-random-key-nobody-guesses", json!({"sub": "alice"}));
        assert!(forge(TokenForgery::WeakKey { entry }, &strong, Some(&bob), 0).is_err());
        assert!(forge(TokenForgery::Truncated, &alice, None, 0).is_err());
        assert_eq!(
            forge(TokenForgery::Truncated, "opaque-token-1234", None, 0).as_deref(),
            Ok("opaque-token-")
        );
        let altered = forge(TokenForgery::Altered, "opaque-token-1234", None, 0).expect("ok");
        assert_ne!(altered, "opaque-token-1234");
        assert_eq!(altered.len(), "opaque-token-1234".len());
        assert!(forge(TokenForgery::Stripped, "opaque-token-1234", None, 0).is_err());
        assert!(
            forge(TokenForgery::Unverified, &alice, Some("opaque"), 0).is_err(),
            "another subject needs the victim's claims"
        );
    }
}
