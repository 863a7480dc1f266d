//! Documents (sequential integer ids) and their comments, search, reports, exports and the public
//! view of published documents.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::workspaces::visible_project;
use crate::demo::http::{
    ApiError, ApiResult, AppState, Body, Caller, MaybeCaller, QueryParams, list_of, optional,
    required,
};
use crate::demo::store::{Document, Export, ExportDocument, Store, now_rfc3339, random_hex};

/// Parses an integer id from the path; anything else is a 400.
fn int_id(raw: &str, what: &str) -> ApiResult<u64> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n > 0 && raw.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| ApiError::bad_request(format!("{what} id must be a positive integer")))
}

/// A document the caller may see through its workspace, else 404.
fn visible_document<'a>(store: &'a Store, user: &str, id: u64) -> ApiResult<&'a Document> {
    store
        .documents
        .get(&id)
        .filter(|d| store.is_member(user, &d.workspace_id))
        .ok_or_else(|| ApiError::not_found("document"))
}

#[derive(Deserialize)]
pub(crate) struct DocumentInput {
    title: Option<String>,
    body: Option<String>,
    published: Option<bool>,
}

pub(crate) async fn create_document(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(project): Path<String>,
    Body(req): Body<DocumentInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let title = required("title", req.title, 200)?;
    let body = optional("body", req.body, 10_000)?.unwrap_or_default();
    let mut store = state.store();
    visible_project(&store, &user.id, &project)?;
    let id = store.add_document(
        &project,
        &title,
        &body,
        req.published.unwrap_or(false),
        &user.id,
    );
    Ok((StatusCode::CREATED, Json(json!(store.documents[&id]))))
}

pub(crate) async fn list_documents(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    visible_project(&store, &user.id, &project)?;
    Ok(list_of(
        "documents",
        store.documents.values().filter(|d| d.project_id == project),
    ))
}

pub(crate) async fn get_document(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = int_id(&id, "document")?;
    let store = state.store();
    Ok(Json(json!(visible_document(&store, &user.id, id)?)))
}

pub(crate) async fn put_document(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    Body(req): Body<DocumentInput>,
) -> ApiResult<Json<Value>> {
    let id = int_id(&id, "document")?;
    let title = required("title", req.title, 200)?;
    let body = optional("body", req.body, 10_000)?.unwrap_or_default();
    let mut store = state.store();
    if !state.config.bugs.document_update_unchecked {
        visible_document(&store, &user.id, id)?;
    }
    let doc = store
        .documents
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("document"))?;
    doc.title = title;
    doc.body = body;
    doc.published = req.published.unwrap_or(false);
    doc.version += 1;
    doc.updated_at = now_rfc3339();
    Ok(Json(json!(doc)))
}

