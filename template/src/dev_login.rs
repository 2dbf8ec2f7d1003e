//! Development login: sign in to this service without the Auth service.
//!
//! Enabled by `dev_login.enabled` (on in `config/local.toml`). It lets anyone
//! sign in as anyone, so the settings refuse it unless the service listens on
//! loopback, `auth.own_url` is on loopback, and its only key is the
//! development secret, which signs nothing the Auth service's siblings accept.
//! The local `auth.login_url` points here, so a developer goes through the same
//! redirect as in production: protected page → login page → cookies set →
//! back to `next`.
//!
//! The page sets the same two cookies the Auth service sets, holding tokens
//! minted as SimpleJWT mints them ([`crate::auth::mint`]), signed with the
//! development secret. Swagger UI's "Try it out" then works as well, because the
//! browser sends same-origin cookies by itself.

use std::{fmt::Write as _, time::Duration};

use cookie::{Cookie, SameSite};
use poem::{
    IntoResponse, Response, Route, get, handler,
    http::{StatusCode, header},
    post,
    web::{Data, Form, Html, Query},
};
use serde::Deserialize;
use url::{Position, Url};

use crate::{
    auth::{
        AuthSettings, MAX_EMAIL_CHARS, MAX_NAME_CHARS, MAX_USERNAME_CHARS, UserClaims,
        mint::{Lifetimes, mint_pair},
    },
    settings::{SettingsError, in_range},
};

/// `[dev_login]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevLoginSettings {
    /// Serve `/dev/login/` (see the module's documentation for where).
    pub enabled: bool,
    /// Lifetime of minted access tokens, in seconds (SimpleJWT: 300).
    pub access_token_lifetime_secs: u64,
    /// Lifetime of minted refresh tokens, in seconds (SimpleJWT: 86400).
    pub refresh_token_lifetime_secs: u64,
}

/// Longest lifetime of a minted token: 30 days.
const MAX_LIFETIME_SECS: u64 = 30 * 24 * 3600;

impl DevLoginSettings {
    /// Checks the lifetimes' bounds.
    pub(crate) fn check(self) -> Result<Self, SettingsError> {
        in_range(
            "dev_login.access_token_lifetime_secs",
            self.access_token_lifetime_secs,
            1..=MAX_LIFETIME_SECS,
        )?;
        in_range(
            "dev_login.refresh_token_lifetime_secs",
            self.refresh_token_lifetime_secs,
            1..=MAX_LIFETIME_SECS,
        )?;
        Ok(self)
    }

    /// Lifetimes of the tokens the development login and `mint-token` mint.
    #[must_use]
    pub fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            access: Duration::from_secs(self.access_token_lifetime_secs),
            refresh: Duration::from_secs(self.refresh_token_lifetime_secs),
        }
    }
}

/// What the routes need: the auth settings and the token lifetimes.
#[derive(Debug, Clone)]
pub struct DevLogin {
    auth: AuthSettings,
    lifetimes: Lifetimes,
}

impl DevLogin {
    /// Development login for `auth`, minting tokens that live `lifetimes`.
    #[must_use]
    pub fn new(auth: AuthSettings, lifetimes: Lifetimes) -> Self {
        Self { auth, lifetimes }
    }

