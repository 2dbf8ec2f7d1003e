//! `[database]`: the connection URL and the pool.
//!
//! The URL may hold a password. It is checked here, when settings load, so that
//! a URL the driver would choke on (or echo back in its error) never reaches
//! it, and no message about it, here or later ([`DatabaseSettings::redact`]),
//! ever shows the password.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::{SettingsError, in_range};
use crate::db::URL_SCHEMES;

/// Checked `[database]`.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Connection URL; may hold a password, so it is never printed.
    pub url: SecretString,
    /// Apply pending migrations when `serve` starts.
    pub migrate_on_start: bool,
    /// Pool size.
    pub max_connections: u32,
    /// Connections kept open while idle.
    pub min_connections: u32,
    /// How long a request waits for a connection before it fails with 503.
    pub acquire_timeout_secs: u64,
    /// Start-up retries while the database is unreachable.
    pub connect_retries: u32,
}

/// `[database]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    url: SecretString,
    migrate_on_start: bool,
    max_connections: u32,
    min_connections: u32,
    acquire_timeout_secs: u64,
    connect_retries: u32,
}

impl RawDatabase {
    pub(super) fn check(self) -> Result<DatabaseSettings, SettingsError> {
        const KEY: &str = "database.url";
        let url = self.url.expose_secret().trim();
        if url.is_empty() {
            return Err(SettingsError::new(KEY, "is empty"));
        }
        // The parser's messages never quote the input, so the password stays out.
        let parsed = Url::parse(url).map_err(|error| {
            SettingsError::new(
                KEY,
                format!(
                    "is not a valid URL ({error}); characters such as `/`, `#`, `?`, `@` and `%` in a password must be percent-encoded"
                ),
            )
        })?;
        if !URL_SCHEMES.contains(&parsed.scheme()) {
            return Err(SettingsError::new(
                KEY,
                format!(
                    "has the scheme `{}`, but this service's database driver takes {}",
                    parsed.scheme(),
                    URL_SCHEMES.join(", ")
                ),
            ));
        }
        crate::db::check_url(&parsed).map_err(|why| SettingsError::new(KEY, why))?;
        let max_connections = in_range("database.max_connections", self.max_connections, 1..=1000)?;
        if self.min_connections > max_connections {
            return Err(SettingsError::new(
                "database.min_connections",
                "must not exceed database.max_connections",
            ));
        }
        Ok(DatabaseSettings {
            url: url.into(),
            migrate_on_start: self.migrate_on_start,
            max_connections,
            min_connections: self.min_connections,
            acquire_timeout_secs: in_range(
                "database.acquire_timeout_secs",
                self.acquire_timeout_secs,
                1..=600,
            )?,
            connect_retries: in_range("database.connect_retries", self.connect_retries, 0..=100)?,
        })
    }
}

impl DatabaseSettings {
    /// The URL with its password replaced by `***`, fit for logs and `check-config`.
    #[must_use]
    pub fn url_for_display(&self) -> String {
        match Url::parse(self.url.expose_secret()) {
            Ok(mut url) => {
                if url.password().is_some() {
                    // Only fails for URLs that cannot have a password at all.
                    let _ = url.set_password(Some("***"));
                }
                url.into()
            }
            Err(_) => "(unparsable URL)".to_owned(),
        }
    }

    /// `text` (a driver's error message, say) with the URL's password, as
    /// written and percent-decoded, replaced by `***`: drivers may quote the
    /// URL they were given.
    #[must_use]
    pub fn redact(&self, text: &str) -> String {
        let Some(password) = Url::parse(self.url.expose_secret())
            .ok()
            .and_then(|url| url.password().map(str::to_owned))
        else {
            return text.to_owned();
        };
        let decoded = percent_encoding::percent_decode_str(&password)
            .decode_utf8_lossy()
            .into_owned();
        let mut redacted = text.to_owned();
        for secret in [password, decoded] {
            if !secret.is_empty() {
                redacted = redacted.replace(&secret, "***");
            }
        }
        redacted
    }
}
