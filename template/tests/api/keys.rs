//! Key rotation: `auth.secret` and `auth.public_key_file` each take the
//! current and previous keys, tried in order, so that the Auth service can
//! change its key without signing everybody out; a key dropped from the list
//! (at a restart) signs nothing any more.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

use crate::helpers::{access_claims, assert_anonymous, sign_with, spawn_app_with};

const CURRENT: &str = "the-auth-services-new-signing-key-0123456789";
const PREVIOUS: &str = "the-auth-services-old-signing-key-0123456789";
const OTHER: &str = "a-key-the-auth-service-never-had-0123456789";

/// Settings with `secrets` (comma-separated, current first) and no
/// development login (it signs with the development secret only).
fn with_secrets(secrets: &str) -> [(&str, &str); 2] {
    [("auth.secret", secrets), ("dev_login.enabled", "false")]
}

#[tokio::test]
async fn tokens_signed_with_the_current_or_the_previous_secret_are_accepted() {
    let both = format!("{CURRENT},{PREVIOUS}");
    let app = spawn_app_with(&with_secrets(&both)).await;
    for (secret, username) in [(CURRENT, "alice"), (PREVIOUS, "bob")] {
        let token = sign_with(&access_claims(username), secret.as_bytes());
        let response = app.me_with_cookie(&token).await;
        assert_eq!(response.status(), 200, "{username}");
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["username"], username);
    }
    let forged = sign_with(&access_claims("mallory"), OTHER.as_bytes());
    assert_anonymous(app.me_with_cookie(&forged).await).await;
    assert_eq!(app.users().await.len(), 2);
}

#[tokio::test]
async fn once_the_previous_secret_is_dropped_its_tokens_are_refused() {
    // The settings after the rotation's last step (a restart with one key).
    let app = spawn_app_with(&with_secrets(CURRENT)).await;
    let old = sign_with(&access_claims("bob"), PREVIOUS.as_bytes());
    assert_anonymous(app.me_with_cookie(&old).await).await;
    let new = sign_with(&access_claims("alice"), CURRENT.as_bytes());
    assert_eq!(app.me_with_cookie(&new).await.status(), 200);
}

#[tokio::test]
async fn every_secret_of_the_list_must_be_long_enough() {
    let short = format!("{CURRENT},too-short");
    let error = crate::helpers::test_settings(&with_secrets(&short))
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "invalid setting `auth.secret`: is shorter than 32 bytes"
    );
}

/// `claims` signed with ES256 and the fixture private key `name`.
fn sign_es256(name: &str, claims: &Value) -> String {
    let pem = std::fs::read(format!("tests/fixtures/{name}-private.pem")).unwrap();
    jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        claims,
        &EncodingKey::from_ec_pem(&pem).unwrap(),
    )
    .unwrap()
}

/// Settings verifying ES256 with the fixture public keys `names`, in order.
fn with_public_keys(names: &[&str]) -> Vec<(&'static str, String)> {
    let files: Vec<String> = names
        .iter()
        .map(|name| format!("tests/fixtures/{name}-public.pem"))
        .collect();
    vec![
        ("auth.algorithms", "ES256".to_owned()),
        ("auth.public_key_file", files.join(",")),
        // A public-key service has no secret, so no development login.
        ("auth.secret", String::new()),
        ("dev_login.enabled", "false".to_owned()),
    ]
}

async fn spawn_with(settings: &[(&'static str, String)]) -> crate::helpers::TestApp {
    let overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_app_with(&overrides).await
}

#[tokio::test]
async fn public_keys_rotate_like_secrets() {
    let app = spawn_with(&with_public_keys(&["es256", "es256-previous"])).await;
    for (key, username) in [("es256", "alice"), ("es256-previous", "bob")] {
        let token = sign_es256(key, &access_claims(username));
        assert_eq!(app.me_with_cookie(&token).await.status(), 200, "{key}");
    }
    let app = spawn_with(&with_public_keys(&["es256"])).await;
    let old = sign_es256("es256-previous", &access_claims("bob"));
    assert_anonymous(app.me_with_cookie(&old).await).await;
}
