//! The upsert that keeps a user's row in step with the claims of their token,
//! for databases with `INSERT … ON CONFLICT … DO UPDATE … WHERE … RETURNING`
//! (SQLite ≥ 3.35, PostgreSQL).

use chrono::Utc;
use sea_orm::{
    ConnectionTrait, DbErr, ExprTrait, FromQueryResult,
    sea_query::{Expr, OnConflict, Query},
};

use super::users::read_back;
use crate::{
    auth::UserClaims,
    entities::users::{self, Column},
};

/// Statements [`upsert_from_claims`] sends for a new user or changed claims
/// (after the store's `SELECT` found none or a different row).
pub const UPSERT_STATEMENTS: usize = 1;

/// The columns the token owns: overwritten when the claims change.
const CLAIM_COLUMNS: [Column; 5] = [
    Column::Email,
    Column::FirstName,
    Column::LastName,
    Column::IsStaff,
    Column::IsSuperuser,
];

/// Makes the row of `claims.username` hold `claims` in one statement:
///
/// ```sql
/// INSERT INTO users (...) VALUES (...)
/// ON CONFLICT (username) DO UPDATE SET email = excluded.email, ...
///   WHERE (users.email <> excluded.email OR ...)
///     AND excluded.claims_issued_at >= users.claims_issued_at
/// RETURNING *
/// ```
///
/// The unique index makes concurrent first requests for one user race-free:
/// exactly one inserts, the others update (or find nothing to change). The
/// `WHERE` makes unchanged claims, and claims of a token older than the one
/// the row was written from, write nothing; that statement returns no row, and
/// the row is then read with a `SELECT` (only on a cold cache).
pub async fn upsert_from_claims(
    db: &impl ConnectionTrait,
    claims: &UserClaims,
) -> Result<users::Model, DbErr> {
    let now = Utc::now();
    let differs =
        |column: Column| Expr::col((users::Entity, column)).ne(Expr::col(("excluded", column)));
    let [first, rest @ ..] = CLAIM_COLUMNS;
    let changed = rest
        .into_iter()
        .fold(differs(first), |any, column| any.or(differs(column)));
    let not_older = Expr::col(("excluded", Column::ClaimsIssuedAt))
        .gte(Expr::col((users::Entity, Column::ClaimsIssuedAt)));
    let issued_at = i64::try_from(claims.issued_at).unwrap_or(i64::MAX);
    let statement = Query::insert()
        .into_table(users::Entity)
        .columns([
            Column::Username,
            Column::Email,
            Column::FirstName,
            Column::LastName,
            Column::IsStaff,
            Column::IsSuperuser,
            Column::IsActive,
            Column::DateJoined,
            Column::UpdatedAt,
            Column::ClaimsIssuedAt,
        ])
        .values([
            claims.username.clone().into(),
            claims.email.clone().into(),
            claims.first_name.clone().into(),
            claims.last_name.clone().into(),
            claims.is_staff.into(),
            claims.is_superuser.into(),
            true.into(),
            now.into(),
            now.into(),
            issued_at.into(),
        ])
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .on_conflict(
            OnConflict::column(Column::Username)
                .update_columns(CLAIM_COLUMNS)
                .update_columns([Column::UpdatedAt, Column::ClaimsIssuedAt])
                .action_and_where(changed.and(not_older))
                .to_owned(),
        )
        .returning_all()
        .to_owned();

    if let Some(row) = db.query_one(&statement).await? {
        return users::Model::from_query_result(&row, "");
    }
    read_back(db, &claims.username).await
}
