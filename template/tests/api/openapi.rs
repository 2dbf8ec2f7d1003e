//! The spec documents the auth that the code enforces.

use serde_json::{Value, json};

use crate::helpers::{
    ACCESS_COOKIE, TestApp, access_token, claims_with, cookie_pair, now, sign, spawn_app,
    spawn_app_with,
};

async fn spec_of(app: &TestApp) -> Value {
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
        for status in ["200", "302", "400", "401", "403", "500", "503"] {
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

/// One request to an operation: its method, the path as requested (under
/// `/api`), the path as the spec names it, and the headers sent.
struct Case<'a> {
    method: &'a str,
    path: String,
    template: &'a str,
    headers: Vec<(&'a str, String)>,
}

impl Case<'_> {
    /// Sends it; asserts the answer's status is listed in `spec` for the
    /// operation, and an error's body is the JSON error body. Returns the status.
    async fn check(&self, app: &TestApp, spec: &Value) -> u16 {
        let url = format!("/api{}", self.path);
        let mut request = if self.method == "post" {
            app.post(&url)
        } else {
            app.get(&url)
        };
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let (method, path, template) = (self.method, &self.path, self.template);
        assert!(
            spec["paths"][template][method]["responses"][status.to_string()].is_object(),
            "{method} {path} answered {status}, which the spec does not list for {template}"
        );
        if status >= 400 {
            let body: Value = response.json().await.unwrap();
            assert!(
                body["error"].is_string() || body["status"].is_string(),
                "{path}: {body}"
            );
        }
        status
    }
}

#[tokio::test]
async fn every_status_an_operation_answers_is_in_the_spec() {
    let app = spawn_app().await;
    let spec = spec_of(&app).await;
    let alice = cookie_pair(&access_token("alice"));
    let alice_id = app.me_json(&alice).await["id"].as_i64().unwrap();
    let bearer = |token: &str| ("authorization", format!("Bearer {token}"));
    let staff = bearer(&sign(&claims_with("boss", "user_is_staff", json!(true))));
    let expired = bearer(&sign(&claims_with("alice", "exp", json!(now() - 5))));
    let case = |method, path: &str, template, headers: Vec<(&'static str, String)>| Case {
        method,
        path: path.to_owned(),
        template,
        headers,
    };
    let deactivate = format!("/users/{alice_id}/deactivate");
    let cases = [
        case("get", "/me", "/me", vec![("cookie", alice.clone())]),
        case("get", "/me", "/me", vec![]),
        case("get", "/me", "/me", vec![expired]),
        case(
            "get",
            "/me",
            "/me",
            vec![("accept", "text/html".to_owned())],
        ),
        case("get", "/users", "/users", vec![staff.clone()]),
        case(
            "get",
            "/users",
            "/users",
            vec![bearer(&access_token("alice"))],
        ),
        case("get", "/users?per_page=0", "/users", vec![staff.clone()]),
        case("get", "/users?page=abc", "/users", vec![staff.clone()]),
        case("get", "/users?per_page=0", "/users", vec![]),
        case(
            "post",
            &deactivate,
            "/users/{id}/deactivate",
            vec![staff.clone()],
        ),
        case(
            "post",
            "/users/999999/deactivate",
            "/users/{id}/deactivate",
            vec![staff.clone()],
        ),
        case(
            "post",
            "/users/abc/deactivate",
            "/users/{id}/deactivate",
            vec![staff],
        ),
        case(
            "post",
            &deactivate,
            "/users/{id}/deactivate",
            vec![("cookie", alice)],
        ),
        case("get", "/health/live", "/health/live", vec![]),
        case("get", "/health/ready", "/health/ready", vec![]),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for case in &cases {
        seen.insert(case.check(&app, &spec).await);
    }
    // The cases did reach every kind of answer.
    for status in [200, 302, 400, 401, 403, 404] {
        assert!(
            seen.contains(&status),
            "no case answered {status}: {seen:?}"
        );
    }
    // And while the database is away: 503 on a protected operation and readiness.
    app.db.close_by_ref().await.unwrap();
    let bob = cookie_pair(&access_token("bob"));
    for case in [
        case("get", "/me", "/me", vec![("cookie", bob)]),
        case("get", "/health/ready", "/health/ready", vec![]),
    ] {
        assert_eq!(case.check(&app, &spec).await, 503);
    }
}

#[tokio::test]
async fn a_parameter_out_of_bounds_is_a_json_400() {
    let app = spawn_app().await;
    let staff = sign(&claims_with("boss", "user_is_staff", json!(true)));
    let response = app
        .get("/api/users?per_page=0")
        .bearer_auth(staff)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "bad_request");
    assert!(
        body["message"].as_str().unwrap().contains("per_page"),
        "{body}"
    );
}
