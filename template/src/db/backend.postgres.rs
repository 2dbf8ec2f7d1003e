//! PostgreSQL: one database shared by every replica of the service.

use std::future::Future;

use sea_orm::{ConnectOptions, DbErr};

use url::Url;

use crate::settings::DatabaseSettings;

/// URL schemes of `database.url` this service's driver takes.
pub const URL_SCHEMES: &[&str] = &["postgres", "postgresql"];

/// Key of the advisory lock the migrations run under ("migrate!" in ASCII).
/// Advisory locks belong to one database, so services never share it.
const MIGRATION_LOCK: i64 = 0x6d69_6772_6174_6521;

/// What else `database.url` must satisfy: nothing beyond its scheme.
#[allow(clippy::unnecessary_wraps)] // The SQLite variant of this function can fail.
pub(crate) fn check_url(_url: &Url) -> Result<(), &'static str> {
    Ok(())
}

/// The server handles concurrent writers itself.
pub(crate) const SERIALIZE_WRITES: bool = false;

/// Nothing runs in the background: the server takes care of itself.
pub(super) fn start(_options: ConnectOptions) {}

/// Nothing to set up beyond the pool.
pub(super) fn prepare(_settings: &DatabaseSettings, _options: &mut ConnectOptions) {}

/// Runs `migrations` while holding a PostgreSQL advisory lock, so that
/// replicas starting together on a new database do not create the same tables
/// at once: the others wait, then find nothing to do.
pub(super) async fn migrate_exclusively(
    settings: &DatabaseSettings,
    migrations: impl Future<Output = Result<(), DbErr>>,
) -> Result<(), DbErr> {
    super::lock::under_lock(
        settings,
        &format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"),
        // It waits until granted.
        |_| true,
        &format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"),
        migrations,
    )
    .await
}
