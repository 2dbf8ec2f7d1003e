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
//! work for everybody, [`SignedIn`] for pages that need a user, and
//! [`Authenticated`] or [`StaffUser`] for API operations that need one. The
//! user is resolved lazily and at most once per request by the
//! [`AuthMiddleware`], so public endpoints pay nothing. The API extractors are
//! also poem-openapi security schemes, so the spec documents exactly what the
//! code enforces.
//!
//! Where the keys come from is [`key_source`]'s business alone, behind one
//! interface whatever the source.
//!
//! What it does is counted in [`metrics`]: atomics that an exporter reads.
//!
//! The module reaches the rest of the service only through [`AuthSettings`]
//! and the [`UserStore`] trait, so it can be lifted into a crate shared by all
//! of a team's services.

mod authenticator;
mod cache;
mod csrf;
mod error;
mod extract;
pub mod key_source;
pub mod keys;
pub mod metrics;
mod middleware;
pub mod mint;
mod redirect;
pub mod settings;
mod store;
pub mod token;

pub use authenticator::Authenticator;
pub use error::{AuthFailure, BadRequest, ErrorBody, RETRY_AFTER_SECS};
pub use extract::{
    ACCESS_COOKIE_NAME_PLACEHOLDER, ACCESS_COOKIE_SCHEME, Authenticated, BEARER_SCHEME,
    CurrentUser, Protected, SignedIn, StaffUser,
};
pub use keys::DEVELOPMENT_SECRET;
pub use middleware::AuthMiddleware;
pub use settings::{AuthSettings, ClaimNames};
pub use store::{
    AuthUser, MAX_EMAIL_CHARS, MAX_NAME_CHARS, MAX_USERNAME_CHARS, StoreError, StoreFuture, Synced,
    UserClaims, UserStore,
};
