//! The middleware half of the middleware/extractor pair: it gives every request
//! a slot in which the extractors resolve the user, lazily and at most once,
//! and marks every response that depended on who the user is.

use std::sync::Arc;

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderValue, header},
};
use tokio::sync::OnceCell;
use tracing::Instrument;

use super::{Authenticator, authenticator::Outcome};

/// Installs authentication on every route below it.
#[derive(Debug, Clone)]
pub struct AuthMiddleware {
    authenticator: Arc<Authenticator>,
}

impl AuthMiddleware {
    /// Authentication with `authenticator`, shared by all requests.
    #[must_use]
    pub fn new(authenticator: Arc<Authenticator>) -> Self {
        Self { authenticator }
    }
}

impl<E: Endpoint> Middleware<E> for AuthMiddleware {
    type Output = AuthEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AuthEndpoint {
            inner,
            authenticator: Arc::clone(&self.authenticator),
        }
    }
}

/// The endpoint [`AuthMiddleware`] wraps routes in.
#[derive(Debug)]
pub struct AuthEndpoint<E> {
    inner: E,
    authenticator: Arc<Authenticator>,
}

impl<E: Endpoint> Endpoint for AuthEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        // Nothing is parsed or verified here: a public endpoint never pays for it.
        let outcome = Arc::new(OnceCell::new());
        req.extensions_mut().insert(LazyAuth {
            authenticator: Arc::clone(&self.authenticator),
            outcome: Arc::clone(&outcome),
        });
        let result = self.inner.call(req).await;
        if !outcome.initialized() {
            return result.map(IntoResponse::into_response);
        }
        // The answer depended on who asked: no shared cache may keep it, and a
        // private one must tell the cookies and the Authorization header apart.
        let mut response =
            result.map_or_else(poem::Error::into_response, IntoResponse::into_response);
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.append(
            header::VARY,
            HeaderValue::from_static("Cookie, Authorization"),
        );
        Ok(response)
    }
}

/// Per-request authentication state, resolved on first use.
#[derive(Clone)]
pub(super) struct LazyAuth {
    pub(super) authenticator: Arc<Authenticator>,
    outcome: Arc<OnceCell<Outcome>>,
}

impl LazyAuth {
    /// The request's outcome, computed the first time it is asked for, in a
    /// span of its own (a step of the request's trace).
    pub(super) async fn outcome(&self, req: &Request) -> &Outcome {
        self.outcome
            .get_or_init(|| {
                self.authenticator
                    .authenticate(req)
                    .instrument(tracing::info_span!("authenticate"))
            })
            .await
    }
}
