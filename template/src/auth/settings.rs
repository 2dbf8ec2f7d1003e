//! Authentication settings (`[auth]` and `[csrf]` in `config/default.toml`):
//! read as they are written ([`RawAuth`]), then checked once into
//! [`AuthSettings`], so authentication only ever sees values that make sense.

use std::{fmt, path::PathBuf, time::Duration};

use jsonwebtoken::Algorithm;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, de};
use url::Url;

use super::{
    key_source::KeySettings,
    keys::{FixedKey, is_hmac},
};
use crate::settings::{ServerSettings, SettingsError, in_range};

/// Shortest HS* secret accepted: HMAC keys shorter than the hash are weak (RFC 7518 §3.2).
const MIN_SECRET_BYTES: usize = 32;

/// Checked authentication settings.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// The Auth service's login page.
    pub login_url: Url,
    /// The Auth service's page that renews an expired access token from the
    /// refresh cookie and sends the browser back to `next`, if it has one.
    pub refresh_url: Option<Url>,
    /// This service's public URL: its origin, and the path prefix a gateway
    /// strips, if any (no trailing slash).
    pub own_url: Url,
    /// Query parameter of `login_url` that carries the return URL.
    pub redirect_field_name: String,
    /// Cookie holding the access token.
    pub access_cookie: String,
    /// Cookie holding the refresh token.
    pub refresh_cookie: String,
    /// Whether a cookie-authenticated request needs the refresh cookie too.
    pub require_refresh_cookie: bool,
    /// Accepted `alg` header values.
    pub algorithms: Vec<Algorithm>,
    /// Where the keys that verify signatures come from.
    pub keys: KeySettings,
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Required `aud`, if any.
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp`/`nbf`, in seconds.
    pub leeway_secs: u64,
    /// Name of the claim that tells access from refresh tokens.
    pub token_type_claim: String,
    /// Its value in access tokens.
    pub access_token_type: String,
    /// Name of the token id claim, required like SimpleJWT does.
    pub jti_claim: String,
    /// Names of the user claims.
    pub claims: ClaimNames,
    /// How long a validated user is remembered without asking the database.
    pub user_cache_ttl: Duration,
    /// How many users are remembered.
    pub user_cache_capacity: u64,
    /// Origins besides `own_url` allowed to send cookie-authenticated unsafe requests.
    pub trusted_origins: Vec<Url>,
}

impl AuthSettings {
    /// The path prefix of `own_url` a gateway strips (`/orders`), or `""`.
    #[must_use]
    pub fn path_prefix(&self) -> &str {
        self.own_url.path().trim_end_matches('/')
    }
}

/// Names of the custom claims (`[auth.claims]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimNames {
    /// Stable user identifier, stored as the local `username` (required).
    pub username: String,
    /// E-mail address (required).
    pub email: String,
    /// Staff flag, a JSON boolean (required).
    pub is_staff: String,
    /// Superuser flag, a JSON boolean (required).
    pub is_superuser: String,
    /// First name (optional; missing means empty).
    pub first_name: String,
    /// Last name (optional; missing means empty).
    pub last_name: String,
}

/// `[auth]` exactly as the files and environment give it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    login_url: String,
    refresh_url: Option<String>,
    own_url: String,
    redirect_field_name: String,
    access_cookie: String,
    refresh_cookie: String,
    require_refresh_cookie: bool,
    algorithms: Vec<String>,
    /// Current secret first, then previous ones (a rotation).
    #[serde(default, deserialize_with = "one_or_many")]
    secret: Vec<SecretString>,
    /// Current public key first, then previous ones (a rotation).
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) public_key_file: Vec<PathBuf>,
{% if key_source == "jwks" %}    pub(super) jwks_url: Option<String>,
    pub(super) jwks_refresh_secs: u64,
    pub(super) jwks_min_refresh_interval_secs: u64,
    pub(super) jwks_timeout_secs: u64,
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

/// `[csrf]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCsrf {
    trusted_origins: Vec<String>,
}

/// `[cors]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCors {
    allowed_origins: Vec<String>,
}

