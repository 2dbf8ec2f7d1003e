//! Cross-site request forgery protection for cookie-authenticated requests.
//!
//! Browsers attach the Auth service's cookies to every request to this service,
//! including ones a hostile page triggers. An unsafe request (POST, PUT, PATCH,
//! DELETE, …) authenticated by cookie must therefore prove where it comes from:
//! its `Origin` header — or, when a browser sends none, its `Referer` — must be
//! exactly `own_url`'s origin or one of `csrf.trusted_origins` (OWASP: "verifying
//! origin with standard headers"). A request with neither header is refused.
//! Bearer tokens are never sent automatically, so bearer requests are exempt.

use poem::{Request, http::header};
use url::Url;

/// Whether the request's Origin (else Referer) is one of `allowed` (serialised origins).
pub(super) fn origin_is_trusted(req: &Request, allowed: &[String]) -> bool {
    let origin = if let Some(origin) = req.headers().get(header::ORIGIN) {
        // `Origin: null` (sandboxed frames, some redirects) matches nothing.
        origin.to_str().ok().map(str::to_owned)
    } else {
        req.headers()
            .get(header::REFERER)
            .and_then(|referer| referer.to_str().ok())
            .and_then(|referer| Url::parse(referer).ok())
            .map(|url| url.origin().ascii_serialization())
    };
    origin.is_some_and(|origin| allowed.contains(&origin))
}
