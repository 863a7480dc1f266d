//! The shared HTTP client.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Builds the HTTP client every part of tenantfuzz sends with: rustls with the ring provider,
/// connection reuse, no automatic redirects (a redirect is an answer to judge, not to follow), and
/// a per-request timeout.
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    client_with_timeout(Duration::from_secs(30))
}

/// The same client with another per-request timeout.
pub(crate) fn client_with_timeout(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    // Installing twice is harmless: the second call reports the provider already set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .pool_max_idle_per_host(64)
        .user_agent(concat!("tenantfuzz/", env!("CARGO_PKG_VERSION")));
    match tls_config() {
        Some(tls) => builder.use_preconfigured_tls(tls),
        // reqwest builds its own, and says what failed.
        None => builder,
    }
    .build()
}

/// The TLS configuration every client shares: what reqwest would build (the platform's roots
/// and verifier, TLS 1.2 and 1.3, ALPN h2 then http/1.1), built once per process. Loading the
/// platform's roots costs about as many instructions as judging a thousand answers; a process
/// that runs several campaigns (a test suite) paid it for each.
fn tls_config() -> Option<rustls::ClientConfig> {
    static CONFIG: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).ok()?;
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .ok()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Some(config)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_tls_config_offers_h2_then_http1_with_sni() {
        let config = tls_config().expect("the platform verifier builds");
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(config.enable_sni);
        assert!(http_client().is_ok());
    }
}
