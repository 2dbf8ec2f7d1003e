//! What authentication counts: outcomes by reason, cache hits and misses,
//! calls to the user store and the rows they wrote, and (with a JWKS) the key
//! set's health.
//!
//! Plain atomic counters, bumped on the request path (a relaxed increment
//! each) and read by whoever exports them ([`AuthCounters::export`]; the
//! service's [`crate::metrics`] does at every scrape). This module needs no
//! metrics library and holds no global state, so it can be lifted into a
//! shared crate, and every application (every test) counts its own.
//!
//! Every label value comes from a fixed set ([`Rejection::label`]), never
//! from the request, so the number of series stays bounded.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use super::{authenticator::Outcome, token::Rejection};

/// `auth_outcomes_total{outcome, reason}`.
pub const OUTCOMES: &str = "auth_outcomes_total";
/// `auth_token_cache_lookups_total{result}`.
pub const TOKEN_CACHE: &str = "auth_token_cache_lookups_total";
/// `auth_user_cache_lookups_total{result}`.
pub const USER_CACHE: &str = "auth_user_cache_lookups_total";
/// `auth_user_syncs_total{result}`.
pub const USER_SYNCS: &str = "auth_user_syncs_total";

/// The `reason` label of outcomes that are not anonymous.
const NO_REASON: &str = "none";

/// One counter.
#[derive(Debug, Default)]
pub(super) struct Count(AtomicU64);

impl Count {
    pub(super) fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A hit and a miss counter of one cache.
#[derive(Debug, Default)]
pub(super) struct CacheCounts {
    pub(super) hit: Count,
    pub(super) miss: Count,
}

/// The counters of one [`super::Authenticator`].
#[derive(Debug, Default)]
pub struct AuthCounters {
    /// Anonymous outcomes, in the order of [`Rejection::LABELS`].
    anonymous: [Count; Rejection::LABELS.len()],
    user: Count,
    inactive: Count,
    csrf_rejected: Count,
    unavailable: Count,
    failed: Count,
    pub(super) tokens: CacheCounts,
    pub(super) users: CacheCounts,
    /// Calls to the user store, by how they ended: a row written (a new user
    /// or changed claims), read only, or not at all.
    pub(super) syncs_written: Count,
    pub(super) syncs_unchanged: Count,
    pub(super) syncs_unavailable: Count,
    pub(super) syncs_failed: Count,
}

impl AuthCounters {
    /// Counts one request's outcome.
    pub(super) fn outcome(&self, outcome: &Outcome) {
        match outcome {
            Outcome::User(_) => &self.user,
            Outcome::Anonymous(reason) => self.anonymous(reason),
            Outcome::Expired { .. } => self.anonymous(&Rejection::Expired),
            Outcome::Inactive(_) => &self.inactive,
            Outcome::CsrfRejected => &self.csrf_rejected,
            Outcome::Unavailable => &self.unavailable,
            Outcome::Failed => &self.failed,
        }
        .add();
    }

    fn anonymous(&self, reason: &Rejection) -> &Count {
        let label = reason.label();
        // Every label is listed (a test of the suite checks it).
        let index = Rejection::LABELS
            .iter()
            .position(|known| *known == label)
            .unwrap_or_default();
        &self.anonymous[index]
    }

    /// Hands every series to `each` as (name, labels, value), zeros
    /// included, so that each shows from the first scrape on and `rate()`
    /// sees its first increment.
    pub fn export(&self, mut each: impl FnMut(&'static str, &[(&'static str, &'static str)], u64)) {
        for (reason, count) in Rejection::LABELS.iter().zip(&self.anonymous) {
            // A CSRF failure is an outcome of its own, never an anonymous reason.
            if *reason != Rejection::CsrfFailed.label() {
                each(
                    OUTCOMES,
                    &[("outcome", "anonymous"), ("reason", reason)],
                    count.get(),
                );
            }
        }
        for (outcome, count) in [
            ("user", &self.user),
            ("inactive", &self.inactive),
            ("csrf_rejected", &self.csrf_rejected),
            ("unavailable", &self.unavailable),
            ("failed", &self.failed),
        ] {
            each(
                OUTCOMES,
                &[("outcome", outcome), ("reason", NO_REASON)],
                count.get(),
            );
        }
        for (name, cache) in [(TOKEN_CACHE, &self.tokens), (USER_CACHE, &self.users)] {
            each(name, &[("result", "hit")], cache.hit.get());
            each(name, &[("result", "miss")], cache.miss.get());
        }
        for (result, count) in [
            ("written", &self.syncs_written),
            ("unchanged", &self.syncs_unchanged),
            ("unavailable", &self.syncs_unavailable),
            ("failed", &self.syncs_failed),
        ] {
            each(USER_SYNCS, &[("result", result)], count.get());
        }
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
