//! Typed, validated settings.
//!
//! Layers, each overriding the one before: `config/default.toml` →
//! `config/{APP_ENV}.toml` → `APP__SECTION__KEY` environment variables.
//! [`Settings::load`] deserialises them into [`RawSettings`] and then checks every
//! value once, at start-up, so the rest of the service only ever sees values that
//! make sense: URLs parsed, secrets wrapped so they never print, keys loaded.
//! A bad value becomes a [`SettingsError`] that names the key.

use std::{path::PathBuf, time::Duration};

use jsonwebtoken::Algorithm;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::auth::{AuthSettings, ClaimNames, {% if key_source == "jwks" %}JwksSettings, {% endif %}KeySource, mint::Lifetimes};

/// The secret shipped in `config/local.toml` and `config/test.toml`. Anyone can
/// read it in the repository, so every other environment refuses it.
pub const DEVELOPMENT_SECRET: &str = "local-development-secret-do-not-use-in-production";

/// Shortest HS* secret accepted: HMAC keys shorter than the hash are weak (RFC 7518 §3.2).
const MIN_SECRET_BYTES: usize = 32;

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
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Which `config/{name}.toml` is loaded; from `APP_ENV`, `local` when unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment(String);

impl Environment {
    /// Reads `APP_ENV`.
    #[must_use]
    pub fn from_env() -> Self {
        Self(std::env::var("APP_ENV").unwrap_or_else(|_| "local".to_owned()))
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

    /// `local` and `test` may use development conveniences (the shipped
    /// secret). Every other name, `staging` included, is treated as production.
    #[must_use]
    pub fn is_development(&self) -> bool {
        matches!(self.0.as_str(), "local" | "test")
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
    /// Development login page.
    pub dev_login: DevLoginSettings,
    /// Logging.
    pub log: LogSettings,
}

/// `[dev_login]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevLoginSettings {
    /// Serve `/dev/login/` (refused outside `local` and `test`).
    pub enabled: bool,
    /// Lifetime of minted access tokens, in seconds (SimpleJWT: 300).
    pub access_token_lifetime_secs: u64,
    /// Lifetime of minted refresh tokens, in seconds (SimpleJWT: 86400).
    pub refresh_token_lifetime_secs: u64,
}

impl DevLoginSettings {
    /// Lifetimes of the tokens the development login and `mint-token` mint.
    #[must_use]
    pub fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            access: Duration::from_secs(self.access_token_lifetime_secs),
            refresh: Duration::from_secs(self.refresh_token_lifetime_secs),
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    /// Address to bind.
    pub host: String,
    /// Port to bind; 0 picks a free one (tests).
    pub port: u16,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_timeout_secs: u64,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
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

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// `tracing-subscriber` filter directives; `RUST_LOG` overrides them.
    pub filter: String,
    /// Output format.
    pub format: LogFormat,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The settings exactly as the files and environment give them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    server: ServerSettings,
    database: DatabaseSettings,
    auth: RawAuth,
    csrf: RawCsrf,
    dev_login: DevLoginSettings,
    log: LogSettings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    login_url: String,
    own_url: String,
    redirect_field_name: String,
    access_cookie: String,
    refresh_cookie: String,
    require_refresh_cookie: bool,
    algorithms: Vec<String>,
    secret: Option<SecretString>,
    public_key_file: Option<PathBuf>,
{% if key_source == "jwks" %}    jwks_url: Option<String>,
    jwks_refresh_secs: u64,
    jwks_min_refresh_interval_secs: u64,
    jwks_timeout_secs: u64,
{% endif %}    issuer: Option<String>,
    audience: Option<String>,
    leeway_secs: u64,
    token_type_claim: String,
    access_token_type: String,
    jti_claim: String,
    user_cache_ttl_secs: u64,
    user_cache_capacity: u64,
    claims: ClaimNames,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCsrf {
    trusted_origins: Vec<String>,
}

impl Settings {
    /// Loads the settings of `APP_ENV` from `config/` under the current directory.
    pub fn load() -> Result<Self, SettingsError> {
        Self::load_for(&Environment::from_env(), std::path::Path::new("config"))
    }

