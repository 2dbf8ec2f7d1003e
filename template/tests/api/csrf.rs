//! Cookie-authenticated unsafe requests must come from a trusted origin;
//! bearer requests and safe methods are never blocked.

use reqwest::header;
use serde_json::{Value, json};

use crate::helpers::{
    OWN_URL, TestApp, access_token, claims_with, cookie_pair, sign, spawn_app, spawn_app_with,
};

/// A staff cookie pair and the id of a user to act on.
async fn staff_and_target(app: &TestApp) -> (String, i64) {
    let me: Value = app
        .me_with_cookie(&access_token("alice"))
        .await
        .json()
        .await
        .unwrap();
    let staff = cookie_pair(&sign(&claims_with("boss", "user_is_staff", json!(true))));
    (staff, me["id"].as_i64().unwrap())
}

async fn deactivate(app: &TestApp, id: i64, headers: &[(&str, &str)]) -> u16 {
    let mut request = app.post(&format!("/api/users/{id}/deactivate"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_cookie_post_from_own_url_is_allowed() {
    let app = spawn_app().await;
    let (staff, id) = staff_and_target(&app).await;
    assert_eq!(
        deactivate(&app, id, &[("cookie", &staff), ("origin", OWN_URL)]).await,
        200
    );
}

#[tokio::test]
async fn a_cookie_post_with_a_same_origin_referer_and_no_origin_is_allowed() {
    let app = spawn_app().await;
    let (staff, id) = staff_and_target(&app).await;
    let referer = format!("{OWN_URL}/docs");
    assert_eq!(
        deactivate(&app, id, &[("cookie", &staff), ("referer", &referer)]).await,
        200
    );
}

#[tokio::test]
async fn a_cookie_post_from_another_origin_or_without_origin_is_403() {
    let app = spawn_app().await;
    let (staff, id) = staff_and_target(&app).await;
    for headers in [
        vec![
            ("cookie", staff.as_str()),
            ("origin", "http://evil.example"),
        ],
        vec![("cookie", staff.as_str()), ("origin", "null")],
        vec![
            ("cookie", staff.as_str()),
            ("origin", "http://svc.localhost:8001.evil.example"),
        ],
        vec![
            ("cookie", staff.as_str()),
            ("origin", "https://svc.localhost:8001"),
        ],
        vec![
            ("cookie", staff.as_str()),
            ("referer", "http://evil.example/page"),
        ],
        vec![("cookie", staff.as_str()), ("referer", "not a url")],
        vec![("cookie", staff.as_str())],
    ] {
        assert_eq!(deactivate(&app, id, &headers).await, 403, "{headers:?}");
    }
    // An Origin header wins over a matching Referer.
    let referer = format!("{OWN_URL}/");
    let headers = [
        ("cookie", staff.as_str()),
        ("origin", "http://evil.example"),
        ("referer", referer.as_str()),
    ];
    assert_eq!(deactivate(&app, id, &headers).await, 403);
    assert!(
        app.users().await.iter().all(|u| u.is_active),
        "a forged request changed a row"
    );
}

#[tokio::test]
async fn a_csrf_failure_answers_json_saying_so() {
    let app = spawn_app().await;
    let (staff, id) = staff_and_target(&app).await;
    let response = app
        .post(&format!("/api/users/{id}/deactivate"))
        .header(header::COOKIE, staff)
        .header(header::ORIGIN, "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "csrf_failed");
}

#[tokio::test]
async fn a_configured_trusted_origin_is_allowed() {
    let app = spawn_app_with(&[("csrf.trusted_origins", "https://app.example.com")]).await;
    let (staff, id) = staff_and_target(&app).await;
    assert_eq!(
        deactivate(
            &app,
            id,
            &[("cookie", &staff), ("origin", "https://app.example.com")]
        )
        .await,
        200
    );
}

#[tokio::test]
async fn a_bearer_post_from_anywhere_is_allowed() {
    let app = spawn_app().await;
    let (_, id) = staff_and_target(&app).await;
    let bearer = format!(
        "Bearer {}",
        sign(&claims_with("boss", "user_is_staff", json!(true)))
    );
    assert_eq!(
        deactivate(
            &app,
            id,
            &[
                ("authorization", &bearer),
                ("origin", "http://evil.example")
            ]
        )
        .await,
        200
    );
}

#[tokio::test]
async fn safe_methods_are_never_blocked() {
    let app = spawn_app().await;
    let response = app
        .get("/api/me")
        .header(header::COOKIE, cookie_pair(&access_token("alice")))
        .header(header::ORIGIN, "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
