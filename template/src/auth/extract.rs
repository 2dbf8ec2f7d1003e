//! The extractor half: how handlers ask who the user is.
//!
//! - [`CurrentUser`]: anybody; `None` when anonymous. A plain poem extractor.
//! - [`SignedIn`]: a signed-in user or the request fails; for HTML pages.
//! - [`Authenticated`], [`StaffUser`]: a signed-in (staff) user or the request
//!   fails. These are poem-openapi security
//!   schemes: an operation that takes one is documented with both the access
//!   cookie and bearer schemes, so spec and enforcement cannot drift.
//!
//! Failures answer as [`AuthFailure`] describes: a browser navigation is sent
//! to the login page (302), an API client gets 401 with `WWW-Authenticate`, a
//! missing flag or a failed CSRF check is 403, an unreachable user store 503.
//! Return [`Protected`] from a protected operation so the spec lists them.

use std::{ops::Deref, sync::Arc};

use poem::{FromRequest, IntoResponse, Request, RequestBody, Response, http::header};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions,
    registry::{MetaResponses, MetaSecurityScheme, Registry},
};

use super::{
    AuthUser,
    authenticator::Outcome,
    error::{AuthFailure, ErrorBody, RETRY_AFTER_SECS},
    middleware::LazyAuth,
    redirect::login_redirect_url,
};

/// Name of the access-cookie security scheme in the OpenAPI spec.
pub const ACCESS_COOKIE_SCHEME: &str = "AccessCookie";
/// Name of the bearer-token security scheme in the OpenAPI spec.
pub const BEARER_SCHEME: &str = "BearerToken";

/// Placeholder for the cookie name in the registered scheme; the application
/// replaces it with `auth.access_cookie` when it renders the spec, because
/// poem-openapi only takes `'static` names and the cookie name is a setting.
pub const ACCESS_COOKIE_NAME_PLACEHOLDER: &str = "ACCESS_COOKIE_NAME";

/// A protected operation's response: `T`, plus the [`AuthFailure`] answers in
/// the spec.
#[derive(Debug)]
pub struct Protected<T>(pub T);

impl<T> From<T> for Protected<T> {
    fn from(response: T) -> Self {
        Self(response)
    }
}

impl<T: IntoResponse> IntoResponse for Protected<T> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl<T: ApiResponse> ApiResponse for Protected<T> {
    fn meta() -> MetaResponses {
        let mut meta = T::meta();
        meta.responses.extend(AuthFailure::meta().responses);
        meta
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
        AuthFailure::register(registry);
    }
}

/// The user, if the request carries valid credentials; for pages that work for
/// everybody. Never fails: a CSRF failure or an unreachable store reads as anonymous.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Option<Arc<AuthUser>>);

impl<'a> FromRequest<'a> for CurrentUser {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self(match lazy(req)?.outcome(req).await {
            Outcome::User(user) => Some(Arc::clone(user)),
            Outcome::Anonymous(_)
            | Outcome::CsrfRejected
            | Outcome::Unavailable
            | Outcome::Failed => None,
        }))
    }
}

/// A signed-in, active user, for plain poem handlers such as HTML pages
/// (the OpenAPI operations use [`Authenticated`]). Fails like it does.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Arc<AuthUser>);

impl<'a> FromRequest<'a> for SignedIn {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        require(req, |_| true, "").await.map(Self)
    }
}

/// Fetches the per-request slot the middleware left.
fn lazy(req: &Request) -> poem::Result<&LazyAuth> {
    req.extensions().get::<LazyAuth>().ok_or_else(|| {
        tracing::error!("AuthMiddleware is not installed on this route");
        poem::Error::from_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR)
    })
}

