//! Access-token validation, compatible with SimpleJWT's `AccessToken(token)`.
//!
//! Security decisions made here, each one a rule of RFC 8725:
//! - The accepted algorithms are an explicit allow-list from the settings; the
//!   token's `alg` header only has to be on it. `none` is never accepted, and a
//!   public key can never be used as an HMAC secret because HS* and public-key
//!   algorithms cannot be configured together.
{% if key_source == "jwks" %}//! - A fixed key (`auth.secret`, `auth.public_key_file`) ignores the `kid`,
//!   `jku`, `x5u` and `jwk` headers. With `auth.jwks_url`, `kid` selects among
//!   the keys fetched from that URL and nothing else ([`super::jwks`]).
{% else %}//! - The key is fixed by the settings: `kid`, `jku`, `x5u` and `jwk` headers are
//!   ignored and never cause a fetch.
{% endif %}//! - `exp` is required; `exp`, `nbf`, `iat` of the wrong JSON type reject the token.
//! - `token_type` must equal the access value, so a refresh token (same key,
//!   one-day lifetime) is not accepted in its place; `jti` must be present.
//! - User claims have strict types: `"false"` is not a boolean.

use std::{collections::HashSet, fmt{% if key_source == "jwks" %}, sync::Arc{% endif %}};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

{% if key_source == "jwks" %}use super::jwks::Jwks;
{% endif %}use super::{
    AuthSettings, KeySource, MAX_EMAIL_CHARS, MAX_NAME_CHARS, MAX_USERNAME_CHARS, UserClaims,
};

