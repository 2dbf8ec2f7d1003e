//! Who is making this request? Token → claims → local user, with a cache so
//! that a signed-in request normally costs no database statement at all.

use std::{
    borrow::Cow,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use poem::{Request, http::header};

use super::{
    AuthSettings, AuthUser, StoreError, Synced, UserClaims, UserStore,
    cache::ExpiringCache,
    csrf,
    key_source::KeySource,
    keys::KeyError,
    metrics::{AuthCounters, KeySetStats},
    token::{Rejection, TokenValidator, ValidToken},
};

/// How the request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    /// The Auth service's access cookie (browsers; subject to CSRF checks).
    Cookie,
    /// `Authorization: Bearer` (API clients; exempt from CSRF checks).
    Bearer,
}

/// The access token a request carries, and how.
struct Credentials<'r> {
    token: Cow<'r, str>,
    kind: Credential,
    /// Whether a non-empty refresh cookie came along.
    refresh_cookie: bool,
}

/// The result of authenticating one request.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// A valid token of an active local user.
    User(Arc<AuthUser>),
    /// No usable credentials; the reason is for the log (and tells an expired
    /// session from others).
    Anonymous(Rejection),
    /// The access token has expired (and only that); `refreshable` when it
    /// came in the access cookie with the refresh cookie next to it, so the
    /// Auth service can renew it.
    Expired {
        /// Whether the refresh cookie is there.
        refreshable: bool,
    },
    /// A valid token of a user marked inactive on this service.
    Inactive(Arc<AuthUser>),
    /// Valid cookie credentials on an unsafe request from an untrusted origin.
    CsrfRejected,
    /// The token is valid but the user store could not be reached.
    Unavailable,
    /// The token is valid but the user store failed (a bug; it is logged).
    Failed,
}

/// Authenticates requests; shared by all requests of one application.
pub struct Authenticator {
    settings: AuthSettings,
    validator: TokenValidator,
    store: Arc<dyn UserStore>,
    /// Tokens that passed validation, keyed by the whole token: a session sends
    /// the same access token for minutes, and only its exact bytes hit here, so
    /// repeated requests skip the signature check and claim parsing safely.
    /// `exp` is still checked on every hit. A token verified with a key that
    /// has since been withdrawn stays accepted until this entry expires
    /// (`auth.user_cache_ttl_secs`) or the token does; a rotation withdraws a
    /// key only after its tokens have expired anyway.
    tokens: ExpiringCache<Arc<ValidToken>>,
    /// Users whose row is known to match what their token said last time.
    cache: ExpiringCache<Arc<AuthUser>>,
    /// Bumped by every [`Authenticator::forget`]: a request that read a user
    /// before a `forget` must not put what it read back into the cache.
    forgotten: AtomicU64,
    /// `own_url`'s origin and the trusted origins, serialised for comparison.
    allowed_origins: Vec<String>,
    /// Outcomes, cache hits and misses, store calls (see [`super::metrics`]).
    counters: AuthCounters,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("validator", &self.validator)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Builds the authenticator; fails only when a configured key is unusable.
    pub fn new(settings: AuthSettings, store: Arc<dyn UserStore>) -> Result<Self, KeyError> {
        let validator = TokenValidator::new(&settings)?;
        let cache = ExpiringCache::new(settings.user_cache_capacity, settings.user_cache_ttl);
        let tokens = ExpiringCache::new(settings.user_cache_capacity, settings.user_cache_ttl);
        let allowed_origins = std::iter::once(&settings.own_url)
            .chain(&settings.trusted_origins)
            .map(|url| url.origin().ascii_serialization())
            .collect();
        Ok(Self {
            settings,
            validator,
            store,
            tokens,
            cache,
            forgotten: AtomicU64::new(0),
            allowed_origins,
            counters: AuthCounters::default(),
        })
    }

    /// The settings this authenticator was built from.
    #[must_use]
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// Where the keys that verify tokens come from (readiness, `check-config`).
    #[must_use]
    pub fn keys(&self) -> &KeySource {
        self.validator.keys()
    }

