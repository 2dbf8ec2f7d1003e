//! The pool behind SeaORM's connection, which only the MySQL driver's type
//! can reach.

use sea_orm::DatabaseConnection;

/// Connections the pool holds, and how many of them are idle.
pub(super) fn size_and_idle(db: &DatabaseConnection) -> (u32, u32) {
    let pool = db.get_mysql_connection_pool();
    // An idle count beyond `u32` cannot happen: the pool holds at most
    // `database.max_connections` (a `u32`).
    (
        pool.size(),
        u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
    )
}
