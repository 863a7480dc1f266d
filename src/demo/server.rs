//! The demo's router and the in-process server handle.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::config::DemoConfig;
use super::http::{ApiError, AppState};
use super::routes::{account, billing, documents, files, workspaces};
use super::store::Store;

/// Every route of the demo API (the same in both modes).
fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(billing::health))
        .route("/public/pricing", get(billing::pricing))
        .route(
            "/public/documents/{documentId}",
            get(documents::public_document),
        )
        .route("/auth/login", post(account::login))
        .route("/auth/register", post(account::register))
        .route("/auth/session", post(account::create_session))
        .route("/auth/api-keys", post(account::create_api_key))
        .route("/me", get(account::get_me).patch(account::patch_me))
        .route("/workspaces", get(workspaces::list_workspaces))
        .route("/workspaces/{workspaceId}", get(workspaces::get_workspace))
        .route(
            "/workspaces/{workspaceId}/members",
            get(workspaces::list_members),
        )
        .route(
            "/workspaces/{workspaceId}/projects",
            get(workspaces::list_projects).post(workspaces::create_project),
        )
        .route(
            "/workspaces/{workspaceId}/projects/{projectId}",
            get(workspaces::get_project)
                .patch(workspaces::patch_project)
                .delete(workspaces::delete_project),
        )
        .route(
            "/workspaces/{workspaceId}/attachments",
            get(files::list_attachments),
        )
        .route(
            "/projects/{projectId}/documents",
            get(documents::list_documents).post(documents::create_document),
        )
        .route(
            "/projects/{projectId}/automations",
            get(workspaces::list_automations).post(workspaces::create_automation),
        )
        .route(
            "/documents/{documentId}",
            get(documents::get_document)
                .put(documents::put_document)
                .delete(documents::delete_document),
        )
        .route(
            "/documents/{documentId}/comments",
            get(documents::list_comments).post(documents::create_comment),
        )
        .route("/comments/{commentId}", delete(documents::delete_comment))
        .route(
            "/attachments",
            get(files::get_attachment)
                .post(files::create_attachment)
                .delete(files::delete_attachment),
        )
        .route("/reports", post(documents::create_report))
        .route("/search", get(documents::search))
        .route("/exports", post(documents::create_export))
        .route("/exports/{exportId}", get(documents::get_export))
        .route("/billing/invoices", get(billing::list_invoices))
        .route("/billing/invoices/{invoiceId}", get(billing::get_invoice))
        .route("/admin/workspaces", get(account::admin_workspaces))
        .route("/admin/users/{userId}", delete(account::admin_delete_user))
        .route("/webhooks/billing", post(billing::billing_webhook))
        .route("/openapi.yaml", get(spec))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn spec() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/yaml")],
        super::SPEC_YAML,
    )
}

/// Misbehaves on a share of requests, the way real servers do under load.
async fn inject_fault(
    rate: f64,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let roll = (uuid::Uuid::new_v4().as_u128() % 10_000) as f64 / 10_000.0;
    if roll >= rate || req.uri().path().starts_with("/auth/") {
        return next.run(req).await;
    }
    let retry_now = [(header::RETRY_AFTER, "0")];
    match (uuid::Uuid::new_v4().as_u128() % 5) as u8 {
        0 => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "injected fault",
        )
        .into_response(),
        1 => (
            retry_now,
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "injected fault",
            ),
        )
            .into_response(),
        2 => (
            retry_now,
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "injected fault",
            ),
        )
            .into_response(),
        3 => {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            next.run(req).await
        }
        // The handler runs (its effect happens), but the answer is cut short.
        _ => cut_in_half(next.run(req).await).await,
    }
}

/// The response with the second half of its body gone.
async fn cut_in_half(response: axum::response::Response) -> axum::response::Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    let cut = bytes.slice(..bytes.len() / 2);
    axum::response::Response::from_parts(parts, axum::body::Body::from(cut))
}

/// Cuts in half the answers to the first requests without credentials under `prefix`, while
/// `left` lasts.
async fn cut_unauthenticated(
    prefix: Arc<str>,
    left: Arc<std::sync::atomic::AtomicU32>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use std::sync::atomic::Ordering;
    let hit = !req.headers().contains_key(header::AUTHORIZATION)
        && req.uri().path().starts_with(&*prefix)
        && left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    let response = next.run(req).await;
    if hit {
        cut_in_half(response).await
    } else {
        response
    }
}

async fn not_found() -> impl IntoResponse {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> impl IntoResponse {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}

/// A running demo API. Dropping it without [`DemoServer::shutdown`] aborts the server task.
pub struct DemoServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl DemoServer {
    /// Starts the demo on `127.0.0.1` with a port chosen by the system.
    pub async fn start(config: DemoConfig) -> std::io::Result<DemoServer> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts the demo on `addr` (use a loopback address).
    pub async fn start_on(addr: SocketAddr, config: DemoConfig) -> std::io::Result<DemoServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = AppState {
            store: Arc::new(Mutex::new(Store::seeded())),
            config: Arc::new(config),
        };
        let (tx, rx) = oneshot::channel::<()>();
        let fault_rate = state.config.fault_rate;
        let latency = state.config.latency;
        let cut = state.config.cut_unauthenticated.clone();
        let mut app = router(state);
        if !latency.is_zero() {
            app = app.layer(axum::middleware::from_fn(
                move |req, next: axum::middleware::Next| async move {
                    tokio::time::sleep(latency).await;
                    next.run(req).await
                },
            ));
        }
        if let Some((prefix, n)) = cut {
            let prefix: Arc<str> = prefix.into();
            let left = Arc::new(std::sync::atomic::AtomicU32::new(n));
            app = app.layer(axum::middleware::from_fn(move |req, next| {
                cut_unauthenticated(prefix.clone(), left.clone(), req, next)
            }));
        }
        if fault_rate > 0.0 {
            app = app.layer(axum::middleware::from_fn(move |req, next| {
                inject_fault(fault_rate, req, next)
            }));
        }
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        Ok(DemoServer {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