impl RawCors {
    /// The origins of `cors.allowed_origins`, each exact: no wildcard.
    pub(crate) fn check(&self) -> Result<Vec<Url>, SettingsError> {
        const KEY: &str = "cors.allowed_origins";
        self.allowed_origins
            .iter()
            .map(|origin| {
                if origin.contains('*') {
                    return Err(SettingsError::new(
                        KEY,
                        format!(
                            "\"{origin}\" is a wildcard, which would let every matching site use the signed-in user's cookies; list exact origins"
                        ),
                    ));
                }
                origin_url(KEY, origin)
            })
            .collect()
    }
}

impl RawAuth {
    /// Checks every value; the error names the first bad key. `server` is
    /// where the service listens, which an empty `own_url` stands for;
    /// `cors_origins` (`cors.allowed_origins`) are trusted like
    /// `csrf.trusted_origins`.
    pub(crate) fn check(
        self,
        csrf: &RawCsrf,
        cors_origins: &[Url],
        server: &ServerSettings,
    ) -> Result<AuthSettings, SettingsError> {
        let own_url = if self.own_url.trim().is_empty() {
            this_machine(server)?
        } else {
            service_url("auth.own_url", &self.own_url)?
        };
        let login_url = page_url("auth.login_url", &self.login_url, &own_url)?;
        let refresh_url = self
            .refresh_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
            .map(|url| page_url("auth.refresh_url", url, &own_url))
            .transpose()?;
        let mut trusted_origins = csrf
            .trusted_origins
            .iter()
            .map(|origin| origin_url("csrf.trusted_origins", origin))
            .collect::<Result<Vec<_>, _>>()?;
        trusted_origins.extend_from_slice(cors_origins);

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
        self.claims.check()?;

        let algorithms = parse_algorithms(&self.algorithms)?;
        let keys = self.key_settings(&algorithms)?;

        Ok(AuthSettings {
            login_url,
            refresh_url,
            own_url,
            redirect_field_name: self.redirect_field_name,
            access_cookie: self.access_cookie,
            refresh_cookie: self.refresh_cookie,
            require_refresh_cookie: self.require_refresh_cookie,
            algorithms,
            keys,
            issuer: self.issuer.filter(|s| !s.is_empty()),
            audience: self.audience.filter(|s| !s.is_empty()),
            leeway_secs: in_range("auth.leeway_secs", self.leeway_secs, 0..=3600)?,
            token_type_claim: self.token_type_claim,
            access_token_type: self.access_token_type,
            jti_claim: self.jti_claim,
            claims: self.claims,
            user_cache_ttl: Duration::from_secs(in_range(
                "auth.user_cache_ttl_secs",
                self.user_cache_ttl_secs,
                0..=3600,
            )?),
            user_cache_capacity: in_range(
                "auth.user_cache_capacity",
                self.user_cache_capacity,
                1..=10_000_000,
            )?,
            trusted_origins,
        })
    }