/// Why a request is anonymous. Logged in one line; never contains the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// No access cookie and no bearer token.
    NoToken,
    /// The access cookie came without the refresh cookie.
    MissingRefreshCookie,
    /// An `Authorization` header that is not `Bearer <token>`.
    MalformedAuthorizationHeader,
    /// Not a JWT: wrong number of parts, bad base64 or JSON.
    Malformed,
    /// The header names an algorithm that is not configured (or `none`).
    AlgorithmNotAllowed,
    /// The signature does not verify with the configured key.
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iss` differs from the configured issuer or is missing.
    WrongIssuer,
    /// `aud` differs from the configured audience or is missing.
    WrongAudience,
    /// The token-type claim is missing or is not the access value.
    WrongTokenType,
    /// A required claim is absent.
    MissingClaim(String),
    /// A claim has the wrong JSON type, is empty, or is too long.
    InvalidClaim(String),
    /// The local user is marked inactive.
    Inactive,
    /// A cookie-authenticated unsafe request from an untrusted origin.
    CsrfFailed,
{% if key_source == "jwks" %}    /// No key of the JWKS has the token's `kid` and fits its algorithm.
    UnknownKey,
    /// No JWKS has been loaded yet.
    KeysUnavailable,
{% endif %}}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoToken => f.write_str("no token"),
            Self::MissingRefreshCookie => f.write_str("refresh cookie missing"),
            Self::MalformedAuthorizationHeader => f.write_str("malformed Authorization header"),
            Self::Malformed => f.write_str("malformed token"),
            Self::AlgorithmNotAllowed => f.write_str("algorithm not allowed"),
            Self::BadSignature => f.write_str("bad signature (key mismatch or tampered token)"),
            Self::Expired => f.write_str("expired"),
            Self::NotYetValid => f.write_str("not yet valid (nbf)"),
            Self::WrongIssuer => f.write_str("wrong or missing issuer"),
            Self::WrongAudience => f.write_str("wrong or missing audience"),
            Self::WrongTokenType => f.write_str("wrong token type (not an access token)"),
            Self::MissingClaim(claim) => write!(f, "missing claim `{claim}`"),
            Self::InvalidClaim(claim) => write!(f, "invalid claim `{claim}`"),
            Self::Inactive => f.write_str("user is inactive"),
            Self::CsrfFailed => f.write_str("CSRF check failed"),
{% if key_source == "jwks" %}            Self::UnknownKey => f.write_str("no JWKS key for the token's kid and algorithm"),
            Self::KeysUnavailable => f.write_str("signing keys not loaded yet (JWKS unavailable)"),
{% endif %}        }
    }
}

/// A token that passed every check.
#[derive(Debug, Clone)]
pub struct ValidToken {
    /// The user claims it carries.
    pub claims: UserClaims,
    /// The last second (Unix time) at which it is accepted: `exp` plus the leeway.
    pub valid_until: u64,
}

impl ValidToken {
    /// Whether the token is still accepted at `now` (Unix seconds).
    #[must_use]
    pub fn is_valid_at(&self, now: u64) -> bool {
        now <= self.valid_until
    }
}

/// Verifies access tokens and extracts the user claims.
pub struct TokenValidator {
    key: {% if key_source == "jwks" %}Key{% else %}DecodingKey{% endif %},
    validation: Validation,
    settings: ClaimSettings,
}

impl fmt::Debug for TokenValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of debug output.
        f.debug_struct("TokenValidator")
            .field("algorithms", &self.validation.algorithms)
            .finish_non_exhaustive()
    }
}

{% if key_source == "jwks" %}/// What signatures are checked with.
enum Key {
    /// `auth.secret` or `auth.public_key_file`.
    Fixed(DecodingKey),
    /// The keys fetched from `auth.jwks_url`.
    Jwks(Arc<Jwks>),
}

{% endif %}struct ClaimSettings {
    token_type_claim: String,
    access_token_type: String,
    jti_claim: String,
    names: super::ClaimNames,
}

/// The key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("cannot use the configured key: {0}")]
pub struct KeyError(pub(super) String);

impl TokenValidator {
    /// Builds the validator from checked settings.
    pub fn new(settings: &AuthSettings) -> Result<Self, KeyError> {
        let family = settings.algorithms[0];
        let mut validation = Validation::new(family);
        validation.algorithms.clone_from(&settings.algorithms);
        validation.leeway = settings.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required: HashSet<String> = HashSet::from(["exp".to_owned()]);
        if let Some(issuer) = &settings.issuer {
            validation.set_issuer(&[issuer]);
            required.insert("iss".to_owned());
        }
        if let Some(audience) = &settings.audience {
            validation.set_audience(&[audience]);
            required.insert("aud".to_owned());
        } else {
            // SimpleJWT ignores `aud` when no AUDIENCE is set; so do we.
            validation.validate_aud = false;
        }
        validation.required_spec_claims = required;

{% if key_source == "jwks" %}        let key = match &settings.key {
            KeySource::Jwks(jwks) => Key::Jwks(Arc::new(Jwks::new(jwks, &validation)?)),
            fixed => Key::Fixed(fixed_key(fixed, family)?),
        };
{% else %}        let key = fixed_key(&settings.key, family)?;
{% endif %}
        Ok(Self {
            key,
            validation,
            settings: ClaimSettings {
                token_type_claim: settings.token_type_claim.clone(),
                access_token_type: settings.access_token_type.clone(),
                jti_claim: settings.jti_claim.clone(),
                names: settings.claims.clone(),
            },
        })
    }

{% if key_source == "jwks" %}    /// The JWKS the keys come from, when `auth.jwks_url` is the key source.
    #[must_use]
    pub fn jwks(&self) -> Option<&Arc<Jwks>> {
        match &self.key {
            Key::Jwks(jwks) => Some(jwks),
            Key::Fixed(_) => None,
        }
    }

    /// Validates `token` and returns the user claims it carries. Waits for a
    /// JWKS refresh when the token names a key not seen yet.
    pub async fn validate(&self, token: &str) -> Result<ValidToken, Rejection> {
        let claims = match &self.key {
            Key::Fixed(key) => decode(token, key, &self.validation)?,
            Key::Jwks(jwks) => jwks.decode(token).await?,
        };
        self.accept(&claims)
    }
{% else %}    /// Validates `token` and returns the user claims it carries.
    pub fn validate(&self, token: &str) -> Result<ValidToken, Rejection> {
        let claims = decode(token, &self.key, &self.validation)?;
        self.accept(&claims)
    }
{% endif %}
    /// The checks after the signature's: SimpleJWT's claims, then the user's.
    fn accept(&self, claims: &Map<String, Value>) -> Result<ValidToken, Rejection> {
        self.check_simplejwt_claims(claims)?;
        // `decode` has checked that `exp` is present and an unsigned integer.
        let exp = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or_else(|| Rejection::InvalidClaim("exp".to_owned()))?;
        Ok(ValidToken {
            claims: self.user_claims(claims)?,
            valid_until: exp.saturating_add(self.validation.leeway),
        })
    }

    fn check_simplejwt_claims(&self, claims: &Map<String, Value>) -> Result<(), Rejection> {
        let s = &self.settings;
        match claims.get(&s.token_type_claim) {
            Some(Value::String(t)) if *t == s.access_token_type => {}
            _ => return Err(Rejection::WrongTokenType),
        }
        match claims.get(&s.jti_claim) {
            None => Err(Rejection::MissingClaim(s.jti_claim.clone())),
            Some(Value::String(jti)) if !jti.is_empty() => Ok(()),
            Some(_) => Err(Rejection::InvalidClaim(s.jti_claim.clone())),
        }?;
        // `iat` is informational, but a non-numeric one means a broken token.
        match claims.get("iat") {
            None | Some(Value::Number(_)) => Ok(()),
            Some(_) => Err(Rejection::InvalidClaim("iat".to_owned())),
        }
    }

    fn user_claims(&self, claims: &Map<String, Value>) -> Result<UserClaims, Rejection> {
        let names = &self.settings.names;
        let username = required_string(claims, &names.username, MAX_USERNAME_CHARS)?;
        if username.trim().is_empty() {
            return Err(Rejection::InvalidClaim(names.username.clone()));
        }
        Ok(UserClaims {
            username,
            email: required_string(claims, &names.email, MAX_EMAIL_CHARS)?,
            first_name: optional_string(claims, &names.first_name, MAX_NAME_CHARS)?,
            last_name: optional_string(claims, &names.last_name, MAX_NAME_CHARS)?,
            is_staff: required_bool(claims, &names.is_staff)?,
            is_superuser: required_bool(claims, &names.is_superuser)?,
        })
    }
}

/// The key of `auth.secret` or `auth.public_key_file`.
fn fixed_key(source: &KeySource, family: Algorithm) -> Result<DecodingKey, KeyError> {
    match source {
        KeySource::Secret(secret) => DecodingKey::from_secret(secret.expose_secret().as_bytes()),
        KeySource::PublicKeyPem(pem) => match family {
            Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
            _ => DecodingKey::from_rsa_pem(pem),
        },
{% if key_source == "jwks" %}        KeySource::Jwks(_) => {
            return Err(KeyError("a JWKS URL is not a fixed key".to_owned()));
        }
{% endif %}    }
    .map_err(|e| KeyError(e.to_string()))
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

fn required_string(
    claims: &Map<String, Value>,
    name: &str,
    max_chars: usize,
) -> Result<String, Rejection> {
    match claims.get(name) {
        None => Err(Rejection::MissingClaim(name.to_owned())),
        Some(value) => string(value, name, max_chars),
    }
}

fn optional_string(
    claims: &Map<String, Value>,
    name: &str,
    max_chars: usize,
) -> Result<String, Rejection> {
    match claims.get(name) {
        // SimpleJWT serialises a missing name as absent or null; both mean empty.
        None | Some(Value::Null) => Ok(String::new()),
        Some(value) => string(value, name, max_chars),
    }
}

fn string(value: &Value, name: &str, max_chars: usize) -> Result<String, Rejection> {
    match value {
        Value::String(s) if s.chars().count() <= max_chars && !s.contains('\0') => Ok(s.clone()),
        _ => Err(Rejection::InvalidClaim(name.to_owned())),
    }
}

fn required_bool(claims: &Map<String, Value>, name: &str) -> Result<bool, Rejection> {
    match claims.get(name) {
        None => Err(Rejection::MissingClaim(name.to_owned())),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(Rejection::InvalidClaim(name.to_owned())),
    }
}
