//! Liveness and readiness.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn liveness_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/api/health/live").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readiness_answers_ok_when_the_database_answers() {
    let app = spawn_app().await;
    let response = app.get("/api/health/ready").send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn readiness_answers_503_when_the_database_does_not() {
    let app = spawn_app().await;
    app.db.close_by_ref().await.unwrap();
    let response = app.get("/api/health/ready").send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "database unavailable");
}

#[tokio::test]
async fn public_endpoints_never_touch_the_database_or_the_token() {
    let app = spawn_app().await;
    let before = app.statement_count();
    let response = app
        .get("/api/health/live")
        .header("cookie", "org.breakthesystem.jwt.access=garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.statement_count(), before);
}
