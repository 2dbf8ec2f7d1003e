//! Server-rendered pages: the browser side of authentication.
//!
//! The home page is for everybody ([`CurrentUser`]); the account page needs a
//! signed-in user ([`SignedIn`]): an anonymous browser is sent to the Auth
//! service's login page and comes back to the page it asked for after signing
//! in. Links are relative, so the pages work under a gateway's path prefix too.

use std::fmt::Write as _;

use poem::{handler, web::Html};

use crate::auth::{CurrentUser, SignedIn};

/// `GET /`: the home page, greeting the signed-in user by name.
#[handler]
pub(crate) async fn home(CurrentUser(user): CurrentUser) -> Html<String> {
    match user {
        Some(user) => {
            let name = html_escape::encode_text(user.display_name());
            page(&format!(
                r#"<h1>Hello, {name}!</h1>
<p>You are signed in. See <a href="me/">your account</a> or explore the API in
<a href="docs">Swagger UI</a>.</p>"#
            ))
        }
        None => page(
            r#"<h1>Hello!</h1>
<p>You are not signed in. <a href="me/">Sign in</a> to see your account, or
explore the API in <a href="docs">Swagger UI</a>.</p>"#,
        ),
    }
}

/// `GET /me/`: what this service knows about the signed-in user.
#[handler]
pub(crate) async fn me(SignedIn(user): SignedIn) -> Html<String> {
    let rows = [
        ("Username", user.username.as_str()),
        ("E-mail", user.email.as_str()),
        ("First name", user.first_name.as_str()),
        ("Last name", user.last_name.as_str()),
        ("Staff", yes_no(user.is_staff)),
        ("Superuser", yes_no(user.is_superuser)),
    ]
    .iter()
    .fold(String::new(), |mut rows, (label, value)| {
        let value = html_escape::encode_text(value);
        // Writing to a String cannot fail.
        let _ = writeln!(rows, "<tr><th>{label}</th><td>{value}</td></tr>");
        rows
    });
    page(&format!(
        "<h1>Your account</h1>\n<table>\n{rows}</table>\n<p><a href=\"../\">Home</a></p>"
    ))
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

/// Wraps `body` in the service's page layout.
fn page(body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{service}</title></head>
<body>
{body}
</body>
</html>
"#,
        service = env!("CARGO_PKG_NAME"),
    ))
}
