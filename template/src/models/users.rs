//! Users: the upsert authentication relies on, and the queries of the API.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, ExprTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, OnConflict, Query},
};

use crate::{
    auth::{AuthUser, StoreError, StoreFuture, UserClaims, UserStore},
    entities::users::{self, Column},
};

/// The columns the token owns: overwritten when the claims change.
const CLAIM_COLUMNS: [Column; 5] = [
    Column::Email,
    Column::FirstName,
    Column::LastName,
    Column::IsStaff,
    Column::IsSuperuser,
];

/// [`UserStore`] on the service's database.
#[derive(Debug, Clone)]
pub struct DbUserStore {
    db: DatabaseConnection,
}

impl DbUserStore {
    /// A store on `db`.
    #[must_use]
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl UserStore for DbUserStore {
    fn sync_user<'a>(&'a self, claims: &'a UserClaims) -> StoreFuture<'a, AuthUser> {
        Box::pin(async move {
            upsert_from_claims(&self.db, claims)
                .await
                .map(AuthUser::from)
                .map_err(|e| StoreError(Box::new(e)))
        })
    }
}

/// Makes the row of `claims.username` hold `claims` in one statement:
///
/// ```sql
/// INSERT INTO users (...) VALUES (...)
/// ON CONFLICT (username) DO UPDATE SET email = excluded.email, ...
///   WHERE users.email <> excluded.email OR ...
/// RETURNING *
/// ```
///
/// The unique index makes concurrent first requests for one user race-free:
/// exactly one inserts, the others update (or find nothing to change). The
/// `WHERE` makes unchanged claims write nothing; that statement returns no row,
/// and the row is then read with a `SELECT` (only on a cold cache).
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
        ])
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .on_conflict(
            OnConflict::column(Column::Username)
                .update_columns(CLAIM_COLUMNS)
                .update_column(Column::UpdatedAt)
                .action_and_where(changed)
                .to_owned(),
        )
        .returning_all()
        .to_owned();

    if let Some(row) = db.query_one(&statement).await? {
        return users::Model::from_query_result(&row, "");
    }
    find_by_username(db, &claims.username)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("user {} vanished", claims.username)))
}

/// The user called `username`, if any.
pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find()
        .filter(Column::Username.eq(username))
        .one(db)
        .await
}

/// One page of users, oldest first, and the total number of users.
pub async fn list(
    db: &DatabaseConnection,
    page: u64,
    per_page: u64,
) -> Result<(Vec<users::Model>, u64), DbErr> {
    let paginator = users::Entity::find()
        .order_by_asc(Column::Id)
        .paginate(db, per_page);
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((items, total))
}

/// Sets `is_active` of user `id`; `None` when there is no such user.
pub async fn set_active(
    db: &DatabaseConnection,
    id: i64,
    is_active: bool,
) -> Result<Option<users::Model>, DbErr> {
    let Some(user) = users::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    if user.is_active == is_active {
        return Ok(Some(user));
    }
    let mut active: users::ActiveModel = user.into();
    active.is_active = Set(is_active);
    active.updated_at = Set(Utc::now());
    active.update(db).await.map(Some)
}

impl From<users::Model> for AuthUser {
    fn from(user: users::Model) -> Self {
        Self {
            id: user.id,
            username: user.username,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            is_staff: user.is_staff,
            is_superuser: user.is_superuser,
            is_active: user.is_active,
        }
    }
}
