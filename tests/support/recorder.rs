//! A loopback HTTP server that records every request it gets (when, method, path and query,
//! `Authorization`, bodies) and then forwards it to an upstream, redirects it elsewhere, or
//! answers a fixed status: the server-side view of what a campaign really sent.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What the recorder does with a request after recording it.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Forwards it to this base URL and returns the answer.
    Forward(String),
    /// Points away to this base URL: a POST gets 201 with a `Location` and a `Link` there, any
    /// other method a 307 there.
    Redirect(String),
    /// Answers this status with an empty JSON object.
    Status(u16),
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub authorization: Option<String>,
    pub request_body: Bytes,
    pub status: u16,
    pub response_body: Bytes,
}

impl Seen {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or("")
    }
}

#[derive(Clone)]
struct Shared {
    behaviour: Behaviour,
    log: Arc<Mutex<Vec<Seen>>>,
    client: reqwest::Client,
    /// After this many requests the server stops listening and closes its connections.
    die_after: Option<usize>,
    die: Arc<tokio::sync::Notify>,
    /// How long each request is held before it is handled (a slow server).
    delay: std::time::Duration,
    /// Requests being handled right now, and the most there ever were at once.
    in_flight: Arc<(AtomicUsize, AtomicUsize)>,
}

/// A running recorder on `127.0.0.1`.
pub struct Recorder {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Seen>>>,
    in_flight: Arc<(AtomicUsize, AtomicUsize)>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Recorder {
    pub async fn start(behaviour: Behaviour) -> Recorder {
        Recorder::start_dying(behaviour, None).await
    }

    /// A recorder that goes away (stops listening, closes its connections) after `after`
    /// requests: a target that becomes unreachable mid-run.
    pub async fn start_dying(behaviour: Behaviour, after: Option<usize>) -> Recorder {
        Recorder::start_with(behaviour, after, std::time::Duration::ZERO).await
    }

    /// A recorder that holds every request `delay` before handling it: a slow server, on
    /// which requests overlap.
    pub async fn start_slow(behaviour: Behaviour, delay: std::time::Duration) -> Recorder {
        Recorder::start_with(behaviour, None, delay).await
    }

    async fn start_with(
        behaviour: Behaviour,
        after: Option<usize>,
        delay: std::time::Duration,
    ) -> Recorder {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            behaviour,
            log: log.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            die_after: after,
            die: Arc::new(tokio::sync::Notify::new()),
            delay,
            in_flight: Arc::default(),
        };
        let in_flight = shared.in_flight.clone();
        let die = shared.die.clone();
        let app = Router::new().fallback(handle).with_state(shared);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    tokio::select! {
                        _ = rx => {}
                        _ = die.notified() => {}
                    }
                })
                .await
        });
        Recorder {
            addr,
            log,
            in_flight,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().expect("log").clone()
    }

    /// The most requests the recorder was handling at once.
    pub fn most_in_flight(&self) -> usize {
        self.in_flight.1.load(Ordering::SeqCst)
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Counts a request as in flight while it lives.
struct Counted(Arc<(AtomicUsize, AtomicUsize)>);

impl Counted {
    fn new(gauge: Arc<(AtomicUsize, AtomicUsize)>) -> Counted {
        let now = gauge.0.fetch_add(1, Ordering::SeqCst) + 1;
        gauge.1.fetch_max(now, Ordering::SeqCst);
        Counted(gauge)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let _counted = Counted::new(shared.in_flight.clone());
    if !shared.delay.is_zero() {
        tokio::time::sleep(shared.delay).await;
    }
    let at = Instant::now();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let uri = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let (status, headers, response_body) = match &shared.behaviour {
        Behaviour::Forward(upstream) => {
            let method =
                reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).expect("method");
            let mut request = shared.client.request(method, format!("{upstream}{uri}"));
            for (name, value) in &parts.headers {
                if name != header::HOST && name != header::CONTENT_LENGTH {
                    request = request.header(name.as_str(), value.as_bytes());
                }
            }
            match request.body(body.clone()).send().await {
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    let headers: Vec<(String, Vec<u8>)> = answer
                        .headers()
                        .iter()
                        .filter(|(n, _)| {
                            *n != header::CONTENT_LENGTH && *n != header::TRANSFER_ENCODING
                        })
                        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
                        .collect();
                    (status, headers, answer.bytes().await.unwrap_or_default())
                }
                Err(_) => (502, Vec::new(), Bytes::new()),
            }
        }
        Behaviour::Redirect(elsewhere) => {
            let path = uri.split('?').next().unwrap_or("");
            if parts.method == axum::http::Method::POST {
                let to = format!("{elsewhere}{path}/created-elsewhere");
                (
                    201,
                    vec![
                        ("location".to_string(), to.clone().into_bytes()),
                        (
                            "link".to_string(),
                            format!("<{elsewhere}/next>; rel=\"next\"").into_bytes(),
                        ),
                        ("content-type".into(), b"application/json".to_vec()),
                    ],
                    Bytes::from(format!("{{\"self\": \"{to}\"}}")),
                )
            } else {
                (
                    307,
                    vec![(
                        "location".to_string(),
                        format!("{elsewhere}{uri}").into_bytes(),
                    )],
                    Bytes::new(),
                )
            }
        }
        Behaviour::Status(status) => (
            *status,
            vec![("content-type".into(), b"application/json".to_vec())],
            Bytes::from_static(b"{}"),
        ),
    };
    let mut log = shared.log.lock().expect("log");
    log.push(Seen {
        at,
        method: parts.method.as_str().to_string(),
        uri,
        authorization: parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        request_body: body,
        status,
        response_body: response_body.clone(),
    });
    if shared.die_after == Some(log.len()) {
        shared.die.notify_one();
    }
    drop(log);
    let mut response = Response::new(Body::from(response_body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            response.headers_mut().append(n, v);
        }
    }
    response
}