/// Deleting is idempotent: a document the caller cannot see (or that does not exist) answers 204
/// too, and stays untouched. A status-code oracle would call this a cross-tenant delete.
pub(crate) async fn delete_document(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = int_id(&id, "document")?;
    let mut store = state.store();
    if visible_document(&store, &user.id, id).is_ok() {
        store.remove_document(id);
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn public_document(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = int_id(&id, "document")?;
    let store = state.store();
    let doc = store
        .documents
        .get(&id)
        .filter(|d| d.published)
        .ok_or_else(|| ApiError::not_found("document"))?;
    Ok(Json(json!({
        "id": doc.id, "title": doc.title, "body": doc.body, "updatedAt": doc.updated_at,
    })))
}

#[derive(Deserialize)]
pub(crate) struct CommentInput {
    body: Option<String>,
}

pub(crate) async fn create_comment(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(doc): Path<String>,
    Body(req): Body<CommentInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let doc = int_id(&doc, "document")?;
    let body = required("body", req.body, 5_000)?;
    let mut store = state.store();
    visible_document(&store, &user.id, doc)?;
    let id = store.add_comment(doc, &user.id, &body);
    Ok((StatusCode::CREATED, Json(json!(store.comments[&id]))))
}

pub(crate) async fn list_comments(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(doc): Path<String>,
) -> ApiResult<Json<Value>> {
    let doc = int_id(&doc, "document")?;
    let store = state.store();
    visible_document(&store, &user.id, doc)?;
    Ok(list_of(
        "comments",
        store.comments.values().filter(|c| c.document_id == doc),
    ))
}

pub(crate) async fn delete_comment(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = int_id(&id, "comment")?;
    let mut store = state.store();
    let comment = store
        .comments
        .get(&id)
        .ok_or_else(|| ApiError::not_found("comment"))?;
    if !state.config.bugs.comment_delete_unchecked {
        let ws = store
            .documents
            .get(&comment.document_id)
            .map(|d| d.workspace_id.clone())
            .unwrap_or_default();
        let allowed = match store.role_in(&user.id, &ws) {
            None => return Err(ApiError::not_found("comment")),
            Some(role) => {
                role == crate::demo::config::WorkspaceRole::Owner || comment.author_id == user.id
            }
        };
        if !allowed {
            return Err(ApiError::forbidden(
                "only the author or the workspace owner may delete a comment",
            ));
        }
    }
    store.comments.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    q: Option<String>,
}

pub(crate) async fn search(
    State(state): State<AppState>,
    Caller(user): Caller,
    QueryParams(query): QueryParams<SearchQuery>,
) -> ApiResult<Json<Value>> {
    let q = required("q", query.q, 100)?;
    let needle = q.to_lowercase();
    let store = state.store();
    let results: Vec<Value> = store
        .documents
        .values()
        .filter(|d| {
            state.config.bugs.search_all_tenants || store.is_member(&user.id, &d.workspace_id)
        })
        .filter(|d| {
            d.title.to_lowercase().contains(&needle) || d.body.to_lowercase().contains(&needle)
        })
        .map(|d| {
            json!({
                "type": "document", "id": d.id, "projectId": d.project_id,
                "workspaceId": d.workspace_id, "title": d.title,
                "snippet": d.body.chars().take(160).collect::<String>(),
            })
        })
        .collect();
    Ok(Json(json!({ "query": q, "results": results })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProjectRef {
    project_id: Option<String>,
}

pub(crate) async fn create_report(
    State(state): State<AppState>,
    Caller(user): Caller,
    Body(req): Body<ProjectRef>,
) -> ApiResult<Json<Value>> {
    let project_id = required("projectId", req.project_id, 100)?;
    let store = state.store();
    let project = if state.config.bugs.report_unchecked {
        store
            .projects
            .get(&project_id)
            .ok_or_else(|| ApiError::not_found("project"))?
    } else {
        visible_project(&store, &user.id, &project_id)?
    };
    let docs: Vec<&Document> = store
        .documents
        .values()
        .filter(|d| d.project_id == project.id)
        .collect();
    let comment_count = store
        .comments
        .values()
        .filter(|c| docs.iter().any(|d| d.id == c.document_id))
        .count();
    Ok(Json(json!({
        "projectId": project.id,
        "projectName": project.name,
        "description": project.description,
        "documentCount": docs.len(),
        "commentCount": comment_count,
        "documents": docs.iter().map(|d| json!({"id": d.id, "title": d.title})).collect::<Vec<_>>(),
        "generatedAt": now_rfc3339(),
    })))
}

pub(crate) async fn create_export(
    State(state): State<AppState>,
    Caller(user): Caller,
    Body(req): Body<ProjectRef>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project_id = required("projectId", req.project_id, 100)?;
    let mut store = state.store();
    let workspace_id = visible_project(&store, &user.id, &project_id)?
        .workspace_id
        .clone();
    let documents = store
        .documents
        .values()
        .filter(|d| d.project_id == project_id)
        .map(|d| ExportDocument {
            id: d.id,
            title: d.title.clone(),
            body: d.body.clone(),
        })
        .collect();
    let id = format!("exp_{}", random_hex(20));
    let export = Export {
        id: id.clone(),
        project_id,
        workspace_id,
        status: "completed".to_string(),
        created_by: user.id.clone(),
        created_at: now_rfc3339(),
        documents,
    };
    store.exports.insert(id, export.clone());
    Ok((StatusCode::ACCEPTED, Json(json!(export))))
}

pub(crate) async fn get_export(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    let export = store
        .exports
        .get(&id)
        .ok_or_else(|| ApiError::not_found("export"));
    match caller {
        // The planted bug: "download links must work without logging in", so a request with no
        // credentials at all skips every check. Callers that do authenticate are checked.
        None if state.config.bugs.export_optional_auth => Ok(Json(json!(export?))),
        None => Err(ApiError::unauthorized("authentication required")),
        Some(user) => {
            let export = export?;
            if !store.is_member(&user.id, &export.workspace_id) {
                return Err(ApiError::not_found("export"));
            }
            Ok(Json(json!(export)))
        }
    }
}
