//! Typed, validated settings.
//!
//! Layers, each overriding the one before: `config/default.toml` →
//! `config/{APP_ENV}.toml` → `APP__SECTION__KEY` environment variables.
//! [`Settings::load`] reads them as written and then checks every value once,
//! at start-up, so the rest of the service only ever sees values that make
//! sense: URLs parsed, secrets wrapped so they never print, keys loaded. A bad
//! value becomes a [`SettingsError`] that names the key.
//!
//! Each concern keeps its settings next to it: [`server`], [`database`],
//! [`log`], [`metrics`], the development login's in [`crate::dev_login`],
//! authentication's in [`crate::auth::settings`], and traces' in
//! [`crate::telemetry::traces`].

pub mod database;
pub mod log;
pub mod metrics;
pub mod server;

use std::{fmt, path::Path};

use serde::Deserialize;

pub use self::{
    database::DatabaseSettings, log::LogSettings, metrics::MetricsSettings, server::ServerSettings,
};
use crate::{
    auth::{
        keys::FixedKey,
        settings::{AuthSettings, RawAuth, RawCors, RawCsrf},
    },
    dev_login::DevLoginSettings,
    telemetry::traces::TracesSettings,
};

/// A setting that cannot be used, with the key it belongs to.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting `{key}`: {message}")]
pub struct SettingsError {
    /// Dotted key, as in `config/default.toml` (e.g. `auth.own_url`).
    pub key: String,
    /// What is wrong with it, in words an operator can act on.
    pub message: String,
}

impl SettingsError {
    /// The error of setting `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Which `config/{name}.toml` is loaded, from `APP_ENV`.
///
/// Unset means `production`: a service started by hand or by a process
/// manager that forgot `APP_ENV` gets the production settings, never the
/// development login. `cargo run` and `cargo test` in the repository set
/// `APP_ENV=local` (`.cargo/config.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment(String);

impl Environment {
    /// Reads `APP_ENV`.
    #[must_use]
    pub fn from_env() -> Self {
        Self(std::env::var("APP_ENV").unwrap_or_else(|_| "production".to_owned()))
    }

    /// An environment by name, e.g. `test` in the test suite.
    #[must_use]
    pub fn named(name: &str) -> Self {
        Self(name.to_owned())
    }

    /// The environment's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.0
    }

    /// `local` and `test`: a developer's machine or the test suite, whose data
    /// may be thrown away (`migrate fresh`).
    #[must_use]
    pub fn is_development(&self) -> bool {
        matches!(self.0.as_str(), "local" | "test")
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything the service is configured with, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The environment these settings were loaded for.
    pub environment: Environment,
    /// HTTP listener.
    pub server: ServerSettings,
    /// Database connection.
    pub database: DatabaseSettings,
    /// Authentication: cookies, keys, claims, redirects, CSRF.
    pub auth: AuthSettings,
    /// Origins of browser front-ends allowed credentialed CORS requests.
    pub cors_allowed_origins: Vec<url::Url>,
    /// Development login page.
    pub dev_login: DevLoginSettings,
    /// Logging.
    pub log: LogSettings,
    /// The Prometheus listener.
    pub metrics: MetricsSettings,
    /// OpenTelemetry traces.
    pub traces: TracesSettings,
}

/// The settings exactly as the files and environment give them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    server: server::RawServer,
    database: database::RawDatabase,
    auth: RawAuth,
    csrf: RawCsrf,
    cors: RawCors,
    dev_login: DevLoginSettings,
    log: LogSettings,
    metrics: metrics::RawMetrics,
    // Empty, and refusing every key, in a service generated without traces.
    #[serde(default)]
    traces: TracesSettings,
}

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: [&str; 5] = [
    "auth.algorithms",
    "auth.secret",
    "auth.public_key_file",
    "csrf.trusted_origins",
    "cors.allowed_origins",
];

impl Settings {
    /// Loads the settings of `APP_ENV` from `config/` under the current directory.
    pub fn load() -> Result<Self, SettingsError> {
        Self::load_for(&Environment::from_env(), Path::new("config"))
    }

    /// Loads the settings of `environment` from `config_dir`, with `APP__`
    /// environment variables on top.
    pub fn load_for(environment: &Environment, config_dir: &Path) -> Result<Self, SettingsError> {
        Self::load_with_overrides(environment, config_dir, &[])
    }

