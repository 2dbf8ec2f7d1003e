//! The one thing authentication needs from the rest of the service: a place
//! to keep users.

use std::{future::Future, pin::Pin};

/// Longest `username` accepted, in characters (Django's `auth_user` column,
/// mirrored by the `users` table).
pub const MAX_USERNAME_CHARS: usize = 150;
/// Longest `email` accepted, in characters.
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest first or last name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 150;

/// The user facts an access token carries, after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserClaims {
    /// Stable identifier (SimpleJWT `user_uuid`), 1 to 150 characters.
    pub username: String,
    /// E-mail address, at most 254 characters.
    pub email: String,
    /// First name, at most 150 characters; empty when the claim is absent.
    pub first_name: String,
    /// Last name, at most 150 characters; empty when the claim is absent.
    pub last_name: String,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// When the Auth service issued the token (`iat`, Unix seconds; 0 when
    /// absent): a token older than the one a row was written from never
    /// overwrites it.
    pub issued_at: u64,
}

/// A local user, as authentication hands it to handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// Local surrogate key.
    pub id: i64,
    /// Stable identifier from the Auth service.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Staff flag, from the token.
    pub is_staff: bool,
    /// Superuser flag, from the token.
    pub is_superuser: bool,
    /// Local flag: `false` locks the user out of this service whatever the token says.
    pub is_active: bool,
    /// `iat` of the token the claims were last written from.
    pub claims_issued_at: u64,
}

impl AuthUser {
    /// Whether the row already holds exactly these claims (so nothing needs writing).
    #[must_use]
    pub fn matches(&self, claims: &UserClaims) -> bool {
        self.username == claims.username
            && self.email == claims.email
            && self.first_name == claims.first_name
            && self.last_name == claims.last_name
            && self.is_staff == claims.is_staff
            && self.is_superuser == claims.is_superuser
    }

    /// The friendliest name we have for greeting the user.
    #[must_use]
    pub fn display_name(&self) -> &str {
        if self.first_name.is_empty() {
            &self.username
        } else {
            &self.first_name
        }
    }
}

/// What [`UserStore::sync_user`] answers: the row, and whether it wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    /// The user as stored now.
    pub user: AuthUser,
    /// Whether a row was inserted or changed (the metrics count writes).
    pub written: bool,
}

/// Why the store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// It cannot be reached right now (database down, pool exhausted, …):
    /// the request may be retried (503).
    #[error("user store unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// It failed in a way a retry does not fix: a bug (500).
    #[error("user store failed: {0}")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A boxed future, so that [`UserStore`] can be used as a trait object.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Persistence of the local users.
pub trait UserStore: Send + Sync + 'static {
    /// Makes the row for `claims.username` hold `claims`, creating it on first
    /// sight, and returns it. Must be race-free (concurrent calls for one new
    /// user create one row), must not write when the row already matches, and
    /// must not overwrite claims written from a newer token (a larger
    /// `issued_at`): it then returns the row as it is.
    fn sync_user<'a>(&'a self, claims: &'a UserClaims) -> StoreFuture<'a, Synced>;
}
