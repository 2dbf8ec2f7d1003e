//! Probes for orchestrators and load balancers.

use std::sync::Arc;

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use sea_orm::DatabaseConnection;

use super::ApiTags;
use crate::auth::Authenticator;

/// `/health/*`.
#[derive(Debug)]
pub struct HealthApi {
    db: DatabaseConnection,
    /// Readiness asks it whether the signing keys are there.
    authenticator: Arc<Authenticator>,
}

impl HealthApi {
    pub(super) fn new(db: DatabaseConnection, authenticator: Arc<Authenticator>) -> Self {
        Self { db, authenticator }
    }
}

/// A probe's answer.
#[derive(Debug, Object)]
struct Status {
    /// `ok`, or what is not.
    status: String,
}

#[derive(Debug, ApiResponse)]
enum ReadyResponse {
    /// Ready to serve: the database answers and the signing keys are there.
    #[oai(status = 200)]
    Ready(Json<Status>),
    /// Not ready: the database does not answer, or the signing keys have not
    /// arrived yet.
    #[oai(status = 503)]
    NotReady(Json<Status>),
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness
    ///
    /// Answers 200 while the process serves HTTP; it checks nothing else, so a
    /// database outage never gets the service restarted.
    #[oai(path = "/health/live", method = "get")]
    async fn live(&self) -> Json<Status> {
        Json(Status {
            status: "ok".to_owned(),
        })
    }

    /// Readiness
    ///
    /// Answers 200 when the database answers a ping and the keys that verify
    /// tokens are there, 503 otherwise, so a load balancer sends traffic only
    /// to replicas that can serve it.
    #[oai(path = "/health/ready", method = "get")]
    async fn ready(&self) -> ReadyResponse {
        // Without keys every user would be anonymous: not a state to route to.
        if !self.authenticator.keys().is_ready() {
            return ReadyResponse::NotReady(Json(Status {
                status: "signing keys unavailable".to_owned(),
            }));
        }
        match self.db.ping().await {
            Ok(()) => ReadyResponse::Ready(Json(Status {
                status: "ok".to_owned(),
            })),
            Err(error) => {
                tracing::warn!(%error, "readiness: database unreachable");
                ReadyResponse::NotReady(Json(Status {
                    status: "database unavailable".to_owned(),
                }))
            }
        }
    }
}
