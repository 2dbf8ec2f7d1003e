//! Access-token validation, compatible with SimpleJWT's `AccessToken(token)`.
//!
//! Security decisions made here, each one a rule of RFC 8725:
//! - The accepted algorithms are an explicit allow-list from the settings; the
//!   token's `alg` header only has to be on it. `none` is never accepted, and a
//!   public key can never be used as an HMAC secret because HS* and public-key
//!   algorithms cannot be configured together.
//! - The header never names where a key comes from: `kid` at most selects among
//!   the keys the key source already holds ([`super::key_source`]); `jku`,
//!   `x5u` and `jwk` are ignored and never cause a fetch.
//! - `exp` is required; `exp`, `nbf`, `iat` of the wrong JSON type reject the token.
//! - `token_type` must equal the access value, so a refresh token (same key,
//!   one-day lifetime) is not accepted in its place; `jti` must be present.
//! - User claims have strict types: `"false"` is not a boolean.

use std::{collections::HashSet, fmt};

use jsonwebtoken::Validation;
use serde_json::{Map, Value};

use super::{
    AuthSettings, MAX_EMAIL_CHARS, MAX_NAME_CHARS, MAX_USERNAME_CHARS, UserClaims,
    key_source::KeySource, keys::KeyError,
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
    /// A cookie-authenticated unsafe request from an untrusted origin.
    CsrfFailed,
    /// No key of the key source has the token's `kid` and fits its algorithm.
    UnknownKey,
    /// The key source has no keys yet (a key set not fetched yet).
    KeysUnavailable,
}

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
            Self::CsrfFailed => f.write_str("CSRF check failed"),
            Self::UnknownKey => f.write_str("no key for the token's kid and algorithm"),
            Self::KeysUnavailable => f.write_str("signing keys not loaded yet"),
        }
    }
}

impl Rejection {
    /// A fixed, lowercase name of the reason, for metric labels: one per
    /// variant, never the claim name or anything else from the request, so
    /// the set of labels stays bounded.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Self::NoToken => "no_token",
            Self::MissingRefreshCookie => "missing_refresh_cookie",
            Self::MalformedAuthorizationHeader => "malformed_authorization_header",
            Self::Malformed => "malformed",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::WrongTokenType => "wrong_token_type",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidClaim(_) => "invalid_claim",
            Self::CsrfFailed => "csrf_failed",
            Self::UnknownKey => "unknown_key",
            Self::KeysUnavailable => "keys_unavailable",
        }
    }

    /// Every [`Rejection::label`], so that metrics can show each reason at
    /// zero before it first happens.
    pub const LABELS: [&'static str; 16] = [
        "no_token",
        "missing_refresh_cookie",
        "malformed_authorization_header",
        "malformed",
        "algorithm_not_allowed",
        "bad_signature",
        "expired",
        "not_yet_valid",
        "wrong_issuer",
        "wrong_audience",
        "wrong_token_type",
        "missing_claim",
        "invalid_claim",
        "csrf_failed",
        "unknown_key",
        "keys_unavailable",
    ];
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
#[derive(Debug)]
pub struct TokenValidator {
    keys: KeySource,
    /// Clock skew tolerated on `exp`, in seconds.
    leeway: u64,
    settings: ClaimSettings,
}

#[derive(Debug)]
struct ClaimSettings {
    token_type_claim: String,
    access_token_type: String,
    jti_claim: String,
    names: super::ClaimNames,
}

impl TokenValidator {
    /// Builds the validator from checked settings.
    pub fn new(settings: &AuthSettings) -> Result<Self, KeyError> {
        let mut validation = Validation::new(settings.algorithms[0]);
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

        Ok(Self {
            keys: KeySource::new(&settings.keys, validation)?,
            leeway: settings.leeway_secs,
            settings: ClaimSettings {
                token_type_claim: settings.token_type_claim.clone(),
                access_token_type: settings.access_token_type.clone(),
                jti_claim: settings.jti_claim.clone(),
                names: settings.claims.clone(),
            },
        })
    }

    /// Where the keys come from.
    #[must_use]
    pub fn keys(&self) -> &KeySource {
        &self.keys
    }

    /// Validates `token` and returns the user claims it carries.
    pub async fn validate(&self, token: &str) -> Result<ValidToken, Rejection> {
        let claims = self.keys.decode(token).await?;
        self.accept(&claims)
    }

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
            valid_until: exp.saturating_add(self.leeway),
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
        // `iat` orders tokens (an older one never overwrites a newer one's
        // claims); a non-numeric one means a broken token.
        match claims.get("iat") {
            None => Ok(()),
            Some(iat) if iat.as_u64().is_some() => Ok(()),
            Some(_) => Err(Rejection::InvalidClaim("iat".to_owned())),
        }
    }

    fn user_claims(&self, claims: &Map<String, Value>) -> Result<UserClaims, Rejection> {
        let names = &self.settings.names;
        let username = required_string(claims, &names.username, MAX_USERNAME_CHARS)?;
        // `alice ` must never share a row with `alice` (MySQL compares with
        // trailing spaces ignored), and a name with control characters is no
        // name an Auth service hands out.
        if username.is_empty()
            || username.trim() != username
            || username.chars().any(char::is_control)
        {
            return Err(Rejection::InvalidClaim(names.username.clone()));
        }
        Ok(UserClaims {
            username,
            email: required_string(claims, &names.email, MAX_EMAIL_CHARS)?,
            first_name: optional_string(claims, &names.first_name, MAX_NAME_CHARS)?,
            last_name: optional_string(claims, &names.last_name, MAX_NAME_CHARS)?,
            is_staff: required_bool(claims, &names.is_staff)?,
            is_superuser: required_bool(claims, &names.is_superuser)?,
            // Checked above: absent, or a non-negative integer.
            issued_at: claims.get("iat").and_then(Value::as_u64).unwrap_or(0),
        })
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
