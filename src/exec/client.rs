//! The HTTP clients: reqwest's, which logins, the webhook control and proxied runs send with,
//! and [`Direct`], hyper's client without reqwest's layers, which the campaign's requests go
//! through. Both share one TLS configuration.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Builds the reqwest client: rustls with the ring provider, connection reuse, no automatic
/// redirects (a redirect is an answer to judge, not to follow), and a per-request timeout.
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
        .user_agent(USER_AGENT);
    match tls_config() {
        Some(tls) => builder.use_preconfigured_tls(tls),
        // reqwest builds its own, and says what failed.
        None => builder,
    }
    .build()
}

/// The connector of [`Direct`]: TCP with rustls on top for `https`.
type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// What a request sent through [`Direct`] gives back: the status and headers, and the body (up
/// to the cap) or why reading it failed.
pub(crate) type Answer = (u16, http::HeaderMap, Result<Vec<u8>, String>);

/// The client the campaign's own requests go through: hyper's pooled client over the same
/// rustls configuration, set up the way reqwest sets up the one under it (TCP_NODELAY, the
/// same keep-alive and pool), without reqwest's layers on top. Those layers parse every URL
/// twice more into `url::Url` for a redirect policy (none here) and the response's URL, look for
/// a proxy, and copy the request for a retry policy: about 29 k instructions per request, as
/// much as judging it. Login flows, the webhook control and every other request still go
/// through reqwest; so does everything when the environment configures a proxy for the target
/// (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, read as reqwest reads them), which
/// this client does not speak.
#[derive(Clone)]
pub(crate) struct Direct {
    client: hyper_util::client::legacy::Client<Connector, http_body_util::Full<bytes::Bytes>>,
    timeout: Duration,
}

impl Direct {
    /// A client whose requests (answer and body) each take at most `timeout`; `None` when the
    /// TLS configuration cannot be built (reqwest then says why).
    pub(crate) fn new(timeout: Duration) -> Option<Direct> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut tls = tls_config()?;
        // The connector offers h2 then http/1.1 itself, and insists on setting it.
        tls.alpn_protocols.clear();
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_keepalive(Some(Duration::from_secs(15)));
        http.set_keepalive_interval(Some(Duration::from_secs(15)));
        http.set_keepalive_retries(Some(3));
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        http.set_tcp_user_timeout(Some(Duration::from_secs(30)));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .timer(hyper_util::rt::TokioTimer::new())
                .pool_timer(hyper_util::rt::TokioTimer::new())
                .pool_idle_timeout(Duration::from_secs(90))
                .pool_max_idle_per_host(64)
                .build(connector);
        Some(Direct { client, timeout })
    }

    /// Sends one request and reads its answer, the body up to `max_body` bytes. `Err` is a
    /// transport error in words (no URL in it: the URL may carry a query credential).
    /// `accept: */*` and the user agent go with every request unless `headers` set them, as
    /// reqwest does.
    pub(crate) async fn send(
        &self,
        method: http::Method,
        url: &str,
        mut headers: http::HeaderMap,
        body: Vec<u8>,
        max_body: usize,
    ) -> Result<Answer, String> {
        use http_body_util::BodyExt;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let uri: http::Uri = url
            .parse()
            .map_err(|_| "the URL is not a valid HTTP URI".to_string())?;
        headers
            .entry(http::header::ACCEPT)
            .or_insert(http::HeaderValue::from_static("*/*"));
        headers
            .entry(http::header::USER_AGENT)
            .or_insert(http::HeaderValue::from_static(USER_AGENT));
        let mut request = http::Request::new(http_body_util::Full::new(bytes::Bytes::from(body)));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let response = match tokio::time::timeout_at(deadline, self.client.request(request)).await {
            Err(_) => return Err("timed out".into()),
            Ok(Err(e)) if e.is_connect() => {
                return Err(format!("connection failed: {}", root_cause(&e)));
            }
            Ok(Err(e)) => return Err(chain(&e)),
            Ok(Ok(response)) => response,
        };
        let (parts, mut incoming) = response.into_parts();
        let read = async {
            let mut out = Vec::new();
            while let Some(frame) = incoming.frame().await {
                let frame = frame.map_err(|e| chain(&e))?;
                let Ok(chunk) = frame.into_data() else {
                    continue;
                };
                let room = max_body.saturating_sub(out.len());
                out.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if room <= chunk.len() {
                    break;
                }
            }
            Ok(out)
        };
        let body = match tokio::time::timeout_at(deadline, read).await {
            Err(_) => Err("timed out".to_string()),
            Ok(read) => read,
        };
        Ok((parts.status.as_u16(), parts.headers, body))
    }
}

/// The innermost source of an error, in words: what went wrong at the bottom (`Connection
/// refused`, `invalid peer certificate: UnknownIssuer`).
pub(crate) fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// An error and its sources, in words.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Whether the environment sends requests to `origin` through a proxy, as reqwest reads it
/// (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, and `NO_PROXY`'s exceptions).
pub(crate) fn proxied(origin: &str) -> bool {
    static MATCHER: OnceLock<hyper_util::client::proxy::matcher::Matcher> = OnceLock::new();
    proxied_by(
        MATCHER.get_or_init(hyper_util::client::proxy::matcher::Matcher::from_system),
        origin,
    )
}

pub(crate) fn proxied_by(
    matcher: &hyper_util::client::proxy::matcher::Matcher,
    origin: &str,
) -> bool {
    origin
        .parse::<http::Uri>()
        .is_ok_and(|uri| matcher.intercept(&uri).is_some())
}

const USER_AGENT: &str = concat!("tenantfuzz/", env!("CARGO_PKG_VERSION"));

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
