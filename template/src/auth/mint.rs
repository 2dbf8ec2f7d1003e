//! Minting token pairs the way the Auth service does, for development only:
//! the development login page and the `mint-token` command use it so that a
//! developer can sign in to their own service without running the Auth service.
//!
//! The tokens carry exactly what SimpleJWT puts in its tokens (`token_type`,
//! `exp`, `iat`, `jti` as a hex uuid4, `user_id`) plus the custom claims under
//! their configured names, signed with HS256 and [`DEVELOPMENT_SECRET`], never
//! with another key: the settings allow the development login only where
//! that secret is the service's only key and the service is on loopback, so
//! a minted token is good here and nowhere else.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

use super::{AuthSettings, UserClaims, keys::DEVELOPMENT_SECRET};

/// An access token and its refresh token.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// Short-lived access token, for the access cookie or a bearer header.
    pub access: String,
    /// Refresh token, for the refresh cookie.
    pub refresh: String,
}

/// The signing library failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the token: {0}")]
pub struct MintError(#[from] jsonwebtoken::errors::Error);

/// How long minted tokens live (SimpleJWT's defaults: 5 minutes and 1 day).
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// `ACCESS_TOKEN_LIFETIME`.
    pub access: Duration,
    /// `REFRESH_TOKEN_LIFETIME`.
    pub refresh: Duration,
}

/// Signs an access and a refresh token for `claims` with the development secret.
pub fn mint_pair(
    settings: &AuthSettings,
    claims: &UserClaims,
    lifetimes: Lifetimes,
) -> Result<TokenPair, MintError> {
    let key = EncodingKey::from_secret(DEVELOPMENT_SECRET.as_bytes())?;
    let header = Header::new(Algorithm::HS256);
    let sign = |token_type: &str, lifetime: Duration| {
        let payload = payload(settings, claims, token_type, lifetime);
        jsonwebtoken::encode(&header, &payload, &key)
    };
    Ok(TokenPair {
        access: sign(&settings.access_token_type, lifetimes.access)?,
        refresh: sign("refresh", lifetimes.refresh)?,
    })
}

fn payload(
    settings: &AuthSettings,
    claims: &UserClaims,
    token_type: &str,
    lifetime: Duration,
) -> Map<String, Value> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let names = &settings.claims;
    let mut payload = Map::new();
    payload.insert(settings.token_type_claim.clone(), json!(token_type));
    payload.insert("exp".to_owned(), json!(now + lifetime.as_secs()));
    payload.insert("iat".to_owned(), json!(now));
    payload.insert(
        settings.jti_claim.clone(),
        json!(uuid::Uuid::new_v4().simple().to_string()),
    );
    // The Auth service's own user id; meaningless here, present for fidelity.
    payload.insert("user_id".to_owned(), json!(0));
    if let Some(issuer) = &settings.issuer {
        payload.insert("iss".to_owned(), json!(issuer));
    }
    if let Some(audience) = &settings.audience {
        payload.insert("aud".to_owned(), json!(audience));
    }
    payload.insert(names.username.clone(), json!(claims.username));
    payload.insert(names.email.clone(), json!(claims.email));
    payload.insert(names.is_staff.clone(), json!(claims.is_staff));
    payload.insert(names.is_superuser.clone(), json!(claims.is_superuser));
    payload.insert(names.first_name.clone(), json!(claims.first_name));
    payload.insert(names.last_name.clone(), json!(claims.last_name));
    payload
}
