//! Credentialed CORS for browser front-ends on sibling origins
//! (`cors.allowed_origins`): preflights answered without authentication, the
//! headers a client acts on exposed, and the CSRF check trusting exactly
//! those origins besides the service's own and `csrf.trusted_origins`.

use reqwest::{Method, header};
use serde_json::json;

use crate::helpers::{TestApp, access_token, claims_with, cookie_pair, sign, spawn_app_with};

const APP: &str = "https://app.example.com";
const OTHER: &str = "https://other.example.com";

async fn app_allowing(origin: &str) -> TestApp {
    spawn_app_with(&[("cors.allowed_origins", origin)]).await
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_without_authentication() {
    let app = app_allowing(APP).await;
    let response = app
        .client
        .request(
            Method::OPTIONS,
            format!("{}/api/users/1/deactivate", app.address),
        )
        .header(header::ORIGIN, APP)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    let methods = headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST"), "{methods}");
}

#[tokio::test]
async fn a_preflight_from_another_origin_gets_no_cors_headers() {
    let app = app_allowing(APP).await;
    let response = app
        .client
        .request(Method::OPTIONS, format!("{}/api/me", app.address))
        .header(header::ORIGIN, OTHER)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none(),
        "{response:?}"
    );
}

#[tokio::test]
async fn a_credentialed_get_from_an_allowed_origin_may_be_read_by_it_and_no_other() {
    let app = app_allowing(APP).await;
    let cookies = cookie_pair(&access_token("alice"));
    let response = app
        .get("/api/me")
        .header(header::ORIGIN, APP)
        .header(header::COOKIE, &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    let exposed = headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("www-authenticate") && exposed.contains("retry-after"),
        "{exposed}"
    );

    // The same request from another origin is answered (the browser keeps
    // it from the page), without any CORS header.
    let response = app
        .get("/api/me")
        .header(header::ORIGIN, OTHER)
        .header(header::COOKIE, &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
}

#[tokio::test]
async fn a_credentialed_post_passes_the_csrf_check_from_an_allowed_origin_only() {
    let app = app_allowing(APP).await;
    let target = app.me_json(&cookie_pair(&access_token("alice"))).await["id"].clone();
    let staff = cookie_pair(&sign(&claims_with("boss", "user_is_staff", json!(true))));
    let post = |origin: &str| {
        app.post(&format!("/api/users/{target}/deactivate"))
            .header(header::ORIGIN, origin)
            .header(header::COOKIE, &staff)
            .send()
    };
    let response = post(OTHER).await.unwrap();
    assert_eq!(response.status(), 403);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "csrf_failed");
    let response = post(APP).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
}

#[test]
fn a_wildcard_origin_is_refused() {
    for origin in ["*", "https://*.example.com"] {
        let error = crate::helpers::test_settings(&[("cors.allowed_origins", origin)])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("invalid setting `cors.allowed_origins`"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn without_allowed_origins_there_are_no_cors_headers() {
    let app = spawn_app_with(&[]).await;
    let response = app
        .get("/api/health/live")
        .header(header::ORIGIN, APP)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
}
