//! What authentication counts: outcomes by reason, cache hits and misses,
//! calls to the user store, and (with a JWKS) the key set's health.
//!
//! The counters are handles registered once, when the [`super::Authenticator`]
//! is built, with the [`metrics::Recorder`] it is given: a request pays an
//! atomic increment per counter, no lookup and no allocation. Without a
//! recorder (metrics off) the handles do nothing. Taking a recorder rather
//! than the process-wide one keeps this module free of global state, so it can
//! be lifted into a shared crate, and every test application counts its own.
//!
//! Every label value comes from a fixed set ([`Rejection::label`]), never
//! from the request, so the number of series stays bounded.

use std::time::Duration;

use ::metrics::{Counter, Key, Label, Metadata, Recorder};

use super::{authenticator::Outcome, token::Rejection};

/// `auth_outcomes_total{outcome, reason}`.
pub const OUTCOMES: &str = "auth_outcomes_total";
/// `auth_token_cache_lookups_total{result}`.
pub const TOKEN_CACHE: &str = "auth_token_cache_lookups_total";
/// `auth_user_cache_lookups_total{result}`.
pub const USER_CACHE: &str = "auth_user_cache_lookups_total";
/// `auth_user_syncs_total{result}`.
pub const USER_SYNCS: &str = "auth_user_syncs_total";

/// The `outcome` label of every request that was authenticated.
const USER: &str = "user";
const ANONYMOUS: &str = "anonymous";
const INACTIVE: &str = "inactive";
const CSRF_REJECTED: &str = "csrf_rejected";
const UNAVAILABLE: &str = "unavailable";
const FAILED: &str = "failed";
/// The `reason` label of outcomes that are not anonymous.
const NO_REASON: &str = "none";

/// Where metrics handles are registered from; `target` of their metadata.
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), ::metrics::Level::INFO, Some(module_path!()));

/// A counter `name{labels}` registered with `recorder`.
pub(crate) fn counter(
    recorder: &dyn Recorder,
    name: &'static str,
    labels: &[(&'static str, &'static str)],
) -> Counter {
    let labels: Vec<Label> = labels
        .iter()
        .map(|&(key, value)| Label::from_static_parts(key, value))
        .collect();
    recorder.register_counter(&Key::from_parts(name, labels), &METADATA)
}

/// A hit and a miss counter of one cache.
#[derive(Debug)]
pub(super) struct CacheCounters {
    pub(super) hit: Counter,
    pub(super) miss: Counter,
}

impl CacheCounters {
    fn new(recorder: &dyn Recorder, name: &'static str) -> Self {
        Self {
            hit: counter(recorder, name, &[("result", "hit")]),
            miss: counter(recorder, name, &[("result", "miss")]),
        }
    }
}

/// The counters of one [`super::Authenticator`].
#[derive(Debug)]
pub(super) struct AuthMetrics {
    /// Anonymous outcomes, in the order of [`Rejection::LABELS`].
    anonymous: Vec<Counter>,
    user: Counter,
    inactive: Counter,
    csrf_rejected: Counter,
    unavailable: Counter,
    failed: Counter,
    pub(super) tokens: CacheCounters,
    pub(super) users: CacheCounters,
    /// Calls to the user store (each one upsert), by how they ended.
    pub(super) syncs_ok: Counter,
    pub(super) syncs_unavailable: Counter,
    pub(super) syncs_failed: Counter,
}

impl AuthMetrics {
    /// Registers every series with `recorder`, so that each shows (at zero)
    /// from the first scrape on and `rate()` sees its first increment.
    pub(super) fn new(recorder: &dyn Recorder) -> Self {
        let outcome = |outcome: &'static str| {
            counter(
                recorder,
                OUTCOMES,
                &[("outcome", outcome), ("reason", NO_REASON)],
            )
        };
        let sync = |result: &'static str| counter(recorder, USER_SYNCS, &[("result", result)]);
        Self {
            anonymous: Rejection::LABELS
                .iter()
                .map(|&reason| {
                    counter(
                        recorder,
                        OUTCOMES,
                        &[("outcome", ANONYMOUS), ("reason", reason)],
                    )
                })
                .collect(),
            user: outcome(USER),
            inactive: outcome(INACTIVE),
            csrf_rejected: outcome(CSRF_REJECTED),
            unavailable: outcome(UNAVAILABLE),
            failed: outcome(FAILED),
            tokens: CacheCounters::new(recorder, TOKEN_CACHE),
            users: CacheCounters::new(recorder, USER_CACHE),
            syncs_ok: sync("ok"),
            syncs_unavailable: sync(UNAVAILABLE),
            syncs_failed: sync(FAILED),
        }
    }

    /// Counts one request's outcome.
    pub(super) fn outcome(&self, outcome: &Outcome) {
        let counter = match outcome {
            Outcome::User(_) => &self.user,
            Outcome::Anonymous(reason) => self.anonymous_counter(reason),
            Outcome::Expired { .. } => self.anonymous_counter(&Rejection::Expired),
            Outcome::Inactive(_) => &self.inactive,
            Outcome::CsrfRejected => &self.csrf_rejected,
            Outcome::Unavailable => &self.unavailable,
            Outcome::Failed => &self.failed,
        };
        counter.increment(1);
    }

    fn anonymous_counter(&self, reason: &Rejection) -> &Counter {
        let label = reason.label();
        // Every label is listed (a test in the suite checks it).
        let index = Rejection::LABELS
            .iter()
            .position(|known| *known == label)
            .unwrap_or_default();
        &self.anonymous[index]
    }
}

/// How a key set fetched from the Auth service is doing, for the metrics
/// (`auth_jwks_*`). Only a JWKS key source has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySetStats {
    /// Fetches started since start-up, successful or not.
    pub fetches: u64,
    /// Fetches that failed (the last good set was kept).
    pub failures: u64,
    /// Usable keys in the current set.
    pub keys: usize,
    /// Time since the current set was fetched; `None` before the first one.
    pub age: Option<Duration>,
}