    /// What it has counted so far: outcomes, caches, store calls.
    #[must_use]
    pub fn counters(&self) -> &AuthCounters {
        &self.counters
    }

    /// How the key set fetched from the Auth service is doing; `None` when
    /// the keys are fixed by the settings.
    #[must_use]
    pub fn key_set_stats(&self) -> Option<KeySetStats> {
        self.validator.keys().stats()
    }

    /// Forgets what is cached about `username`, so that the next request
    /// re-reads the row (call it after changing `is_active`). Requests in
    /// flight for that user do not cache what they read before.
    pub fn forget(&self, username: &str) {
        self.forgotten.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate(username);
    }

    /// Authenticates `req`. Never fails: every problem is an [`Outcome`].
    pub(crate) async fn authenticate(&self, req: &Request) -> Outcome {
        let outcome = self.try_authenticate(req).await;
        self.counters.outcome(&outcome);
        match &outcome {
            // No token at all is the normal anonymous visitor: nothing to report.
            Outcome::Anonymous(Rejection::NoToken)
            | Outcome::User(_)
            | Outcome::Unavailable
            | Outcome::Failed => {}
            Outcome::Anonymous(reason) => {
                tracing::info!(%reason, "token rejected; request is anonymous");
            }
            Outcome::Expired { .. } => {
                tracing::info!(reason = %Rejection::Expired, "token rejected; request is anonymous");
            }
            Outcome::Inactive(user) => {
                tracing::info!(user_id = user.id, "user is inactive on this service");
            }
            Outcome::CsrfRejected => {
                tracing::warn!("cookie-authenticated unsafe request from an untrusted origin");
            }
        }
        outcome
    }

    async fn try_authenticate(&self, req: &Request) -> Outcome {
        let Credentials {
            token,
            kind: credential,
            refresh_cookie,
        } = match self.credentials(req) {
            Ok(found) => found,
            Err(reason) => return Outcome::Anonymous(reason),
        };
        let valid = match self.validate(&token).await {
            Ok(valid) => valid,
            Err(Rejection::Expired) => {
                return Outcome::Expired {
                    refreshable: credential == Credential::Cookie && refresh_cookie,
                };
            }
            Err(reason) => return Outcome::Anonymous(reason),
        };
        let claims = &valid.claims;
        // Checked before any database work, so a forged request writes nothing.
        if credential == Credential::Cookie
            && !req.method().is_safe()
            && !csrf::origin_is_trusted(req, &self.allowed_origins)
        {
            return Outcome::CsrfRejected;
        }

        let user = match self.cache.get(&claims.username) {
            Some(user) if user.matches(claims) => {
                self.counters.users.hit.add();
                user
            }
            // This token is older than the one the known row came from: the
            // row is the fresher word on the user, and nothing is written.
            Some(user) if claims.issued_at < user.claims_issued_at => {
                self.counters.users.hit.add();
                user
            }
            _ => {
                self.counters.users.miss.add();
                match self.sync_user(claims).await {
                    Ok(user) => user,
                    Err(outcome) => return outcome,
                }
            }
        };
        if user.is_active {
            Outcome::User(user)
        } else {
            Outcome::Inactive(user)
        }
    }

    /// Makes the store's row match `claims` and remembers it.
    async fn sync_user(&self, claims: &UserClaims) -> Result<Arc<AuthUser>, Outcome> {
        let forgotten = self.forgotten.load(Ordering::SeqCst);
        match self.store.sync_user(claims).await {
            Ok(Synced { user, written }) => {
                if written {
                    self.counters.syncs_written.add();
                } else {
                    self.counters.syncs_unchanged.add();
                }
                let user = Arc::new(user);
                // A `forget` while the store answered (a staff member
                // deactivating this user, say) may have made the row stale.
                if self.forgotten.load(Ordering::SeqCst) == forgotten {
                    self.cache
                        .insert(claims.username.clone(), Arc::clone(&user));
                }
                Ok(user)
            }
            Err(error @ StoreError::Unavailable(_)) => {
                self.counters.syncs_unavailable.add();
                tracing::warn!(%error, "cannot load the user; answering 503");
                Err(Outcome::Unavailable)
            }
            Err(error @ StoreError::Failed(_)) => {
                self.counters.syncs_failed.add();
                tracing::error!(%error, "cannot load the user; answering 500");
                Err(Outcome::Failed)
            }
        }
    }

