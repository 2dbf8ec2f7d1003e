//! Where the access token comes from: the Auth service's cookie pair as
//! browsers really send it, or an `Authorization: Bearer` header. Whatever a
//! client sends there, the answer is a user or anonymous, never a 5xx.

use reqwest::header;
use serde_json::{Value, json};

use crate::helpers::{
    ACCESS_COOKIE, REFRESH_COOKIE, access_token, assert_anonymous, claims_with, cookie_pair, now,
    refresh_token, sign, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn a_valid_cookie_pair_signs_the_user_in() {
    let app = spawn_app().await;
    let response = app.me_with_cookie(&access_token("alice")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "alice");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["first_name"], "Alice");
    assert_eq!(body["is_staff"], false);
}

#[tokio::test]
async fn a_valid_bearer_token_signs_the_user_in_without_cookies() {
    let app = spawn_app().await;
    let response = app.me_with_bearer(&access_token("alice")).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn no_cookies_is_anonymous() {
    let app = spawn_app().await;
    assert_anonymous(app.get("/api/me").send().await.unwrap()).await;
}

#[tokio::test]
async fn only_the_access_cookie_is_anonymous_when_the_refresh_cookie_is_required() {
    let app = spawn_app().await;
    let response = app
        .me_with_cookies(&format!("{ACCESS_COOKIE}={}", access_token("alice")))
        .await;
    assert_anonymous(response).await;
}

#[tokio::test]
async fn only_the_access_cookie_is_enough_when_the_refresh_cookie_is_not_required() {
    let app = spawn_app_with(&[("auth.require_refresh_cookie", "false")]).await;
    let response = app
        .me_with_cookies(&format!("{ACCESS_COOKIE}={}", access_token("alice")))
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn only_the_refresh_cookie_is_anonymous() {
    let app = spawn_app().await;
    let response = app
        .me_with_cookies(&format!("{REFRESH_COOKIE}={}", refresh_token("alice")))
        .await;
    assert_anonymous(response).await;
}

#[tokio::test]
async fn oversized_or_malformed_cookie_headers_never_fail_the_server() {
    let app = spawn_app().await;
    let huge = format!(
        "{ACCESS_COOKIE}={}; {REFRESH_COOKIE}=x",
        "a".repeat(64 * 1024)
    );
    let response = app.me_with_cookies(&huge).await;
    assert!(
        response.status().is_client_error(),
        "a 64 kB cookie got {}",
        response.status()
    );

    for cookie in [
        ";;;=;=",
        "=",
        "org.breakthesystem.jwt.access",
        "org.breakthesystem.jwt.access=\"unterminated",
        "org.breakthesystem.jwt.access==; org.breakthesystem.jwt.refresh==",
    ] {
        let response = app.me_with_cookies(cookie).await;
        assert_anonymous(response).await;
    }

    let non_utf8 = header::HeaderValue::from_bytes(
        b"org.breakthesystem.jwt.access=\xff\xfe; org.breakthesystem.jwt.refresh=\xff",
    )
    .unwrap();
    let response = app
        .get("/api/me")
        .header(header::COOKIE, non_utf8)
        .send()
        .await
        .unwrap();
    assert_anonymous(response).await;

    let bad_authorization = header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap();
    let response = app
        .get("/api/me")
        .header(header::AUTHORIZATION, bad_authorization)
        .send()
        .await
        .unwrap();
    assert_anonymous(response).await;
    assert!(app.users().await.is_empty());
}

/// `GET /api/me` with the raw `Cookie` header `bytes`.
async fn status_with_cookie_bytes(app: &crate::helpers::TestApp, bytes: &[u8]) -> u16 {
    app.get("/api/me")
        .header(
            header::COOKIE,
            header::HeaderValue::from_bytes(bytes).unwrap(),
        )
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn of_two_access_cookies_the_last_counts_as_in_django() {
    // A stale cookie for this host and the Auth service's for the parent
    // domain: the Auth service (Django) reads the last, and so does this one.
    let app = spawn_app().await;
    let stale = sign(&claims_with("alice", "exp", json!(now() - 60)));
    let fresh = access_token("alice");
    let cookies = format!("{ACCESS_COOKIE}={stale}; {ACCESS_COOKIE}={fresh}; {REFRESH_COOKIE}=r");
    let response = app.me_with_cookies(&cookies).await;
    assert_eq!(response.status(), 200);

    let cookies = format!("{ACCESS_COOKIE}={fresh}; {ACCESS_COOKIE}={stale}; {REFRESH_COOKIE}=r");
    let response = app.me_with_cookies(&cookies).await;
    assert_eq!(response.status(), 401);

    // Split over two Cookie headers (as HTTP/2 may send them), the same holds.
    let response = app
        .get("/api/me")
        .header(header::COOKIE, format!("{ACCESS_COOKIE}={stale}"))
        .header(
            header::COOKIE,
            format!("{ACCESS_COOKIE}={fresh}; {REFRESH_COOKIE}=r"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn another_apps_cookie_with_non_ascii_bytes_does_not_hide_ours() {
    let app = spawn_app().await;
    let token = access_token("alice");
    // UTF-8 (`München`) and Latin-1 (`\xfc`) bytes from other applications on
    // the shared domain, before, between and after our two cookies.
    for others in [
        (
            "city=M\u{fc}nchen".as_bytes().to_vec(),
            b"lang=\xfc".to_vec(),
        ),
        (
            b"name=\xff\xfe".to_vec(),
            "greeting=gr\u{fc}\u{df} dich".as_bytes().to_vec(),
        ),
    ] {
        let mut header = others.0.clone();
        header.extend_from_slice(format!("; {ACCESS_COOKIE}={token}; ").as_bytes());
        header.extend_from_slice(&others.1);
        header.extend_from_slice(format!("; {REFRESH_COOKIE}=r; tail=\u{e9}").as_bytes());
        assert_eq!(status_with_cookie_bytes(&app, &header).await, 200);
    }
    assert_eq!(app.users().await.len(), 1);
}

#[tokio::test]
async fn a_cookie_pair_with_a_bearer_header_uses_the_bearer_token() {
    let app = spawn_app().await;
    let response = app
        .get("/api/me")
        .header(header::COOKIE, cookie_pair("garbage"))
        .bearer_auth(access_token("bob"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "bob");
}
