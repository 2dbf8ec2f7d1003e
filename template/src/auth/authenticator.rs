//! Who is making this request? Token → claims → local user, with a cache so
//! that a signed-in request normally costs no database statement at all.

use std::{
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use poem::{Request, http::header};

use super::{
    AuthSettings, AuthUser, StoreError, UserStore,
    cache::ExpiringCache,
    csrf,
    key_source::KeySource,
    keys::KeyError,
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

/// The result of authenticating one request.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// A valid token of an active local user.
    User(Arc<AuthUser>),
    /// No usable credentials; the reason is for the log only.
    Anonymous(Rejection),
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
    /// `own_url`'s origin and the trusted origins, serialised for comparison.
    allowed_origins: Vec<String>,
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
            allowed_origins,
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

    /// Forgets what is cached about `username`, so that the next request
    /// re-reads the row (call it after changing `is_active`).
    pub fn forget(&self, username: &str) {
        self.cache.invalidate(username);
    }

    /// Authenticates `req`. Never fails: every problem is an [`Outcome`].
    pub(crate) async fn authenticate(&self, req: &Request) -> Outcome {
        let outcome = self.try_authenticate(req).await;
        match &outcome {
            // No token at all is the normal anonymous visitor: nothing to report.
            Outcome::Anonymous(Rejection::NoToken)
            | Outcome::User(_)
            | Outcome::Unavailable
            | Outcome::Failed => {}
            Outcome::Anonymous(reason) => {
                tracing::info!(%reason, "token rejected; request is anonymous");
            }
            Outcome::CsrfRejected => {
                tracing::warn!("cookie-authenticated unsafe request from an untrusted origin");
            }
        }
        outcome
    }

    async fn try_authenticate(&self, req: &Request) -> Outcome {
        let (token, credential) = match self.credentials(req) {
            Ok(found) => found,
            Err(reason) => return Outcome::Anonymous(reason),
        };
        let valid = match self.validate(token).await {
            Ok(valid) => valid,
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
            Some(user) if user.matches(claims) => user,
            _ => match self.store.sync_user(claims).await {
                Ok(user) => {
                    let user = Arc::new(user);
                    self.cache
                        .insert(claims.username.clone(), Arc::clone(&user));
                    user
                }
                Err(error @ StoreError::Unavailable(_)) => {
                    tracing::warn!(%error, "cannot load the user; answering 503");
                    return Outcome::Unavailable;
                }
                Err(error @ StoreError::Failed(_)) => {
                    tracing::error!(%error, "cannot load the user; answering 500");
                    return Outcome::Failed;
                }
            },
        };
        if user.is_active {
            Outcome::User(user)
        } else {
            Outcome::Anonymous(Rejection::Inactive)
        }
    }

    /// Validates `token`, or finds it among the tokens that validated before.
    async fn validate(&self, token: &str) -> Result<Arc<ValidToken>, Rejection> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if let Some(valid) = self.tokens.get(token) {
            if valid.is_valid_at(now) {
                return Ok(valid);
            }
            self.tokens.invalidate(token);
            return Err(Rejection::Expired);
        }
        let valid = Arc::new(self.validator.validate(token).await?);
        self.tokens.insert(token.to_owned(), Arc::clone(&valid));
        Ok(valid)
    }

    /// Finds the access token: a bearer token wins over cookies, because an API
    /// client that sends one means it.
    fn credentials<'r>(&self, req: &'r Request) -> Result<(&'r str, Credential), Rejection> {
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
                return Ok((token, Credential::Bearer));
            }
            // Another scheme (e.g. Basic from a proxy) is not ours: fall back to cookies.
        }

        let mut access = None;
        let mut refresh = false;
        for header_value in req.headers().get_all(header::COOKIE) {
            // A non-UTF-8 Cookie header cannot hold our cookies: skip it.
            let Ok(header_value) = header_value.to_str() else {
                continue;
            };
            for cookie in cookie::Cookie::split_parse(header_value).flatten() {
                // RFC 6265 §5.4: the first cookie of a name is the most specific one.
                if access.is_none() && cookie.name() == self.settings.access_cookie {
                    access = Some(cookie.value_raw().unwrap_or_default());
                } else if cookie.name() == self.settings.refresh_cookie
                    && !cookie.value().is_empty()
                {
                    refresh = true;
                }
            }
        }
        let access = access.ok_or(Rejection::NoToken)?;
        if self.settings.require_refresh_cookie && !refresh {
            return Err(Rejection::MissingRefreshCookie);
        }
        Ok((access, Credential::Cookie))
    }
}