    /// Loads the settings of `environment` from `config_dir`, with `APP__`
    /// environment variables on top.
    pub fn load_for(
        environment: &Environment,
        config_dir: &std::path::Path,
    ) -> Result<Self, SettingsError> {
        Self::load_with_overrides(environment, config_dir, &[])
    }

    /// Like [`Settings::load_for`], with `overrides` applied last (comma-separated
    /// for list keys, like environment variables); the test suite uses it to give
    /// each app its own settings.
    pub fn load_with_overrides(
        environment: &Environment,
        config_dir: &std::path::Path,
        overrides: &[(&str, &str)],
    ) -> Result<Self, SettingsError> {
        let env_file = config_dir.join(format!("{}.toml", environment.name()));
        if !env_file.is_file() {
            return Err(SettingsError::new(
                "APP_ENV",
                format!(
                    "no settings file {} for environment `{}`",
                    env_file.display(),
                    environment.name()
                ),
            ));
        }
        let mut env_source = config::Environment::with_prefix("APP")
            .prefix_separator("__")
            .separator("__")
            .list_separator(",")
            .try_parsing(true);
        for key in LIST_KEYS {
            env_source = env_source.with_list_parse_key(key);
        }
        let mut builder = config::Config::builder()
            .add_source(config::File::from(config_dir.join("default.toml")))
            .add_source(config::File::from(env_file))
            .add_source(env_source);
        for (key, value) in overrides {
            builder = if LIST_KEYS.contains(key) {
                let items: Vec<&str> = value.split(',').filter(|item| !item.is_empty()).collect();
                builder.set_override(*key, items)
            } else {
                builder.set_override(*key, *value)
            }
            .map_err(|e| SettingsError::new(*key, e.to_string()))?;
        }
        let raw: RawSettings = builder
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|e| config_error(&e))?;
        raw.validate(environment.clone())
    }
}

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: [&str; 2] = ["auth.algorithms", "csrf.trusted_origins"];

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
    fn validate(self, environment: Environment) -> Result<Settings, SettingsError> {
        if self.database.max_connections == 0 {
            return Err(SettingsError::new(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        if self.database.min_connections > self.database.max_connections {
            return Err(SettingsError::new(
                "database.min_connections",
                "must not exceed database.max_connections",
            ));
        }
        if self.database.url.expose_secret().trim().is_empty() {
            return Err(SettingsError::new("database.url", "is empty"));
        }
        let auth = self.auth.validate(&environment, &self.csrf)?;
        if self.dev_login.enabled {
            if !environment.is_development() {
                return Err(SettingsError::new(
                    "dev_login.enabled",
                    format!(
                        "is refused in environment `{}`: the development login lets anyone sign in as anyone",
                        environment.name()
                    ),
                ));
            }
            if !matches!(auth.key, KeySource::Secret(_)) {
                return Err(SettingsError::new(
                    "dev_login.enabled",
                    "needs an HS* `auth.secret` to sign tokens with",
                ));
            }
        }
        Ok(Settings {
            environment,
            server: self.server,
            database: self.database,
            auth,
            dev_login: self.dev_login,
            log: self.log,
        })
    }
}

impl RawAuth {
    fn validate(
        self,
        environment: &Environment,
        csrf: &RawCsrf,
    ) -> Result<AuthSettings, SettingsError> {
        let login_url = absolute_http_url("auth.login_url", &self.login_url)?;
        let own_url = origin_url("auth.own_url", &self.own_url)?;
        let trusted_origins = csrf
            .trusted_origins
            .iter()
            .map(|origin| origin_url("csrf.trusted_origins", origin))
            .collect::<Result<Vec<_>, _>>()?;

        non_empty("auth.redirect_field_name", &self.redirect_field_name)?;
        cookie_name("auth.access_cookie", &self.access_cookie)?;
        cookie_name("auth.refresh_cookie", &self.refresh_cookie)?;
        if self.access_cookie == self.refresh_cookie {
            return Err(SettingsError::new(
                "auth.refresh_cookie",
                "must differ from auth.access_cookie",
            ));
        }
        for (key, value) in [
            ("auth.token_type_claim", &self.token_type_claim),
            ("auth.access_token_type", &self.access_token_type),
            ("auth.jti_claim", &self.jti_claim),
        ] {
            non_empty(key, value)?;
        }
        self.claims.validate()?;

        let algorithms = parse_algorithms(&self.algorithms)?;
{% if key_source == "jwks" %}        let jwks = self.jwks_settings()?;
        let key = key_source(
            environment,
            &algorithms,
            self.secret,
            self.public_key_file,
            jwks,
        )?;
{% else %}        let key = key_source(environment, &algorithms, self.secret, self.public_key_file)?;
{% endif %}

        Ok(AuthSettings {
            login_url,
            own_url,
            redirect_field_name: self.redirect_field_name,
            access_cookie: self.access_cookie,
            refresh_cookie: self.refresh_cookie,
            require_refresh_cookie: self.require_refresh_cookie,
            algorithms,
            key,
            issuer: self.issuer.filter(|s| !s.is_empty()),
            audience: self.audience.filter(|s| !s.is_empty()),
            leeway_secs: self.leeway_secs,
            token_type_claim: self.token_type_claim,
            access_token_type: self.access_token_type,
            jti_claim: self.jti_claim,
            claims: self.claims,
            user_cache_ttl: Duration::from_secs(self.user_cache_ttl_secs),
            user_cache_capacity: self.user_cache_capacity,
            trusted_origins,
        })
    }
}

{% if key_source == "jwks" %}impl RawAuth {
    /// `auth.jwks_*`, when `auth.jwks_url` is set.
    fn jwks_settings(&self) -> Result<Option<JwksSettings>, SettingsError> {
        let Some(url) = self.jwks_url.as_deref().filter(|url| !url.trim().is_empty()) else {
            return Ok(None);
        };
        let url = absolute_http_url("auth.jwks_url", url)?;
        let seconds = |key: &str, secs: u64| {
            if secs == 0 {
                Err(SettingsError::new(key, "must be at least 1"))
            } else {
                Ok(Duration::from_secs(secs))
            }
        };
        Ok(Some(JwksSettings {
            url,
            refresh_interval: seconds("auth.jwks_refresh_secs", self.jwks_refresh_secs)?,
            min_refresh_interval: seconds(
                "auth.jwks_min_refresh_interval_secs",
                self.jwks_min_refresh_interval_secs,
            )?,
            timeout: seconds("auth.jwks_timeout_secs", self.jwks_timeout_secs)?,
        }))
    }
}

{% endif %}impl ClaimNames {
    fn validate(&self) -> Result<(), SettingsError> {
        for (key, value) in [
            ("auth.claims.username", &self.username),
            ("auth.claims.email", &self.email),
            ("auth.claims.is_staff", &self.is_staff),
            ("auth.claims.is_superuser", &self.is_superuser),
            ("auth.claims.first_name", &self.first_name),
            ("auth.claims.last_name", &self.last_name),
        ] {
            non_empty(key, value)?;
        }
        Ok(())
    }
}

fn non_empty(key: &str, value: &str) -> Result<(), SettingsError> {
    if value.trim().is_empty() {
        Err(SettingsError::new(key, "must not be empty"))
    } else {
        Ok(())
    }
}

/// An absolute `http`/`https` URL with a host and no user information.
fn absolute_http_url(key: &str, value: &str) -> Result<Url, SettingsError> {
    let url = Url::parse(value).map_err(|e| {
        SettingsError::new(key, format!("\"{value}\" is not an absolute URL ({e})"))
    })?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(SettingsError::new(
            key,
            format!("\"{value}\" is not an absolute http(s) URL"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SettingsError::new(
            key,
            format!("\"{value}\" must not contain user information"),
        ));
    }
    Ok(url)
}

/// An http(s) origin: scheme, host and optional port, nothing else.
fn origin_url(key: &str, value: &str) -> Result<Url, SettingsError> {
    let url = absolute_http_url(key, value)?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(SettingsError::new(
            key,
            format!(
                "\"{value}\" must be an origin (scheme://host[:port]) without path, query or fragment"
            ),
        ));
    }
    Ok(url)
}

/// RFC 6265 `cookie-name`: an RFC 7230 token.
fn cookie_name(key: &str, value: &str) -> Result<(), SettingsError> {
    let legal = |c: char| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c);
    if value.is_empty() || !value.chars().all(legal) {
        return Err(SettingsError::new(
            key,
            format!("\"{value}\" is not a legal cookie name (RFC 6265)"),
        ));
    }
    Ok(())
}

fn parse_algorithms(names: &[String]) -> Result<Vec<Algorithm>, SettingsError> {
    const KEY: &str = "auth.algorithms";
    if names.is_empty() {
        return Err(SettingsError::new(KEY, "must name at least one algorithm"));
    }
    let algorithms = names
        .iter()
        .map(|name| {
            name.trim().parse::<Algorithm>().map_err(|_| {
                SettingsError::new(
                    KEY,
                    format!("unknown algorithm \"{name}\" (expected HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA)"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let hmac = algorithms.iter().filter(|a| is_hmac(**a)).count();
    if hmac != 0 && hmac != algorithms.len() {
        return Err(SettingsError::new(
            KEY,
            "mixes HS* with public-key algorithms; a service verifies with one kind of key",
        ));
    }
    Ok(algorithms)
}

fn is_hmac(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    )
}

fn key_source(
    environment: &Environment,
    algorithms: &[Algorithm],
    secret: Option<SecretString>,
    public_key_file: Option<PathBuf>,
{% if key_source == "jwks" %}    jwks: Option<JwksSettings>,
{% endif %}) -> Result<KeySource, SettingsError> {
    if is_hmac(algorithms[0]) {
{% if key_source == "jwks" %}        // A JWKS holds public keys; `oct` keys from a URL are refused anyway.
        if jwks.is_some() {
            return Err(SettingsError::new(
                "auth.jwks_url",
                "is set, but auth.algorithms are HS*: a JWKS publishes public keys; set auth.algorithms to the Auth service's (e.g. RS256) or unset auth.jwks_url",
            ));
        }
{% endif %}
        let secret = secret
            .filter(|s| !s.expose_secret().is_empty())
            .ok_or_else(|| {
                SettingsError::new(
                    "auth.secret",
                    "is required for HS* algorithms (set APP__AUTH__SECRET)",
                )
            })?;
        if secret.expose_secret().len() < MIN_SECRET_BYTES {
            return Err(SettingsError::new(
                "auth.secret",
                format!("is shorter than {MIN_SECRET_BYTES} bytes"),
            ));
        }
        if secret.expose_secret() == DEVELOPMENT_SECRET && !environment.is_development() {
            return Err(SettingsError::new(
                "auth.secret",
                format!(
                    "is the development secret, which environment `{}` refuses; set APP__AUTH__SECRET to the Auth service's signing key",
                    environment.name()
                ),
            ));
        }
        Ok(KeySource::Secret(secret))
    } else {
{% if key_source == "jwks" %}        let path = match (public_key_file, jwks) {
            (None, Some(jwks)) => return Ok(KeySource::Jwks(jwks)),
            (Some(_), Some(_)) => {
                return Err(SettingsError::new(
                    "auth.jwks_url",
                    "and auth.public_key_file are both set; set only one",
                ));
            }
            (Some(path), None) => path,
            (None, None) => {
                return Err(SettingsError::new(
                    "auth.jwks_url",
                    "is required for public-key algorithms (set APP__AUTH__JWKS_URL, or auth.public_key_file)",
                ));
            }
        };
{% else %}        let path = public_key_file.ok_or_else(|| {
            SettingsError::new(
                "auth.public_key_file",
                "is required for public-key algorithms (set APP__AUTH__PUBLIC_KEY_FILE)",
            )
        })?;
{% endif %}
        let pem = std::fs::read(&path).map_err(|e| {
            SettingsError::new(
                "auth.public_key_file",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        Ok(KeySource::PublicKeyPem(pem))
    }
}
