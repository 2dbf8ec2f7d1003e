//! The upsert that keeps a user's row in step with the claims of their token,
//! for MySQL and MariaDB: `INSERT … ON DUPLICATE KEY UPDATE`, then a `SELECT`,
//! because MySQL has no `RETURNING` and no `WHERE` on the update.

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::users::read_back;
use crate::{auth::UserClaims, entities::users};

/// Statements [`upsert_from_claims`] sends for a new user or changed claims
/// (after the store's `SELECT` found none or a different row): the upsert and
/// the `SELECT` that reads the row back.
pub const UPSERT_STATEMENTS: usize = 2;

/// Inserts the user, or updates the columns the token owns.
///
/// MySQL evaluates the `SET` list left to right, each assignment seeing the
/// ones before it. So `claims_issued_at` comes first and decides, on the old
/// values: it takes the token's `iat` when a claim differs and the token is
/// not older than the one the row was written from. `updated_at` then moves
/// only if that happened and a claim differs (the claims are still the old
/// ones there), and each claim column follows `claims_issued_at`. When nothing
/// is to change, every column is set to its own value and MySQL writes nothing
/// (0 affected rows). The unique index on `username` makes concurrent first
/// requests race-free: one inserts, the others update. `VALUES(col)` is
/// understood by MySQL and MariaDB alike.
const UPSERT: &str = "\
INSERT INTO users
    (username, email, first_name, last_name, is_staff, is_superuser, is_active,
     date_joined, updated_at, claims_issued_at)
VALUES (?, ?, ?, ?, ?, ?, TRUE, ?, ?, ?)
ON DUPLICATE KEY UPDATE
    claims_issued_at = IF(
        (email <> VALUES(email) OR first_name <> VALUES(first_name)
            OR last_name <> VALUES(last_name) OR is_staff <> VALUES(is_staff)
            OR is_superuser <> VALUES(is_superuser))
        AND VALUES(claims_issued_at) >= claims_issued_at,
        VALUES(claims_issued_at),
        claims_issued_at
    ),
    updated_at = IF(
        claims_issued_at = VALUES(claims_issued_at)
            AND (email <> VALUES(email) OR first_name <> VALUES(first_name)
                OR last_name <> VALUES(last_name) OR is_staff <> VALUES(is_staff)
                OR is_superuser <> VALUES(is_superuser)),
        VALUES(updated_at),
        updated_at
    ),
    email = IF(claims_issued_at = VALUES(claims_issued_at), VALUES(email), email),
    first_name = IF(claims_issued_at = VALUES(claims_issued_at), VALUES(first_name), first_name),
    last_name = IF(claims_issued_at = VALUES(claims_issued_at), VALUES(last_name), last_name),
    is_staff = IF(claims_issued_at = VALUES(claims_issued_at), VALUES(is_staff), is_staff),
    is_superuser = IF(claims_issued_at = VALUES(claims_issued_at), VALUES(is_superuser), is_superuser)";

/// Makes the row of `claims.username` hold `claims`: [`UPSERT`], then the row
/// is read back. Returns the row, and whether it was written.
pub async fn upsert_from_claims(
    db: &impl ConnectionTrait,
    claims: &UserClaims,
) -> Result<(users::Model, bool), DbErr> {
    let now = Utc::now();
    let statement = Statement::from_sql_and_values(
        DbBackend::MySql,
        UPSERT,
        [
            claims.username.clone().into(),
            claims.email.clone().into(),
            claims.first_name.clone().into(),
            claims.last_name.clone().into(),
            claims.is_staff.into(),
            claims.is_superuser.into(),
            now.into(),
            now.into(),
            i64::try_from(claims.issued_at).unwrap_or(i64::MAX).into(),
        ],
    );
    // MySQL says 1 row affected for an insert, 2 for an update, 0 for none.
    let written = db.execute_raw(statement).await?.rows_affected() > 0;
    Ok((read_back(db, &claims.username).await?, written))
}
