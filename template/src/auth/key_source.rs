//! Where the keys that verify signatures come from. This service verifies with
//! keys fixed by its settings: the secret it shares with the Auth service
//! (`auth.secret`), or the Auth service's public key (`auth.public_key_file`).
//! Each may list the current and the previous keys, tried in that order, so
//! that the Auth service can rotate its key without signing everybody out.
//!
//! Every key source offers this interface, whatever its keys are: checked
//! settings ([`KeySettings`]), [`KeySource::decode`], [`KeySource::is_ready`]
//! for readiness, [`KeySource::start`] for background work,
//! [`KeySource::check`] for `check-config`, and [`KeySource::stats`] for the
//! metrics.

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::{
    keys::{FixedKey, FixedKeys, KeyError},
    metrics::KeySetStats,
    settings::RawAuth,
    token::Rejection,
};
use crate::settings::SettingsError;

/// Checked key settings: the keys of `auth.secret` or `auth.public_key_file`,
/// current first.
#[derive(Debug, Clone)]
pub struct KeySettings {
    /// The keys, in the order they are tried.
    pub keys: Vec<FixedKey>,
}

impl KeySettings {
    /// The keys the settings fix: all of them, here.
    #[must_use]
    pub fn fixed(&self) -> &[FixedKey] {
        &self.keys
    }
}

impl RawAuth {
    /// The key settings for `algorithms`: `auth.secret` for HS*, otherwise
    /// `auth.public_key_file`.
    pub(super) fn key_settings(
        &self,
        algorithms: &[Algorithm],
    ) -> Result<KeySettings, SettingsError> {
        let keys = self.fixed_keys(algorithms)?;
        if keys.is_empty() {
            return Err(SettingsError::new(
                "auth.public_key_file",
                "is required for public-key algorithms (set APP__AUTH__PUBLIC_KEY_FILE)",
            ));
        }
        Ok(KeySettings { keys })
    }
}

/// The keys signatures are checked with.
#[derive(Debug)]
pub struct KeySource(FixedKeys);

impl KeySource {
    /// Loads the keys of `settings`; every token is checked against `validation`.
    pub fn new(settings: &KeySettings, validation: Validation) -> Result<Self, KeyError> {
        FixedKeys::new(&settings.keys, validation).map(Self)
    }

    /// Verifies `token`'s signature and registered claims, and returns its claims.
    pub async fn decode(&self, token: &str) -> Result<Map<String, Value>, Rejection> {
        self.0.decode(token)
    }

    /// Whether there are keys to verify tokens with: fixed keys always are.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        true
    }

    /// Starts what the key source does in the background: nothing, for keys
    /// that the settings fix.
    pub fn start(&self) {}

    /// Says what tokens are verified with, for `check-config`.
    pub async fn check(&self) -> Result<String, KeyError> {
        Ok(self.0.description().to_owned())
    }

    /// How a fetched key set is doing: keys fixed by the settings have none.
    #[must_use]
    pub fn stats(&self) -> Option<KeySetStats> {
        None
    }
}
