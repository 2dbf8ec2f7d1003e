//! Probes for orchestrators and load balancers.

{% if key_source == "jwks" %}use std::sync::Arc;

{% endif %}use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use sea_orm::DatabaseConnection;

use super::ApiTags;{% if key_source == "jwks" %}
use crate::auth::Jwks;{% endif %}

/// `/health/*`.
#[derive(Debug)]
pub struct HealthApi {
    db: DatabaseConnection,
{% if key_source == "jwks" %}    /// The Auth service's keys, when they come from `auth.jwks_url`.
    jwks: Option<Arc<Jwks>>,
{% endif %}}

impl HealthApi {
{% if key_source == "jwks" %}    pub(super) fn new(db: DatabaseConnection, jwks: Option<Arc<Jwks>>) -> Self {
        Self { db, jwks }
    }
{% else %}    pub(super) fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
{% endif %}}

/// A probe's answer.
#[derive(Debug, Object)]
struct Status {
    /// `ok`, or what is not.
    status: String,
}

#[derive(Debug, ApiResponse)]
enum ReadyResponse {
    /// Ready to serve: the database answers{% if key_source == "jwks" %} and the signing keys are loaded{% endif %}.
    #[oai(status = 200)]
    Ready(Json<Status>),
    /// Not ready: the database does not answer{% if key_source == "jwks" %}, or the signing keys have not been fetched yet{% endif %}.
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
    /// Answers 200 when the database answers a ping{% if key_source == "jwks" %} and the Auth service's
    /// signing keys have been fetched (with `auth.jwks_url`){% endif %}, 503 otherwise, so a load
    /// balancer sends traffic only to replicas that can serve it.
    #[oai(path = "/health/ready", method = "get")]
    async fn ready(&self) -> ReadyResponse {
{% if key_source == "jwks" %}        // Without keys every user would be anonymous: not a state to route to.
        if self.jwks.as_ref().is_some_and(|jwks| !jwks.is_ready()) {
            return ReadyResponse::NotReady(Json(Status {
                status: "signing keys unavailable".to_owned(),
            }));
        }
{% endif %}        match self.db.ping().await {
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
