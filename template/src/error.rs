//! The service's one error type for handlers, mapped to HTTP in one place.
//!
//! Internal causes (database errors, …) are logged here and never shown to the
//! client, which gets the short JSON [`ErrorBody`] every error of the service
//! answers with. Authentication failures have their own type,
//! [`crate::auth::AuthFailure`], so that the auth module stands on its own.

use poem_openapi::{ApiResponse, payload::Json};

use crate::{
    auth::{ErrorBody, RETRY_AFTER_SECS},
    db,
};

/// What a handler can fail with.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The signed-in user may not do this (`forbidden`); the message says why.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// The resource does not exist.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// An unexpected error on our side; it is logged.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is unreachable or overloaded; try again after `Retry-After` seconds.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] u32),
}

impl ApiError {
    /// A 403 saying `why`.
    #[must_use]
    pub fn forbidden(why: &str) -> Self {
        Self::Forbidden(ErrorBody::new("forbidden", why))
    }

    /// A 404 for `what`.
    #[must_use]
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(ErrorBody::new("not_found", &format!("{what} not found")))
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        // The cause goes to the log; the client learns only whether a retry
        // may help (an outage) or not (a bug of ours).
        if db::is_outage(&error) {
            tracing::warn!(%error, "database unavailable");
            Self::Unavailable(
                ErrorBody::new(
                    "unavailable",
                    "The database is unavailable; try again later.",
                ),
                RETRY_AFTER_SECS,
            )
        } else {
            tracing::error!(%error, "database error");
            Self::Internal(ErrorBody::new("internal", "An unexpected error occurred."))
        }
    }
}
