//! OpenTelemetry traces: not part of this service, which was generated
//! without them (`traces=false`); none of their crates is compiled in.
//!
//! This is the interface [`super`] uses, doing nothing but create the
//! request's span for the logs. Generate the service with `traces=true` for
//! the version that exports spans over OTLP.

use poem::{
    Request,
    http::{Method, StatusCode},
};
use sea_orm::metric::Info;
use serde::Deserialize;
use tracing::{Span, field::Empty};
use tracing_subscriber::layer::Identity;

use crate::settings::SettingsError;

/// The `traces` label of `service_build_info`.
pub const LABEL: &str = "off";

/// `[traces]`: without traces, the section takes no key, so a setting meant
/// for traces says at start-up that they are not compiled in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracesSettings {}

impl TracesSettings {
    /// Nothing to check.
    #[allow(clippy::unnecessary_wraps)] // Settings with traces can fail.
    pub(crate) fn check(self) -> Result<Self, SettingsError> {
        Ok(self)
    }
}

/// Nothing to flush when the process ends.
#[derive(Debug)]
pub struct Guard;

/// No exporting layer.
pub(super) fn layer(_settings: &TracesSettings) -> (Identity, Guard) {
    (Identity::new(), Guard)
}

/// The span a request runs in.
pub(super) fn request_span(req: &Request, request_id: &str) -> Span {
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id,
        trace_id = Empty,
    )
}

/// Nothing to add to the request's span.
pub(super) fn record_response(_method: &Method, _route: Option<&str>, _status: StatusCode) {}

/// Statements make no span.
pub(crate) fn record_statement(_info: &Info<'_>) {}
