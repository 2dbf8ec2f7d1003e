//! Credentialed CORS for browser front-ends on sibling origins
//! (`cors.allowed_origins`), with poem's CORS middleware.
//!
//! A single-page app at `https://app.example.com` calling this service with the
//! Auth service's cookies needs the browser's permission: exact origins only
//! (a wildcard with credentials would hand every site the user's session),
//! preflights answered without authentication, and the headers a client acts
//! on (`WWW-Authenticate`, `Retry-After`) exposed. Only requests from an
//! allowed origin go through poem's middleware: it refuses every other
//! `Origin` with its own 403, while this service answers those as usual, just
//! without CORS headers, so the browser keeps the answer from the page.
//!
//! An allowed origin is also trusted by the CSRF check for cookie-authenticated
//! POST/PUT/PATCH/DELETE (see `crate::auth`), and no other is.

use std::{collections::HashSet, sync::Arc};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{Method, header},
    middleware::{Cors, CorsEndpoint},
};
use url::Url;

/// CORS for `origins`; nothing at all when there are none.
#[derive(Debug, Clone)]
pub struct AllowedOrigins {
    /// Serialised origins (`https://app.example.com`), as browsers send them.
    origins: Arc<HashSet<String>>,
}

impl AllowedOrigins {
    /// CORS for the origins of `urls`.
    #[must_use]
    pub fn new(urls: &[Url]) -> Self {
        Self {
            origins: Arc::new(
                urls.iter()
                    .map(|url| url.origin().ascii_serialization())
                    .collect(),
            ),
        }
    }

    fn cors(&self) -> Cors {
        Cors::new()
            .allow_origins(self.origins.iter().map(String::as_str))
            .allow_credentials(true)
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
            .expose_headers([header::WWW_AUTHENTICATE, header::RETRY_AFTER])
            .max_age(600)
    }
}

impl<E: Endpoint + 'static> Middleware<E> for AllowedOrigins {
    type Output = CorsFor<E>;

    fn transform(&self, inner: E) -> Self::Output {
        let inner = Arc::new(inner);
        CorsFor {
            with_cors: self.cors().transform(Arc::clone(&inner)),
            inner,
            origins: Arc::clone(&self.origins),
        }
    }
}

/// The endpoint [`AllowedOrigins`] wraps the service in.
pub struct CorsFor<E> {
    inner: Arc<E>,
    with_cors: CorsEndpoint<Arc<E>>,
    origins: Arc<HashSet<String>>,
}

impl<E> std::fmt::Debug for CorsFor<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorsFor")
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl<E: Endpoint> Endpoint for CorsFor<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let allowed = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|origin| origin.to_str().ok())
            .is_some_and(|origin| self.origins.contains(origin));
        if allowed {
            self.with_cors.call(req).await
        } else {
            self.inner.call(req).await.map(IntoResponse::into_response)
        }
    }
}
