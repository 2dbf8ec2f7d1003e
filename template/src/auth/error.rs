//! How authentication failures answer, and the JSON body every error of the
//! service uses (the service's own errors, `crate::error`, answer with it too;
//! it lives here so that the auth module stands on its own).

use poem_openapi::{ApiResponse, Object, payload::Json};

/// Seconds a client is told to wait when the database is unreachable.
pub const RETRY_AFTER_SECS: u32 = 5;

/// JSON body of every error response.
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `unauthenticated`, `token_expired`,
    /// `forbidden`, `account_disabled`, `csrf_failed`, `bad_request`.
    pub error: String,
    /// What happened, for people.
    pub message: String,
    /// With `token_expired`: the Auth service's login page.
    #[oai(skip_serializing_if_is_none)]
    pub login_url: Option<String>,
    /// With `token_expired`: the Auth service's page that renews the access
    /// token from the refresh cookie, when this service knows it.
    #[oai(skip_serializing_if_is_none)]
    pub refresh_url: Option<String>,
}

impl ErrorBody {
    /// A body with `code` and `message`.
    #[must_use]
    pub fn new(code: &str, message: &str) -> Json<Self> {
        Json(Self {
            error: code.to_owned(),
            message: message.to_owned(),
            login_url: None,
            refresh_url: None,
        })
    }
}

/// Why a protected operation was not run.
#[derive(Debug, ApiResponse)]
pub enum AuthFailure {
    /// Anonymous browser navigation (`Accept: text/html`): sent to the Auth
    /// service's login page (or, when only the access token has expired, to its
    /// refresh page), whose `next` parameter brings the user back here.
    #[oai(status = 302)]
    LoginRedirect(#[oai(header = "Location")] String),
    /// Not signed in: no valid access token in the Auth service's cookies nor in
    /// an `Authorization: Bearer` header (`unauthenticated`), or the access
    /// token has expired (`token_expired`, with where to renew it).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// Signed in, but without the staff flag this operation needs
    /// (`forbidden`); the account is disabled on this service
    /// (`account_disabled`; browsers get a short page); or a
    /// cookie-authenticated POST/PUT/PATCH/DELETE whose `Origin` (or `Referer`)
    /// is not a trusted origin (`csrf_failed`).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// An unexpected error on our side; it is logged.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The user database is unreachable; try again after `Retry-After` seconds.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] u32),
}

/// A request whose parameters do not parse or fall outside their bounds.
#[derive(Debug, ApiResponse)]
pub enum BadRequest {
    /// A parameter is missing, malformed or out of bounds (`bad_request`);
    /// the message says which.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
}

impl BadRequest {
    /// The 400 for a parameter `error` of poem-openapi (its message names the
    /// parameter and what is wrong with it).
    #[must_use]
    pub fn from_error(error: &poem::Error) -> Self {
        Self::BadRequest(ErrorBody::new("bad_request", &error.to_string()))
    }
}
