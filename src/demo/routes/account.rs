//! Accounts: login (bearer token or cookie session), API keys, registration, the caller's profile, and the platform-admin routes.

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::demo::http::{
    ApiError, ApiResult, AppState, Body, CSRF_HEADER, Caller, SESSION_COOKIE, required,
};
use crate::demo::store::{CookieSession, Session, Store, User, random_hex};

#[derive(Deserialize)]
pub(crate) struct LoginRequest {
    email: Option<String>,
    password: Option<String>,
}

pub(crate) async fn login(
    State(state): State<AppState>,
    Body(req): Body<LoginRequest>,
) -> ApiResult<Json<Value>> {
    let email = required("email", req.email, 200)?;
    let password = required("password", req.password, 200)?;
    let mut store = state.store();
    let user_id = check_password(&store, &email, &password)?;
    let token = format!("dmo_{}{}", random_hex(32), random_hex(16));
    let ttl = state.config.token_ttl;
    store.sessions.insert(
        token.clone(),
        Session {
            user_id: user_id.clone(),
            expires: Instant::now() + ttl,
        },
    );
    Ok(Json(json!({
        "token": token,
        "tokenType": "Bearer",
        "expiresIn": ttl.as_secs(),
        "userId": user_id,
    })))
}

/// The user with this e-mail and password, or a 401.
fn check_password(store: &Store, email: &str, password: &str) -> ApiResult<String> {
    store
        .users
        .values()
        .find(|u| u.email.eq_ignore_ascii_case(email) && u.password == password)
        .map(|u| u.id.clone())
        .ok_or_else(|| ApiError::unauthorized("invalid email or password"))
}

/// `POST /auth/session`: a browser-style login. The credentials come as a form or as JSON; the
/// answer sets an HttpOnly session cookie and gives the CSRF token that writes made with the
/// cookie must send in `X-CSRF-Token` (in the body and in the header of the same name).
pub(crate) async fn create_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let req: LoginRequest = if form {
        let mut req = LoginRequest {
            email: None,
            password: None,
        };
        for (k, v) in url::form_urlencoded::parse(&body) {
            match k.as_ref() {
                "email" => req.email = Some(v.into_owned()),
                "password" => req.password = Some(v.into_owned()),
                _ => {}
            }
        }
        req
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("the body is not a valid login: {e}")))?
    };
    let email = required("email", req.email, 200)?;
    let password = required("password", req.password, 200)?;
    let mut store = state.store();
    let user_id = check_password(&store, &email, &password)?;
    let cookie = format!("dmo_s{}{}", random_hex(32), random_hex(16));
    let csrf = format!("dmo_c{}", random_hex(32));
    let ttl = state.config.token_ttl;
    store.cookie_sessions.insert(
        cookie.clone(),
        CookieSession {
            user_id: user_id.clone(),
            expires: Instant::now() + ttl,
            csrf: csrf.clone(),
        },
    );
    let set_cookie = format!(
        "{SESSION_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        ttl.as_secs()
    );
    let mut response = Json(json!({
        "csrfToken": csrf,
        "expiresIn": ttl.as_secs(),
        "userId": user_id,
    }))
    .into_response();
    if let (Ok(c), Ok(t)) = (
        HeaderValue::from_str(&set_cookie),
        HeaderValue::from_str(&csrf),
    ) {
        response.headers_mut().insert(header::SET_COOKIE, c);
        response.headers_mut().insert(CSRF_HEADER, t);
    }
    Ok(response)
}

