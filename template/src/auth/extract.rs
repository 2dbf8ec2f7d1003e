//! The extractor half: how handlers ask who the user is.
//!
//! - [`CurrentUser`]: anybody; `None` when anonymous. A plain poem extractor.
//! - [`SignedIn`]: a signed-in user or the request fails; for HTML pages.
//! - [`Authenticated`], [`StaffUser`]: a signed-in (staff) user or the request
//!   fails. These are poem-openapi security schemes: an operation that takes
//!   one is documented with both the access cookie and bearer schemes, so spec
//!   and enforcement cannot drift.
//!
//! Failures answer as [`AuthFailure`] describes: a browser navigation is sent
//! to the login page, or the refresh page when only the token has expired
//! (302); an API client gets 401 with `WWW-Authenticate`; a missing flag, a
//! disabled account or a failed CSRF check is 403; an unreachable user store
//! 503. Return [`Protected`] from a protected operation so the spec lists them.

use std::{ops::Deref, sync::Arc};

use poem::{
    FromRequest, IntoResponse, Request, RequestBody, Response,
    http::{StatusCode, header},
    web::Html,
};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions,
    registry::{MetaResponses, MetaSecurityScheme, Registry},
};

use super::{
    AuthUser,
    authenticator::Outcome,
    error::{AuthFailure, BadRequest, ErrorBody, RETRY_AFTER_SECS},
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

/// A protected operation's response: `T`, or the request was refused before
/// the operation ran, by the [`AuthFailure`] answers or a client mistake in
/// its parameters (a 400 [`BadRequest`] with the JSON error body). All of them
/// are in the spec.
#[derive(Debug)]
pub enum Protected<T> {
    /// The operation ran.
    Done(T),
    /// An extractor refused the request: authentication or a parameter.
    Refused(poem::Error),
}

impl<T> From<T> for Protected<T> {
    fn from(response: T) -> Self {
        Self::Done(response)
    }
}

impl<T: IntoResponse> IntoResponse for Protected<T> {
    fn into_response(self) -> Response {
        match self {
            Self::Done(response) => response.into_response(),
            // A parameter that did not parse or validate: the client's mistake,
            // told in the same JSON as every other error.
            Self::Refused(error) if error.status() == StatusCode::BAD_REQUEST => {
                BadRequest::from_error(&error).into_response()
            }
            // The authentication failure, already answered as it should be.
            Self::Refused(error) => error.into_response(),
        }
    }
}

impl<T: ApiResponse> ApiResponse for Protected<T> {
    const BAD_REQUEST_HANDLER: bool = true;

    fn meta() -> MetaResponses {
        let mut meta = T::meta();
        meta.responses.extend(BadRequest::meta().responses);
        meta.responses.extend(AuthFailure::meta().responses);
        meta
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
        BadRequest::register(registry);
        AuthFailure::register(registry);
    }

    fn from_parse_request_error(error: poem::Error) -> Self {
        Self::Refused(error)
    }
}

/// The user, if the request carries valid credentials; for pages that work for
/// everybody. Never fails: an inactive user, a CSRF failure or an unreachable
/// store read as anonymous.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Option<Arc<AuthUser>>);

impl<'a> FromRequest<'a> for CurrentUser {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self(match lazy(req)?.outcome(req).await {
            Outcome::User(user) => Some(Arc::clone(user)),
            Outcome::Anonymous(_)
            | Outcome::Expired { .. }
            | Outcome::Inactive(_)
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
        poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR)
    })
}

/// What an inactive user is told.
const DISABLED: &str =
    "Your account is disabled on this service. Ask its staff to enable it again.";

/// The signed-in user of `req`, or the failure to answer with.
async fn require(
    req: &Request,
    allowed: fn(&AuthUser) -> bool,
    lacking: &str,
) -> poem::Result<Arc<AuthUser>> {
    let lazy = lazy(req)?;
    let settings = lazy.authenticator.settings();
    let failure = match lazy.outcome(req).await {
        Outcome::User(user) if allowed(user) => return Ok(Arc::clone(user)),
        Outcome::User(_) => AuthFailure::Forbidden(ErrorBody::new("forbidden", lacking)),
        // Never the login page: the Auth service would send a signed-in user
        // straight back, round and round.
        Outcome::Inactive(_) if is_browser_navigation(req) => {
            return Err(poem::Error::from_response(disabled_page()));
        }
        Outcome::Inactive(_) => {
            AuthFailure::Forbidden(ErrorBody::new("account_disabled", DISABLED))
        }
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
        // Only the access token has expired and the refresh cookie is there:
        // the Auth service can renew the session without a login form.
        Outcome::Expired { refreshable: true } if is_browser_navigation(req) => {
            let page = settings.refresh_url.as_ref().unwrap_or(&settings.login_url);
            AuthFailure::LoginRedirect(login_redirect_url(settings, page, req))
        }
        Outcome::Anonymous(_) | Outcome::Expired { .. } if is_browser_navigation(req) => {
            AuthFailure::LoginRedirect(login_redirect_url(settings, &settings.login_url, req))
        }
        Outcome::Expired { .. } => {
            let mut body = ErrorBody::new(
                "token_expired",
                "The access token has expired: renew it at the Auth service (refresh_url, or its token refresh endpoint), then try again.",
            );
            body.0.login_url = Some(settings.login_url.to_string());
            body.0.refresh_url = settings.refresh_url.as_ref().map(ToString::to_string);
            AuthFailure::Unauthorized(
                body,
                r#"Bearer error="invalid_token", error_description="The access token expired""#
                    .to_owned(),
            )
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

/// The short page an inactive user's browser gets, with a 403.
fn disabled_page() -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Account disabled</title></head>\n<body>\n<h1>Account disabled</h1>\n<p>{DISABLED}</p>\n</body>\n</html>\n"
    );
    Html(page)
        .with_status(StatusCode::FORBIDDEN)
        .into_response()
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
