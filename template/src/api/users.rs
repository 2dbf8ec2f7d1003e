//! The local users table, for staff.

use std::sync::Arc;

use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, param::Query, payload::Json};
use sea_orm::DatabaseConnection;

use super::{ApiTags, UserRecord};
use crate::{
    auth::{AuthUser, Authenticator, Protected, StaffUser},
    error::ApiError,
    models,
};

/// `/users`.
#[derive(Debug)]
pub struct UsersApi {
    db: DatabaseConnection,
    authenticator: Arc<Authenticator>,
}

impl UsersApi {
    pub(super) fn new(db: DatabaseConnection, authenticator: Arc<Authenticator>) -> Self {
        Self { db, authenticator }
    }
}

/// One page of users.
#[derive(Debug, Object)]
struct UsersPage {
    /// The users on this page, oldest first.
    items: Vec<UserRecord>,
    /// This page's number, from 1.
    page: u64,
    /// Page size.
    per_page: u64,
    /// Number of users in all.
    total: u64,
}

#[derive(Debug, ApiResponse)]
enum UsersResponse {
    /// A page of users.
    #[oai(status = 200)]
    Ok(Json<UsersPage>),
}

#[derive(Debug, ApiResponse)]
enum UserResponse {
    /// The user after the change.
    #[oai(status = 200)]
    Ok(Json<UserRecord>),
}

#[OpenApi(prefix_path = "/users", tag = "ApiTags::Users")]
impl UsersApi {
    /// List users (staff only)
    ///
    /// Every user this service has seen, oldest first, a page at a time.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        _staff: StaffUser,
        /// Page number, from 1.
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "1000000"))
        )]
        page: Query<u64>,
        /// Users per page, 1 to 100.
        #[oai(
            default = "default_per_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        per_page: Query<u64>,
    ) -> Result<Protected<UsersResponse>, ApiError> {
        let (rows, total) = models::users::list(&self.db, page.0, per_page.0).await?;
        Ok(UsersResponse::Ok(Json(UsersPage {
            items: rows.into_iter().map(UserRecord::from).collect(),
            page: page.0,
            per_page: per_page.0,
            total,
        }))
        .into())
    }

    /// Deactivate a user (staff only)
    ///
    /// Locks the user out of this service (403, "disabled on this service",
    /// whatever their token says) until reactivated: at once on this replica,
    /// within `auth.user_cache_ttl_secs` on the others. Only a superuser may
    /// deactivate a superuser, and nobody may deactivate themselves.
    #[oai(path = "/:id/deactivate", method = "post")]
    async fn deactivate(
        &self,
        staff: StaffUser,
        /// Local id of the user.
        id: Path<i64>,
    ) -> Result<Protected<UserResponse>, ApiError> {
        self.set_active(&staff, id.0, false).await
    }

    /// Reactivate a user (staff only)
    ///
    /// Only a superuser may reactivate a superuser.
    #[oai(path = "/:id/activate", method = "post")]
    async fn activate(
        &self,
        staff: StaffUser,
        /// Local id of the user.
        id: Path<i64>,
    ) -> Result<Protected<UserResponse>, ApiError> {
        self.set_active(&staff, id.0, true).await
    }
}

impl UsersApi {
    async fn set_active(
        &self,
        actor: &AuthUser,
        id: i64,
        is_active: bool,
    ) -> Result<Protected<UserResponse>, ApiError> {
        let user = models::users::find(&self.db, id)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        if user.is_superuser && !actor.is_superuser {
            return Err(ApiError::forbidden(
                "Only a superuser may deactivate or reactivate a superuser.",
            ));
        }
        if user.id == actor.id && !is_active {
            return Err(ApiError::forbidden("You cannot deactivate yourself."));
        }
        let user = models::users::set_active(&self.db, user, is_active).await?;
        self.authenticator.forget(&user.username);
        Ok(UserResponse::Ok(Json(UserRecord::from(user))).into())
    }
}

fn default_page() -> u64 {
    1
}

fn default_per_page() -> u64 {
    20
}
