//! The spec documents the auth that the code enforces.

use serde_json::Value;

use crate::helpers::{ACCESS_COOKIE, spawn_app, spawn_app_with};

async fn spec_of(app: &crate::helpers::TestApp) -> Value {
    let response = app.get("/openapi.json").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_spec_is_openapi_3_with_the_expected_paths() {
    let app = spawn_app().await;
    let spec = spec_of(&app).await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(spec["servers"][0]["url"], "/api");
    for path in [
        "/health/live",
        "/health/ready",
        "/me",
        "/users",
        "/users/{id}/deactivate",
    ] {
        assert!(spec["paths"][path].is_object(), "missing {path}");
    }
}

#[tokio::test]
async fn both_security_schemes_are_described() {
    let app = spawn_app().await;
    let spec = spec_of(&app).await;
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["AccessCookie"]["type"], "apiKey");
    assert_eq!(schemes["AccessCookie"]["in"], "cookie");
    assert_eq!(schemes["AccessCookie"]["name"], ACCESS_COOKIE);
    assert!(
        schemes["AccessCookie"]["description"]
            .as_str()
            .unwrap()
            .contains("Auth service")
    );
    assert_eq!(schemes["BearerToken"]["type"], "http");
    assert_eq!(schemes["BearerToken"]["scheme"], "bearer");
    assert_eq!(schemes["BearerToken"]["bearerFormat"], "JWT");
}

#[tokio::test]
async fn the_cookie_scheme_follows_the_access_cookie_setting() {
    let app = spawn_app_with(&[("auth.access_cookie", "team.access")]).await;
    let spec = spec_of(&app).await;
    assert_eq!(
        spec["components"]["securitySchemes"]["AccessCookie"]["name"],
        "team.access"
    );
    let docs = app.get("/docs").send().await.unwrap().text().await.unwrap();
    assert!(docs.contains("team.access"));
    assert!(!docs.contains("ACCESS_COOKIE_NAME"));
}

#[tokio::test]
async fn protected_operations_list_both_schemes_and_their_failures_public_ones_none() {
    let app = spawn_app().await;
    let spec = spec_of(&app).await;
    for (path, method) in [
        ("/me", "get"),
        ("/users", "get"),
        ("/users/{id}/deactivate", "post"),
    ] {
        let operation = &spec["paths"][path][method];
        let security: Vec<String> = operation["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has no security"))
            .iter()
            .flat_map(|s| s.as_object().unwrap().keys().cloned())
            .collect();
        assert_eq!(security, ["AccessCookie", "BearerToken"], "{path}");
        for status in ["200", "302", "401", "403", "503"] {
            assert!(
                operation["responses"][status].is_object(),
                "{path} lacks {status}"
            );
        }
    }
    for path in ["/health/live", "/health/ready"] {
        assert!(spec["paths"][path]["get"]["security"].is_null(), "{path}");
    }
}

#[tokio::test]
async fn swagger_ui_is_served_at_docs() {
    let app = spawn_app().await;
    let response = app.get("/docs").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("SwaggerUIBundle"));
}
