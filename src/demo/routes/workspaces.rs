//! Workspaces (the tenants), their members, their projects, and the pro-only automations.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::demo::config::WorkspaceRole;
use crate::demo::http::{ApiError, ApiResult, AppState, Body, Caller, list_of, optional, required};
use crate::demo::store::{Project, Store};

/// The caller's membership of `ws`: 404 if the workspace does not exist, 403 if it is foreign.
fn member_of(store: &Store, user: &str, ws: &str) -> ApiResult<WorkspaceRole> {
    if !store.workspaces.contains_key(ws) {
        return Err(ApiError::not_found("workspace"));
    }
    store
        .role_in(user, ws)
        .ok_or_else(|| ApiError::forbidden("not a member of this workspace"))
}

/// A project the caller may see through its workspace, else 404.
pub(crate) fn visible_project<'a>(
    store: &'a Store,
    user: &str,
    project: &str,
) -> ApiResult<&'a Project> {
    store
        .projects
        .get(project)
        .filter(|p| store.is_member(user, &p.workspace_id))
        .ok_or_else(|| ApiError::not_found("project"))
}

pub(crate) async fn list_workspaces(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Json<Value> {
    let store = state.store();
    let workspaces: Vec<Value> = store
        .workspaces
        .values()
        .filter(|ws| store.is_member(&user.id, &ws.id))
        .map(|ws| json!(ws))
        .collect();
    Json(json!({ "workspaces": workspaces }))
}

pub(crate) async fn get_workspace(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(ws): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    member_of(&store, &user.id, &ws)?;
    Ok(Json(json!(store.workspaces[&ws])))
}

pub(crate) async fn list_members(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(ws): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    member_of(&store, &user.id, &ws)?;
    let members: Vec<Value> = store
        .memberships
        .iter()
        .filter(|m| m.workspace_id == ws)
        .filter_map(|m| {
            let u = store.users.get(&m.user_id)?;
            Some(json!({
                "userId": u.id, "email": u.email, "displayName": u.display_name,
                "role": m.role.as_str(),
            }))
        })
        .collect();
    Ok(Json(json!({ "members": members })))
}

pub(crate) async fn list_projects(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(ws): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    member_of(&store, &user.id, &ws)?;
    Ok(list_of(
        "projects",
        store.projects.values().filter(|p| p.workspace_id == ws),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProjectInput {
    name: Option<String>,
    description: Option<String>,
    workspace_id: Option<Value>,
}

pub(crate) async fn create_project(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(ws): Path<String>,
    Body(req): Body<ProjectInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = required("name", req.name, 200)?;
    let description = optional("description", req.description, 2000)?.unwrap_or_default();
    let mut store = state.store();
    member_of(&store, &user.id, &ws)?;
    // `workspaceId` is read-only (taken from the path); the planted bug honours the body's.
    let mut target = ws;
    if state.config.bugs.project_create_mass_assign_tenant {
        if let Some(Value::String(body_ws)) = req.workspace_id {
            if store.workspaces.contains_key(&body_ws) {
                target = body_ws;
            }
        }
    }
    let id = store.add_project(&target, &name, &description, &user.id);
    Ok((StatusCode::CREATED, Json(json!(store.projects[&id]))))
}

pub(crate) async fn get_project(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((ws, project)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    member_of(&store, &user.id, &ws)?;
    let found = store
        .projects
        .get(&project)
        // The planted bug forgets that the project must belong to the workspace in the path.
        .filter(|p| state.config.bugs.project_read_foreign_child || p.workspace_id == ws)
        .ok_or_else(|| ApiError::not_found("project"))?;
    Ok(Json(json!(found)))
}

#[derive(Deserialize)]
pub(crate) struct ProjectPatch {
    name: Option<String>,
    description: Option<String>,
}

pub(crate) async fn patch_project(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((ws, project)): Path<(String, String)>,
    Body(req): Body<ProjectPatch>,
) -> ApiResult<Json<Value>> {
    let name = match req.name {
        Some(n) => Some(required("name", Some(n), 200)?),
        None => None,
    };
    let description = optional("description", req.description, 2000)?;
    let mut store = state.store();
    member_of(&store, &user.id, &ws)?;
    let found = store
        .projects
        .get_mut(&project)
        .filter(|p| p.workspace_id == ws)
        .ok_or_else(|| ApiError::not_found("project"))?;
    if let Some(name) = name {
        found.name = name;
    }
    if let Some(description) = description {
        found.description = description;
    }
    Ok(Json(json!(found)))
}

pub(crate) async fn delete_project(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((ws, project)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let mut store = state.store();
    let role = member_of(&store, &user.id, &ws)?;
    if store
        .projects
        .get(&project)
        .is_none_or(|p| p.workspace_id != ws)
    {
        return Err(ApiError::not_found("project"));
    }
    if role != WorkspaceRole::Owner {
        return Err(ApiError::forbidden(
            "only the workspace owner may delete projects",
        ));
    }
    store.remove_project(&project);
    Ok(StatusCode::NO_CONTENT)
}

const TRIGGERS: &[&str] = &["document.created", "document.updated", "comment.created"];
const ACTIONS: &[&str] = &["notify", "archive"];

#[derive(Deserialize)]
pub(crate) struct AutomationInput {
    name: Option<String>,
    trigger: Option<String>,
    action: Option<String>,
}

pub(crate) async fn create_automation(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(project): Path<String>,
    Body(req): Body<AutomationInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = required("name", req.name, 200)?;
    let trigger = required("trigger", req.trigger, 50)?;
    let action = required("action", req.action, 50)?;
    if !TRIGGERS.contains(&trigger.as_str()) {
        return Err(ApiError::bad_request(format!(
            "'trigger' must be one of {TRIGGERS:?}"
        )));
    }
    if !ACTIONS.contains(&action.as_str()) {
        return Err(ApiError::bad_request(format!(
            "'action' must be one of {ACTIONS:?}"
        )));
    }
    let mut store = state.store();
    let ws = visible_project(&store, &user.id, &project)?
        .workspace_id
        .clone();
    let plan = store.workspaces.get(&ws).map(|w| w.plan.as_str());
    if plan != Some("pro") && !state.config.bugs.automation_plan_unchecked {
        return Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "plan_required",
            "automations need the pro plan",
        ));
    }
    let id = store.add_automation(&project, &name, &trigger, &action, &user.id);
    Ok((StatusCode::CREATED, Json(json!(store.automations[&id]))))
}

pub(crate) async fn list_automations(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    visible_project(&store, &user.id, &project)?;
    Ok(list_of(
        "automations",
        store
            .automations
            .values()
            .filter(|a| a.project_id == project),
    ))
}
