//! The one place reporters decide what must not be written: header values that carry
//! credentials. The executor already records credential headers as `***`; this catches the
//! headers a server sends back (a `Set-Cookie`, a fresh token) and any credential-like header a
//! format copies verbatim (HAR).

/// What a redacted value is written as.
pub const REDACTED: &str = "***";

/// Whether a header's value is a credential, by its name (the list lives with the exchanges).
pub use crate::exchange::is_sensitive_header;

/// A header value as a report may write it.
pub fn header_value<'a>(name: &str, value: &'a str) -> &'a str {
    if is_sensitive_header(name) {
        REDACTED
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_are_redacted_and_others_kept() {
        for name in [
            "Authorization",
            "Cookie",
            "Set-Cookie",
            "X-Api-Key",
            "X-Session-Id",
            "X-Hub-Signature-256",
        ] {
            assert_eq!(header_value(name, "s3cr3t"), REDACTED, "{name}");
        }
        for name in ["Content-Type", "Location", "X-Request-Id"] {
            assert_eq!(header_value(name, "v"), "v", "{name}");
        }
    }
}
