//! The HTTP API, documented by poem-openapi: one `Api` struct per resource,
//! combined by [`all`]. Doc comments on operations become the spec's text.

mod health;
mod me;
mod users;

use std::sync::Arc;

use poem_openapi::{Object, Tags};
use sea_orm::DatabaseConnection;

use crate::{
    auth::{AuthUser, Authenticator},
    entities,
};

/// Groups of operations in the spec.
#[derive(Debug, Tags)]
enum ApiTags {
    /// Liveness and readiness probes.
    Health,
    /// The signed-in user.
    Me,
    /// The local copy of the Auth service's users (staff only).
    Users,
}

/// Every API of the service, for `OpenApiService::new`.
#[must_use]
pub fn all(
    db: &DatabaseConnection,
    authenticator: &Arc<Authenticator>,
) -> (health::HealthApi, me::MeApi, users::UsersApi) {
    (
        health::HealthApi::new(db.clone(), Arc::clone(authenticator)),
        me::MeApi,
        users::UsersApi::new(db.clone(), Arc::clone(authenticator)),
    )
}

/// A user as the API shows it.
#[derive(Debug, Clone, Object)]
struct User {
    /// Local id.
    id: i64,
    /// The Auth service's stable identifier (`user_uuid`).
    username: String,
    /// E-mail address.
    email: String,
    /// First name (may be empty).
    first_name: String,
    /// Last name (may be empty).
    last_name: String,
    /// Staff flag, from the token.
    is_staff: bool,
    /// Superuser flag, from the token.
    is_superuser: bool,
    /// Whether the user may use this service (a local setting).
    is_active: bool,
}

impl From<&AuthUser> for User {
    fn from(user: &AuthUser) -> Self {
        Self {
            id: user.id,
            username: user.username.clone(),
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            is_staff: user.is_staff,
            is_superuser: user.is_superuser,
            is_active: user.is_active,
        }
    }
}

/// A user row with its timestamps, as staff see it.
#[derive(Debug, Clone, Object)]
struct UserRecord {
    #[oai(flatten)]
    user: User,
    /// When this service first saw the user.
    date_joined: chrono::DateTime<chrono::Utc>,
    /// When the row last changed.
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<entities::users::Model> for UserRecord {
    fn from(row: entities::users::Model) -> Self {
        let (date_joined, updated_at) = (row.date_joined, row.updated_at);
        Self {
            user: User::from(&AuthUser::from(row)),
            date_joined,
            updated_at,
        }
    }
}
