//! The database: connecting with bounded retries, and migrating. What differs
//! per database server lives in [`backend`].

mod backend;
{% if database != "sqlite" %}mod lock;
{% endif %}
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use secrecy::ExposeSecret;

pub use self::backend::URL_SCHEMES;
pub(crate) use self::backend::{SERIALIZE_WRITES, check_url};
use crate::settings::DatabaseSettings;

/// The database stayed unreachable through every attempt. The message is the
/// driver's, with the URL's password taken out.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to the database (database.url) after {attempts} attempts: {message}")]
pub struct ConnectError {
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub message: String,
}

/// Opens the pool, retrying an unreachable database 1, 2, 4, 8, 8… seconds
/// apart, `database.connect_retries` times.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, ConnectError> {
    let options = connect_options(settings, settings.max_connections, settings.min_connections);
    let attempts = settings.connect_retries + 1;
    let mut delay = Duration::from_secs(1);
    let mut attempt = 1;
    loop {
        match Database::connect(options.clone()).await {
            Ok(db) => return Ok(db),
            Err(error) if attempt >= attempts => {
                return Err(ConnectError {
                    attempts,
                    message: settings.redact(&error.to_string()),
                });
            }
            Err(error) => {
                let error = settings.redact(&error.to_string());
                tracing::warn!(%error, attempt, "database unreachable; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
                attempt += 1;
            }
        }
    }
}

/// Starts what the database needs done in the background while the service
/// runs (SQLite: checkpoints), on a connection of its own; after the
/// migrations, which it must not meet.
pub fn start_background_work(settings: &DatabaseSettings) {
    backend::start(connect_options(settings, 1, 1));
}

/// Applies the pending migrations. Replicas that start together on a new
/// database take turns (see [`backend`]): the first migrates, the others then
/// find nothing left to do.
pub async fn migrate(db: &DatabaseConnection, settings: &DatabaseSettings) -> Result<(), DbErr> {
    backend::migrate_exclusively(settings, Migrator::up(db, None)).await
}

/// The pool options of `settings`, with the backend's own set-up.
fn connect_options(settings: &DatabaseSettings, max: u32, min: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(settings.url.expose_secret().to_owned());
    options
        .max_connections(max)
        .min_connections(min)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        .connect_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        // sqlx would log every statement, with its parameters, at info.
        .sqlx_logging(false);
    backend::prepare(settings, &mut options);
    options
}

/// Whether `error` means the database cannot be reached right now (down,
/// restarting, the pool exhausted): worth a retry, unlike a statement that
/// fails, which is a bug.
#[must_use]
pub fn is_outage(error: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx::Error};
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(error)) | DbErr::Query(RuntimeErr::SqlxError(error)) => {
            matches!(
                error.as_ref(),
                Error::Io(_)
                    | Error::Tls(_)
                    | Error::Protocol(_)
                    | Error::PoolTimedOut
                    | Error::PoolClosed
                    | Error::WorkerCrashed
            )
        }
        _ => false,
    }
}
