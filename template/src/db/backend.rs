//! SQLite: one file, created on first run, for a service that runs as a
//! single process.

use std::future::Future;

use sea_orm::{ConnectOptions, DbErr};
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

/// SQLite creates the file (`mode=rwc`) but not its folder: create that.
pub(super) fn prepare(settings: &DatabaseSettings, _options: &mut ConnectOptions) {
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

/// Runs `migrations`. One process owns a SQLite file, so there is nobody to
/// take turns with.
pub(super) async fn migrate_exclusively(
    _settings: &DatabaseSettings,
    migrations: impl Future<Output = Result<(), DbErr>>,
) -> Result<(), DbErr> {
    migrations.await
}
