//! How authentication failures answer, and the JSON body every error of the
//! service uses (the service's own errors, `crate::error`, answer with it too;
//! it lives here so that the auth module stands on its own).

use poem_openapi::{ApiResponse, Object, payload::Json};

/// Seconds a client is told to wait when the database is unreachable.
pub const RETRY_AFTER_SECS: u32 = 5;

/// JSON body of every error response.
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `unauthenticated`, `forbidden`, `csrf_failed`.
    pub error: String,
    /// What happened, for people.
    pub message: String,
}

impl ErrorBody {
    /// A body with `code` and `message`.
    #[must_use]
    pub fn new(code: &str, message: &str) -> Json<Self> {
        Json(Self {
            error: code.to_owned(),
            message: message.to_owned(),
        })
    }
}

/// Why a protected operation was not run.
#[derive(Debug, ApiResponse)]
pub enum AuthFailure {
    /// Anonymous browser navigation (`Accept: text/html`): sent to the Auth
    /// service's login page, whose `next` parameter brings the user back here.
    #[oai(status = 302)]
    LoginRedirect(#[oai(header = "Location")] String),
    /// Not signed in: no valid access token in the Auth service's cookies nor in
    /// an `Authorization: Bearer` header.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// Signed in, but without the staff/superuser flag this operation needs; or
    /// a cookie-authenticated POST/PUT/PATCH/DELETE whose `Origin` (or `Referer`)
    /// is not a trusted origin (CSRF protection).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// An unexpected error on our side; it is logged.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The user database is unreachable; try again after `Retry-After` seconds.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] u32),
}
