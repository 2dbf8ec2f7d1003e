//! Migrations of replicas that share a database server take turns: each runs
//! them under a lock of the server's.

use sea_orm::{ConnectionTrait, Database, DbErr, QueryResult, Statement};

use super::connect_options;
use crate::settings::DatabaseSettings;

/// Runs `migrations` while this process holds a database lock, taken with
/// the statement `lock` (a row saying whether it was granted: `granted`) and
/// given back with `unlock`. The lock lives on a connection of its own, so
/// `migrations` can use the pool however small, and it goes away with that
/// connection even if the process dies.
pub(super) async fn under_lock(
    settings: &DatabaseSettings,
    lock: &str,
    granted: fn(Option<QueryResult>) -> bool,
    unlock: &str,
    migrations: impl std::future::Future<Output = Result<(), DbErr>>,
) -> Result<(), DbErr> {
    let connection = Database::connect(connect_options(settings, 1, 1)).await?;
    let backend = connection.get_database_backend();
    let answer = connection
        .query_one_raw(Statement::from_string(backend, lock))
        .await?;
    if !granted(answer) {
        connection.close().await?;
        return Err(DbErr::Custom(
            "another replica held the migration lock too long".to_owned(),
        ));
    }
    let migrated = migrations.await;
    let unlocked = connection.execute_unprepared(unlock).await;
    connection.close().await?;
    migrated.and(unlocked.map(drop))
}

