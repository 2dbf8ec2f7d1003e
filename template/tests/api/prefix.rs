//! A service mounted under a path prefix by a gateway
//! (`https://example.com/orders/` → the service at `/`): `own_url` carries the
//! prefix, and everything that points back at the service keeps it.

use reqwest::header;
use serde_json::Value;

use crate::helpers::{LOGIN_URL, TestApp, spawn_app_with};

const PREFIXED: &str = "https://example.com/orders";

async fn prefixed_app() -> TestApp {
    // A real key: off loopback, the development secret is refused.
    spawn_app_with(&[
        ("auth.own_url", PREFIXED),
        (
            "auth.secret",
            "a-secret-for-a-service-behind-a-gateway-0123",
        ),
        ("dev_login.enabled", "false"),
    ])
    .await
}

#[tokio::test]
async fn the_login_redirect_brings_the_user_back_under_the_prefix() {
    let app = prefixed_app().await;
    // The gateway has stripped `/orders`: the service sees `/me/`.
    let response = app
        .get("/me/?tab=1")
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()[header::LOCATION],
        format!("{LOGIN_URL}?next=https%3A//example.com/orders/me/%3Ftab%3D1").as_str()
    );
}

#[tokio::test]
async fn the_spec_and_swagger_ui_point_under_the_prefix() {
    let app = prefixed_app().await;
    let spec: Value = app
        .get("/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["servers"][0]["url"], "/orders/api");
    let docs = app.get("/docs").send().await.unwrap().text().await.unwrap();
    assert!(
        docs.contains("/orders/api"),
        "Swagger UI does not use the prefix"
    );
}

#[tokio::test]
async fn csrf_compares_origins_only() {
    let app = prefixed_app().await;
    let staff = crate::helpers::sign_with(
        &{
            let mut claims = crate::helpers::access_claims("boss");
            claims["user_is_staff"] = serde_json::json!(true);
            claims
        },
        b"a-secret-for-a-service-behind-a-gateway-0123",
    );
    let cookies = crate::helpers::cookie_pair(&staff);
    let id = app.me_json(&cookies).await["id"].clone();
    let response = app
        .post(&format!("/api/users/{id}/activate"))
        .header(header::ORIGIN, "https://example.com")
        .header(header::COOKIE, cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn own_url_takes_a_path_prefix_but_no_query() {
    let settings = crate::helpers::test_settings(&[
        ("auth.own_url", "https://example.com/orders/"),
        (
            "auth.secret",
            "a-secret-for-a-service-behind-a-gateway-0123",
        ),
        ("dev_login.enabled", "false"),
    ])
    .unwrap();
    assert_eq!(settings.auth.own_url.as_str(), "https://example.com/orders");
    assert_eq!(settings.auth.path_prefix(), "/orders");
    let error =
        crate::helpers::test_settings(&[("auth.own_url", "https://example.com/orders?x=1")])
            .unwrap_err()
            .to_string();
    assert!(
        error.starts_with("invalid setting `auth.own_url`"),
        "{error}"
    );
}

#[tokio::test]
async fn the_development_login_stays_under_the_prefix() {
    // On a developer's machine behind a local gateway.
    let app = spawn_app_with(&[("auth.own_url", "http://localhost:8080/orders")]).await;
    let page = app
        .get("/dev/login/")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"action="/orders/dev/login/""#), "{page}");
    assert!(page.contains(r#"action="/orders/dev/logout/""#), "{page}");

    let sign_in = |next: &'static str| {
        app.post("/dev/login/")
            .form(&[
                ("username", "dev"),
                ("email", "dev@example.com"),
                ("next", next),
            ])
            .send()
    };
    let response = sign_in("/orders/me/").await.unwrap();
    assert_eq!(response.headers()[header::LOCATION], "/orders/me/");
    let response = sign_in("https://evil.example/").await.unwrap();
    assert_eq!(response.headers()[header::LOCATION], "/orders/");
    let response = app.post("/dev/logout/").send().await.unwrap();
    assert_eq!(response.headers()[header::LOCATION], "/orders/dev/login/");
}