    /// `GET|POST /dev/login/` and `POST /dev/logout/`.
    #[must_use]
    pub fn routes(self) -> impl poem::Endpoint {
        use poem::EndpointExt as _;
        Route::new()
            .at("/login/", get(login_form).post(sign_in))
            .at("/logout/", post(sign_out))
            .data(self)
    }
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// The sign-in form's fields. Checkboxes are sent only when ticked.
#[derive(Debug, Deserialize)]
struct SignInForm {
    username: String,
    email: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    is_staff: Option<String>,
    is_superuser: Option<String>,
    #[serde(default)]
    next: String,
}

#[handler]
fn login_form(Query(query): Query<NextQuery>, Data(dev): Data<&DevLogin>) -> Html<String> {
    let next = safe_next(&dev.auth, query.next.as_deref().unwrap_or("/"));
    login_page(&dev.auth, &next, None)
}

#[handler]
fn sign_in(Form(submitted): Form<SignInForm>, Data(dev): Data<&DevLogin>) -> Response {
    let next = safe_next(&dev.auth, &submitted.next);
    let claims = UserClaims {
        username: submitted.username.trim().to_owned(),
        email: submitted.email.trim().to_owned(),
        first_name: submitted.first_name.trim().to_owned(),
        last_name: submitted.last_name.trim().to_owned(),
        is_staff: submitted.is_staff.is_some(),
        is_superuser: submitted.is_superuser.is_some(),
        // Minting stamps its own `iat`.
        issued_at: 0,
    };
    if let Err(problem) = check(&claims) {
        let mut response = login_page(&dev.auth, &next, Some(problem)).into_response();
        response.set_status(StatusCode::BAD_REQUEST);
        return response;
    }
    let tokens = match mint_pair(&dev.auth, &claims, dev.lifetimes) {
        Ok(tokens) => tokens,
        Err(error) => {
            tracing::error!(%error, "development login cannot mint tokens");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    tracing::info!(username = %claims.username, "development sign-in");
    let secure = dev.auth.own_url.scheme() == "https";
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, next)
        .header(
            header::SET_COOKIE,
            session_cookie(
                &dev.auth.access_cookie,
                tokens.access,
                dev.lifetimes.access,
                secure,
            ),
        )
        .header(
            header::SET_COOKIE,
            session_cookie(
                &dev.auth.refresh_cookie,
                tokens.refresh,
                dev.lifetimes.refresh,
                secure,
            ),
        )
        .finish()
}

#[handler]
fn sign_out(Data(dev): Data<&DevLogin>) -> Response {
    let login_page = format!("{}/dev/login/", dev.auth.path_prefix());
    let expired = |name: &str| {
        Cookie::build((name.to_owned(), ""))
            .path("/")
            .max_age(cookie::time::Duration::ZERO)
            .build()
            .to_string()
    };
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, login_page)
        .header(header::SET_COOKIE, expired(&dev.auth.access_cookie))
        .header(header::SET_COOKIE, expired(&dev.auth.refresh_cookie))
        .finish()
}

/// A cookie like the Auth service's: whole site, not readable by scripts.
fn session_cookie(name: &str, value: String, lifetime: Duration, secure: bool) -> String {
    let max_age =
        cookie::time::Duration::seconds(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX));
    Cookie::build((name.to_owned(), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(max_age)
        .build()
        .to_string()
}

/// The limits the token validator enforces, checked up front for a clear message.
fn check(claims: &UserClaims) -> Result<(), &'static str> {
    let too_long = |value: &str, max: usize| value.chars().count() > max;
    if claims.username.is_empty() || too_long(&claims.username, MAX_USERNAME_CHARS) {
        Err("The username must be 1 to 150 characters.")
    } else if claims.email.is_empty() || too_long(&claims.email, MAX_EMAIL_CHARS) {
        Err("The e-mail must be 1 to 254 characters.")
    } else if too_long(&claims.first_name, MAX_NAME_CHARS)
        || too_long(&claims.last_name, MAX_NAME_CHARS)
    {
        Err("Names must be at most 150 characters.")
    } else {
        Ok(())
    }
}

/// `next` if it leads to this service, else this service's home page: the
/// login must not become an open redirect. `next` is resolved against
/// `own_url` the way a browser resolves a link (tabs and newlines dropped, `\`
/// read as `/`, `//host` as another host), and only the result's origin counts.
fn safe_next(auth: &AuthSettings, next: &str) -> String {
    let home = format!("{}/", auth.path_prefix());
    let Ok(resolved) = auth.own_url.join(next) else {
        return home;
    };
    if resolved.origin() != auth.own_url.origin() {
        return home;
    }
    if Url::parse(next).is_ok() {
        return resolved.into();
    }
    // A relative `next` stays relative, so the browser stays on the host name
    // it used; but never as `//…`, which a browser reads as another host.
    let path = &resolved[Position::BeforePath..];
    if path.starts_with("//") {
        resolved.into()
    } else {
        path.to_owned()
    }
}

fn login_page(auth: &AuthSettings, next: &str, problem: Option<&str>) -> Html<String> {
    let mut page = String::from(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Development sign-in</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto}label{display:block;margin:.5rem 0}
input[type=text],input[type=email]{width:100%}.warn{background:#fff3cd;padding:.5rem}.problem{color:#b00}</style>
</head>
<body>
<h1>Development sign-in</h1>
<p class="warn">For local development only: this page stands in for the Auth service and
signs you in as whoever you type. It is refused outside the <code>local</code> and
<code>test</code> environments.</p>
"#,
    );
    if let Some(problem) = problem {
        // `problem` is one of our own constant messages.
        let _ = writeln!(page, r#"<p class="problem" role="alert">{problem}</p>"#);
    }
    let _ = write!(
        page,
        r#"<form method="post" action="{prefix}/dev/login/">
<input type="hidden" name="next" value="{next}">
<label>Username (the Auth service's user_uuid) <input type="text" name="username" value="dev-user" required maxlength="{MAX_USERNAME_CHARS}"></label>
<label>E-mail <input type="email" name="email" value="dev-user@example.com" required maxlength="{MAX_EMAIL_CHARS}"></label>
<label>First name <input type="text" name="first_name" value="Dev" maxlength="{MAX_NAME_CHARS}"></label>
<label>Last name <input type="text" name="last_name" value="User" maxlength="{MAX_NAME_CHARS}"></label>
<label><input type="checkbox" name="is_staff"> Staff</label>
<label><input type="checkbox" name="is_superuser"> Superuser</label>
<button type="submit">Sign in</button>
</form>
<form method="post" action="{prefix}/dev/logout/"><button type="submit">Sign out</button></form>
</body>
</html>
"#,
        next = html_escape::encode_double_quoted_attribute(next),
        prefix = html_escape::encode_double_quoted_attribute(auth.path_prefix()),
    );
    Html(page)
}
