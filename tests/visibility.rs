//! Visibility measured, not assumed (issue #23). One API mixes public, shared and private data,
//! and its spec claims every operation needs a key:
//! - articles are public: anyone (anonymous too) reads each by id and in `GET /articles`; any
//!   signed-in user comments on any article and favourites it (a counter), by design. Only the
//!   author (named in the article) may change it;
//! - tags are shared by every signed-in user: all read, list and rename every tag, which names
//!   no owner; only its creator deletes one;
//! - notes are private to their tenant.
//!
//! The correct server gives no finding. The vulnerable one lets anyone rename any article (its
//! author named in it: a `bola-write`), and anyone, without credentials too, read any note by
//! id while the list of notes stays the caller's own (`bola-read` and `unauthenticated`: the API
//! contradicts itself, the signature of a missing check).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tenantfuzz::campaign::Campaign;
use tenantfuzz::outcome::CampaignResult;

use crate::support::keyed::{settings, tenant};
use crate::support::truth::confirmed_ops as confirmed;

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: a blog with shared tags and private notes, version: '1'}
security: [{key: []}]
paths:
  /articles:
    get:
      responses:
        '200':
          description: every article
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Article'}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewArticle'}
      responses:
        '201':
          description: the article
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Article'}
  /articles/{articleId}:
    parameters:
      - {name: articleId, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the article
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Article'}
        '404': {description: no such article}
    put:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewArticle'}
      responses:
        '200':
          description: the article
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Article'}
        '403': {description: not the author}
        '404': {description: no such article}
  /articles/{articleId}/comments:
    parameters:
      - {name: articleId, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the article's comments
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Comment'}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewComment'}
      responses:
        '201':
          description: the comment
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Comment'}
  /articles/{articleId}/favorite:
    parameters:
      - {name: articleId, in: path, required: true, schema: {type: integer}}
    post:
      responses:
        '200':
          description: the article, favourited by the caller
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Article'}
  /tags:
    get:
      responses:
        '200':
          description: every tag
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Tag'}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewTag'}
      responses:
        '201':
          description: the tag
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Tag'}
  /tags/{tagId}:
    parameters:
      - {name: tagId, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the tag
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Tag'}
    put:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewTag'}
      responses:
        '200':
          description: the tag
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Tag'}
    delete:
      responses:
        '204': {description: deleted}
        '403': {description: not its creator}
  /notes:
    get:
      responses:
        '200':
          description: the caller's notes
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Note'}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewNote'}
      responses:
        '201':
          description: the note
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Note'}
  /notes/{noteId}:
    parameters:
      - {name: noteId, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the note
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Note'}
        '404': {description: no such note}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: no such note}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    NewArticle:
      type: object
      required: [title]
      properties:
        title: {type: string}
        body: {type: string}
    Article:
      type: object
      properties:
        id: {type: integer}
        title: {type: string}
        body: {type: string}
        author: {type: object, properties: {username: {type: string}}}
        favoritesCount: {type: integer}
    NewComment:
      type: object
      required: [body]
      properties:
        body: {type: string}
    Comment:
      type: object
      properties:
        id: {type: integer}
        body: {type: string}
        author: {type: object, properties: {username: {type: string}}}
    NewTag:
      type: object
      required: [name]
      properties:
        name: {type: string}
    Tag:
      type: object
      properties:
        id: {type: integer}
        name: {type: string}
    NewNote:
      type: object
      required: [text]
      properties:
        text: {type: string}
    Note:
      type: object
      properties:
        id: {type: integer}
        text: {type: string}
"#;

#[derive(Clone, Copy, PartialEq)]
enum Server {
    Correct,
    Vulnerable,
}

/// id -> (tenant, object)
type Store = Arc<Mutex<BTreeMap<u64, (String, Value)>>>;

#[derive(Clone, Default)]
struct App {
    articles: Store,
    comments: Store,
    tags: Store,
    notes: Store,
    next: Arc<Mutex<u64>>,
    vulnerable: bool,
}

