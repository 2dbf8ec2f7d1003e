//! The in-memory caches of authentication: validated tokens and users.

use std::time::{Duration, Instant};

/// A cache bounded and expiring as `auth.user_cache_*` say: at most
/// `capacity` entries, each forgotten `ttl` after it was stored. A TTL of zero
/// turns it off.
pub(super) struct ExpiringCache<V> {
    entries: quick_cache::sync::Cache<String, (Instant, V)>,
    ttl: Duration,
}

impl<V: Clone> ExpiringCache<V> {
    pub(super) fn new(capacity: u64, ttl: Duration) -> Self {
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
        Self {
            entries: quick_cache::sync::Cache::new(capacity.max(1)),
            ttl,
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<V> {
        let (stored, value) = self.entries.get(key)?;
        if stored.elapsed() < self.ttl {
            Some(value)
        } else {
            self.entries.remove(key);
            None
        }
    }

    pub(super) fn insert(&self, key: String, value: V) {
        if !self.ttl.is_zero() {
            self.entries.insert(key, (Instant::now(), value));
        }
    }

    pub(super) fn invalidate(&self, key: &str) {
        self.entries.remove(key);
    }
}