    /// Validates `token`, or finds it among the tokens that validated before.
    async fn validate(&self, token: &str) -> Result<Arc<ValidToken>, Rejection> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if let Some(valid) = self.tokens.get(token) {
            self.counters.tokens.hit.add();
            if valid.is_valid_at(now) {
                return Ok(valid);
            }
            self.tokens.invalidate(token);
            return Err(Rejection::Expired);
        }
        self.counters.tokens.miss.add();
        let valid = Arc::new(self.validator.validate(token).await?);
        self.tokens.insert(token.to_owned(), Arc::clone(&valid));
        Ok(valid)
    }

    /// Finds the access token: a bearer token wins over cookies, because an API
    /// client that sends one means it.
    fn credentials<'r>(&self, req: &'r Request) -> Result<Credentials<'r>, Rejection> {
        if let Some(value) = req.headers().get(header::AUTHORIZATION) {
            let value = value
                .to_str()
                .map_err(|_| Rejection::MalformedAuthorizationHeader)?;
            if let Some((scheme, token)) = value.split_once(' ')
                && scheme.eq_ignore_ascii_case("bearer")
            {
                let token = token.trim();
                if token.is_empty() {
                    return Err(Rejection::MalformedAuthorizationHeader);
                }
                return Ok(Credentials {
                    token: Cow::Borrowed(token),
                    kind: Credential::Bearer,
                    refresh_cookie: false,
                });
            }
            // Another scheme (e.g. Basic from a proxy) is not ours: fall back to cookies.
        }

        let mut access = None;
        let mut refresh = false;
        for value in req.headers().get_all(header::COOKIE) {
            // Read as bytes: another application on the shared domain may set a
            // cookie with bytes that are not ASCII (`city=München`), which must
            // not hide ours. Our cookies are ASCII, whatever surrounds them.
            match String::from_utf8_lossy(value.as_bytes()) {
                Cow::Borrowed(text) => {
                    if let Some(token) = self.scan_cookies(text, &mut refresh) {
                        access = Some(Cow::Borrowed(token));
                    }
                }
                Cow::Owned(text) => {
                    tracing::debug!(
                        "a Cookie header holds bytes that are not UTF-8; reading the rest"
                    );
                    if let Some(token) = self.scan_cookies(&text, &mut refresh) {
                        access = Some(Cow::Owned(token.to_owned()));
                    }
                }
            }
        }
        let access = access.ok_or(Rejection::NoToken)?;
        if self.settings.require_refresh_cookie && !refresh {
            return Err(Rejection::MissingRefreshCookie);
        }
        Ok(Credentials {
            token: access,
            kind: Credential::Cookie,
            refresh_cookie: refresh,
        })
    }

    /// The last access cookie of one `Cookie` header, if any; notes whether a
    /// non-empty refresh cookie is there. When a browser sends two access
    /// cookies (a stale one for this host, say, and the Auth service's for the
    /// parent domain), the last counts, as in Django: the Auth service reads
    /// the same cookie when it refreshes or signs the user out.
    fn scan_cookies<'t>(&self, text: &'t str, refresh: &mut bool) -> Option<&'t str> {
        let mut access = None;
        for cookie in cookie::Cookie::split_parse(text) {
            let Ok(cookie) = cookie else {
                tracing::debug!("skipping a malformed cookie in the Cookie header");
                continue;
            };
            if cookie.name() == self.settings.access_cookie {
                access = cookie.value_raw();
            } else if cookie.name() == self.settings.refresh_cookie && !cookie.value().is_empty() {
                *refresh = true;
            }
        }
        access
    }
}
