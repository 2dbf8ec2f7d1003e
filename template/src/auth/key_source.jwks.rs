//! Where the keys that verify signatures come from. This service fetches them
//! from the Auth service's JSON Web Key Set (`auth.jwks_url`, see [`jwks`]),
//! unless its settings fix a key instead: the Auth service's public key
//! (`auth.public_key_file`) or the secret it shares with it (`auth.secret`),
//! each possibly a list of the current and previous keys.
//!
//! Every key source offers this interface, whatever its keys are: checked
//! settings ([`KeySettings`]), [`KeySource::decode`], [`KeySource::is_ready`]
//! for readiness, [`KeySource::start`] for background work,
//! [`KeySource::check`] for `check-config`, and [`KeySource::stats`] for the
//! metrics.

mod jwks;

use std::sync::{Arc, Mutex, PoisonError};

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use self::jwks::Refresher;
pub use self::jwks::{FetchError, Jwks, JwksSettings};
use super::{
    keys::{FixedKey, FixedKeys, KeyError, is_hmac},
    metrics::KeySetStats,
    settings::RawAuth,
    token::Rejection,
};
use crate::settings::SettingsError;

/// Checked key settings.
#[derive(Debug, Clone)]
pub enum KeySettings {
    /// Keys fixed by `auth.secret` or `auth.public_key_file`, current first.
    Fixed(Vec<FixedKey>),
    /// The Auth service's key set at `auth.jwks_url`.
    Jwks(JwksSettings),
}

impl KeySettings {
    /// The keys the settings fix; none when they come from a JWKS.
    #[must_use]
    pub fn fixed(&self) -> &[FixedKey] {
        match self {
            Self::Fixed(keys) => keys,
            Self::Jwks(_) => &[],
        }
    }
}

impl RawAuth {
    /// The key settings for `algorithms`: `auth.secret` for HS*, otherwise
    /// `auth.jwks_url` or `auth.public_key_file` (one of them).
    pub(super) fn key_settings(
        &self,
        algorithms: &[Algorithm],
    ) -> Result<KeySettings, SettingsError> {
        let jwks = self.jwks_settings()?;
        if jwks.is_some() && is_hmac(algorithms[0]) {
            // A JWKS publishes public keys; `oct` keys from a URL are refused anyway.
            return Err(SettingsError::new(
                "auth.jwks_url",
                "is set, but auth.algorithms are HS*: a JWKS publishes public keys; set auth.algorithms to the Auth service's (e.g. RS256) or unset auth.jwks_url",
            ));
        }
        if jwks.is_some()
            && self
                .public_key_file
                .iter()
                .any(|path| !path.as_os_str().is_empty())
        {
            return Err(SettingsError::new(
                "auth.jwks_url",
                "and auth.public_key_file are both set; set only one",
            ));
        }
        let fixed = self.fixed_keys(algorithms)?;
        match jwks {
            Some(jwks) => Ok(KeySettings::Jwks(jwks)),
            None if !fixed.is_empty() => Ok(KeySettings::Fixed(fixed)),
            None => Err(SettingsError::new(
                "auth.jwks_url",
                "is required for public-key algorithms (set APP__AUTH__JWKS_URL, or auth.public_key_file)",
            )),
        }
    }
}

/// The keys signatures are checked with.
#[derive(Debug)]
pub struct KeySource(Source);

#[derive(Debug)]
enum Source {
    /// Keys from the settings.
    Fixed(Box<FixedKeys>),
    /// Keys from the Auth service's JWKS.
    Jwks {
        /// The current key set.
        jwks: Arc<Jwks>,
        /// Keeps it fresh once [`KeySource::start`] is called; stops with the
        /// key source.
        refresher: Mutex<Option<Refresher>>,
    },
}

impl KeySource {
    /// The key source of `settings`; every token is checked against
    /// `validation`. A JWKS starts empty: see [`KeySource::start`].
    pub fn new(settings: &KeySettings, validation: Validation) -> Result<Self, KeyError> {
        Ok(Self(match settings {
            KeySettings::Fixed(keys) => Source::Fixed(Box::new(FixedKeys::new(keys, validation)?)),
            KeySettings::Jwks(jwks) => Source::Jwks {
                jwks: Arc::new(Jwks::new(jwks, &validation)?),
                refresher: Mutex::new(None),
            },
        }))
    }

    /// Verifies `token`'s signature and registered claims, and returns its
    /// claims. Waits for a JWKS refresh when the token names a key not seen yet.
    pub async fn decode(&self, token: &str) -> Result<Map<String, Value>, Rejection> {
        match &self.0 {
            Source::Fixed(keys) => keys.decode(token),
            Source::Jwks { jwks, .. } => jwks.decode(token).await,
        }
    }

    /// Whether there are keys to verify tokens with: until the first JWKS
    /// arrives, every user is anonymous and readiness says so.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        match &self.0 {
            Source::Fixed(_) => true,
            Source::Jwks { jwks, .. } => jwks.is_ready(),
        }
    }

    /// Starts fetching the JWKS in the background: now, again every
    /// `auth.jwks_refresh_secs`, and with backoff while that fails. It is never
    /// awaited, so the service serves (anonymously, not ready) while the Auth
    /// service is unreachable.
    pub fn start(&self) {
        if let Source::Jwks { jwks, refresher } = &self.0 {
            let mut refresher = refresher.lock().unwrap_or_else(PoisonError::into_inner);
            refresher.get_or_insert_with(|| jwks.spawn_refresher());
        }
    }

    /// How the key set is doing (fetches, failures, keys, age); `None` for
    /// keys fixed by the settings.
    #[must_use]
    pub fn stats(&self) -> Option<KeySetStats> {
        match &self.0 {
            Source::Fixed(_) => None,
            Source::Jwks { jwks, .. } => Some(jwks.stats()),
        }
    }

    /// Says what tokens are verified with, for `check-config`; with a JWKS,
    /// fetches it once to show that the keys come.
    pub async fn check(&self) -> Result<String, KeyError> {
        match &self.0 {
            Source::Fixed(keys) => Ok(keys.description().to_owned()),
            Source::Jwks { jwks, .. } => {
                let count = jwks.refresh().await.map_err(|error| {
                    KeyError(format!("cannot load the JWKS of `auth.jwks_url`: {error}"))
                })?;
                Ok(format!(
                    "the JWKS at {} ({count} usable signing keys)",
                    jwks.url()
                ))
            }
        }
    }
}
