//! The demo's HTTP plumbing: shared state, the JSON error shape, the caller extractors (bearer
//! token, HTTP basic, API key in a header or the query, session cookie with CSRF on writes) and
//! a JSON body extractor that answers 400 (never a bare 422) on a bad body.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
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

/// The name of the demo's session cookie.
pub(crate) const SESSION_COOKIE: &str = "demo_session";
/// The header a cookie session's writes must carry.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Who the request's credentials name: `None` when it carries none at all. Every scheme the
/// spec documents ends here, so every route treats every scheme alike: a bearer token or HTTP
/// basic in `Authorization`, an API key in `X-API-Key` or the `api_key` query parameter, or the
/// session cookie (whose writes must carry the session's CSRF token).
fn authenticate(parts: &Parts, state: &AppState) -> Option<ApiResult<User>> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let text = value.to_str().unwrap_or_default();
        let (scheme, credential) = text.split_once(' ').unwrap_or((text, ""));
        let credential = credential.trim();
        if credential.is_empty() {
            return Some(Err(ApiError::unauthorized(
                "malformed Authorization header",
            )));
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(resolve(state, credential));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(basic(state, credential));
        }
        return Some(Err(ApiError::unauthorized(
            "malformed Authorization header",
        )));
    }
    if let Some(value) = parts.headers.get("x-api-key") {
        return Some(api_key(state, value.to_str().unwrap_or_default()));
    }
    if let Some(key) = parts.uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "api_key")
            .map(|(_, v)| v.into_owned())
    }) {
        return Some(api_key(state, &key));
    }
    let cookie = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string());
    cookie.map(|c| cookie_session(parts, state, &c))
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

fn basic(state: &AppState, encoded: &str) -> ApiResult<User> {
    let refused = || ApiError::unauthorized("invalid email or password");
    let decoded = STANDARD.decode(encoded).map_err(|_| refused())?;
    let text = String::from_utf8(decoded).map_err(|_| refused())?;
    let (email, password) = text.split_once(':').ok_or_else(refused)?;
    let store = state.store();
    store
        .users
        .values()
        .find(|u| u.email.eq_ignore_ascii_case(email) && u.password == password)
        .cloned()
        .ok_or_else(refused)
}

fn api_key(state: &AppState, key: &str) -> ApiResult<User> {
    let store = state.store();
    store
        .api_keys
        .get(key)
        .and_then(|user_id| store.users.get(user_id))
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("invalid API key"))
}

fn cookie_session(parts: &Parts, state: &AppState, cookie: &str) -> ApiResult<User> {
    let store = state.store();
    let session = store
        .cookie_sessions
        .get(cookie)
        .filter(|s| s.expires > Instant::now())
        .ok_or_else(|| ApiError::unauthorized("invalid or expired session"))?;
    let reads = matches!(
        parts.method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if !reads {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if sent != session.csrf {
            return Err(ApiError::forbidden("missing or invalid CSRF token"));
        }
    }
    store
        .users
        .get(&session.user_id)
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("invalid or expired session"))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        match authenticate(parts, state) {
            None => Err(ApiError::unauthorized("authentication required")),
            Some(user) => Ok(Caller(user?)),
        }
    }
}

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        match authenticate(parts, state) {
            None => Ok(MaybeCaller(None)),
            Some(user) => Ok(MaybeCaller(Some(user?))),
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

/// A list answer, `{ "<key>": [records...] }`.
pub(crate) fn list_of<'a, T: serde::Serialize + 'a>(
    key: &str,
    records: impl Iterator<Item = &'a T>,
) -> Json<serde_json::Value> {
    let records: Vec<serde_json::Value> = records.map(|r| json!(r)).collect();
    Json(json!({ key: records }))
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