/// The signed-in user of `req`, or the failure to answer with.
async fn require(
    req: &Request,
    allowed: fn(&AuthUser) -> bool,
    lacking: &str,
) -> poem::Result<Arc<AuthUser>> {
    let lazy = lazy(req)?;
    let failure = match lazy.outcome(req).await {
        Outcome::User(user) if allowed(user) => return Ok(Arc::clone(user)),
        Outcome::User(_) => AuthFailure::Forbidden(ErrorBody::new("forbidden", lacking)),
        Outcome::CsrfRejected => AuthFailure::Forbidden(ErrorBody::new(
            "csrf_failed",
            "Cookie-authenticated requests that change state must come from a trusted origin (Origin or Referer header).",
        )),
        Outcome::Unavailable => AuthFailure::Unavailable(
            ErrorBody::new(
                "unavailable",
                "The user database is unreachable; try again later.",
            ),
            RETRY_AFTER_SECS,
        ),
        Outcome::Failed => {
            AuthFailure::Internal(ErrorBody::new("internal", "An unexpected error occurred."))
        }
        Outcome::Anonymous(_) if is_browser_navigation(req) => {
            AuthFailure::LoginRedirect(login_redirect_url(lazy.authenticator.settings(), req))
        }
        Outcome::Anonymous(_) => AuthFailure::Unauthorized(
            ErrorBody::new(
                "unauthenticated",
                "Sign in at the Auth service (its cookies authenticate you here) or send `Authorization: Bearer <access token>`.",
            ),
            "Bearer".to_owned(),
        ),
    };
    Err(failure.into())
}

/// A top-level page load, as opposed to `fetch`/XHR or an API client: a GET or
/// HEAD whose `Accept` asks for HTML.
fn is_browser_navigation(req: &Request) -> bool {
    (req.method() == poem::http::Method::GET || req.method() == poem::http::Method::HEAD)
        && req
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/html"))
}

/// Registers the two security schemes every protected operation accepts.
fn register_schemes(registry: &mut Registry) {
    registry.create_security_scheme(
        ACCESS_COOKIE_SCHEME,
        MetaSecurityScheme {
            ty: "apiKey",
            description: Some(
                "The access token the central Auth service sets as a cookie on the shared parent \
                 domain when you sign in (its refresh cookie must be present too). Browsers send \
                 it by themselves: sign in first (on a developer's machine, at this service's \
                 development login, /dev/login/), then use \"Try it out\" on this page; the \
                 Authorize button is not needed for cookies.",
            ),
            name: Some(ACCESS_COOKIE_NAME_PLACEHOLDER),
            key_in: Some("cookie"),
            scheme: None,
            bearer_format: None,
            flows: None,
            openid_connect_url: None,
        },
    );
    registry.create_security_scheme(
        BEARER_SCHEME,
        MetaSecurityScheme {
            ty: "http",
            description: Some(
                "A SimpleJWT access token from the Auth service's token endpoint (on a developer's \
                 machine: `cargo run -- mint-token`), sent as `Authorization: Bearer <token>`. \
                 Paste it in Authorize. Not subject to CSRF checks.",
            ),
            name: None,
            key_in: None,
            scheme: Some("bearer"),
            bearer_format: Some("JWT"),
            flows: None,
            openid_connect_url: None,
        },
    );
}

/// Implements the OpenAPI security-scheme extractor for a user newtype.
macro_rules! user_extractor {
    ($(#[$doc:meta])* $name:ident, $allowed:expr, $lacking:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Arc<AuthUser>);

        impl Deref for $name {
            type Target = AuthUser;

            fn deref(&self) -> &AuthUser {
                &self.0
            }
        }

        impl<'a> ApiExtractor<'a> for $name {
            const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

            type ParamType = ();
            type ParamRawType = ();

            fn register(registry: &mut Registry) {
                register_schemes(registry);
            }

            fn security_schemes() -> Vec<&'static str> {
                vec![ACCESS_COOKIE_SCHEME, BEARER_SCHEME]
            }

            async fn from_request(
                req: &'a Request,
                _body: &mut RequestBody,
                _param_opts: ExtractParamOptions<Self::ParamType>,
            ) -> poem::Result<Self> {
                require(req, $allowed, $lacking).await.map(Self)
            }
        }
    };
}

user_extractor!(
    /// A signed-in, active user.
    Authenticated,
    |_| true,
    ""
);
user_extractor!(
    /// A signed-in, active user with the staff flag.
    StaffUser,
    |user| user.is_staff,
    "This operation needs a staff user."
);
