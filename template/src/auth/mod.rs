//! Authentication by the central Auth service's JWT cookies.
//!
//! This replaces the Django `AuthenticationMiddleware` the Auth service's
//! sibling apps used. For every request that asks who the user is:
//!
//! 1. read the access token from the access cookie (or an `Authorization:
//!    Bearer` header) and, by default, require the refresh cookie to be present;
//! 2. verify it exactly as SimpleJWT's `AccessToken` does (signature with the
//!    configured algorithms and key, `exp` with leeway, `nbf`, `jti`,
//!    `token_type == "access"`, optional `iss`/`aud`) and read its custom
//!    claims with strict types ([`token`]);
//! 3. make sure a local user row exists and matches the claims, with one
//!    race-free upsert when it does not, and nothing at all when it does
//!    ([`authenticator`]);
//! 4. treat a local `is_active = false` as anonymous.
//!
//! Any problem with the token means *anonymous*, never an error page; the reason
//! is logged in one line, the token never is.
//!
//! Handlers ask for the user with an extractor: [`CurrentUser`] for pages that
//! work for everybody, [`SignedIn`] for pages that need a user, [`Authenticated`], [`StaffUser`] or
//! [`SuperUser`] for operations that need a user. The user is resolved lazily
//! and at most once per request by the [`AuthMiddleware`], so public endpoints
//! pay nothing. Those extractors are also poem-openapi security schemes, so the
//! spec documents exactly what the code enforces.
//!
//! The module reaches the rest of the service only through [`AuthSettings`]
//! and the [`UserStore`] trait, so it can be lifted into a crate shared by all
//! of a team's services.

mod authenticator;
mod csrf;
mod extract;
{% if key_source == "jwks" %}pub mod jwks;
{% endif %}mod middleware;
pub mod mint;
mod redirect;
mod store;
pub mod token;

use std::time::Duration;

use jsonwebtoken::Algorithm;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

pub use authenticator::Authenticator;
pub use extract::{
    ACCESS_COOKIE_NAME_PLACEHOLDER, ACCESS_COOKIE_SCHEME, AuthFailure, Authenticated,
    BEARER_SCHEME, CurrentUser, ErrorBody, Protected, SignedIn, StaffUser, SuperUser,
};
{% if key_source == "jwks" %}pub use jwks::{Jwks, JwksSettings, Refresher};
{% endif %}pub use middleware::AuthMiddleware;
pub use store::{
    AuthUser, MAX_EMAIL_CHARS, MAX_NAME_CHARS, MAX_USERNAME_CHARS, StoreError, StoreFuture,
    UserClaims, UserStore,
};

/// Checked authentication settings (see `[auth]` in `config/default.toml`).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// The Auth service's login page.
    pub login_url: Url,
    /// This service's public origin.
    pub own_url: Url,
    /// Query parameter of `login_url` that carries the return URL.
    pub redirect_field_name: String,
    /// Cookie holding the access token.
    pub access_cookie: String,
    /// Cookie holding the refresh token.
    pub refresh_cookie: String,
    /// Whether a cookie-authenticated request needs the refresh cookie too.
    pub require_refresh_cookie: bool,
    /// Accepted `alg` header values.
    pub algorithms: Vec<Algorithm>,
    /// Key material the signature is checked with.
    pub key: KeySource,
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Required `aud`, if any.
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp`/`nbf`, in seconds.
    pub leeway_secs: u64,
    /// Name of the claim that tells access from refresh tokens.
    pub token_type_claim: String,
    /// Its value in access tokens.
    pub access_token_type: String,
    /// Name of the token id claim, required like SimpleJWT does.
    pub jti_claim: String,
    /// Names of the user claims.
    pub claims: ClaimNames,
    /// How long a validated user is remembered without asking the database.
    pub user_cache_ttl: Duration,
    /// How many users are remembered.
    pub user_cache_capacity: u64,
    /// Origins besides `own_url` allowed to send cookie-authenticated unsafe requests.
    pub trusted_origins: Vec<Url>,
}

/// Where the signature-checking key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The HS* secret shared with the Auth service (SimpleJWT's `SIGNING_KEY`).
    Secret(SecretString),
    /// The Auth service's PEM public key (SimpleJWT's `VERIFYING_KEY`).
    PublicKeyPem(Vec<u8>),
{% if key_source == "jwks" %}    /// The Auth service's JSON Web Key Set (SimpleJWT's `JWK_URL`), fetched
    /// and refreshed in the background.
    Jwks(JwksSettings),
{% endif %}}

/// Names of the custom claims (`[auth.claims]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimNames {
    /// Stable user identifier, stored as the local `username` (required).
    pub username: String,
    /// E-mail address (required).
    pub email: String,
    /// Staff flag, a JSON boolean (required).
    pub is_staff: String,
    /// Superuser flag, a JSON boolean (required).
    pub is_superuser: String,
    /// First name (optional; missing means empty).
    pub first_name: String,
    /// Last name (optional; missing means empty).
    pub last_name: String,
}
