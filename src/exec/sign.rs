//! Webhook signatures: HMAC over the configured template (`{timestamp}.{body}`), written as the
//! receiver expects it (prefix, hex or base64). The secret never leaves this function.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha512};

use serde_json::Value;

use crate::config::{DigestEncoding, HmacAlgorithm, WebhookSettings};
use crate::exchange::Execution;
use crate::scenario::{Step, StepRole};

/// The signature header value for `body` signed at `timestamp` with `secret`.
pub(crate) fn signature(w: &WebhookSettings, secret: &str, timestamp: u64, body: &str) -> String {
    let signed = w
        .signed
        .replace("{timestamp}", &timestamp.to_string())
        .replace("{body}", body);
    let digest = match w.algorithm {
        HmacAlgorithm::Sha256 => {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            mac.update(signed.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        HmacAlgorithm::Sha512 => {
            let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(secret.as_bytes())
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            mac.update(signed.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    let text = match w.encoding {
        DigestEncoding::Hex => hex::encode(digest),
        DigestEncoding::Base64 => STANDARD.encode(digest),
    };
    format!("{}{text}", w.prefix)
}

/// Signs a webhook event as the step asks: correctly (a control), not at all, with a wrong
/// secret, with a stale timestamp, or as a byte-for-byte copy of the signed control.
pub(super) fn sign_event(
    w: &crate::config::WebhookSettings,
    step: &Step,
    so_far: &Execution,
    body: &mut Option<Value>,
    headers: &mut Vec<(String, String)>,
) -> Result<(), String> {
    use crate::scenario::{Check, Forgery};
    let forgery = match &step.role {
        StepRole::Attack {
            check: Check::Webhook {
                forgery, control, ..
            },
            ..
        } => Some((*forgery, *control)),
        _ => None,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // The spec may declare the signing headers as parameters, which the request was filled
    // with: they are the executor's to set (or, unsigned, to leave out).
    headers.retain(|(k, _)| {
        !k.eq_ignore_ascii_case(&w.signature_header)
            && !w
                .timestamp_header
                .as_deref()
                .is_some_and(|t| k.eq_ignore_ascii_case(t))
    });
    let (secret, timestamp) = match forgery {
        Some((Forgery::Unsigned, _)) => return Ok(()),
        Some((Forgery::Replay, control)) => {
            let sent = so_far
                .steps
                .get(control)
                .and_then(|r| r.exchange.as_ref())
                .ok_or_else(|| format!("step {} sent no event to replay", control + 1))?;
            *body = sent.request_body.clone();
            for (k, v) in &sent.request_headers {
                let signing = k.eq_ignore_ascii_case(&w.signature_header)
                    || w.timestamp_header
                        .as_deref()
                        .is_some_and(|t| k.eq_ignore_ascii_case(t));
                if signing {
                    headers.push((k.clone(), v.clone()));
                }
            }
            return Ok(());
        }
        Some((Forgery::WrongSecret, _)) => ("tfz-not-the-webhook-secret", now),
        Some((Forgery::Stale, _)) => (
            w.secret.expose(),
            now.saturating_sub(w.tolerance.as_secs() + 3600),
        ),
        None => (w.secret.expose(), now),
    };
    let text = body
        .as_ref()
        .map(|b| serde_json::to_string(b).unwrap_or_default())
        .unwrap_or_default();
    if let Some(t) = &w.timestamp_header {
        headers.push((t.clone(), timestamp.to_string()));
    }
    headers.push((
        w.signature_header.clone(),
        signature(w, secret, timestamp, &text),
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use serde_json::json;
    use std::time::Duration;

    fn settings(encoding: DigestEncoding) -> WebhookSettings {
        WebhookSettings {
            operation: "hook".into(),
            secret: Secret::new("s3cret"),
            signature_header: "X-Sig".into(),
            algorithm: HmacAlgorithm::Sha256,
            encoding,
            prefix: "sha256=".into(),
            timestamp_header: Some("X-Ts".into()),
            signed: "{timestamp}.{body}".into(),
            tolerance: Duration::from_secs(300),
        }
    }

    #[test]
    fn signs_like_the_demo_receiver_verifies() {
        let w = settings(DigestEncoding::Hex);
        let body = r#"{"id":"e1"}"#;
        #[cfg(feature = "demo")]
        assert_eq!(
            signature(&w, "s3cret", 1_700_000_000, body),
            crate::demo::webhook_signature("s3cret", "1700000000", body.as_bytes())
        );
        assert!(signature(&w, "s3cret", 1, body).starts_with("sha256="));
        assert_ne!(
            signature(&w, "s3cret", 1, body),
            signature(&w, "other", 1, body)
        );
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let w = settings(DigestEncoding::Base64);
        assert!(signature(&w, "k", 1, "b").ends_with('='));
    }

    #[test]
    fn unsigned_events_carry_no_signing_header_even_when_the_spec_requires_one() {
        use crate::scenario::{Check, Effect, Forgery};
        let w = crate::config::WebhookSettings {
            operation: "hook".into(),
            secret: Secret::new("s3cret"),
            signature_header: "X-Sig".into(),
            algorithm: crate::config::HmacAlgorithm::Sha256,
            encoding: crate::config::DigestEncoding::Hex,
            prefix: String::new(),
            timestamp_header: Some("X-Ts".into()),
            signed: "{timestamp}.{body}".into(),
            tolerance: Duration::from_secs(300),
        };
        let step = |forgery| Step {
            actor: 1,
            op: 0,
            role: StepRole::Attack {
                victim: 0,
                effect: Effect::Action,
                vector: crate::finding::Vector::Header,
                target_resource: None,
                target_step: None,
                check: Check::Webhook {
                    forgery,
                    control: 0,
                    state: Vec::new(),
                },
            },
            args: Default::default(),
        };
        let filled = || {
            vec![
                ("x-sig".to_string(), "tf-x".to_string()),
                ("X-Ts".to_string(), "1".to_string()),
                ("Accept".to_string(), "*/*".to_string()),
            ]
        };
        let mut body = Some(json!({"id": "e1"}));
        let mut headers = filled();
        sign_event(
            &w,
            &step(Forgery::Unsigned),
            &Execution::default(),
            &mut body,
            &mut headers,
        )
        .expect("signed");
        assert_eq!(headers, vec![("Accept".to_string(), "*/*".to_string())]);
        let mut headers = filled();
        sign_event(
            &w,
            &step(Forgery::Stale),
            &Execution::default(),
            &mut body,
            &mut headers,
        )
        .expect("signed");
        let sig: Vec<_> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("x-sig"))
            .collect();
        assert_eq!(sig.len(), 1);
        assert_ne!(sig[0].1, "tf-x");
    }
}
