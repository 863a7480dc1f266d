//! Creates are the creator's own (issue #23): boards hold cards, each board its tenant's. Three
//! servers of the same shape:
//! - correct: each tenant lists and reads only its own boards and cards;
//! - a list leak: `GET /boards` lists every tenant's boards (and nothing else is wrong). A board
//!   the attacker created then shows in the victim's list, but it is the attacker's own board:
//!   the leak is a `list-leak` of `GET /boards`, never a `bola-write` of the create;
//! - a foreign parent: `POST /boards/{boardId}/cards` puts a card on any tenant's board. The
//!   victim's own list of its board's cards shows the attacker's card: a `bola-write`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};
use tenantfuzz::campaign::Campaign;
use tenantfuzz::outcome::CampaignResult;

use crate::support::keyed::{settings, tenant};
use crate::support::truth::confirmed_ops as confirmed;

const SPEC: &str = r#"
openapi: 3.0.3
info: {title: boards, version: '1'}
security: [{key: []}]
paths:
  /boards:
    get:
      responses:
        '200':
          description: the caller's boards
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Board'}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewBoard'}
      responses:
        '201':
          description: the board
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Board'}
  /boards/{boardId}:
    parameters:
      - {name: boardId, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the board
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Board'}
        '404': {description: no such board}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: no such board}
  /boards/{boardId}/cards:
    parameters:
      - {name: boardId, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the board's cards
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Card'}}
        '404': {description: no such board}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewCard'}
      responses:
        '201':
          description: the card
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Card'}
        '404': {description: no such board}
  /boards/{boardId}/cards/{cardId}:
    parameters:
      - {name: boardId, in: path, required: true, schema: {type: integer}}
      - {name: cardId, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        '200':
          description: the card
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Card'}
        '404': {description: no such card}
    delete:
      responses:
        '204': {description: deleted}
        '404': {description: no such card}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    NewBoard:
      type: object
      required: [name]
      properties:
        name: {type: string}
    Board:
      type: object
      properties:
        id: {type: integer}
        name: {type: string}
    NewCard:
      type: object
      required: [title]
      properties:
        title: {type: string}
    Card:
      type: object
      properties:
        id: {type: integer}
        boardId: {type: integer}
        title: {type: string}
"#;

#[derive(Clone, Copy, PartialEq)]
enum Server {
    Correct,
    ListLeak,
    ForeignParent,
}

/// id -> (tenant, object)
type Store = Arc<Mutex<BTreeMap<u64, (String, Value)>>>;

#[derive(Clone)]
struct App {
    boards: Store,
    cards: Store,
    next: Arc<Mutex<u64>>,
    server: Server,
}

impl App {
    fn id(&self) -> u64 {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        100 + *next
    }

    /// The caller's board, or 404.
    fn own_board(&self, me: &str, board: u64) -> Result<(), StatusCode> {
        match self.boards.lock().unwrap().get(&board) {
            Some((t, _)) if t == me => Ok(()),
            _ => Err(StatusCode::NOT_FOUND),
        }
    }
}

async fn list_boards(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    let boards = app.boards.lock().unwrap();
    Ok(Json(Value::Array(
        boards
            .values()
            // The planted list leak: every tenant's boards.
            .filter(|(t, _)| *t == me || app.server == Server::ListLeak)
            .map(|(_, b)| b.clone())
            .collect(),
    )))
}

async fn create_board(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let me = tenant(&headers)?;
    let name = body.get("name").and_then(Value::as_str);
    let name = name.ok_or(StatusCode::BAD_REQUEST)?;
    let id = app.id();
    let board = json!({"id": id, "name": name});
    app.boards.lock().unwrap().insert(id, (me, board.clone()));
    Ok((StatusCode::CREATED, Json(board)))
}

async fn read_board(
    State(app): State<App>,
    headers: HeaderMap,
    Path(board): Path<u64>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    app.own_board(&me, board)?;
    Ok(Json(app.boards.lock().unwrap()[&board].1.clone()))
}

async fn delete_board(
    State(app): State<App>,
    headers: HeaderMap,
    Path(board): Path<u64>,
) -> StatusCode {
    let Ok(me) = tenant(&headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    if app.own_board(&me, board).is_err() {
        return StatusCode::NOT_FOUND;
    }
    app.boards.lock().unwrap().remove(&board);
    app.cards
        .lock()
        .unwrap()
        .retain(|_, (_, c)| c["boardId"] != json!(board));
    StatusCode::NO_CONTENT
}

async fn list_cards(
    State(app): State<App>,
    headers: HeaderMap,
    Path(board): Path<u64>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    app.own_board(&me, board)?;
    let cards = app.cards.lock().unwrap();
    Ok(Json(Value::Array(
        cards
            .values()
            .filter(|(_, c)| c["boardId"] == json!(board))
            .map(|(_, c)| c.clone())
            .collect(),
    )))
}

async fn create_card(
    State(app): State<App>,
    headers: HeaderMap,
    Path(board): Path<u64>,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let me = tenant(&headers)?;
    // The planted bug: a card on any tenant's board.
    if app.server == Server::ForeignParent {
        if !app.boards.lock().unwrap().contains_key(&board) {
            return Err(StatusCode::NOT_FOUND);
        }
    } else {
        app.own_board(&me, board)?;
    }
    let title = body.get("title").and_then(Value::as_str);
    let title = title.ok_or(StatusCode::BAD_REQUEST)?;
    let id = app.id();
    let card = json!({"id": id, "boardId": board, "title": title});
    app.cards.lock().unwrap().insert(id, (me, card.clone()));
    Ok((StatusCode::CREATED, Json(card)))
}

/// The card on the caller's board (a card the caller put on another's board is still its own).
fn own_card(app: &App, me: &str, board: u64, card: u64) -> Result<Value, StatusCode> {
    let cards = app.cards.lock().unwrap();
    match cards.get(&card) {
        Some((t, c))
            if c["boardId"] == json!(board) && (t == me || app.own_board(me, board).is_ok()) =>
        {
            Ok(c.clone())
        }
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn read_card(
    State(app): State<App>,
    headers: HeaderMap,
    Path((board, card)): Path<(u64, u64)>,
) -> Result<Json<Value>, StatusCode> {
    let me = tenant(&headers)?;
    own_card(&app, &me, board, card).map(Json)
}

async fn delete_card(
    State(app): State<App>,
    headers: HeaderMap,
    Path((board, card)): Path<(u64, u64)>,
) -> StatusCode {
    let Ok(me) = tenant(&headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    if own_card(&app, &me, board, card).is_err() {
        return StatusCode::NOT_FOUND;
    }
    app.cards.lock().unwrap().remove(&card);
    StatusCode::NO_CONTENT
}

/// The campaign against the server, and how many boards and cards it left.
async fn campaign(server: Server) -> (CampaignResult, usize) {
    let app = App {
        boards: Arc::default(),
        cards: Arc::default(),
        next: Arc::default(),
        server,
    };
    let router = Router::new()
        .route("/boards", get(list_boards).post(create_board))
        .route("/boards/{boardId}", get(read_board).delete(delete_board))
        .route("/boards/{boardId}/cards", get(list_cards).post(create_card))
        .route(
            "/boards/{boardId}/cards/{cardId}",
            get(read_card).delete(delete_card),
        )
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut settings = settings(base, "boards.yaml");
    // Enough cases that exploration creates boards and has the victim list them after.
    settings.campaign.cases = 64;
    let api = tenantfuzz::spec::load_str(SPEC, "boards.yaml").unwrap();
    let result = Campaign::with_api(settings, api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    let left = app.boards.lock().unwrap().len() + app.cards.lock().unwrap().len();
    (result, left)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_is_the_creators_own_even_in_a_list_everyone_sees() {
    let (leaky, left) = campaign(Server::ListLeak).await;
    let found = confirmed(&leaky);
    assert!(
        found.contains(&("list-leak".into(), "GET".into(), "/boards".into())),
        "{found:?}"
    );
    assert!(
        found.iter().all(|(k, _, _)| k != "bola-write"),
        "the attacker's own boards in a leaking list are no write: {found:?}"
    );
    assert_eq!(left, 0, "{:?}", leaky.cleanup);

    let (foreign, left) = campaign(Server::ForeignParent).await;
    let found = confirmed(&foreign);
    assert!(
        found.contains(&(
            "bola-write".into(),
            "POST".into(),
            "/boards/{boardId}/cards".into()
        )),
        "{found:?}"
    );
    assert!(
        found.iter().all(|(_, _, p)| p == "/boards/{boardId}/cards"),
        "{found:?}"
    );
    assert_eq!(left, 0, "{:?}", foreign.cleanup);

    let (correct, left) = campaign(Server::Correct).await;
    assert!(correct.findings.is_empty(), "{:#?}", correct.findings);
    assert_eq!(left, 0, "{:?}", correct.cleanup);
}
