//! The service's one error type for handlers, mapped to HTTP in one place.
//!
//! Internal causes (database errors, …) are logged here and never shown to the
//! client, which gets a short JSON [`ErrorBody`]. Authentication failures have
//! their own type, [`crate::auth::AuthFailure`], so that the auth module stands
//! on its own; both answer with the same body shape.

use poem_openapi::{ApiResponse, payload::Json};

use crate::auth::ErrorBody;

/// Seconds a client is told to wait when the database is unreachable.
const RETRY_AFTER_SECS: u32 = 5;

/// What a handler can fail with.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The resource does not exist.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The database is unreachable or overloaded; try again after `Retry-After` seconds.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] u32),
}

impl ApiError {
    /// A 404 for `what`.
    #[must_use]
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(ErrorBody::new("not_found", &format!("{what} not found")))
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        // Every database error a handler meets is ours, not the client's: the
        // cause goes to the log, the client learns only that it may retry.
        tracing::error!(%error, "database error");
        Self::Unavailable(
            ErrorBody::new(
                "unavailable",
                "The database is unavailable; try again later.",
            ),
            RETRY_AFTER_SECS,
        )
    }
}
