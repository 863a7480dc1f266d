//! The demo's HTTP plumbing: shared state, the JSON error shape, the bearer-token extractors and a
//! JSON body extractor that answers 400 (never a bare 422) on a bad body.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::config::DemoConfig;
use super::store::{Store, User};

/// State shared by every handler.
#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Arc<Mutex<Store>>,
    pub config: Arc<DemoConfig>,
}

impl AppState {
    /// The store, recovered even if a handler panicked while holding the lock.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An error answer: `{"error": {"code": ..., "message": ...}}` with a status.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
}

/// The error body shared by every error answer.
pub(crate) fn error_body(code: &str, message: &str) -> serde_json::Value {
    json!({"error": {"code": code, "message": message}})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(error_body(self.code, &self.message))).into_response();
        if self.status == StatusCode::UNAUTHORIZED && self.code == "unauthorized" {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"demo\""),
            );
        }
        response
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The authenticated caller.
pub(crate) struct Caller(pub User);

/// The caller if it sent credentials; `None` if it sent none. Bad credentials are still a 401.
pub(crate) struct MaybeCaller(pub Option<User>);

fn bearer(parts: &Parts) -> Option<Result<String, ApiError>> {
    let value = parts.headers.get(header::AUTHORIZATION)?;
    let parsed = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("malformed Authorization header"));
    Some(parsed)
}

fn resolve(state: &AppState, token: &str) -> ApiResult<User> {
    let store = state.store();
    let session = store
        .sessions
        .get(token)
        .ok_or_else(|| ApiError::unauthorized("invalid or expired token"))?;
    if session.expires <= Instant::now() {
        return Err(ApiError::unauthorized("invalid or expired token"));
    }
    store
        .users
        .get(&session.user_id)
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("invalid or expired token"))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        match bearer(parts) {
            None => Err(ApiError::unauthorized("authentication required")),
            Some(token) => Ok(Caller(resolve(state, &token?)?)),
        }
    }
}

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        match bearer(parts) {
            None => Ok(MaybeCaller(None)),
            Some(token) => Ok(MaybeCaller(Some(resolve(state, &token?)?))),
        }
    }
}

/// A JSON request body; any problem with it is a 400 with the error shape above.
pub(crate) struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(ApiError::bad_request(rejection.body_text())),
        }
    }
}

/// Query parameters; a query string that does not parse is a 400 with the error shape above.
pub(crate) struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(ApiError::bad_request(rejection.body_text())),
        }
    }
}

/// Checks a required string field: present, trimmed non-empty, at most `max` characters.
pub(crate) fn required(field: &str, value: Option<String>, max: usize) -> ApiResult<String> {
    let value = value.ok_or_else(|| ApiError::bad_request(format!("'{field}' is required")))?;
    if value.trim().is_empty() {
        return Err(ApiError::bad_request(format!(
            "'{field}' must not be empty"
        )));
    }
    limit(field, value, max)
}

/// Checks an optional string field's length.
pub(crate) fn limit(field: &str, value: String, max: usize) -> ApiResult<String> {
    if value.chars().count() > max {
        return Err(ApiError::bad_request(format!(
            "'{field}' is longer than {max} characters"
        )));
    }
    Ok(value)
}

/// Checks an optional string field's length when present.
pub(crate) fn optional(
    field: &str,
    value: Option<String>,
    max: usize,
) -> ApiResult<Option<String>> {
    value.map(|v| limit(field, v, max)).transpose()
}
