//! Signing keys published by the Auth service as a JSON Web Key Set
//! (`auth.jwks_url`, RFC 7517), fetched, cached and refreshed in the background.
//!
//! Security decisions, each one a rule of RFC 8725 or of our checklist:
//! - Keys come only from `auth.jwks_url`: redirects are not followed, and a
//!   token's `kid` only *selects* among the keys already fetched from there.
//!   Its `jku`, `x5u` and `jwk` headers are never read, so no token can make
//!   the service fetch anything or trust a key it carries.
//! - A key is used only for an algorithm on the `auth.algorithms` allow-list
//!   that fits its type (`RSA` → RS*/PS*, `EC` P-256 → ES256, P-384 → ES384,
//!   `OKP` Ed25519 → `EdDSA`) and its `alg`, when it declares one. Symmetric
//!   (`oct`) keys are refused: a secret published at a URL is no secret. Keys
//!   whose `use` is not `sig`, or whose `key_ops` lack `verify`, are ignored.
//! - A token without `kid` (SimpleJWT does not set one unless told to) is
//!   checked against every key of the current set that fits its algorithm;
//!   they are all trusted, and a set holds a handful of keys at most.
//! - A `kid` that is not in the set triggers a refresh, at most one per
//!   `auth.jwks_min_refresh_interval_secs` however many requests carry unknown
//!   ids, so forged tokens cannot make the service hammer the Auth service.
//! - A failed refresh (network error, timeout, HTTP error, a body that is not
//!   a key set or holds no usable key) keeps the last good set; the reason is
//!   logged in one line.
//!
//! Until the first set arrives every token is refused (the user is anonymous)
//! and readiness answers 503, while the [`Refresher`] retries with backoff.

use std::{
    fmt,
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse},
};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use crate::{
    auth::{
        keys::{KeyError, decode, rejection},
        metrics::KeySetStats,
        settings::{RawAuth, absolute_http_url},
        token::Rejection,
    },
    settings::{SettingsError, in_range, server::is_loopback_url},
};

/// A key set larger than this is not what an Auth service publishes.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Keys kept from one set; a kid-less token is tried against each of them.
const MAX_KEYS: usize = 16;
/// First retry after a failed fetch; doubled after each failure.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest wait between retries while fetches fail.
const MAX_RETRY: Duration = Duration::from_mins(1);

/// Checked `auth.jwks_*` settings.
#[derive(Debug, Clone)]
pub struct JwksSettings {
    /// The Auth service's JWKS endpoint; the only place keys come from.
    pub url: Url,
    /// How often the set is fetched again, to pick up rotated keys.
    pub refresh_interval: Duration,
    /// Least time between two fetches caused by unknown `kid`s.
    pub min_refresh_interval: Duration,
    /// Limit on one fetch, connection to last byte.
    pub timeout: Duration,
}

impl RawAuth {
    /// `auth.jwks_*`, when `auth.jwks_url` is set.
    pub(in crate::auth) fn jwks_settings(&self) -> Result<Option<JwksSettings>, SettingsError> {
        let Some(url) = self
            .jwks_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
        else {
            return Ok(None);
        };
        let url = absolute_http_url("auth.jwks_url", url)?;
        // Over plain HTTP, anyone on the path could hand the service their own keys.
        if url.scheme() != "https" && !is_loopback_url(&url) {
            return Err(SettingsError::new(
                "auth.jwks_url",
                format!("\"{url}\" must be https:// (plain http:// only on a loopback host)"),
            ));
        }
        let seconds =
            |key: &str, secs: u64, max: u64| in_range(key, secs, 1..=max).map(Duration::from_secs);
        Ok(Some(JwksSettings {
            url,
            refresh_interval: seconds("auth.jwks_refresh_secs", self.jwks_refresh_secs, 86_400)?,
            min_refresh_interval: seconds(
                "auth.jwks_min_refresh_interval_secs",
                self.jwks_min_refresh_interval_secs,
                3600,
            )?,
            timeout: seconds("auth.jwks_timeout_secs", self.jwks_timeout_secs, 60)?,
        }))
    }
}