impl App {
    fn id(&self) -> u64 {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        100 + *next
    }
}

/// The caller's tenant: `None` without a key, 401 with a wrong one.
fn caller(headers: &HeaderMap) -> Result<Option<String>, StatusCode> {
    if headers.get("x-api-key").is_none() {
        return Ok(None);
    }
    tenant(headers).map(Some)
}

fn text(body: &Value, field: &str) -> Result<String, StatusCode> {
    body.get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or(StatusCode::BAD_REQUEST)
}

fn all(store: &Store, keep: impl Fn(&str) -> bool) -> Json<Value> {
    Json(Value::Array(
        store
            .lock()
            .unwrap()
            .values()
            .filter(|(t, _)| keep(t))
            .map(|(_, v)| v.clone())
            .collect(),
    ))
}

fn create(
    app: &App,
    store: &Store,
    owner: String,
    object: impl FnOnce(u64) -> Value,
) -> (StatusCode, Json<Value>) {
    let id = app.id();
    let object = object(id);
    store.lock().unwrap().insert(id, (owner, object.clone()));
    (StatusCode::CREATED, Json(object))
}

fn router(app: App) -> Router {
    Router::new()
        .route(
            "/articles",
            get(|State(app): State<App>, h: HeaderMap| async move {
                caller(&h)?;
                Ok::<_, StatusCode>(all(&app.articles, |_| true))
            })
            .post(
                |State(app): State<App>, h: HeaderMap, Json(b): Json<Value>| async move {
                    let me = caller(&h)?.ok_or(StatusCode::UNAUTHORIZED)?;
                    let (title, body) = (text(&b, "title")?, b.get("body").cloned());
                    let author = me.clone();
                    Ok::<_, StatusCode>(create(&app, &app.articles.clone(), me, |id| {
                        json!({"id": id, "title": title, "body": body,
                               "author": {"username": author}, "favoritesCount": 0})
                    }))
                },
            ),
        )
        .route(
            "/articles/{id}",
            get(
                |State(app): State<App>, h: HeaderMap, Path(id): Path<u64>| async move {
                    caller(&h)?;
                    let articles = app.articles.lock().unwrap();
                    let (_, a) = articles.get(&id).ok_or(StatusCode::NOT_FOUND)?;
                    Ok::<_, StatusCode>(Json(a.clone()))
                },
            )
            .put(
                |State(app): State<App>,
                 h: HeaderMap,
                 Path(id): Path<u64>,
                 Json(b): Json<Value>| async move {
                    let me = caller(&h)?.ok_or(StatusCode::UNAUTHORIZED)?;
                    let title = text(&b, "title")?;
                    let mut articles = app.articles.lock().unwrap();
                    let (owner, a) = articles.get_mut(&id).ok_or(StatusCode::NOT_FOUND)?;
                    // The planted bug: anyone signed in edits any article.
                    if *owner != me && !app.vulnerable {
                        return Err(StatusCode::FORBIDDEN);
                    }
                    a["title"] = json!(title);
                    if let Some(body) = b.get("body") {
                        a["body"] = body.clone();
                    }
                    Ok(Json(a.clone()))
                },
            ),
        )
        .route(
            "/articles/{id}/comments",
            get(
                |State(app): State<App>, h: HeaderMap, Path(id): Path<u64>| async move {
                    caller(&h)?;
                    let comments = app.comments.lock().unwrap();
                    Ok::<_, StatusCode>(Json(Value::Array(
                        comments
                            .values()
                            .filter(|(_, c)| c["articleId"] == json!(id))
                            .map(|(_, c)| c.clone())
                            .collect(),
                    )))
                },
            )
            .post(
                |State(app): State<App>,
                 h: HeaderMap,
                 Path(id): Path<u64>,
                 Json(b): Json<Value>| async move {
                    let me = caller(&h)?.ok_or(StatusCode::UNAUTHORIZED)?;
                    if !app.articles.lock().unwrap().contains_key(&id) {
                        return Err(StatusCode::NOT_FOUND);
                    }
                    let body = text(&b, "body")?;
                    let author = me.clone();
                    // Anyone signed in comments on any article: by design.
                    Ok(create(&app, &app.comments.clone(), me, |cid| {
                        json!({"id": cid, "articleId": id, "body": body,
                               "author": {"username": author}})
                    }))
                },
            ),
        )
        .route(
            "/articles/{id}/favorite",
            post(
                |State(app): State<App>, h: HeaderMap, Path(id): Path<u64>| async move {
                    caller(&h)?.ok_or(StatusCode::UNAUTHORIZED)?;
                    let mut articles = app.articles.lock().unwrap();
                    let (_, a) = articles.get_mut(&id).ok_or(StatusCode::NOT_FOUND)?;
                    // A per-caller relation: a counter on anyone's article, by design.
                    let n = a["favoritesCount"].as_u64().unwrap_or(0) + 1;
                    a["favoritesCount"] = json!(n);
                    Ok::<_, StatusCode>(Json(a.clone()))
                },
            ),
        )
        .route(
            "/tags",
            get(|State(app): State<App>, h: HeaderMap| async move {
                caller(&h)?.ok_or(StatusCode::UNAUTHORIZED)?;
                Ok::<_, StatusCode>(all(&app.tags, |_| true))
            })
            .post(
                |State(app): State<App>, h: HeaderMap, Json(b): Json<Value>| async move {
                    let me = caller(&h)?.ok_or(StatusCode::UNAUTHORIZED)?;
                    let name = text(&b, "name")?;
                    Ok::<_, StatusCode>(create(
                        &app,
                        &app.tags.clone(),
                        me,
                        |id| json!({"id": id, "name": name}),
                    ))
                },
            ),
        )
        .route(
            "/tags/{id}",
            get(
                |State(app): State<App>, h: HeaderMap, Path(id): Path<u64>| async move {
                    caller(&h)?.ok_or(StatusCode::UNAUTHORIZED)?;
                    let tags = app.tags.lock().unwrap();
                    let (_, t) = tags.get(&id).ok_or(StatusCode::NOT_FOUND)?;
                    Ok::<_, StatusCode>(Json(t.clone()))
                },
            )
            .put(
                |State(app): State<App>,
                 h: HeaderMap,
                 Path(id): Path<u64>,
                 Json(b): Json<Value>| async move {
                    caller(&h)?.ok_or(StatusCode::UNAUTHORIZED)?;
                    let name = text(&b, "name")?;
                    let mut tags = app.tags.lock().unwrap();
                    let (_, t) = tags.get_mut(&id).ok_or(StatusCode::NOT_FOUND)?;
                    // Every signed-in user renames every tag: by design.
                    t["name"] = json!(name);
                    Ok::<_, StatusCode>(Json(t.clone()))
                },
            )
            .delete(
                |State(app): State<App>, h: HeaderMap, Path(id): Path<u64>| async move {
                    let me = caller(&h)?.ok_or(StatusCode::UNAUTHORIZED)?;
                    let mut tags = app.tags.lock().unwrap();
                    let (owner, _) = tags.get(&id).ok_or(StatusCode::NOT_FOUND)?;
                    if *owner != me {
                        return Err(StatusCode::FORBIDDEN);
                    }
                    tags.remove(&id);
                    Ok::<_, StatusCode>(StatusCode::NO_CONTENT)
                },
            ),
        )
        .route(
            "/notes",
            get(|State(app): State<App>, h: HeaderMap| async move {
                let me = caller(&h)?.ok_or(StatusCode::UNAUTHORIZED)?;
                Ok::<_, StatusCode>(all(&app.notes, |t| t == me))
            })
            .post(
                |State(app): State<App>, h: HeaderMap, Json(b): Json<Value>| async move {
                    let me = caller(&h)?.ok_or(StatusCode::UNAUTHORIZED)?;
                    let t = text(&b, "text")?;
                    Ok::<_, StatusCode>(create(
                        &app,
                        &app.notes.clone(),
                        me,
                        |id| json!({"id": id, "text": t}),
                    ))
                },
            ),
        )
        .route(
            "/notes/{id}",
            get(
                |State(app): State<App>, h: HeaderMap, Path(id): Path<u64>| async move {
                    let me = caller(&h)?;
                    // The planted bug: a note by id for anyone, with or without a key.
                    if me.is_none() && !app.vulnerable {
                        return Err(StatusCode::UNAUTHORIZED);
                    }
                    let notes = app.notes.lock().unwrap();
                    match notes.get(&id) {
                        Some((t, n)) if Some(t) == me.as_ref() || app.vulnerable => {
                            Ok(Json(n.clone()))
                        }
                        _ => Err(StatusCode::NOT_FOUND),
                    }
                },
            )
            .delete(
                |State(app): State<App>, h: HeaderMap, Path(id): Path<u64>| async move {
                    let me = caller(&h)?.ok_or(StatusCode::UNAUTHORIZED)?;
                    let mut notes = app.notes.lock().unwrap();
                    match notes.get(&id) {
                        Some((t, _)) if *t == me => {
                            notes.remove(&id);
                            Ok(StatusCode::NO_CONTENT)
                        }
                        _ => Err(StatusCode::NOT_FOUND),
                    }
                },
            ),
        )
        .with_state(app)
}

