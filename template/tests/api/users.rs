//! Local user rows: a known, unchanged user costs one `SELECT` when the cache
//! does not know them and nothing when it does; a new user or changed claims
//! add one upsert (`UPSERT_STATEMENTS`: plus a `SELECT` where the database has
//! no `RETURNING`); one row per user however many requests race; the staff
//! endpoints over them; and what protected routes answer when the database
//! is away.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use reqwest::header;
use sea_orm::{ConnectionTrait, EntityTrait, TransactionTrait};
use serde_json::{Value, json};
use tokio::sync::Notify;
use {{crate_name}}::{
    auth::{StoreFuture, Synced, UserClaims, UserStore},
    entities::users,
    models::users::{DbUserStore, UPSERT_STATEMENTS},
};

use crate::helpers::{
    TestApp, access_claims, access_token, assert_unavailable, claims_with, cookie_pair,
    eventually, now, sign, spawn_app, spawn_app_with, spawn_app_with_store, spawn_replica_of,
};

#[tokio::test]
async fn the_first_request_creates_the_user_row_from_the_claims() {
    let app = spawn_app().await;
    assert_eq!(
        app.me_with_cookie(&access_token("alice")).await.status(),
        200
    );
    let users = app.users().await;
    assert_eq!(users.len(), 1);
    let user = &users[0];
    assert_eq!(user.username, "alice");
    assert_eq!(user.email, "alice@example.com");
    assert_eq!(
        (user.first_name.as_str(), user.last_name.as_str()),
        ("Alice", "Liddell")
    );
    assert!(!user.is_staff && !user.is_superuser && user.is_active);
}

/// Statements of the first request of a user this service has never seen:
/// the `SELECT` that finds nothing, then the upsert.
const FIRST_SIGHT_STATEMENTS: usize = 1 + UPSERT_STATEMENTS;

#[tokio::test]
async fn first_sight_costs_a_read_and_one_upsert_and_steady_state_nothing() {
    let app = spawn_app().await;
    let token = access_token("alice");
    let before = app.statement_count();
    assert_eq!(app.me_with_cookie(&token).await.status(), 200);
    assert_eq!(app.statement_count() - before, FIRST_SIGHT_STATEMENTS, "first sight");

    let before = app.statement_count();
    for _ in 0..20 {
        assert_eq!(app.me_with_cookie(&token).await.status(), 200);
    }
    // New tokens with the same claims (new jti, iat, exp) are steady state too.
    assert_eq!(
        app.me_with_cookie(&access_token("alice")).await.status(),
        200
    );
    assert_eq!(app.statement_count() - before, 0, "steady state");
}

#[tokio::test]
async fn changed_claims_update_the_row_in_one_upsert_without_a_second_row() {
    let app = spawn_app().await;
    assert_eq!(
        app.me_with_cookie(&access_token("alice")).await.status(),
        200
    );
    let joined = app.users().await[0].date_joined;

    let mut claims = access_claims("alice");
    claims["user_email"] = json!("alice@wonderland.example");
    claims["user_is_staff"] = json!(true);
    claims["user_last_name"] = json!("Pleasance");
    let before = app.statement_count();
    let response = app.me_with_cookie(&sign(&claims)).await;
    assert_eq!(app.statement_count() - before, 1 + UPSERT_STATEMENTS);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "alice@wonderland.example");
    assert_eq!(body["is_staff"], true);

    let users = app.users().await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].email, "alice@wonderland.example");
    assert_eq!(users[0].last_name, "Pleasance");
    assert!(users[0].is_staff);
    assert_eq!(users[0].date_joined, joined);
}

