//! Proves with plain HTTP requests, independently of the fuzzer, that each of the demo's thirteen
//! planted bugs is exploitable in the vulnerable mode and blocked in the secure mode while the
//! legitimate owner action keeps working in both, and that the must-not-flag routes behave the same
//! in both modes. Every assertion is about an effect (a victim's marker leaking, a victim's
//! read-back changing, a balance moving), not only about a status code.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Demo, both_modes, by_mode, credit_event, leaks, marker, unix_now};
use tenantfuzz::demo::{Bugs, DEFAULT_WEBHOOK_SECRET, DemoConfig, Mode};

const OK: StatusCode = StatusCode::OK;
const CREATED: StatusCode = StatusCode::CREATED;
const NO_CONTENT: StatusCode = StatusCode::NO_CONTENT;
const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;

/// The names of every item of `list[key]` (or any other string field `field`).
fn field_values(list: &Value, key: &str, field: &str) -> Vec<String> {
    list[key]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|item| item[field].as_str().map(str::to_string))
        .collect()
}

/// An attack's answer by mode: in the vulnerable mode it has the first status and shows `mark`;
/// in the secure mode it has the second status and does not.
#[track_caller]
fn assert_leak(
    mode: Mode,
    status: &StatusCode,
    body: &Value,
    mark: &str,
    statuses: (StatusCode, StatusCode),
) {
    assert_eq!(
        *status,
        by_mode(mode, statuses.0, statuses.1),
        "{mode:?}: {body}"
    );
    assert_eq!(
        leaks(body, mark),
        mode == Mode::Vulnerable,
        "{mode:?}: {body}"
    );
}

// ---------------------------------------------------------------------------------------------
// The thirteen planted bugs.
// ---------------------------------------------------------------------------------------------