    /// Like [`Settings::load_for`], with `overrides` applied last, as if they
    /// were environment variables (`("auth.secret", "…")`, comma-separated for
    /// list keys); the test suite uses it to give each app its own settings.
    pub fn load_with_overrides(
        environment: &Environment,
        config_dir: &Path,
        overrides: &[(&str, &str)],
    ) -> Result<Self, SettingsError> {
        let env_file = config_dir.join(format!("{environment}.toml"));
        if !env_file.is_file() {
            return Err(SettingsError::new(
                "APP_ENV",
                format!(
                    "no settings file {} for environment `{environment}`",
                    env_file.display()
                ),
            ));
        }
        let mut builder = config::Config::builder()
            .add_source(config::File::from(config_dir.join("default.toml")))
            .add_source(config::File::from(env_file));
        for (key, value) in environment_overrides()?
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .chain(overrides.iter().copied())
        {
            // Values stay the strings they were written as (a secret `0123…`
            // keeps its zero, an audience `1.0` its `.0`); numbers and booleans
            // are parsed by the setting that wants one.
            builder = if LIST_KEYS.contains(&key) {
                let items: Vec<&str> = value.split(',').filter(|item| !item.is_empty()).collect();
                builder.set_override(key, items)
            } else {
                builder.set_override(key, value)
            }
            .map_err(|e| SettingsError::new(key, e.to_string()))?;
        }
        let raw: RawSettings = builder
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|e| config_error(&e))?;
        raw.check(environment.clone())
    }

    /// Whether the development conveniences may sign tokens here: the
    /// development secret is the only key, HS256 is accepted, and the service
    /// listens on loopback with a loopback `auth.own_url`. The development
    /// login and `mint-token` need it; the error names the setting in the way.
    pub fn check_development_signing(&self) -> Result<(), SettingsError> {
        let keys = self.auth.keys.fixed();
        if !(keys.len() == 1 && keys[0].is_development_secret()) {
            return Err(SettingsError::new(
                "auth.secret",
                "is not the development secret alone; the development login and `mint-token` sign with the development secret only",
            ));
        }
        if !self
            .auth
            .algorithms
            .contains(&jsonwebtoken::Algorithm::HS256)
        {
            return Err(SettingsError::new(
                "auth.algorithms",
                "does not accept HS256, which the development login and `mint-token` sign with",
            ));
        }
        self.check_loopback("auth.secret", "the development secret")
    }

    /// Whether one of the keys is the development secret.
    fn uses_development_secret(&self) -> bool {
        self.auth
            .keys
            .fixed()
            .iter()
            .any(FixedKey::is_development_secret)
    }

    /// Refuses `what` unless `server.host` and `auth.own_url` are loopback.
    fn check_loopback(&self, key: &str, what: &str) -> Result<(), SettingsError> {
        if !self.server.is_loopback() {
            return Err(SettingsError::new(
                key,
                format!(
                    "is {what}, which is refused unless server.host is a loopback address (it is \"{}\")",
                    self.server.host
                ),
            ));
        }
        if !server::is_loopback_url(&self.auth.own_url) {
            return Err(SettingsError::new(
                key,
                format!(
                    "is {what}, which is refused unless auth.own_url is on a loopback host (it is \"{}\")",
                    self.auth.own_url
                ),
            ));
        }
        Ok(())
    }

    /// Says, once at start-up, which development conveniences are on.
    pub fn warn_about_development_conveniences(&self) {
        if self.dev_login.enabled {
            tracing::warn!(
                "the development login is on (/dev/login/): anyone who reaches this service can sign in as anyone"
            );
        } else if self.uses_development_secret() {
            tracing::warn!(
                "auth.secret is the development secret, which anyone can read in the repository"
            );
        }
    }
}

/// The `APP__SECTION__KEY` environment variables, as `section.key` settings.
fn environment_overrides() -> Result<Vec<(String, String)>, SettingsError> {
    let mut found = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(path) = name.to_str().and_then(|name| name.strip_prefix("APP__")) else {
            continue;
        };
        let key = path
            .split("__")
            .collect::<Vec<_>>()
            .join(".")
            .to_lowercase();
        let value = value
            .into_string()
            .map_err(|_| SettingsError::new(key.clone(), "is not valid UTF-8"))?;
        found.push((key, value));
    }
    Ok(found)
}

/// Turns the `config` crate's error into one that names the key.
fn config_error(error: &config::ConfigError) -> SettingsError {
    match error {
        config::ConfigError::Type { key: Some(key), .. } => SettingsError::new(
            key.clone(),
            error
                .to_string()
                .split(" for key")
                .next()
                .unwrap_or_default(),
        ),
        config::ConfigError::NotFound(key) => SettingsError::new(key.clone(), "is missing"),
        config::ConfigError::Message(message) => {
            // serde's messages name the field but not its section: keep them whole.
            SettingsError::new("settings", message.clone())
        }
        _ => SettingsError::new("settings", error.to_string()),
    }
}

impl RawSettings {
    fn check(self, environment: Environment) -> Result<Settings, SettingsError> {
        let server = self.server.check()?;
        let metrics = self.metrics.check(&server)?;
        let cors_allowed_origins = self.cors.check()?;
        let settings = Settings {
            environment,
            database: self.database.check()?,
            auth: self
                .auth
                .check(&self.csrf, &cors_allowed_origins, &server)?,
            cors_allowed_origins,
            server,
            dev_login: self.dev_login.check()?,
            log: self.log,
            metrics,
            traces: self.traces.check()?,
        };
        if settings.uses_development_secret() {
            settings.check_loopback("auth.secret", "the development secret")?;
        }
        if settings.dev_login.enabled {
            settings.check_development_signing().map_err(|error| {
                SettingsError::new(
                    "dev_login.enabled",
                    format!("is refused because `{}` {}", error.key, error.message),
                )
            })?;
        }
        Ok(settings)
    }
}

/// Checks that `value` of `key` lies in `range`, naming the bounds when not.
pub(crate) fn in_range<T>(
    key: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, SettingsError>
where
    T: PartialOrd + fmt::Display + Copy,
{
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(SettingsError::new(
            key,
            format!(
                "is {value}; it must be between {} and {}",
                range.start(),
                range.end()
            ),
        ))
    }
}