// Django's usernames are case-sensitive, and so is every comparison here
// (MySQL's default collation is not: the table uses `utf8mb4_bin` there).
#[tokio::test]
async fn usernames_and_claim_changes_are_case_sensitive() {
    let app = spawn_app().await;
    for username in ["alice", "Alice"] {
        assert_eq!(
            app.me_with_cookie(&access_token(username)).await.status(),
            200
        );
    }
    assert_eq!(app.users().await.len(), 2);

    let changed = claims_with("alice", "user_email", json!("ALICE@example.com"));
    let me: Value = app
        .me_with_cookie(&sign(&changed))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ALICE@example.com");
    let users = app.users().await;
    let alice = users.iter().find(|u| u.username == "alice").unwrap();
    assert_eq!(alice.email, "ALICE@example.com");
}

#[tokio::test]
async fn a_known_user_with_a_cold_cache_costs_one_read_and_no_write() {
    let app = spawn_app().await;
    assert_eq!(
        app.me_with_cookie(&access_token("alice")).await.status(),
        200
    );
    let updated = app.users().await[0].updated_at;
    app.authenticator.forget("alice");
    let before = app.statement_count();
    assert_eq!(
        app.me_with_cookie(&access_token("alice")).await.status(),
        200
    );
    assert_eq!(app.statement_count() - before, 1, "one SELECT");
    assert_eq!(
        app.users().await[0].updated_at,
        updated,
        "the row was rewritten"
    );
}

#[tokio::test]
async fn a_known_user_is_served_while_another_transaction_holds_the_write_lock() {
    // Another writer (a migration, a batch job, a replica's long update)
    // holds the lock on the users rows (SQLite: on the whole file). A known,
    // unchanged user with a cold cache only reads, so is served at once.
    let app = spawn_app().await;
    assert_eq!(app.me_with_cookie(&access_token("alice")).await.status(), 200);
    app.authenticator.forget("alice");
    let writer = app.db.begin().await.unwrap();
    writer
        .execute_unprepared("UPDATE users SET updated_at = updated_at")
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let response = app.me_with_cookie(&access_token("alice")).await;
    let waited = started.elapsed();
    writer.rollback().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        waited < std::time::Duration::from_secs(1),
        "the request waited {waited:?} for the write lock"
    );
}

