//! OpenTelemetry traces, exported over OTLP/HTTP (protobuf) to
//! `traces.otlp_endpoint`: a collector next to the service (an agent or
//! sidecar, which forwards them over TLS to your tracing backend).
//!
//! A request's trace: the request's span (kind server, named
//! `GET /api/me` after its route template, with the route and status), its
//! `authenticate` span when it asked who the user is, and one span (kind
//! client) per database statement, each the child of the span it ran in. A
//! W3C `traceparent` header on the request makes its span the child of the
//! caller's, in the caller's trace.
//!
//! Spans come from `tracing`: every `info` span of the service is exported
//! (so `log.filter` must let `info` through, as it does by default), and the
//! lines logged inside a span become its events. Statements do not make
//! `tracing` spans (SeaORM does not time them as spans), so their spans are
//! made from SeaORM's metric callback: the statement's SQL, never its values,
//! with the time it took. Exporting runs in the background, in batches; the
//! [`Guard`] sends what is left when the process ends.

use std::{
    sync::OnceLock,
    time::{Duration, SystemTime},
};

use opentelemetry::{
    KeyValue,
    propagation::{Extractor, TextMapPropagator},
    trace::{
        Span as _, SpanKind, Status, TraceContextExt as _, TraceId, Tracer as _,
        TracerProvider as _,
    },
};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    runtime::Tokio,
    trace::{Sampler, SdkTracer, SdkTracerProvider, span_processor_with_async_runtime},
};
use poem::{
    Request,
    http::{HeaderMap, Method, StatusCode},
};
use sea_orm::{DbBackend, metric::Info};
use serde::Deserialize;
use tracing::{Span, Subscriber, field::Empty};
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt};
use tracing_subscriber::registry::LookupSpan;

use crate::settings::SettingsError;

/// The `traces` label of `service_build_info`.
pub const LABEL: &str = "on";

/// The tracer statements' spans are made with, once exporting has started.
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// `[traces]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracesSettings {
    /// OTLP/HTTP traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces`;
    /// unset or empty: nothing is exported.
    pub otlp_endpoint: Option<String>,
    /// Share of new traces recorded, 0 to 1; a caller's `traceparent`
    /// decides for the traces it started.
    pub sample_ratio: f64,
}

impl Default for TracesSettings {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            sample_ratio: 1.0,
        }
    }
}

impl TracesSettings {
    /// Checks the endpoint (an absolute http(s) URL) and the ratio.
    pub(crate) fn check(self) -> Result<Self, SettingsError> {
        let otlp_endpoint = match self.otlp_endpoint.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => Some(collector_url(url)?),
        };
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            return Err(SettingsError::new(
                "traces.sample_ratio",
                format!("is {}; it must be between 0 and 1", self.sample_ratio),
            ));
        }
        Ok(Self {
            otlp_endpoint,
            sample_ratio: self.sample_ratio,
        })
    }
}

/// `traces.otlp_endpoint`: plain `http://` to a host, without user
/// information. The exporter speaks no TLS: a collector next to the service
/// does, towards the tracing backend.
fn collector_url(value: &str) -> Result<String, SettingsError> {
    const KEY: &str = "traces.otlp_endpoint";
    let url = url::Url::parse(value).map_err(|e| {
        SettingsError::new(KEY, format!("\"{value}\" is not an absolute URL ({e})"))
    })?;
    if url.scheme() != "http" || !url.has_host() {
        return Err(SettingsError::new(
            KEY,
            format!(
                "\"{value}\" must be an http:// URL: send traces to a collector next to the service, which forwards them over TLS"
            ),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SettingsError::new(
            KEY,
            format!("\"{value}\" must not contain user information"),
        ));
    }
    Ok(url.into())
}

/// Keeps the exporter; dropping it sends the spans not sent yet.
#[derive(Debug)]
pub struct Guard(Option<SdkTracerProvider>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(error) = provider.shutdown_with_timeout(Duration::from_secs(5))
        {
            eprintln!("warning: cannot send the last traces: {error}");
        }
    }
}

/// The layer that exports spans, when `traces.otlp_endpoint` is set. Must be
/// called inside the Tokio runtime, which sends the batches.
pub(super) fn layer<S>(
    settings: &TracesSettings,
) -> (Option<OpenTelemetryLayer<S, SdkTracer>>, Guard)
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let Some(endpoint) = &settings.otlp_endpoint else {
        return (None, Guard(None));
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint.clone())
        .with_timeout(Duration::from_secs(10))
        .build();
    let exporter = match exporter {
        Ok(exporter) => exporter,
        Err(error) => {
            // Logging is not set up yet; say it once and serve without traces.
            eprintln!("warning: traces are off: cannot export to {endpoint}: {error}");
            return (None, Guard(None));
        }
    };
    let processor =
        span_processor_with_async_runtime::BatchSpanProcessor::builder(exporter, Tokio).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            settings.sample_ratio,
        ))))
        .with_resource(
            Resource::builder()
                .with_service_name(env!("CARGO_PKG_NAME"))
                .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                .build(),
        )
        .build();
    let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
    let _ = TRACER.set(tracer.clone());
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_threads(false);
    (Some(layer), Guard(Some(provider)))
}

/// The span a request runs in: a server span, the child of the caller's
/// when a valid `traceparent` came with the request.
pub(super) fn request_span(req: &Request, request_id: &str) -> Span {
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id,
        trace_id = Empty,
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %req.method(),
        http.route = Empty,
        http.response.status_code = Empty,
    );
    if TRACER.get().is_some() {
        let caller = TraceContextPropagator::new().extract(&Headers(req.headers()));
        let _ = span.set_parent(caller);
        // The logs name the trace, the caller's or a new one.
        let trace_id = span.context().span().span_context().trace_id();
        if trace_id != TraceId::INVALID {
            span.record("trace_id", trace_id.to_string());
        }
    }
    span
}

/// Names the request's span after its route template and records its status.
pub(super) fn record_response(method: &Method, route: Option<&str>, status: StatusCode) {
    if TRACER.get().is_none() {
        return;
    }
    let span = Span::current();
    let route = route.unwrap_or("unmatched");
    // The span has started by now (its children needed it): rename it there.
    span.context()
        .span()
        .update_name(format!("{method} {route}"));
    span.record("http.route", route);
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
}

/// A client span for one statement, ending now, in the span it ran in.
pub(crate) fn record_statement(info: &Info<'_>) {
    let Some(tracer) = TRACER.get() else {
        return;
    };
    let end = SystemTime::now();
    let start = end.checked_sub(info.elapsed).unwrap_or(end);
    let sql = &info.statement.sql;
    let operation = sql
        .split_whitespace()
        .next()
        .unwrap_or("statement")
        .to_ascii_uppercase();
    let system = match info.statement.db_backend {
        DbBackend::MySql => "mysql",
        DbBackend::Postgres => "postgresql",
        _ => "sqlite",
    };
    let mut span = tracer
        .span_builder(operation.clone())
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes([
            KeyValue::new("db.system.name", system),
            KeyValue::new("db.operation.name", operation),
            // The SQL with its placeholders: the values (claims) stay out.
            KeyValue::new("db.query.text", sql.clone()),
        ])
        .start_with_context(tracer, &Span::current().context());
    if info.failed {
        span.set_status(Status::error("the statement failed"));
    }
    span.end_with_timestamp(end);
}

/// Reads `traceparent` (and `tracestate`) from a request's headers.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(poem::http::HeaderName::as_str).collect()
    }
}
