//! SQLite: one file, created on first run, for a service that runs as a
//! single process, set up as a server's embedded database should be:
//!
//! - `journal_mode = WAL`: readers never wait for the writer, nor it for them;
//! - `synchronous = NORMAL`: a commit reaches the WAL without an fsync of its
//!   own; the WAL is synced at checkpoints. A power loss (not a crash of the
//!   process) may lose the last commits before the latest checkpoint, never
//!   corrupt the file: here that is at worst a user row written again on the
//!   user's next request, since the rows follow the Auth service's tokens;
//! - `busy_timeout = 5 s` and one writer at a time in the process
//!   ([`SERIALIZE_WRITES`]): writers queue in the service instead of retrying
//!   against SQLite's lock, so "database is locked" never reaches a request;
//! - checkpoints in the background, every [`CHECKPOINT_EVERY`], instead of
//!   after commits: under steady reads SQLite's own checkpoint cannot finish,
//!   so it would try again, with an fsync, after every commit. A `PASSIVE`
//!   checkpoint waits for nobody; when the WAL has grown past
//!   [`RESTART_AFTER_FRAMES`] all the same (reads never paused), a `RESTART`
//!   one waits for the readers of older snapshots and has the next writer
//!   start the WAL over, which briefly holds writers back;
//! - `foreign_keys = ON`, for the tables a team adds.

use std::{future::Future, time::Duration};

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DbBackend, DbErr, Statement,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};
use secrecy::ExposeSecret;
use url::Url;

use crate::settings::DatabaseSettings;

/// URL schemes of `database.url` this service's driver takes.
pub const URL_SCHEMES: &[&str] = &["sqlite"];

/// What else `database.url` must satisfy: a file has no user or password.
pub(crate) fn check_url(url: &Url) -> Result<(), &'static str> {
    if url.username().is_empty() && url.password().is_none() {
        Ok(())
    } else {
        Err("names a SQLite file, which has no user or password")
    }
}

/// SQLite takes one writer at a time: the user store queues its writes in the
/// process rather than letting them wait on the file's lock.
pub(crate) const SERIALIZE_WRITES: bool = true;

/// How often the WAL is checkpointed into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The WAL size (in pages of 4 KiB) past which a background checkpoint
/// restarts the WAL: 16 MiB.
const RESTART_AFTER_FRAMES: i32 = 4096;

/// The WAL size (in pages) past which a commit checkpoints after all: a safety
/// net should the background checkpoints stop.
const AUTOCHECKPOINT_PAGES: &str = "16384";

/// The pragmas above, on every connection of the pool; and the folder of the
/// file, which SQLite creates (`mode=rwc`) but not its folder.
pub(super) fn prepare(settings: &DatabaseSettings, options: &mut ConnectOptions) {
    options.map_sqlx_sqlite_opts(|sqlite| {
        sqlite
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            .pragma("wal_autocheckpoint", AUTOCHECKPOINT_PAGES)
    });
    let url = settings.url.expose_secret();
    let Some(path) = url.strip_prefix("sqlite://") else {
        return;
    };
    let path = std::path::Path::new(path.split('?').next().unwrap_or_default());
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty())
        && let Err(error) = std::fs::create_dir_all(dir)
    {
        let dir = settings.redact(&dir.display().to_string());
        tracing::warn!(%error, dir, "cannot create the SQLite folder");
    }
}

/// Checkpoints the WAL every [`CHECKPOINT_EVERY`], on a connection of its
/// own (`options`), for as long as the service runs.
pub(super) fn start(options: ConnectOptions) {
    tokio::spawn(async move {
        let db = match Database::connect(options).await {
            Ok(db) => db,
            Err(error) => {
                tracing::warn!(%error, "cannot open a connection for SQLite checkpoints");
                return;
            }
        };
        let first = tokio::time::Instant::now() + CHECKPOINT_EVERY;
        let mut every = tokio::time::interval_at(first, CHECKPOINT_EVERY);
        let mut mode = "PASSIVE";
        loop {
            every.tick().await;
            // Its answer: (busy, frames in the WAL, frames checkpointed).
            let sql = format!("PRAGMA wal_checkpoint({mode})");
            let frames = db
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                .await
                .and_then(|row| row.map_or(Ok(0), |row| row.try_get_by_index::<i32>(1)));
            match frames {
                Ok(frames) if frames > RESTART_AFTER_FRAMES => mode = "RESTART",
                Ok(_) => mode = "PASSIVE",
                Err(error) => tracing::warn!(%error, "cannot checkpoint the SQLite WAL"),
            }
        }
    });
}

/// Runs `migrations`. One process owns a SQLite file, so there is nobody to
/// take turns with.
pub(super) async fn migrate_exclusively(
    _settings: &DatabaseSettings,
    migrations: impl Future<Output = Result<(), DbErr>>,
) -> Result<(), DbErr> {
    migrations.await
}
