//! The claims a valid token carries: strict JSON types, the required ones
//! present, the names as configured. Anything else is anonymous, never a truthy
//! flag, and writes no row.

use serde_json::{Value, json};

use crate::helpers::{
    access_claims, assert_anonymous, assert_token_rejected, claims_with, sign, spawn_app,
    spawn_app_with,
};

#[tokio::test]
async fn claims_of_the_wrong_type_are_anonymous_never_truthy() {
    let app = spawn_app().await;
    for (claim, value) in [
        ("user_is_staff", json!("true")),
        ("user_is_staff", json!("False")),
        ("user_is_superuser", json!(1)),
        ("user_uuid", json!(123)),
        ("user_email", json!(["a@example.com"])),
        ("user_first_name", json!({"first": "Alice"})),
        ("user_last_name", json!(false)),
    ] {
        let token = sign(&claims_with("alice", claim, value.clone()));
        let response = app.me_with_cookie(&token).await;
        assert_eq!(response.status(), 401, "{claim} = {value} was accepted");
    }
    assert!(app.users().await.is_empty());
}

#[tokio::test]
async fn a_missing_required_claim_is_anonymous() {
    let app = spawn_app().await;
    for claim in [
        "user_uuid",
        "user_email",
        "user_is_staff",
        "user_is_superuser",
    ] {
        let token = sign(&claims_with("alice", claim, Value::Null));
        assert_anonymous(app.me_with_cookie(&token).await).await;
    }
    assert!(app.users().await.is_empty());
}

#[tokio::test]
async fn missing_names_are_empty() {
    let app = spawn_app().await;
    let mut claims = access_claims("alice");
    claims.as_object_mut().unwrap().remove("user_first_name");
    claims["user_last_name"] = Value::Null;
    let response = app.me_with_cookie(&sign(&claims)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["first_name"], "");
    assert_eq!(body["last_name"], "");
}

#[tokio::test]
async fn an_empty_username_is_anonymous() {
    assert_token_rejected(&sign(&claims_with("alice", "user_uuid", json!("")))).await;
}

#[tokio::test]
async fn a_username_with_surrounding_whitespace_or_control_characters_is_anonymous() {
    // `alice ` must never share a row with `alice`: MySQL compares strings
    // with trailing spaces ignored.
    let app = spawn_app().await;
    for username in [
        "alice ",
        " alice",
        "alice\n",
        "al\u{7}ice",
        "\talice",
        "alice\u{85}",
    ] {
        let token = sign(&claims_with("alice", "user_uuid", json!(username)));
        assert_anonymous(app.me_with_cookie(&token).await).await;
    }
    assert!(app.users().await.is_empty());
    // Spaces inside a name are a name like any other.
    let token = sign(&claims_with("alice", "user_uuid", json!("alice liddell")));
    assert_eq!(app.me_with_cookie(&token).await.status(), 200);
}

#[tokio::test]
async fn renamed_claims_are_read_from_their_configured_names() {
    let app = spawn_app_with(&[("auth.claims.username", "sub_uuid")]).await;
    let mut claims = access_claims("ignored");
    claims["sub_uuid"] = json!("alice-renamed");
    let response = app.me_with_cookie(&sign(&claims)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "alice-renamed");
}
