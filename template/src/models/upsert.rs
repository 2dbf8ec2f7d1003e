//! The upsert that keeps a user's row in step with the claims of their token,
//! for databases with `INSERT … ON CONFLICT … DO UPDATE … WHERE … RETURNING`
//! (SQLite ≥ 3.35, PostgreSQL).

use std::sync::OnceLock;

use chrono::Utc;
use sea_orm::{
    ConnectionTrait, DbErr, ExprTrait, FromQueryResult, Statement, Value,
    sea_query::{Expr, InsertStatement, OnConflict, Query},
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
/// the row is then read with a `SELECT`. Returns the row, and whether it was
/// written.
pub async fn upsert_from_claims(
    db: &impl ConnectionTrait,
    claims: &UserClaims,
) -> Result<(users::Model, bool), DbErr> {
    // The statement is the same for every user: it is built once, and each
    // call only binds its values, in the order of `upsert_statement`'s columns.
    static SQL: OnceLock<String> = OnceLock::new();
    let backend = db.get_database_backend();
    let sql = SQL.get_or_init(|| backend.build(&upsert_statement()).sql);
    let now = Utc::now();
    let values: [Value; 9] = [
        claims.username.clone().into(),
        claims.email.clone().into(),
        claims.first_name.clone().into(),
        claims.last_name.clone().into(),
        claims.is_staff.into(),
        claims.is_superuser.into(),
        now.into(),
        now.into(),
        i64::try_from(claims.issued_at).unwrap_or(i64::MAX).into(),
    ];
    let statement = Statement::from_sql_and_values(backend, sql.as_str(), values);
    if let Some(row) = db.query_one_raw(statement).await? {
        return Ok((users::Model::from_query_result(&row, "")?, true));
    }
    Ok((read_back(db, &claims.username).await?, false))
}

/// The upsert above, with placeholder values; new rows are active.
fn upsert_statement() -> InsertStatement {
    let differs =
        |column: Column| Expr::col((users::Entity, column)).ne(Expr::col(("excluded", column)));
    let [first, rest @ ..] = CLAIM_COLUMNS;
    let changed = rest
        .into_iter()
        .fold(differs(first), |any, column| any.or(differs(column)));
    let not_older = Expr::col(("excluded", Column::ClaimsIssuedAt))
        .gte(Expr::col((users::Entity, Column::ClaimsIssuedAt)));
    let placeholder = || Expr::value(Value::String(None));
    Query::insert()
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
        .values_panic([
            placeholder(),
            placeholder(),
            placeholder(),
            placeholder(),
            placeholder(),
            placeholder(),
            Expr::cust("TRUE"),
            placeholder(),
            placeholder(),
            placeholder(),
        ])
        .on_conflict(
            OnConflict::column(Column::Username)
                .update_columns(CLAIM_COLUMNS)
                .update_columns([Column::UpdatedAt, Column::ClaimsIssuedAt])
                .action_and_where(changed.and(not_older))
                .to_owned(),
        )
        .returning_all()
        .to_owned()
}
