//! The shared HTTP client.

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
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .pool_max_idle_per_host(64)
        .user_agent(concat!("tenantfuzz/", env!("CARGO_PKG_VERSION")))
        .build()
}
