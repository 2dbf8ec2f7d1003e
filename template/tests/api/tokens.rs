//! The token itself: anything but a well-formed access token, signed with the
//! configured key and algorithm, still valid, and carrying what SimpleJWT
//! requires, is anonymous (401) and writes no row.

use base64::Engine as _;
use serde_json::{Value, json};
use {{crate_name}}::auth::DEVELOPMENT_SECRET;

use crate::helpers::{
    access_claims, access_token, assert_anonymous, assert_expired, assert_token_rejected,
    claims_with, eventually, now, refresh_token, sign, sign_with, spawn_app, spawn_app_with,
};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[tokio::test]
async fn malformed_access_cookies_are_anonymous() {
    let app = spawn_app().await;
    for token in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.***.###",
        "e30.e30.",
        "bm90IGpzb24.bm90IGpzb24.c2ln",
    ] {
        assert_anonymous(app.me_with_cookie(token).await).await;
    }
    assert!(app.users().await.is_empty());
}

#[tokio::test]
async fn alg_none_with_an_empty_signature_is_anonymous() {
    let header = B64.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = B64.encode(access_claims("mallory").to_string());
    assert_token_rejected(&format!("{header}.{payload}.")).await;
}

#[tokio::test]
async fn a_token_signed_with_an_algorithm_not_configured_is_anonymous() {
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &access_claims("mallory"),
        &jsonwebtoken::EncodingKey::from_secret(DEVELOPMENT_SECRET.as_bytes())
            .unwrap(),
    )
    .unwrap();
    assert_token_rejected(&token).await;
}