/// A key from the set that passed every check above.
struct TrustedKey {
    kid: Option<String>,
    /// The allowed algorithms this key may verify.
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

/// The JWKS document: only `keys` matters, each key is checked on its own so
/// that one key of a kind this service does not know spoils nothing.
#[derive(Deserialize)]
struct Document {
    keys: Vec<Value>,
}

/// Why a fetch did not produce a new key set. Never contains a token.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Connection, TLS or timeout.
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    /// The endpoint answered with an error status (redirects included).
    #[error("HTTP status {0}")]
    Status(reqwest::StatusCode),
    /// The body is larger than any key set.
    #[error("response larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// The body is not a JSON Web Key Set.
    #[error("not a JSON Web Key Set: {0}")]
    NotAKeySet(#[from] serde_json::Error),
    /// No key of the set can verify tokens here.
    #[error("no usable signing key in the set ({0})")]
    NoUsableKey(String),
}

/// The Auth service's current signing keys.
pub struct Jwks {
    settings: JwksSettings,
    /// One validation per allowed algorithm: jsonwebtoken wants every algorithm
    /// of a validation to belong to the key's family.
    validations: Vec<(Algorithm, Validation)>,
    client: reqwest::Client,
    /// The last good set; empty until the first fetch succeeds.
    keys: RwLock<Arc<Vec<TrustedKey>>>,
    /// Held while fetching, so that fetches never overlap.
    fetching: tokio::sync::Mutex<()>,
    /// When the last fetch started, successful or not.
    last_attempt: Mutex<Option<Instant>>,
    /// When the last successful fetch ended: the age of the current set.
    last_success: Mutex<Option<Instant>>,
    /// Fetches started, and those that failed, since start-up (metrics).
    fetches: AtomicU64,
    failures: AtomicU64,
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwks")
            .field("url", &self.settings.url.as_str())
            .field("keys", &self.current().len())
            .finish_non_exhaustive()
    }
}

