//! Users: the store authentication relies on (read first, then the upsert
//! when something is to be written), and the queries of the API.

use std::sync::OnceLock;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QueryTrait, Statement,
};

pub use super::upsert::{UPSERT_STATEMENTS, upsert_from_claims};
use crate::{
    auth::{AuthUser, StoreError, StoreFuture, Synced, UserClaims, UserStore},
    db,
    entities::users::{self, Column},
};

/// [`UserStore`] on the service's database.
#[derive(Debug)]
pub struct DbUserStore {
    db: DatabaseConnection,
    /// Held while writing when the database takes one writer at a time
    /// ([`db::SERIALIZE_WRITES`]).
    writer: tokio::sync::Mutex<()>,
}

impl DbUserStore {
    /// A store on `db`.
    #[must_use]
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            writer: tokio::sync::Mutex::new(()),
        }
    }

    /// Reads first: the user is most often known and unchanged (a cache
    /// expired, the service restarted), and then one `SELECT` answers, which
    /// takes no write lock. Only a new user or changed claims are written.
    async fn sync(&self, claims: &UserClaims) -> Result<Synced, DbErr> {
        if let Some(row) = find_by_username(&self.db, &claims.username).await? {
            let user = AuthUser::from(row);
            // A token older than the one the row came from changes nothing.
            if user.matches(claims) || claims.issued_at < user.claims_issued_at {
                return Ok(Synced {
                    user,
                    written: false,
                });
            }
        }
        let _writing = if db::SERIALIZE_WRITES {
            Some(self.writer.lock().await)
        } else {
            None
        };
        let (row, written) = upsert_from_claims(&self.db, claims).await?;
        Ok(Synced {
            user: AuthUser::from(row),
            written,
        })
    }
}

impl UserStore for DbUserStore {
    fn sync_user<'a>(&'a self, claims: &'a UserClaims) -> StoreFuture<'a, Synced> {
        Box::pin(async move {
            self.sync(claims).await.map_err(|error| {
                if db::is_outage(&error) {
                    StoreError::Unavailable(Box::new(error))
                } else {
                    StoreError::Failed(Box::new(error))
                }
            })
        })
    }
}

/// The user called `username`, if any.
pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<users::Model>, DbErr> {
    // The hottest query of the service: built once, only bound per call. And
    // not `.one()`: its `LIMIT ?` is a bound parameter, and SQLite prepares
    // such a statement again at every execution (its plan may depend on the
    // limit), which cost as much as all the rest of a request. `username` is
    // unique: there is one row at most.
    static SQL: OnceLock<String> = OnceLock::new();
    let backend = db.get_database_backend();
    let sql = SQL.get_or_init(|| {
        let query = users::Entity::find().filter(Column::Username.eq(""));
        backend.build(&QueryTrait::into_query(query)).sql
    });
    Ok(users::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            backend,
            sql.as_str(),
            [username.into()],
        ))
        .all(db)
        .await?
        .into_iter()
        .next())
}

/// The row of `username`, which an upsert has just written.
pub(super) async fn read_back(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<users::Model, DbErr> {
    find_by_username(db, username)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("user {username} vanished")))
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

/// The user with local id `id`, if any.
pub async fn find(db: &DatabaseConnection, id: i64) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find_by_id(id).one(db).await
}

/// Sets `is_active` of `user` and returns the row as it is now.
pub async fn set_active(
    db: &DatabaseConnection,
    user: users::Model,
    is_active: bool,
) -> Result<users::Model, DbErr> {
    if user.is_active == is_active {
        return Ok(user);
    }
    let mut active: users::ActiveModel = user.into();
    active.is_active = Set(is_active);
    active.updated_at = Set(Utc::now());
    active.update(db).await
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
            claims_issued_at: u64::try_from(user.claims_issued_at).unwrap_or(0),
        }
    }
}
