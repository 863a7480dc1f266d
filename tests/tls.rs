//! TLS as the campaign sends it: a server whose certificate chains to a trusted root answers
//! (over HTTP/1.1, and over HTTP/2 when it offers that); one
//! whose certificate does not (self-signed, unknown issuer) is refused before any request goes
//! out, so no credential reaches it. The only trusted root is the test CA in
//! `tests/fixtures/tls`, given through `SSL_CERT_FILE` (which the platform verifier reads on
//! Linux, once per process): the test runs this file's checks again in a process of their own
//! with the variable set.

#![cfg(target_os = "linux")]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tenantfuzz::config::Secret;
use tenantfuzz::exec::Target;
use tenantfuzz::spec::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A TLS server on 127.0.0.1 with the given certificate, offering the `alpn` protocols; each
/// connection, once the handshake is done, goes to `serve`. Its address.
async fn tls_server<F, Fut>(cert: &str, key: &str, alpn: &[&[u8]], serve: F) -> SocketAddr
where
    F: Fn(TlsStream<TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixture(cert))
        .expect("certificate file")
        .collect::<Result<_, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(fixture(key)).expect("key");
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, serve) = (acceptor.clone(), serve.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(socket).await {
                    serve(tls).await;
                }
            });
        }
    });
    addr
}

/// An HTTPS server with the given certificate, speaking HTTP/1.1: every request gets 200 and a
/// JSON body naming whether it carried the credential.
async fn https_server(cert: &str, key: &str) -> SocketAddr {
    tls_server(cert, key, &[], |mut tls| async move {
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let body = format!(
            "{{\"credential\": {}}}",
            text.contains("authorization: bearer s3cret")
        );
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = tls.write_all(answer.as_bytes()).await;
        let _ = tls.shutdown().await;
    })
    .await
}

/// An HTTPS server that offers only HTTP/2 (ALPN `h2`) and serves it with hyper: every request
/// gets 200 and a body naming the HTTP version it came in and whether it carried the credential.
async fn h2_server() -> SocketAddr {
    tls_server("server.pem", "server.key", &[b"h2"], |tls| async move {
        let service = hyper::service::service_fn(
            |request: hyper::Request<hyper::body::Incoming>| async move {
                let credential = request
                    .headers()
                    .get("authorization")
                    .is_some_and(|v| v.as_bytes() == b"Bearer s3cret");
                let body = format!(
                    "{{\"version\": \"{:?}\", \"credential\": {credential}}}",
                    request.version()
                );
                Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(
                    bytes::Bytes::from(body),
                )))
            },
        );
        let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
            .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
            .await;
    })
    .await
}

async fn get(base: &str) -> tenantfuzz::exchange::Exchange {
    let identities = [(
        "alice".to_string(),
        vec![("Authorization".to_string(), Secret::new("Bearer s3cret"))],
    )];
    let target = Target::new(base, &identities, Duration::from_secs(5)).expect("target");
    target
        .send(0, Method::Get, &format!("{base}/me"), &[], None, false)
        .await
}

/// Runs [`checks_with_the_test_ca_as_the_only_root`] in a process of its own whose
/// `SSL_CERT_FILE` is the test CA, and asserts it ran and passed.
#[test]
fn https_is_verified_against_the_trusted_roots() {
    let out = std::process::Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "checks_with_the_test_ca_as_the_only_root",
            "--nocapture",
        ])
        .env("SSL_CERT_FILE", fixture("ca.pem"))
        .output()
        .expect("the checks run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("TLS checks done"), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}

/// The checks; they do nothing unless `SSL_CERT_FILE` is the test CA (the test above sets it).
#[tokio::test]
async fn checks_with_the_test_ca_as_the_only_root() {
    if std::env::var_os("SSL_CERT_FILE") != Some(fixture("ca.pem").into_os_string()) {
        println!(
            "not run: SSL_CERT_FILE is not the test CA (see https_is_verified_against_the_trusted_roots)"
        );
        return;
    }
    let trusted = https_server("server.pem", "server.key").await;
    for host in ["127.0.0.1", "localhost"] {
        let e = get(&format!("https://{host}:{}", trusted.port())).await;
        assert_eq!(e.status, Some(200), "{host}: {e:?}");
        assert_eq!(e.response_body.text(), "{\"credential\": true}", "{host}");
    }

    // A server that speaks HTTP/2 gets it (ALPN), and answers.
    let h2 = h2_server().await;
    let e = get(&format!("https://localhost:{}", h2.port())).await;
    assert_eq!(e.status, Some(200), "{e:?}");
    assert_eq!(
        e.response_body.text(),
        "{\"version\": \"HTTP/2.0\", \"credential\": true}"
    );

    let rogue = https_server("rogue.pem", "rogue.key").await;
    let e = get(&format!("https://127.0.0.1:{}", rogue.port())).await;
    assert_eq!(
        e.status, None,
        "an untrusted certificate is not talked to: {e:?}"
    );
    let error = e.error.unwrap_or_default();
    assert!(error.starts_with("connection failed: "), "{error}");
    assert!(error.contains("certificate"), "the reason is kept: {error}");
    assert!(!error.contains("s3cret"), "{error}");
    println!("TLS checks done");
}