#[tokio::test]
async fn many_concurrent_first_sights_of_distinct_users_all_succeed() {
    // Many writers at once: never "database is locked", never a 503.
    let app = spawn_app().await;
    let requests = (0..200).map(|i| {
        let token = access_token(&format!("user-{i}"));
        let app = &app;
        async move { app.me_with_cookie(&token).await.status() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(app.users().await.len(), 200);
}

#[tokio::test]
async fn fifty_concurrent_first_requests_for_one_user_all_succeed_with_one_row() {
    let app = spawn_app().await;
    let requests = (0..50).map(|_| {
        let token = access_token("alice");
        let app = &app;
        async move { app.me_with_cookie(&token).await.status() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(app.users().await.len(), 1);
}

#[tokio::test]
async fn claims_longer_than_the_columns_are_anonymous_not_a_database_error() {
    let app = spawn_app().await;
    for (claim, value) in [
        ("user_first_name", "x".repeat(10_000)),
        ("user_last_name", "x".repeat(151)),
        ("user_email", format!("{}@example.com", "x".repeat(250))),
        ("user_uuid", "u".repeat(151)),
        ("user_first_name", "nul\0byte".to_owned()),
    ] {
        let response = app
            .me_with_cookie(&sign(&claims_with("alice", claim, json!(value))))
            .await;
        assert_eq!(response.status(), 401, "{claim} of {} chars", value.len());
    }
    assert!(app.users().await.is_empty());

    // The limits themselves are accepted, in characters, not bytes.
    let mut claims = access_claims(&"ü".repeat(150));
    claims["user_first_name"] = json!("é".repeat(150));
    assert_eq!(app.me_with_cookie(&sign(&claims)).await.status(), 200);
}

#[tokio::test]
async fn a_username_that_is_not_a_uuid_is_accepted() {
    let app = spawn_app().await;
    let response = app
        .me_with_cookie(&access_token("alice.liddell@legacy"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.users().await[0].username, "alice.liddell@legacy");
}

#[tokio::test]
async fn staff_list_users_page_by_page() {
    let app = spawn_app().await;
    for name in ["u1", "u2", "u3"] {
        assert_eq!(app.me_with_cookie(&access_token(name)).await.status(), 200);
    }
    let staff = sign(&claims_with("boss", "user_is_staff", json!(true)));
    let response = app
        .get("/api/users?page=2&per_page=2")
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["total"], 4);
    assert_eq!(body["page"], 2);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["username"], "u3");
    assert!(items[0]["date_joined"].is_string());
}

#[tokio::test]
async fn a_non_staff_user_gets_403_on_the_users_list() {
    let app = spawn_app().await;
    let response = app
        .get("/api/users")
        .bearer_auth(access_token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
}

#[tokio::test]
async fn an_invalid_page_size_is_a_400_not_a_500() {
    let app = spawn_app().await;
    let staff = sign(&claims_with("boss", "user_is_staff", json!(true)));
    for query in ["per_page=0", "per_page=101", "page=0", "page=abc"] {
        let response = app
            .get(&format!("/api/users?{query}"))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
    }
}

#[tokio::test]
async fn staff_deactivation_locks_the_user_out_at_once() {
    let app = spawn_app().await;
    let alice = access_token("alice");
    let me: Value = app.me_with_cookie(&alice).await.json().await.unwrap();
    let staff = sign(&claims_with("boss", "user_is_staff", json!(true)));

    let response = app
        .post(&format!("/api/users/{}/deactivate", me["id"]))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.me_with_cookie(&alice).await.status(), 403);

    let response = app
        .post(&format!("/api/users/{}/activate", me["id"]))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.me_with_cookie(&alice).await.status(), 200);

    let response = app
        .post("/api/users/999999/deactivate")
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

// With the pool closed (`replicas.rs` of a database-server variant also
// cuts the server off and sees the service recover).
#[tokio::test]
async fn with_the_database_down_protected_routes_answer_503_and_public_ones_still_work() {
    let app = spawn_app().await;
    app.db.close_by_ref().await.unwrap();

    let response = app.me_with_cookie(&access_token("alice")).await;
    assert_unavailable(&response);
    assert_eq!(
        app.get("/api/health/live").send().await.unwrap().status(),
        200
    );
    assert_eq!(
        app.get("/api/health/ready").send().await.unwrap().status(),
        503
    );
    // Anonymous requests still get their 401: no database is needed to say no.
    assert_eq!(app.get("/api/me").send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_database_error_that_is_a_bug_answers_500_not_503() {
    let app = spawn_app().await;
    // Not an outage: no retry makes this statement work, so no Retry-After.
    app.db
        .execute_unprepared("DROP TABLE users")
        .await
        .unwrap();
    let response = app.me_with_cookie(&access_token("alice")).await;
    assert_eq!(response.status(), 500);
    assert!(response.headers().get(header::RETRY_AFTER).is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "internal");
    // The database itself answers: the service stays ready.
    assert_eq!(app.get("/api/health/ready").send().await.unwrap().status(), 200);
}

// With every pooled connection taken.
#[tokio::test]
async fn with_the_pool_exhausted_protected_routes_answer_503_not_hang() {
    let app = spawn_app_with(&[
        ("database.max_connections", "1"),
        ("database.min_connections", "1"),
        ("database.acquire_timeout_secs", "1"),
    ])
    .await;
    // Holds the pool's only connection until the end of the test.
    let transaction = app.db.begin().await.unwrap();

    let response = app.me_with_cookie(&access_token("alice")).await;
    assert_unavailable(&response);
    assert_eq!(
        app.get("/api/health/live").send().await.unwrap().status(),
        200
    );

    transaction.rollback().await.unwrap();
    assert_eq!(
        app.me_with_cookie(&access_token("alice")).await.status(),
        200
    );
}

#[tokio::test]
async fn an_inactive_user_gets_403_disabled_never_a_login_redirect() {
    let app = spawn_app().await;
    let token = access_token("alice");
    let me = app.me_json(&cookie_pair(&token)).await;
    let alice = users::Entity::find_by_id(me["id"].as_i64().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    {{crate_name}}::models::users::set_active(&app.db, alice, false)
        .await
        .unwrap();
    app.authenticator.forget("alice");

    // An API client is told, in JSON.
    let response = app.me_with_cookie(&token).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "account_disabled");
    assert!(body["message"].as_str().unwrap().contains("disabled on this service"));

    // A browser gets a short page, not the login page: the Auth service would
    // send a signed-in user straight back, round and round.
    let response = app
        .get("/me/")
        .header(header::ACCEPT, "text/html")
        .header(header::COOKIE, cookie_pair(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.headers().get(header::LOCATION).is_none());
    assert!(response.text().await.unwrap().contains("disabled on this service"));
    assert_eq!(app.users().await.len(), 1);
}

/// Deactivates (`action` "deactivate") or reactivates user `id` as `actor`
/// (a bearer token) and returns the status and JSON body.
async fn act_on(app: &TestApp, actor: &str, action: &str, id: i64) -> (u16, Value) {
    let response = app
        .post(&format!("/api/users/{id}/{action}"))
        .bearer_auth(actor)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A bearer token for `username` with the staff and superuser flags given.
fn token_with_flags(username: &str, staff: bool, superuser: bool) -> String {
    let mut claims = access_claims(username);
    claims["user_is_staff"] = json!(staff);
    claims["user_is_superuser"] = json!(superuser);
    sign(&claims)
}

#[tokio::test]
async fn only_a_superuser_deactivates_a_superuser_and_nobody_themselves() {
    let app = spawn_app().await;
    let staff = token_with_flags("staff", true, false);
    let root = token_with_flags("root", true, true);
    let root_id = app.me_json(&cookie_pair(&root)).await["id"].as_i64().unwrap();
    let staff_id = app.me_json(&cookie_pair(&staff)).await["id"].as_i64().unwrap();

    let (status, body) = act_on(&app, &staff, "deactivate", root_id).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
    assert!(body["message"].as_str().unwrap().contains("superuser"), "{body}");
    let (status, _) = act_on(&app, &staff, "deactivate", staff_id).await;
    assert_eq!(status, 403, "staff deactivated themselves");
    let (status, _) = act_on(&app, &root, "deactivate", root_id).await;
    assert_eq!(status, 403, "a superuser deactivated themselves");
    assert!(app.users().await.iter().all(|user| user.is_active));

    // A superuser may deactivate another superuser; only a superuser may
    // bring them back.
    let other_root = token_with_flags("root2", true, true);
    let other_root_id = app.me_json(&cookie_pair(&other_root)).await["id"].as_i64().unwrap();
    assert_eq!(act_on(&app, &root, "deactivate", other_root_id).await.0, 200);
    assert_eq!(act_on(&app, &staff, "activate", other_root_id).await.0, 403);
    assert_eq!(act_on(&app, &root, "activate", other_root_id).await.0, 200);
    // Staff may deactivate a user who is not a superuser.
    assert_eq!(act_on(&app, &root, "deactivate", staff_id).await.0, 200);
}

/// A user store that holds its first answer for `alice` until the test lets
/// it go.
struct GatedStore {
    inner: DbUserStore,
    /// Whether alice's first answer has been held already.
    held: AtomicBool,
    /// Told when alice's answer is ready and held.
    reached: Arc<Notify>,
    /// Lets alice's answer go.
    release: Arc<Notify>,
}

impl UserStore for GatedStore {
    fn sync_user<'a>(&'a self, claims: &'a UserClaims) -> StoreFuture<'a, Synced> {
        Box::pin(async move {
            let user = self.inner.sync_user(claims).await;
            if claims.username == "alice" && !self.held.swap(true, Ordering::SeqCst) {
                self.reached.notify_one();
                self.release.notified().await;
            }
            user
        })
    }
}

#[tokio::test]
async fn a_deactivation_is_not_undone_by_a_request_in_flight() {
    let (reached, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let (held, gate) = (Arc::clone(&reached), Arc::clone(&release));
    let app = spawn_app_with_store(move |db| {
        Arc::new(GatedStore {
            inner: DbUserStore::new(db),
            held: AtomicBool::new(false),
            reached: held,
            release: gate,
        })
    })
    .await;
    let alice = access_token("alice");
    let first = tokio::spawn({
        let request = app.get("/api/me").header(header::COOKIE, cookie_pair(&alice));
        async move { request.send().await.unwrap().status() }
    });
    // Alice's row is read (active) and the answer held; meanwhile staff
    // deactivate her.
    reached.notified().await;
    let id = app.users().await[0].id;
    let staff = token_with_flags("boss", true, false);
    assert_eq!(act_on(&app, &staff, "deactivate", id).await.0, 200);
    release.notify_one();
    // The request that started before may finish as it began…
    assert_eq!(first.await.unwrap(), 200);
    // …but it must not have put the active alice back in the cache.
    assert_eq!(app.me_with_cookie(&alice).await.status(), 403);
}

#[tokio::test]
async fn an_older_token_never_writes_stale_flags_over_newer_ones() {
    let app = spawn_app().await;
    let mut newer = access_claims("alice");
    newer["user_is_staff"] = json!(true);
    let mut older = access_claims("alice");
    older["iat"] = json!(now() - 120);
    older["user_is_staff"] = json!(false);

    let me = app.me_json(&cookie_pair(&sign(&newer))).await;
    assert_eq!(me["is_staff"], true);
    let updated = app.users().await[0].updated_at;

    // The older token is still valid; it is served the fresher row.
    let me = app.me_json(&cookie_pair(&sign(&older))).await;
    assert_eq!(me["is_staff"], true);
    // Also once the cache has forgotten the row: the database refuses it too.
    app.authenticator.forget("alice");
    let me = app.me_json(&cookie_pair(&sign(&older))).await;
    assert_eq!(me["is_staff"], true);
    let row = &app.users().await[0];
    assert!(row.is_staff);
    assert_eq!(row.updated_at, updated, "the row was rewritten");

    // A token newer than both changes the row again.
    let mut newest = access_claims("alice");
    newest["iat"] = json!(now() + 1);
    newest["user_is_staff"] = json!(false);
    let me = app.me_json(&cookie_pair(&sign(&newest))).await;
    assert_eq!(me["is_staff"], false);
}

#[tokio::test]
async fn a_deactivation_on_one_replica_reaches_the_others_within_the_cache_ttl() {
    // Two applications on one database, each with its own caches.
    let ttl = [("auth.user_cache_ttl_secs", "2")];
    let one = spawn_app_with(&ttl).await;
    let other = spawn_replica_of(&one, &ttl).await;
    let alice = access_token("alice");
    assert_eq!(one.me_with_cookie(&alice).await.status(), 200);
    assert_eq!(other.me_with_cookie(&alice).await.status(), 200);

    let id = one.users().await[0].id;
    let staff = token_with_flags("boss", true, false);
    assert_eq!(act_on(&one, &staff, "deactivate", id).await.0, 200);
    // At once where it was made…
    assert_eq!(one.me_with_cookie(&alice).await.status(), 403);
    // …and on the other replica once its cache entry expires.
    let started = std::time::Instant::now();
    eventually("the other replica refuses alice", || async {
        other.me_with_cookie(&alice).await.status() == 403
    })
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "took {:?}", started.elapsed());
}
