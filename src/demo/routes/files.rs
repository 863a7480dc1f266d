//! Attachments: UUID ids, addressed by the `id` query parameter, listed per workspace.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::demo::http::{ApiError, ApiResult, AppState, Body, Caller, QueryParams, required};
use crate::demo::store::{Attachment, Store, now_rfc3339};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttachmentInput {
    workspace_id: Option<String>,
    filename: Option<String>,
    content_type: Option<String>,
    content: Option<String>,
}

pub(crate) async fn create_attachment(
    State(state): State<AppState>,
    Caller(user): Caller,
    Body(req): Body<AttachmentInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let workspace_id = required("workspaceId", req.workspace_id, 100)?;
    let filename = required("filename", req.filename, 255)?;
    let content_type = required("contentType", req.content_type, 100)?;
    let content = required("content", req.content, 100_000)?;
    let mut store = state.store();
    if !store.workspaces.contains_key(&workspace_id) {
        return Err(ApiError::not_found("workspace"));
    }
    if !store.is_member(&user.id, &workspace_id) {
        return Err(ApiError::forbidden("not a member of this workspace"));
    }
    let attachment = Attachment {
        id: Uuid::new_v4(),
        workspace_id,
        filename,
        content_type,
        size: content.len(),
        content,
        created_by: user.id.clone(),
        created_at: now_rfc3339(),
    };
    store.attachments.insert(attachment.id, attachment.clone());
    Ok((StatusCode::CREATED, Json(json!(attachment))))
}

#[derive(Deserialize)]
pub(crate) struct IdQuery {
    id: Option<String>,
}

fn attachment_id(query: IdQuery) -> ApiResult<Uuid> {
    let raw = required("id", query.id, 100)?;
    Uuid::parse_str(&raw).map_err(|_| ApiError::bad_request("'id' must be a UUID"))
}

fn visible<'a>(store: &'a Store, user: &str, id: &Uuid) -> ApiResult<&'a Attachment> {
    store
        .attachments
        .get(id)
        .filter(|a| store.is_member(user, &a.workspace_id))
        .ok_or_else(|| ApiError::not_found("attachment"))
}

pub(crate) async fn get_attachment(
    State(state): State<AppState>,
    Caller(user): Caller,
    QueryParams(query): QueryParams<IdQuery>,
) -> ApiResult<Json<Value>> {
    let id = attachment_id(query)?;
    let store = state.store();
    let attachment = if state.config.bugs.attachment_read_unchecked {
        store
            .attachments
            .get(&id)
            .ok_or_else(|| ApiError::not_found("attachment"))?
    } else {
        visible(&store, &user.id, &id)?
    };
    Ok(Json(json!(attachment)))
}

pub(crate) async fn delete_attachment(
    State(state): State<AppState>,
    Caller(user): Caller,
    QueryParams(query): QueryParams<IdQuery>,
) -> ApiResult<StatusCode> {
    let id = attachment_id(query)?;
    let mut store = state.store();
    visible(&store, &user.id, &id)?;
    store.attachments.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn list_attachments(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(ws): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    if !store.workspaces.contains_key(&ws) {
        return Err(ApiError::not_found("workspace"));
    }
    if !store.is_member(&user.id, &ws) {
        return Err(ApiError::forbidden("not a member of this workspace"));
    }
    let attachments: Vec<Value> = store
        .attachments
        .values()
        .filter(|a| a.workspace_id == ws)
        .map(|a| {
            json!({
                "id": a.id, "workspaceId": a.workspace_id, "filename": a.filename,
                "contentType": a.content_type, "size": a.size, "createdAt": a.created_at,
            })
        })
        .collect();
    Ok(Json(json!({ "attachments": attachments })))
}