/// 1. `GET /workspaces/{workspaceId}/projects/{projectId}`: bob's own workspace id with alice's
/// project id.
#[tokio::test]
async fn bug01_project_read_foreign_child() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, bob) = (d.login("alice").await, d.login("bob").await);
        let (aws, bws) = (alice.workspace().await, bob.workspace().await);
        let mark = marker("alice-project");
        let project = alice.project(&aws, &mark).await;

        let own = alice
            .get_ok(&format!("/workspaces/{aws}/projects/{project}"))
            .await;
        assert!(leaks(&own, &mark), "{mode:?}: alice reads her project");

        // Through alice's workspace bob is refused in both modes.
        let (status, body) = bob
            .get(&format!("/workspaces/{aws}/projects/{project}"))
            .await;
        assert_eq!(status, FORBIDDEN, "{mode:?}: {body}");
        assert!(!leaks(&body, &mark));

        // The attack: his own workspace in the path, alice's project as the child.
        let (status, body) = bob
            .get(&format!("/workspaces/{bws}/projects/{project}"))
            .await;
        assert_leak(mode, &status, &body, &mark, (OK, NOT_FOUND));
        if mode == Mode::Vulnerable {
            assert_eq!(body["workspaceId"], json!(aws));
        }
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// 2. `PUT /documents/{documentId}` on alice's document.
#[tokio::test]
async fn bug02_document_update_unchecked() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, bob) = (d.login("alice").await, d.login("bob").await);
        let (_, doc) = alice.project_with_document(&marker("alice")).await;
        let path = format!("/documents/{doc}");

        let mine = marker("alice-edit");
        let (status, _) = alice
            .put(&path, &json!({"title": mine, "body": mine}))
            .await;
        assert_eq!(status, OK, "{mode:?}: alice updates her document");
        assert_eq!(alice.get_ok(&path).await["title"], json!(mine));

        let theirs = marker("bob-edit");
        let (status, body) = bob
            .put(&path, &json!({"title": theirs, "body": theirs}))
            .await;
        assert_eq!(status, by_mode(mode, OK, NOT_FOUND), "{mode:?}: {body}");

        let after = alice.get_ok(&path).await;
        assert_eq!(
            leaks(&after, &theirs),
            mode == Mode::Vulnerable,
            "{mode:?}: {after}"
        );
        assert_eq!(
            leaks(&after, &mine),
            mode == Mode::Secure,
            "{mode:?}: {after}"
        );
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// 3. `DELETE /comments/{commentId}` on alice's comment.
#[tokio::test]
async fn bug03_comment_delete_unchecked() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, bob) = (d.login("alice").await, d.login("bob").await);
        let (_, doc) = alice.project_with_document(&marker("alice")).await;
        let comments = format!("/documents/{doc}/comments");
        let (keep, drop) = (marker("alice-comment"), marker("alice-own-delete"));
        let victim = alice
            .post_expect(&comments, &json!({"body": keep}), CREATED)
            .await["id"]
            .clone();
        let own = alice
            .post_expect(&comments, &json!({"body": drop}), CREATED)
            .await["id"]
            .clone();

        // Alice deletes her own comment in both modes.
        assert_eq!(
            alice.delete(&format!("/comments/{own}")).await.0,
            NO_CONTENT
        );
        assert!(!leaks(&alice.get_ok(&comments).await, &drop), "{mode:?}");

        let (status, body) = bob.delete(&format!("/comments/{victim}")).await;
        assert_eq!(
            status,
            by_mode(mode, NO_CONTENT, NOT_FOUND),
            "{mode:?}: {body}"
        );
        let list = alice.get_ok(&comments).await;
        assert_eq!(
            leaks(&list, &keep),
            mode == Mode::Secure,
            "{mode:?}: {list}"
        );
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// 4. `GET /attachments?id=` of alice's attachment.
#[tokio::test]
async fn bug04_attachment_read_unchecked() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, bob) = (d.login("alice").await, d.login("bob").await);
        let mark = marker("alice-file");
        let input = json!({"workspaceId": alice.workspace().await, "filename": format!("{mark}.txt"),
                           "contentType": "text/plain", "content": mark});
        let created = alice.post_expect("/attachments", &input, CREATED).await;
        let path = format!("/attachments?id={}", created["id"].as_str().unwrap());

        assert!(leaks(&alice.get_ok(&path).await, &mark), "{mode:?}");

        let (status, body) = bob.get(&path).await;
        assert_leak(mode, &status, &body, &mark, (OK, NOT_FOUND));

        // Deleting is checked in both modes: alice still reads her file afterwards.
        assert_eq!(bob.delete(&path).await.0, NOT_FOUND, "{mode:?}");
        assert!(leaks(&alice.get_ok(&path).await, &mark), "{mode:?}");
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// 5. `POST /reports {projectId}` of alice's project.
#[tokio::test]
async fn bug05_report_unchecked() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, bob) = (d.login("alice").await, d.login("bob").await);
        let mark = marker("alice-report");
        let (project, _) = alice.project_with_document(&mark).await;
        let request = json!({"projectId": project});

        let own = alice.post_expect("/reports", &request, OK).await;
        assert!(leaks(&own, &mark), "{mode:?}: {own}");
        assert_eq!(own["documentCount"], json!(1));

        let (status, body) = bob.post("/reports", &request).await;
        assert_leak(mode, &status, &body, &mark, (OK, NOT_FOUND));
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// 6. `GET /search?q=` returns other tenants' documents.
#[tokio::test]
async fn bug06_search_all_tenants() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, bob) = (d.login("alice").await, d.login("bob").await);
        // The query is echoed back, so the leaked secret is a different string from the query.
        let (tag, secret) = (marker("tag"), marker("alice-secret"));
        let ws = alice.workspace().await;
        let project = alice.project(&ws, &marker("alice")).await;
        let doc = alice
            .document(&project, &format!("plan {tag}"), &secret, false)
            .await;
        let path = format!("/search?q={tag}");

        let own = alice.get_ok(&path).await;
        assert_eq!(own["results"][0]["id"], json!(doc), "{mode:?}: {own}");
        assert!(leaks(&own, &secret));

        let theirs = bob.get_ok(&path).await;
        let hits = theirs["results"].as_array().unwrap().len();
        assert_eq!(hits, by_mode(mode, 1, 0), "{mode:?}: {theirs}");
        assert_eq!(
            leaks(&theirs, &secret),
            mode == Mode::Vulnerable,
            "{mode:?}"
        );
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// 7. `GET /exports/{exportId}` with no `Authorization` header at all.
#[tokio::test]
async fn bug07_export_optional_auth() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, bob) = (d.login("alice").await, d.login("bob").await);
        let mark = marker("alice-export");
        let (project, _) = alice.project_with_document(&mark).await;
        let created = alice
            .post_expect(
                "/exports",
                &json!({"projectId": project}),
                StatusCode::ACCEPTED,
            )
            .await;
        let path = format!("/exports/{}", created["id"].as_str().unwrap());
        assert!(leaks(&alice.get_ok(&path).await, &mark), "{mode:?}");

        // Bob with his token is checked in both modes.
        let (status, body) = bob.get(&path).await;
        assert_eq!(
            (status, leaks(&body, &mark)),
            (NOT_FOUND, false),
            "{mode:?}"
        );
        // So is a bad token.
        let (status, body) = d.as_token(Some("dmo_forged")).get(&path).await;
        assert_eq!(
            (status, leaks(&body, &mark)),
            (UNAUTHORIZED, false),
            "{mode:?}"
        );

        let (status, body) = d.anon().get(&path).await;
        assert_leak(mode, &status, &body, &mark, (OK, UNAUTHORIZED));
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// 8. `POST /workspaces/{bobWs}/projects` with `workspaceId` = alice's workspace in the body.
#[tokio::test]
async fn bug08_project_create_mass_assign_tenant() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, bob) = (d.login("alice").await, d.login("bob").await);
        let (aws, bws) = (alice.workspace().await, bob.workspace().await);
        let alice_list = format!("/workspaces/{aws}/projects");

        let own = marker("alice-project");
        alice.project(&aws, &own).await;
        assert!(leaks(&alice.get_ok(&alice_list).await, &own), "{mode:?}");

        // Straight into alice's workspace is refused in both modes.
        let (status, _) = bob.post(&alice_list, &json!({"name": marker("bob")})).await;
        assert_eq!(status, FORBIDDEN, "{mode:?}");

        let planted = marker("bob-planted");
        let body = json!({"name": planted, "workspaceId": aws});
        let created = bob
            .post_expect(&format!("/workspaces/{bws}/projects"), &body, CREATED)
            .await;
        assert_eq!(created["workspaceId"], json!(by_mode(mode, &aws, &bws)));

        let names = field_values(&alice.get_ok(&alice_list).await, "projects", "name");
        assert_eq!(
            names.contains(&planted),
            mode == Mode::Vulnerable,
            "{mode:?}: {names:?}"
        );
        let bob_list = bob.get_ok(&format!("/workspaces/{bws}/projects")).await;
        assert_eq!(leaks(&bob_list, &planted), mode == Mode::Secure, "{mode:?}");
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// 9. `PATCH /me {"role":"admin"}`.
#[tokio::test]
async fn bug09_me_mass_assign_role() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (bob, root) = (d.login("bob").await, d.login("root").await);
        let carol_id = d.login("carol").await.me().await["id"].clone();
        assert_eq!(root.me().await["role"], json!("admin"));

        let name = marker("bob-name");
        let (status, body) = bob
            .patch("/me", &json!({"displayName": name, "role": "admin"}))
            .await;
        assert_eq!(status, OK, "{mode:?}: {body}");
        let me = bob.me().await;
        // The legitimate part of the patch works in both modes.
        assert_eq!(me["displayName"], json!(name));
        assert_eq!(
            me["role"],
            json!(by_mode(mode, "admin", "user")),
            "{mode:?}"
        );

        let (status, body) = bob.get("/admin/workspaces").await;
        assert_eq!(status, by_mode(mode, OK, FORBIDDEN), "{mode:?}: {body}");
        // `GET /admin/workspaces` is also bug 10, so show the role on a route only it unlocks.
        let (status, _) = bob
            .delete(&format!("/admin/users/{}", carol_id.as_str().unwrap()))
            .await;
        assert_eq!(status, by_mode(mode, NO_CONTENT, FORBIDDEN), "{mode:?}");
        let (status, _) = d.try_login("carol").await;
        assert_eq!(status, by_mode(mode, UNAUTHORIZED, OK), "{mode:?}");
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// 10. `GET /admin/workspaces` as a non-admin.
#[tokio::test]
async fn bug10_admin_list_open() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (bob, root) = (d.login("bob").await, d.login("root").await);
        let all = root.get_ok("/admin/workspaces").await;
        let mut names = field_values(&all, "workspaces", "name");
        names.sort();
        assert_eq!(names, ["Acme", "Globex"], "{mode:?}");

        let carol = d.login("carol").await;
        for (handle, user) in [("bob", &bob), ("carol", &carol)] {
            let (status, body) = user.get("/admin/workspaces").await;
            assert_eq!(
                status,
                by_mode(mode, OK, FORBIDDEN),
                "{mode:?} {handle}: {body}"
            );
            let sees_acme = leaks(&body, "alice@acme.test") && leaks(&body, "\"Acme\"");
            assert_eq!(
                sees_acme,
                mode == Mode::Vulnerable,
                "{mode:?} {handle}: {body}"
            );
        }
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// 11. `POST /projects/{projectId}/automations` on Globex (free plan).
#[tokio::test]
async fn bug11_automation_plan_unchecked() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, bob) = (d.login("alice").await, d.login("bob").await);
        assert_eq!(bob.me().await["workspaces"][0]["plan"], json!("free"));
        let automation =
            |name: &str| json!({"name": name, "trigger": "document.created", "action": "notify"});

        // Alice's workspace is on pro: allowed in both modes.
        let (project, _) = alice.project_with_document(&marker("alice")).await;
        let path = format!("/projects/{project}/automations");
        let own = marker("alice-automation");
        alice.post_expect(&path, &automation(&own), CREATED).await;
        assert!(leaks(&alice.get_ok(&path).await, &own), "{mode:?}");

        let bws = bob.workspace().await;
        let path = format!(
            "/projects/{}/automations",
            bob.project(&bws, &marker("bob")).await
        );
        let theirs = marker("bob-automation");
        let (status, body) = bob.post(&path, &automation(&theirs)).await;
        let expected = by_mode(mode, CREATED, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(status, expected, "{mode:?}: {body}");
        let list = bob.get_ok(&path).await;
        assert_eq!(
            leaks(&list, &theirs),
            mode == Mode::Vulnerable,
            "{mode:?}: {list}"
        );
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// 12. `POST /webhooks/billing` without a valid signature.
#[tokio::test]
async fn bug12_webhook_unsigned() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let bob = d.login("bob").await;
        let ws = bob.workspace().await;
        let event = |amount| credit_event(&marker("evt"), &ws, amount);
        let mut expected = bob.balance(&ws).await;

        // A correctly signed event is credited in both modes.
        let (status, body) = d
            .webhook(&event(500), Some((unix_now(), DEFAULT_WEBHOOK_SECRET)))
            .await;
        assert_eq!(status, OK, "{mode:?}: {body}");
        expected += 500;
        assert_eq!(bob.balance(&ws).await, expected, "{mode:?}");

        let stale = unix_now() - 3600;
        let forgeries = [
            ("unsigned", 1_000, None),
            ("wrong secret", 2_000, Some((unix_now(), "whsec_guessed"))),
            (
                "stale timestamp",
                4_000,
                Some((stale, DEFAULT_WEBHOOK_SECRET)),
            ),
        ];
        for (what, amount, signing) in forgeries {
            let (status, body) = d.webhook(&event(amount), signing).await;
            assert_eq!(
                status,
                by_mode(mode, OK, UNAUTHORIZED),
                "{mode:?} {what}: {body}"
            );
            if mode == Mode::Vulnerable {
                expected += amount;
            } else {
                assert_eq!(body["error"]["code"], json!("invalid_signature"));
            }
            assert_eq!(bob.balance(&ws).await, expected, "{mode:?} {what}");
        }
        assert_eq!(expected, by_mode(mode, 7_500, 500));
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// 13. `POST /webhooks/billing` replaying the same signed event id.
#[tokio::test]
async fn bug13_webhook_replay() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let bob = d.login("bob").await;
        let ws = bob.workspace().await;
        let before = bob.balance(&ws).await;
        let event = credit_event(&marker("evt"), &ws, 300);

        for attempt in 0..2 {
            let (status, body) = d
                .webhook(&event, Some((unix_now(), DEFAULT_WEBHOOK_SECRET)))
                .await;
            assert_eq!(status, OK, "{mode:?}: {body}");
            let duplicate = attempt == 1 && mode == Mode::Secure;
            assert_eq!(body["duplicate"], json!(duplicate), "{mode:?}: {body}");
        }
        let credited = by_mode(mode, 600, 300);
        assert_eq!(bob.balance(&ws).await, before + credited, "{mode:?}");

        // A new event id is credited in both modes.
        let other = credit_event(&marker("evt"), &ws, 50);
        let signing = Some((unix_now(), DEFAULT_WEBHOOK_SECRET));
        assert_eq!(d.webhook(&other, signing).await.0, OK);
        assert_eq!(bob.balance(&ws).await, before + credited + 50, "{mode:?}");
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

// ---------------------------------------------------------------------------------------------
// Routes a fuzzer must not flag: the same, correct behaviour in both modes.
// ---------------------------------------------------------------------------------------------

/// `GET /documents/{documentId}` of alice's document by bob: 404 without her marker.
#[tokio::test]
async fn safe_document_read_is_checked() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, bob) = (d.login("alice").await, d.login("bob").await);
        let mark = marker("alice-doc");
        let (_, doc) = alice.project_with_document(&mark).await;
        let path = format!("/documents/{doc}");
        assert!(leaks(&alice.get_ok(&path).await, &mark), "{mode:?}");
        let (status, body) = bob.get(&path).await;
        assert_eq!(
            (status, leaks(&body, &mark)),
            (NOT_FOUND, false),
            "{mode:?}: {body}"
        );
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// `DELETE /documents/{documentId}` by bob: 204, yet alice still reads her document.
#[tokio::test]
async fn safe_document_delete_is_idempotent_noop() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, bob) = (d.login("alice").await, d.login("bob").await);
        let mark = marker("alice-doc");
        let (_, doc) = alice.project_with_document(&mark).await;
        let path = format!("/documents/{doc}");

        assert_eq!(bob.delete(&path).await.0, NO_CONTENT, "{mode:?}");
        assert!(leaks(&alice.get_ok(&path).await, &mark), "{mode:?}");

        assert_eq!(alice.delete(&path).await.0, NO_CONTENT, "{mode:?}");
        assert_eq!(alice.get(&path).await.0, NOT_FOUND, "{mode:?}");
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// `GET /billing/invoices/{invoiceId}` of Acme's invoice by bob: 200 with an error body.
#[tokio::test]
async fn safe_invoice_read_answers_200_error() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, bob) = (d.login("alice").await, d.login("bob").await);
        let invoices = alice.get_ok("/billing/invoices").await["invoices"].clone();
        let invoices = invoices.as_array().unwrap();
        assert_eq!(invoices.len(), 2, "{mode:?}");
        let bob_ids = field_values(&bob.get_ok("/billing/invoices").await, "invoices", "id");
        assert_eq!(bob_ids.len(), 2, "{mode:?}");

        for invoice in invoices {
            let (id, number) = (
                invoice["id"].as_str().unwrap(),
                invoice["number"].as_str().unwrap(),
            );
            assert!(!bob_ids.iter().any(|b| b == id), "{mode:?}");
            let path = format!("/billing/invoices/{id}");
            assert_eq!(&alice.get_ok(&path).await, invoice, "{mode:?}");

            let body = bob.get_ok(&path).await;
            assert_eq!(
                body["error"]["code"],
                json!("not_found"),
                "{mode:?}: {body}"
            );
            assert!(
                body.get("amountCents").is_none() && !leaks(&body, number),
                "{body}"
            );
        }
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// `DELETE /admin/users/{userId}`: 403 for a non-admin (the user still logs in), 204 for root.
#[tokio::test]
async fn safe_admin_delete_user_requires_admin() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (bob, root) = (d.login("bob").await, d.login("root").await);
        let carol = d.login("carol").await;
        let path = format!("/admin/users/{}", carol.me().await["id"].as_str().unwrap());

        let (status, body) = bob.delete(&path).await;
        assert_eq!(status, FORBIDDEN, "{mode:?}: {body}");
        assert_eq!(d.try_login("carol").await.0, OK, "{mode:?}");
        assert_eq!(carol.get("/me").await.0, OK, "{mode:?}");

        assert_eq!(root.delete(&path).await.0, NO_CONTENT, "{mode:?}");
        assert_eq!(d.try_login("carol").await.0, UNAUTHORIZED, "{mode:?}");
        assert_eq!(carol.get("/me").await.0, UNAUTHORIZED, "{mode:?}");
        assert_eq!(root.delete(&path).await.0, NOT_FOUND, "{mode:?}");
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// The public routes answer without credentials; only published documents are public.
#[tokio::test]
async fn safe_public_routes() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let (alice, anon) = (d.login("alice").await, d.anon());
        assert_eq!(anon.get_ok("/health").await, json!({"status": "ok"}));
        let pricing = anon.get_ok("/public/pricing").await;
        assert_eq!(field_values(&pricing, "plans", "id"), ["free", "pro"]);

        let ws = alice.workspace().await;
        let project = alice.project(&ws, &marker("alice")).await;
        let (public, private) = (marker("published"), marker("unpublished"));
        let published = alice.document(&project, &public, &public, true).await;
        let unpublished = alice.document(&project, &private, &private, false).await;

        let body = anon.get_ok(&format!("/public/documents/{published}")).await;
        assert!(leaks(&body, &public), "{mode:?}: {body}");
        let (status, body) = anon.get(&format!("/public/documents/{unpublished}")).await;
        assert_eq!(
            (status, leaks(&body, &private)),
            (NOT_FOUND, false),
            "{mode:?}"
        );
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

