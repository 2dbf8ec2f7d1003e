//! The redirect that sends an anonymous browser to the Auth service's login
//! page (or its refresh page, when only the access token has expired).
//!
//! `next` is built only from `own_url` and the request's path and query, never
//! from `Host` or `X-Forwarded-*`, so whatever a client sends, it points back
//! at this service (OWASP unvalidated-redirects). It is percent-encoded as one
//! query value the way Django's `redirect_to_login` does (`/` left as is), so
//! the Auth service reads it exactly as it reads its Django siblings' links.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use poem::Request;
use url::Url;

use super::AuthSettings;

/// Everything but RFC 3986 unreserved characters and `/`: Python's
/// `urllib.parse.quote(value, safe="/")`, which Django uses here.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// `page` (the login or the refresh page) with `next = own_url + path + query`
/// appended to its query.
pub(super) fn login_redirect_url(settings: &AuthSettings, page: &Url, req: &Request) -> String {
    // The URI as the client sent it: `uri()` loses the prefix of nested routes.
    let path_and_query = req
        .original_uri()
        .path_and_query()
        .map_or("/", poem::http::uri::PathAndQuery::as_str);
    let own = settings.own_url.as_str().trim_end_matches('/');
    let next = format!("{own}{path_and_query}");

    let field = utf8_percent_encode(&settings.redirect_field_name, QUERY_VALUE);
    let value = utf8_percent_encode(&next, QUERY_VALUE);
    let mut page = page.clone();
    page.set_fragment(None);
    // A query already on the page's URL (e.g. `?client=svc`) is kept as it is.
    let query = match page.query().filter(|q| !q.is_empty()) {
        Some(existing) => format!("{existing}&{field}={value}"),
        None => format!("{field}={value}"),
    };
    page.set_query(Some(&query));
    page.into()
}