async fn campaign(server: Server, private: &[&str]) -> CampaignResult {
    let app = App {
        vulnerable: server == Server::Vulnerable,
        ..App::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = router(app);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut settings = settings(base, "blog.yaml");
    settings.policy.private = private.iter().map(|s| s.to_string()).collect();
    let api = tenantfuzz::spec::load_str(SPEC, "blog.yaml").unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    result
}

fn by_design(result: &CampaignResult, method: &str, path: &str) -> Option<String> {
    result
        .coverage
        .iter()
        .find(|c| c.method == method && c.path == path)
        .and_then(|c| c.by_design.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_and_shared_data_is_no_finding_and_private_data_is() {
    let correct = campaign(Server::Correct, &[]).await;
    assert!(
        confirmed(&correct).is_empty(),
        "public articles, comments, favourites and shared tags are by design: {:#?}",
        correct.findings
    );
    // What was seen and set aside is in the coverage, with its evidence.
    let article = by_design(&correct, "GET", "/articles/{articleId}");
    assert!(
        article
            .as_deref()
            .is_some_and(|s| s.starts_with("public by behaviour")),
        "{article:?}"
    );
    let tag = by_design(&correct, "PUT", "/tags/{tagId}");
    assert!(
        tag.as_deref()
            .is_some_and(|s| s.contains("shared by behaviour") && s.contains("names no owner")),
        "{tag:?}"
    );

    let vulnerable = campaign(Server::Vulnerable, &[]).await;
    let found = confirmed(&vulnerable);
    for expected in [
        ("bola-write", "PUT", "/articles/{articleId}"),
        ("bola-read", "GET", "/notes/{noteId}"),
        ("unauthenticated", "GET", "/notes/{noteId}"),
    ] {
        let expected = (
            expected.0.to_string(),
            expected.1.to_string(),
            expected.2.to_string(),
        );
        assert!(found.contains(&expected), "{expected:?} in {found:?}");
    }
    assert!(
        found.iter().all(
            |(_, _, p)| p == "/articles/{articleId}" && !p.is_empty() || p == "/notes/{noteId}"
        ),
        "only the planted bugs: {found:?}"
    );

    // Declared private, what the run measured as shared is a violation again.
    let declared = campaign(Server::Correct, &["/tags/{tagId}"]).await;
    let found = confirmed(&declared);
    assert!(
        found.contains(&("bola-write".into(), "PUT".into(), "/tags/{tagId}".into())),
        "{found:?}"
    );
}