#[tokio::test]
async fn in_public_key_mode_an_hs256_token_signed_with_the_public_key_is_anonymous() {
    let dir = tempfile::tempdir().unwrap();
    let public_pem = include_str!("../fixtures/es256-public.pem");
    let path = dir.path().join("public.pem");
    std::fs::write(&path, public_pem).unwrap();
    let app = spawn_app_with(&[
        ("auth.algorithms", "ES256"),
        ("auth.public_key_file", path.to_str().unwrap()),
        // No secret in this mode, so no development login either.
        ("auth.secret", ""),
        ("dev_login.enabled", "false"),
    ])
    .await;
    // The classic key-confusion attack: the public key used as an HMAC secret.
    let forged = sign_with(&access_claims("mallory"), public_pem.as_bytes());
    assert_anonymous(app.me_with_cookie(&forged).await).await;

    // …while a token really signed with the private key is accepted.
    let genuine = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &access_claims("alice"),
        &jsonwebtoken::EncodingKey::from_ec_pem(include_bytes!("../fixtures/es256-private.pem"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(app.me_with_cookie(&genuine).await.status(), 200);
    assert_eq!(app.users().await.len(), 1);
}

#[tokio::test]
async fn a_payload_changed_after_signing_is_anonymous() {
    let token = access_token("mallory");
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims: Value = serde_json::from_slice(&B64.decode(&parts[1]).unwrap()).unwrap();
    claims["user_is_superuser"] = json!(true);
    parts[1] = B64.encode(claims.to_string());
    assert_token_rejected(&parts.join(".")).await;
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_anonymous() {
    let token = sign_with(
        &access_claims("mallory"),
        b"another-secret-that-is-long-enough-too",
    );
    assert_token_rejected(&token).await;
}

#[tokio::test]
async fn an_expired_token_is_anonymous_and_the_client_is_told_it_expired() {
    let app = spawn_app().await;
    let expired = sign(&claims_with("alice", "exp", json!(now() - 1)));
    assert_expired(app.me_with_cookie(&expired).await).await;
    let response = app.me_with_bearer(&expired).await;
    assert_expired(response).await;
    assert!(app.users().await.is_empty(), "an expired token wrote a row");
}

#[tokio::test]
async fn the_expired_answer_names_the_refresh_page_when_there_is_one() {
    let app = spawn_app_with(&[("auth.refresh_url", "http://auth.localhost:8000/refresh/")]).await;
    let expired = sign(&claims_with("alice", "exp", json!(now() - 1)));
    let body: Value = app.me_with_cookie(&expired).await.json().await.unwrap();
    assert_eq!(body["error"], "token_expired");
    assert_eq!(body["refresh_url"], "http://auth.localhost:8000/refresh/");
    // Without the setting, the body has no such field.
    let app = spawn_app().await;
    let body: Value = app.me_with_cookie(&expired).await.json().await.unwrap();
    assert!(body.get("refresh_url").is_none(), "{body}");
}

#[tokio::test]
async fn an_expired_token_within_the_leeway_is_accepted() {
    let app = spawn_app_with(&[("auth.leeway_secs", "60")]).await;
    let token = sign(&claims_with("alice", "exp", json!(now() - 30)));
    assert_eq!(app.me_with_cookie(&token).await.status(), 200);
}

#[tokio::test]
async fn a_token_expired_beyond_the_leeway_is_anonymous() {
    let app = spawn_app_with(&[("auth.leeway_secs", "60")]).await;
    let token = sign(&claims_with("alice", "exp", json!(now() - 120)));
    assert_expired(app.me_with_cookie(&token).await).await;
}

#[tokio::test]
async fn a_token_that_was_accepted_is_refused_once_it_expires() {
    // Accepted tokens are remembered; the memory must not outlive `exp`.
    let app = spawn_app().await;
    let token = sign(&claims_with("alice", "exp", json!(now() + 2)));
    assert_eq!(app.me_with_cookie(&token).await.status(), 200);
    eventually("the token is refused", || async {
        app.me_with_cookie(&token).await.status() == 401
    })
    .await;
    assert_expired(app.me_with_cookie(&token).await).await;
}

#[tokio::test]
async fn a_token_without_exp_is_anonymous() {
    assert_token_rejected(&sign(&claims_with("alice", "exp", Value::Null))).await;
}

#[tokio::test]
async fn exp_or_nbf_of_the_wrong_json_type_is_anonymous() {
    let app = spawn_app().await;
    let far = now() + 300;
    for (claim, value) in [
        ("exp", json!(far.to_string())),
        ("exp", json!({"at": far})),
        ("nbf", json!("yesterday")),
        ("nbf", json!([1])),
    ] {
        let token = sign(&claims_with("alice", claim, value));
        assert_anonymous(app.me_with_cookie(&token).await).await;
    }
    assert!(app.users().await.is_empty());
}

#[tokio::test]
async fn a_token_whose_nbf_is_in_the_future_is_anonymous() {
    assert_token_rejected(&sign(&claims_with("alice", "nbf", json!(now() + 600)))).await;
}

#[tokio::test]
async fn a_refresh_token_in_the_access_cookie_is_anonymous() {
    assert_token_rejected(&refresh_token("alice")).await;
}

#[tokio::test]
async fn a_refresh_token_as_bearer_is_anonymous() {
    let app = spawn_app().await;
    let response = app.me_with_bearer(&refresh_token("alice")).await;
    assert_anonymous(response).await;
}

#[tokio::test]
async fn a_token_without_token_type_is_anonymous() {
    assert_token_rejected(&sign(&claims_with("alice", "token_type", Value::Null))).await;
}

#[tokio::test]
async fn a_token_without_jti_is_anonymous() {
    assert_token_rejected(&sign(&claims_with("alice", "jti", Value::Null))).await;
}

#[tokio::test]
async fn with_issuer_and_audience_configured_tokens_must_carry_them() {
    let app = spawn_app_with(&[
        ("auth.issuer", "https://auth.example.com"),
        ("auth.audience", "svc"),
    ])
    .await;
    let mut good = access_claims("alice");
    good["iss"] = json!("https://auth.example.com");
    good["aud"] = json!("svc");
    assert_eq!(app.me_with_cookie(&sign(&good)).await.status(), 200);

    for (claim, value) in [
        ("iss", json!("https://evil.example.com")),
        ("iss", Value::Null),
        ("aud", json!("other-svc")),
        ("aud", Value::Null),
    ] {
        let mut claims = good.clone();
        claims["user_uuid"] = json!("mallory");
        match value {
            Value::Null => {
                claims.as_object_mut().unwrap().remove(claim);
            }
            value => claims[claim] = value,
        }
        assert_anonymous(app.me_with_cookie(&sign(&claims)).await).await;
    }
    assert_eq!(app.users().await.len(), 1);
}

/// Signs `claims` under a hand-written `header` (any fields) with HS256 and `secret`.
fn sign_with_header(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let key = jsonwebtoken::EncodingKey::from_secret(secret).unwrap();
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
            .unwrap();
    format!("{message}.{signature}")
}

#[tokio::test]
async fn kid_jku_x5u_and_jwk_headers_do_not_choose_the_key() {
    let app = spawn_app().await;
    let attacker_key = b"attacker-key-attacker-key-attacker-key";
    // Every header that could point at a key, all pointing at the attacker's.
    let header = json!({
        "alg": "HS256",
        "typ": "JWT",
        "kid": "../../dev/null",
        "jku": "http://127.0.0.1:9/keys.json",
        "x5u": "http://127.0.0.1:9/cert.pem",
        "jwk": {"kty": "oct", "k": B64.encode(attacker_key)},
    });
    let forged = sign_with_header(&header, &access_claims("mallory"), attacker_key);
    assert_anonymous(app.me_with_cookie(&forged).await).await;

    // The same headers on a token signed with the configured key change nothing.
    let genuine = sign_with_header(
        &header,
        &access_claims("alice"),
        DEVELOPMENT_SECRET.as_bytes(),
    );
    assert_eq!(app.me_with_cookie(&genuine).await.status(), 200);
    assert_eq!(app.users().await.len(), 1);
}