/// `POST /auth/api-keys`: a new API key for the caller, for `X-API-Key` or `?api_key=`.
pub(crate) async fn create_api_key(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Json<Value> {
    let key = format!("dmo_k{}{}", random_hex(32), random_hex(16));
    state.store().api_keys.insert(key.clone(), user.id.clone());
    Json(json!({"apiKey": key, "userId": user.id}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegisterRequest {
    email: Option<String>,
    password: Option<String>,
    display_name: Option<String>,
    workspace_name: Option<String>,
}

pub(crate) async fn register(
    State(state): State<AppState>,
    Body(req): Body<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let email = required("email", req.email, 200)?;
    if !email.contains('@') {
        return Err(ApiError::bad_request("'email' must be an e-mail address"));
    }
    let password = required("password", req.password, 200)?;
    if password.chars().count() < 8 {
        return Err(ApiError::bad_request(
            "'password' must have at least 8 characters",
        ));
    }
    let display_name = required("displayName", req.display_name, 100)?;
    let workspace_name = required("workspaceName", req.workspace_name, 100)?;
    let mut store = state.store();
    if store
        .users
        .values()
        .any(|u| u.email.eq_ignore_ascii_case(&email))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "an account with this e-mail exists",
        ));
    }
    let user = store.add_user(&email, &password, &display_name, "user");
    let workspace = store.add_workspace(&workspace_name, &user);
    Ok((
        StatusCode::CREATED,
        Json(json!({"userId": user, "workspaceId": workspace})),
    ))
}

/// The profile view of a user: the user plus its workspaces.
fn profile(store: &Store, user: &User) -> Value {
    let workspaces: Vec<Value> = store
        .memberships
        .iter()
        .filter(|m| m.user_id == user.id)
        .filter_map(|m| {
            let ws = store.workspaces.get(&m.workspace_id)?;
            Some(json!({"id": ws.id, "name": ws.name, "plan": ws.plan, "role": m.role.as_str()}))
        })
        .collect();
    let mut value = json!(user);
    value["workspaces"] = Value::Array(workspaces);
    value
}

pub(crate) async fn get_me(State(state): State<AppState>, Caller(user): Caller) -> Json<Value> {
    let store = state.store();
    Json(profile(&store, &user))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MePatch {
    display_name: Option<String>,
    role: Option<Value>,
}

pub(crate) async fn patch_me(
    State(state): State<AppState>,
    Caller(user): Caller,
    Body(req): Body<MePatch>,
) -> ApiResult<Json<Value>> {
    let display_name = match req.display_name {
        Some(name) => Some(required("displayName", Some(name), 100)?),
        None => None,
    };
    let mut store = state.store();
    let stored = store
        .users
        .get_mut(&user.id)
        .ok_or_else(|| ApiError::unauthorized("account no longer exists"))?;
    if let Some(name) = display_name {
        stored.display_name = name;
    }
    // `role` is read-only: the secure mode ignores it, like every other unknown field.
    if state.config.bugs.me_mass_assign_role {
        if let Some(Value::String(role)) = req.role {
            if role == "admin" || role == "user" {
                stored.role = role;
            }
        }
    }
    let updated = stored.clone();
    Ok(Json(profile(&store, &updated)))
}

fn require_admin(user: &User) -> ApiResult<()> {
    if user.role == "admin" {
        return Ok(());
    }
    Err(ApiError::forbidden("platform administrators only"))
}

pub(crate) async fn admin_workspaces(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> ApiResult<Json<Value>> {
    if !state.config.bugs.admin_list_open {
        require_admin(&user)?;
    }
    let store = state.store();
    let workspaces: Vec<Value> = store
        .workspaces
        .values()
        .map(|ws| {
            let members = store
                .memberships
                .iter()
                .filter(|m| m.workspace_id == ws.id)
                .count();
            let owner_email = store
                .users
                .get(&ws.owner_id)
                .map(|u| u.email.clone())
                .unwrap_or_default();
            let mut v = json!(ws);
            v["memberCount"] = json!(members);
            v["ownerEmail"] = json!(owner_email);
            v
        })
        .collect();
    Ok(Json(json!({"workspaces": workspaces})))
}

pub(crate) async fn admin_delete_user(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(user_id): Path<String>,
) -> ApiResult<StatusCode> {
    require_admin(&user)?;
    if user_id == user.id {
        return Err(ApiError::bad_request(
            "administrators cannot delete themselves",
        ));
    }
    let mut store = state.store();
    if store.users.remove(&user_id).is_none() {
        return Err(ApiError::not_found("user"));
    }
    store.sessions.retain(|_, s| s.user_id != user_id);
    store.cookie_sessions.retain(|_, s| s.user_id != user_id);
    store.api_keys.retain(|_, owner| *owner != user_id);
    store.memberships.retain(|m| m.user_id != user_id);
    Ok(StatusCode::NO_CONTENT)
}