impl Jwks {
    /// An empty key set for `settings`; `validation` is the one of every token,
    /// narrowed here to one algorithm at a time.
    pub(super) fn new(settings: &JwksSettings, validation: &Validation) -> Result<Self, KeyError> {
        let validations = validation
            .algorithms
            .iter()
            .map(|algorithm| {
                let mut narrowed = validation.clone();
                narrowed.algorithms = vec![*algorithm];
                (*algorithm, narrowed)
            })
            .collect();
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A redirect could lead anywhere; keys come from the configured URL only.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| KeyError(format!("cannot build the JWKS client: {e}")))?;
        Ok(Self {
            settings: settings.clone(),
            validations,
            client,
            keys: RwLock::new(Arc::new(Vec::new())),
            fetching: tokio::sync::Mutex::new(()),
            last_attempt: Mutex::new(None),
            last_success: Mutex::new(None),
            fetches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        })
    }

    /// Where the keys come from.
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.settings.url
    }

    /// Whether a key set has been loaded (readiness).
    #[must_use]
    pub fn is_ready(&self) -> bool {
        !self.current().is_empty()
    }

    /// Fetches so far, failures, usable keys, and the current set's age.
    pub(in crate::auth) fn stats(&self) -> KeySetStats {
        KeySetStats {
            fetches: self.fetches.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            keys: self.current().len(),
            age: self
                .last_success
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .map(|at| at.elapsed()),
        }
    }

    /// Fetches the set now, keeping the last good one on failure; returns the
    /// number of usable keys (`check-config`).
    pub async fn refresh(&self) -> Result<usize, FetchError> {
        let _fetching = self.fetching.lock().await;
        self.fetch_and_store().await
    }

    /// Starts the background task that loads the set, retries with backoff
    /// while that fails, and refreshes it every `auth.jwks_refresh_secs`.
    #[must_use]
    pub(super) fn spawn_refresher(self: &Arc<Self>) -> Refresher {
        let jwks = Arc::clone(self);
        Refresher(tokio::spawn(async move { jwks.refresh_forever().await }))
    }

    /// Verifies `token` with the key its header selects and returns its claims.
    pub(super) async fn decode(&self, token: &str) -> Result<Map<String, Value>, Rejection> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| rejection(e.kind()))?;
        let validation = self
            .validations
            .iter()
            .find_map(|(algorithm, validation)| (*algorithm == header.alg).then_some(validation))
            .ok_or(Rejection::AlgorithmNotAllowed)?;

        let mut keys = self.current();
        let known = match &header.kid {
            Some(kid) => keys.iter().any(|key| key.kid.as_ref() == Some(kid)),
            None => !keys.is_empty(),
        };
        if !known {
            // Maybe the Auth service rotated its keys since the last fetch.
            self.refresh_if_allowed().await;
            keys = self.current();
        }
        if keys.is_empty() {
            return Err(Rejection::KeysUnavailable);
        }

        let mut outcome = Err(Rejection::UnknownKey);
        let candidates = keys.iter().filter(|key| {
            key.algorithms.contains(&header.alg) && (header.kid.is_none() || key.kid == header.kid)
        });
        for candidate in candidates {
            match decode(token, &candidate.key, validation) {
                Err(Rejection::BadSignature) => outcome = Err(Rejection::BadSignature),
                // Verified (then maybe expired, wrong type…): this was the key.
                verified => return verified,
            }
        }
        outcome
    }

    fn current(&self) -> Arc<Vec<TrustedKey>> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// A fetch on behalf of an unknown `kid`, unless one started less than
    /// `min_refresh_interval` ago. Concurrent callers share one fetch.
    async fn refresh_if_allowed(&self) {
        if !self.refresh_allowed() {
            return;
        }
        let _fetching = self.fetching.lock().await;
        // Whoever held the lock before may just have fetched.
        if self.refresh_allowed() {
            // A failure is logged and leaves the last good set in place.
            let _ = self.fetch_and_store().await;
        }
    }

    fn refresh_allowed(&self) -> bool {
        self.last_attempt
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none_or(|at| at.elapsed() >= self.settings.min_refresh_interval)
    }

    async fn refresh_forever(&self) {
        let mut retry = FIRST_RETRY;
        loop {
            let delay = if self.refresh().await.is_ok() {
                retry = FIRST_RETRY;
                self.settings.refresh_interval
            } else {
                let delay = retry.min(self.settings.refresh_interval);
                retry = (retry * 2).min(MAX_RETRY);
                delay
            };
            tokio::time::sleep(delay).await;
        }
    }

    /// Fetches and, when the set is usable, stores it. The caller holds `fetching`.
    async fn fetch_and_store(&self) -> Result<usize, FetchError> {
        *self
            .last_attempt
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.fetch().await {
            Ok(keys) => {
                *self
                    .last_success
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                let count = keys.len();
                let kids = |keys: &[TrustedKey]| -> Vec<Option<String>> {
                    keys.iter().map(|key| key.kid.clone()).collect()
                };
                let changed = kids(&self.current()) != kids(&keys);
                if changed {
                    tracing::info!(url = %self.settings.url, kids = ?kids(&keys), "JWKS loaded");
                }
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
                Ok(count)
            }
            Err(error) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    url = %self.settings.url,
                    %error,
                    "cannot fetch the JWKS; keeping the last good key set"
                );
                Err(error)
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<TrustedKey>, FetchError> {
        let mut response = self
            .client
            .get(self.settings.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let document: Document = serde_json::from_slice(&body)?;

        let mut keys = Vec::new();
        let mut ignored = Vec::new();
        for value in &document.keys {
            match self.trust(value) {
                Ok(key) if keys.len() < MAX_KEYS => keys.push(key),
                Ok(key) => ignored.push(format!("{:?}: more than {MAX_KEYS} keys", key.kid)),
                Err(reason) => {
                    let kid = value.get("kid").and_then(Value::as_str);
                    tracing::debug!(?kid, reason, "ignoring a JWKS key");
                    ignored.push(format!("{kid:?}: {reason}"));
                }
            }
        }
        if keys.is_empty() {
            return Err(FetchError::NoUsableKey(if ignored.is_empty() {
                "the set is empty".to_owned()
            } else {
                ignored.join("; ")
            }));
        }
        Ok(keys)
    }

    /// Checks one JWK against the rules at the top of this file.
    fn trust(&self, value: &Value) -> Result<TrustedKey, &'static str> {
        let jwk: Jwk = serde_json::from_value(value.clone()).map_err(|_| "not a valid JWK")?;
        if !matches!(
            jwk.common.public_key_use,
            None | Some(PublicKeyUse::Signature)
        ) {
            return Err("`use` is not `sig`");
        }
        if jwk
            .common
            .key_operations
            .as_ref()
            .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
        {
            return Err("`key_ops` lacks `verify`");
        }
        let fitting: &[Algorithm] = match &jwk.algorithm {
            AlgorithmParameters::OctetKey(_) => {
                return Err("symmetric (`oct`) keys are never taken from a URL");
            }
            AlgorithmParameters::RSA(_) => &[
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ],
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => &[Algorithm::ES256],
                EllipticCurve::P384 => &[Algorithm::ES384],
                _ => &[],
            },
            AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
                &[Algorithm::EdDSA]
            }
            _ => &[],
        };
        let algorithms: Vec<Algorithm> = fitting
            .iter()
            .copied()
            .filter(|algorithm| self.validations.iter().any(|(a, _)| a == algorithm))
            .filter(|algorithm| {
                jwk.common
                    .key_algorithm
                    .is_none_or(|declared| declared == KeyAlgorithm::from(*algorithm))
            })
            .collect();
        if algorithms.is_empty() {
            return Err("its type and `alg` fit none of auth.algorithms");
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| "invalid key material")?;
        Ok(TrustedKey {
            kid: jwk.common.key_id,
            algorithms,
            key,
        })
    }
}

/// The background refresh of a [`Jwks`]; stops when dropped, i.e. when the
/// application stops.
#[derive(Debug)]
pub(super) struct Refresher(tokio::task::JoinHandle<()>);

impl Drop for Refresher {
    fn drop(&mut self) {
        self.0.abort();
    }
}
