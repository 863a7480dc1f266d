//! Webhook signatures: HMAC over the configured template (`{timestamp}.{body}`), written as the
//! receiver expects it (prefix, hex or base64). The secret never leaves this function.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha512};

use crate::config::{DigestEncoding, HmacAlgorithm, WebhookSettings};

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
        DigestEncoding::Base64 => base64(&digest),
    };
    format!("{}{text}", w.prefix)
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
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
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        let w = settings(DigestEncoding::Base64);
        assert!(signature(&w, "k", 1, "b").ends_with('='));
    }
}
