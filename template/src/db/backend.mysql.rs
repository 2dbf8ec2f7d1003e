//! MySQL or MariaDB: one database shared by every replica of the service.

use std::future::Future;

use sea_orm::{ConnectOptions, DbErr};

use url::Url;

use crate::settings::DatabaseSettings;

/// URL schemes of `database.url` this service's driver takes.
pub const URL_SCHEMES: &[&str] = &["mysql", "mariadb"];

/// How long a replica waits for another one's migrations, in seconds.
const MIGRATION_LOCK_TIMEOUT_SECS: u32 = 600;

/// The named lock the migrations run under. Lock names are server-wide, so
/// it names the database (a name is at most 64 characters).
const MIGRATION_LOCK: &str = "LEFT(CONCAT('migrations:', DATABASE()), 64)";

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

/// Runs `migrations` while holding a named lock (`GET_LOCK`), so that replicas
/// starting together on a new database do not create the same tables at once:
/// the others wait (at most [`MIGRATION_LOCK_TIMEOUT_SECS`]), then find
/// nothing to do.
pub(super) async fn migrate_exclusively(
    settings: &DatabaseSettings,
    migrations: impl Future<Output = Result<(), DbErr>>,
) -> Result<(), DbErr> {
    super::lock::under_lock(
        settings,
        &format!("SELECT GET_LOCK({MIGRATION_LOCK}, {MIGRATION_LOCK_TIMEOUT_SECS}) AS granted"),
        // 1 when granted, 0 after the timeout.
        |row| {
            row.and_then(|row| row.try_get::<Option<i64>>("", "granted").ok())
                .flatten()
                == Some(1)
        },
        &format!("DO RELEASE_LOCK({MIGRATION_LOCK})"),
        migrations,
    )
    .await
}
