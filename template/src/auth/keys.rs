//! Keys fixed by the settings: the HS* secret shared with the Auth service
//! (`auth.secret`) or its PEM public key (`auth.public_key_file`), and the
//! signature check with them. Every key source can use these; which source
//! this service has is [`super::key_source`]'s business.

use std::{fmt, path::PathBuf};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::token::Rejection;

/// The secret shipped in `config/local.toml` and `config/test.toml`, which the
/// development login and `mint-token` sign with. Anyone can read it in the
/// repository, so the settings refuse it unless the service listens on
/// loopback and `auth.own_url` is a loopback address.
pub const DEVELOPMENT_SECRET: &str = "local-development-secret-do-not-use-in-production";

/// The configured key cannot be used (an unreadable or invalid PEM, a JWKS
/// client that cannot be built, a JWKS that cannot be fetched for
/// `check-config`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub(super) String);

/// A key from the settings, checked but not parsed yet.
#[derive(Clone)]
pub enum FixedKey {
    /// The HS* secret shared with the Auth service (SimpleJWT's `SIGNING_KEY`).
    Secret(SecretString),
    /// The Auth service's public key (SimpleJWT's `VERIFYING_KEY`), read from `path`.
    PublicKeyPem {
        /// Where it was read from, for messages.
        path: PathBuf,
        /// The PEM text.
        pem: Vec<u8>,
    },
}

impl fmt::Debug for FixedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret stays out of debug output; a public key may be shown.
        match self {
            Self::Secret(_) => f.write_str("Secret([REDACTED])"),
            Self::PublicKeyPem { path, .. } => f
                .debug_struct("PublicKeyPem")
                .field("path", path)
                .finish_non_exhaustive(),
        }
    }
}

impl FixedKey {
    /// Whether this is [`DEVELOPMENT_SECRET`].
    #[must_use]
    pub fn is_development_secret(&self) -> bool {
        matches!(self, Self::Secret(secret) if secret.expose_secret() == DEVELOPMENT_SECRET)
    }

    /// Parses the key for `family`, the first configured algorithm.
    pub(super) fn load(&self, family: Algorithm) -> Result<DecodingKey, KeyError> {
        match self {
            Self::Secret(secret) => DecodingKey::from_secret(secret.expose_secret().as_bytes()),
            Self::PublicKeyPem { pem, .. } => match family {
                Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
                Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
                _ => DecodingKey::from_rsa_pem(pem),
            },
        }
        .map_err(|e| KeyError(format!("{self}: {e}")))
    }
}

impl fmt::Display for FixedKey {
    /// What `check-config` says the service verifies with.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("the shared secret (auth.secret)"),
            Self::PublicKeyPem { path, .. } => {
                write!(
                    f,
                    "the public key in {} (auth.public_key_file)",
                    path.display()
                )
            }
        }
    }
}

/// The keys from the settings, loaded, and the signature check with them.
pub struct FixedKeys {
    keys: Vec<DecodingKey>,
    validation: Validation,
    /// What `check-config` says they are.
    description: String,
}

impl fmt::Debug for FixedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys stay out of debug output.
        f.debug_struct("FixedKeys")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl FixedKeys {
    /// Loads `keys` (current first); every token is checked against `validation`.
    pub(super) fn new(keys: &[FixedKey], validation: Validation) -> Result<Self, KeyError> {
        let family = validation.algorithms[0];
        let description = match keys {
            [only] => only.to_string(),
            [current, ..] => format!("{current}: {} keys, current first", keys.len()),
            [] => return Err(KeyError("no key is configured".to_owned())),
        };
        Ok(Self {
            keys: keys
                .iter()
                .map(|key| key.load(family))
                .collect::<Result<_, _>>()?,
            validation,
            description,
        })
    }

    /// Verifies `token`'s signature with the first key that fits and returns
    /// its claims, after checking the registered ones (`exp`, `nbf`, …).
    pub(super) fn decode(&self, token: &str) -> Result<Map<String, Value>, Rejection> {
        let mut outcome = Err(Rejection::BadSignature);
        for key in &self.keys {
            outcome = decode(token, key, &self.validation);
            // Another signature may be a previous key's, during a rotation;
            // anything else is the token's own problem.
            if outcome != Err(Rejection::BadSignature) {
                break;
            }
        }
        outcome
    }

    /// What tokens are verified with, for `check-config`.
    pub(super) fn description(&self) -> &str {
        &self.description
    }
}

/// Verifies the signature of `token` with `key` and its registered claims.
pub(super) fn decode(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<Map<String, Value>, Rejection> {
    jsonwebtoken::decode::<Map<String, Value>>(token, key, validation)
        .map(|data| data.claims)
        .map_err(|e| rejection(e.kind()))
}

/// What a jsonwebtoken error means for the request.
pub(super) fn rejection(kind: &ErrorKind) -> Rejection {
    match kind {
        ErrorKind::InvalidSignature => Rejection::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => Rejection::AlgorithmNotAllowed,
        ErrorKind::ExpiredSignature => Rejection::Expired,
        ErrorKind::ImmatureSignature => Rejection::NotYetValid,
        ErrorKind::InvalidIssuer => Rejection::WrongIssuer,
        ErrorKind::InvalidAudience => Rejection::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "iss" => Rejection::WrongIssuer,
            "aud" => Rejection::WrongAudience,
            _ => Rejection::MissingClaim(claim.clone()),
        },
        ErrorKind::InvalidClaimFormat(claim) => Rejection::InvalidClaim(claim.clone()),
        _ => Rejection::Malformed,
    }
}

/// An HMAC algorithm, whose key is a shared secret.
#[must_use]
pub fn is_hmac(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    )
}
