//! The `users` table: the local copy of the Auth service's users.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The Auth service's `user_uuid` claim; unique.
    #[sea_orm(unique)]
    pub username: String,
    /// E-mail address, from the token.
    pub email: String,
    /// First name, from the token.
    pub first_name: String,
    /// Last name, from the token.
    pub last_name: String,
    /// Staff flag, from the token.
    pub is_staff: bool,
    /// Superuser flag, from the token.
    pub is_superuser: bool,
    /// Local flag; `false` locks the user out of this service.
    pub is_active: bool,
    /// First time this service saw the user.
    pub date_joined: DateTime<Utc>,
    /// Last time the claims changed (or `is_active` was set).
    pub updated_at: DateTime<Utc>,
    /// `iat` of the token the claims were last written from (Unix seconds):
    /// an older token never overwrites them.
    pub claims_issued_at: i64,
}

/// `users` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