    /// The keys `auth.secret` or `auth.public_key_file` fix, whichever
    /// `algorithms` need: secrets for HS* (required), PEM files otherwise
    /// (none when the key source has another place to get keys from).
    pub(super) fn fixed_keys(&self, algorithms: &[Algorithm]) -> Result<Vec<FixedKey>, SettingsError> {
        let secrets: Vec<&SecretString> = self
            .secret
            .iter()
            .filter(|secret| !secret.expose_secret().is_empty())
            .collect();
        let pem_files: Vec<&PathBuf> = self
            .public_key_file
            .iter()
            .filter(|path| !path.as_os_str().is_empty())
            .collect();
        // A key that cannot take effect is a mistake to report, not to ignore.
        if is_hmac(algorithms[0]) {
            if !pem_files.is_empty() {
                return Err(SettingsError::new(
                    "auth.public_key_file",
                    "is set, but auth.algorithms are HS*, which verify with auth.secret; unset one of them",
                ));
            }
            if secrets.is_empty() {
                return Err(SettingsError::new(
                    "auth.secret",
                    "is required for HS* algorithms (set APP__AUTH__SECRET)",
                ));
            }
            if secrets
                .iter()
                .any(|secret| secret.expose_secret().len() < MIN_SECRET_BYTES)
            {
                return Err(SettingsError::new(
                    "auth.secret",
                    format!("is shorter than {MIN_SECRET_BYTES} bytes"),
                ));
            }
            return Ok(secrets
                .into_iter()
                .map(|secret| FixedKey::Secret(secret.clone()))
                .collect());
        }
        if !secrets.is_empty() {
            return Err(SettingsError::new(
                "auth.secret",
                format!(
                    "is set, but auth.algorithms ({algorithms:?}) verify with a public key; unset one of them"
                ),
            ));
        }
        if !pem_files.is_empty() && algorithms.iter().any(|a| family(*a) != family(algorithms[0])) {
            return Err(SettingsError::new(
                "auth.algorithms",
                format!(
                    "({algorithms:?}) need keys of different types, but auth.public_key_file holds one type of key; keep the algorithms of its type"
                ),
            ));
        }
        pem_files
            .into_iter()
            .map(|path| {
                let pem = std::fs::read(path).map_err(|e| {
                    SettingsError::new(
                        "auth.public_key_file",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                Ok(FixedKey::PublicKeyPem {
                    path: path.clone(),
                    pem,
                })
            })
            .collect()
    }
}

/// The type of key an algorithm verifies with: one PEM key fits one type.
fn family(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => "secret",
        Algorithm::ES256 => "EC P-256",
        Algorithm::ES384 => "EC P-384",
        Algorithm::EdDSA => "Ed25519",
        _ => "RSA",
    }
}

impl fmt::Debug for RawAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never printed whole: it holds secrets.
        f.debug_struct("RawAuth").finish_non_exhaustive()
    }
}

impl ClaimNames {
    fn check(&self) -> Result<(), SettingsError> {
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

/// A setting that may be one value or a list: `secret = "…"` or
/// `secret = ["current", "previous"]` in a file, comma-separated in the
/// environment.
fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    struct OneOrMany<T>(std::marker::PhantomData<T>);

    impl<'de, T: From<String>> de::Visitor<'de> for OneOrMany<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or a list of strings")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Vec<T>, E> {
            Ok(vec![T::from(value.to_owned())])
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut values = Vec::new();
            while let Some(value) = seq.next_element::<String>()? {
                values.push(T::from(value));
            }
            Ok(values)
        }
    }

    deserializer.deserialize_any(OneOrMany(std::marker::PhantomData))
}

/// An absolute http(s) URL, or a path (`/dev/login/`): a page of this very
/// service, under `own_url`.
fn page_url(key: &str, value: &str, own_url: &Url) -> Result<Url, SettingsError> {
    if value.starts_with('/') && !value.starts_with("//") {
        let own = own_url.as_str().trim_end_matches('/');
        absolute_http_url(key, &format!("{own}{value}"))
    } else {
        absolute_http_url(key, value)
    }
}

/// `http://localhost:<server.port>`: what an empty `auth.own_url` means, for a
/// service on a developer's machine.
fn this_machine(server: &ServerSettings) -> Result<Url, SettingsError> {
    const KEY: &str = "auth.own_url";
    if !server.is_loopback() || server.port == 0 {
        return Err(SettingsError::new(
            KEY,
            "is empty, which stands for http://localhost:<server.port> and needs server.host on loopback and a fixed server.port",
        ));
    }
    absolute_http_url(KEY, &format!("http://localhost:{}", server.port))
}

fn non_empty(key: &str, value: &str) -> Result<(), SettingsError> {
    if value.trim().is_empty() {
        Err(SettingsError::new(key, "must not be empty"))
    } else {
        Ok(())
    }
}

/// An absolute `http`/`https` URL with a host and no user information.
pub(super) fn absolute_http_url(key: &str, value: &str) -> Result<Url, SettingsError> {
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

/// This service's public URL: an http(s) origin, and the path prefix a
/// gateway strips before the request reaches the service, if any
/// (`https://example.com/orders`); no query or fragment. A trailing slash is
/// dropped, so `own_url + path` always has one slash.
fn service_url(key: &str, value: &str) -> Result<Url, SettingsError> {
    let mut url = absolute_http_url(key, value)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(SettingsError::new(
            key,
            format!(
                "\"{value}\" must be scheme://host[:port] with an optional path prefix, without query or fragment"
            ),
        ));
    }
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&prefix);
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