// ---------------------------------------------------------------------------------------------
// Protocol behaviour, configuration.
// ---------------------------------------------------------------------------------------------

/// No token, an unknown token and a non-bearer scheme are all 401 with the error shape.
#[tokio::test]
async fn missing_or_bad_credentials_are_401() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let basic = [("authorization", "Basic Ym9iOmJvYg==".to_string())];
        let answers = [
            d.anon().get("/me").await,
            d.as_token(Some("dmo_not_a_session")).get("/me").await,
            d.anon().raw(Method::GET, "/me", None, &basic).await,
            d.anon().get("/admin/workspaces").await,
        ];
        for (status, body) in answers {
            assert_eq!(status, UNAUTHORIZED, "{mode:?}: {body}");
            assert_eq!(body["error"]["code"], json!("unauthorized"), "{mode:?}");
        }
        let wrong = json!({"email": "alice@acme.test", "password": "not-her-password"});
        assert_eq!(d.anon().post("/auth/login", &wrong).await.0, UNAUTHORIZED);
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// A known path with the wrong method is 405; an unknown path is 404.
#[tokio::test]
async fn wrong_method_is_405() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let alice = d.login("alice").await;
        let (status, body) = alice.put("/me", &json!({"displayName": "x"})).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{mode:?}: {body}");
        assert_eq!(body["error"]["code"], json!("method_not_allowed"));
        assert_eq!(
            alice.delete("/health").await.0,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(alice.get("/no/such/route").await.0, NOT_FOUND);
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// Invalid JSON, a missing required field, a wrong type or a bad id are 400 with the error shape.
#[tokio::test]
async fn bad_requests_are_400() {
    async fn scenario(mode: Mode) {
        let d = Demo::start(mode).await;
        let alice = d.login("alice").await;
        let ws = alice.workspace().await;
        let projects = format!("/workspaces/{ws}/projects");
        let answers = [
            d.anon()
                .raw(Method::POST, "/auth/login", Some("{not json"), &[])
                .await,
            d.anon()
                .post("/auth/login", &json!({"email": "alice@acme.test"}))
                .await,
            alice
                .post(&projects, &json!({"description": "no name"}))
                .await,
            alice.post(&projects, &json!({"name": 42})).await,
            alice.get("/search").await,
            alice.get("/attachments?id=not-a-uuid").await,
            alice.get("/documents/not-a-number").await,
        ];
        for (status, body) in answers {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{mode:?}: {body}");
            assert_eq!(body["error"]["code"], json!("invalid_request"), "{body}");
        }
        let names = field_values(&alice.get_ok(&projects).await, "projects", "name");
        assert_eq!(names.len(), 1, "{mode:?}: nothing was created: {names:?}");
        d.shutdown().await;
    }
    both_modes(scenario).await;
}

/// Which of four probes (search, attachment read, document update, admin list) let bob through
/// to alice's data on a server started with `bugs`.
async fn probe(bugs: Bugs) -> [bool; 4] {
    let d = Demo::with_config(DemoConfig {
        bugs,
        ..DemoConfig::new(Mode::Secure)
    })
    .await;
    let (alice, bob) = (d.login("alice").await, d.login("bob").await);
    let (tag, secret) = (marker("tag"), marker("secret"));
    let ws = alice.workspace().await;
    let project = alice.project(&ws, &marker("alice")).await;
    let doc = alice.document(&project, &tag, &secret, false).await;
    let input = json!({"workspaceId": ws, "filename": "a.txt", "contentType": "text/plain", "content": secret});
    let attachment = alice.post_expect("/attachments", &input, CREATED).await["id"].clone();

    let search = bob.get_ok(&format!("/search?q={tag}")).await;
    let file = bob
        .get(&format!("/attachments?id={}", attachment.as_str().unwrap()))
        .await
        .1;
    let forged = marker("bob");
    bob.put(&format!("/documents/{doc}"), &json!({"title": forged}))
        .await;
    let updated = leaks(&alice.get_ok(&format!("/documents/{doc}")).await, &forged);
    let admin = bob.get("/admin/workspaces").await.1;
    d.shutdown().await;
    [
        leaks(&search, &secret),
        leaks(&file, &secret),
        updated,
        leaks(&admin, "alice@acme.test"),
    ]
}

/// Each `Bugs` flag switches on its own bug and nothing else.
#[tokio::test]
async fn bug_flags_are_independent() {
    let only_search = Bugs {
        search_all_tenants: true,
        ..Bugs::none()
    };
    let only_attachment = Bugs {
        attachment_read_unchecked: true,
        ..Bugs::none()
    };
    let (search, attachment, none, all) = tokio::join!(
        probe(only_search),
        probe(only_attachment),
        probe(Bugs::none()),
        probe(Bugs::all()),
    );
    assert_eq!(search, [true, false, false, false]);
    assert_eq!(attachment, [false, true, false, false]);
    assert_eq!(none, [false; 4]);
    assert_eq!(all, [true; 4]);
}

/// A token stops working once `token_ttl` has passed.
#[tokio::test]
async fn token_expires_after_ttl() {
    let ttl = Duration::from_secs(1);
    let d = Demo::with_config(DemoConfig {
        token_ttl: ttl,
        ..DemoConfig::new(Mode::Secure)
    })
    .await;
    let before_login = Instant::now();
    let (status, login) = d.try_login("alice").await;
    assert_eq!(status, OK);
    assert_eq!(login["expiresIn"], json!(1));
    let alice = d.as_token(login["token"].as_str());
    let (status, _) = alice.get("/me").await;
    // The session expires no earlier than `ttl` after `before_login`; only judge the fresh token
    // if this machine answered within that window.
    if before_login.elapsed() < ttl {
        assert_eq!(status, OK);
    }
    tokio::time::sleep(ttl + Duration::from_millis(500)).await;
    let (status, body) = alice.get("/me").await;
    assert_eq!(status, UNAUTHORIZED, "{body}");
    assert_eq!(d.login("alice").await.get("/me").await.0, OK);
    d.shutdown().await;
}
