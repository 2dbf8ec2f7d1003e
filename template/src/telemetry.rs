//! Logging: one subscriber for the whole process, and a span per request.
//!
//! Request spans record the method, the path and the request id only: never
//! the query string, headers or cookies, so no token can reach the logs. Every
//! line logged while a request is served (authentication's "token rejected"
//! among them) carries its span, so its `request_id`, and its `trace_id` when
//! the caller sent a W3C `traceparent`.
//!
//! The request id is the caller's `X-Request-Id` when it is a sane one (1 to
//! 64 characters of `A-Z a-z 0-9 . _ -`), so a gateway's id follows the
//! request through; anything else (too long, control characters, a header
//! that is not text) is replaced by a new UUID, never echoed. The response
//! carries it back in `X-Request-Id`. Handlers can read it as [`RequestId`].
//!
//! [`traces`] exports the spans as OpenTelemetry traces when the service was
//! generated with them.

pub mod traces;

use std::{io::IsTerminal, time::Instant};

use poem::{
    Endpoint, EndpointExt, IntoResponse, PathPattern, Request, Response,
    http::{HeaderName, HeaderValue},
};
use tracing::Instrument;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::{
    metrics::Metrics,
    settings::log::{LogFormat, LogSettings},
};

/// `X-Request-Id`, read from requests and set on responses.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// Longest `X-Request-Id` kept.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// Installs the global subscriber. `RUST_LOG` overrides `log.filter`.
/// Calling it again (as tests do) leaves the first subscriber in place.
///
/// With traces, spans are exported too, as `traces` says; keep the returned
/// guard until the process ends, so the last spans are sent.
#[must_use = "dropping the guard stops exporting traces"]
pub fn init(settings: &LogSettings, traces: &traces::TracesSettings) -> traces::Guard {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (exporter, guard) = traces::layer(traces);
    let registry = tracing_subscriber::registry().with(filter).with(exporter);
    // `try_init` fails only when a subscriber is already set: keep that one.
    let _ = match settings.format {
        // Colours only on a terminal: escape codes are noise in files and collectors.
        LogFormat::Pretty => registry
            .with(fmt::layer().with_ansi(std::io::stdout().is_terminal()))
            .try_init(),
        LogFormat::Json => registry.with(fmt::layer().json()).try_init(),
    };
    guard
}

/// The id of the request being served, as it appears in its log lines and in
/// the response's `X-Request-Id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The caller's id when it is a sane one, else a new UUID.
    fn of(req: &Request) -> Self {
        let given = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .filter(|value| value.to_str().is_ok_and(is_sane_request_id));
        if let Some(value) = given {
            return Self(value.clone());
        }
        let mut text = uuid::Uuid::encode_buffer();
        let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        // A UUID is always a valid header value.
        Self(HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("-")))
    }

    /// The id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Made of sane characters only, see `of`.
        self.0.to_str().unwrap_or_default()
    }
}

/// 1 to [`MAX_REQUEST_ID_LEN`] characters of `A-Z a-z 0-9 . _ -`: what fits
/// any log line and header unescaped.
#[must_use]
pub fn is_sane_request_id(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The trace id of a W3C `traceparent` header (`00-<trace id>-<parent id>-<flags>`),
/// when it is well formed: 32 lowercase hex digits, not all zero.
#[must_use]
pub fn traceparent_trace_id(req: &Request) -> Option<&str> {
    let value = req.headers().get("traceparent")?.to_str().ok()?;
    let mut parts = value.split('-');
    let (version, trace_id, parent_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    // Version 00 has exactly four parts; later versions may add more.
    let well_formed = hex(version, 2)
        && version != "ff"
        && (version != "00" || parts.next().is_none())
        && hex(trace_id, 32)
        && hex(parent_id, 16)
        && hex(flags, 2)
        && trace_id.bytes().any(|b| b != b'0')
        && parent_id.bytes().any(|b| b != b'0');
    well_formed.then_some(trace_id)
}

/// Wraps `endpoint` so every request gets an id, runs in a span, ends with
/// one log line, and is counted in `metrics`.
pub fn trace_requests<E: Endpoint + 'static>(
    endpoint: E,
    metrics: Metrics,
) -> impl Endpoint<Output = Response> {
    endpoint.around(move |endpoint, mut req| {
        let metrics = metrics.clone();
        async move {
            let request_id = RequestId::of(&req);
            let span = traces::request_span(&req, request_id.as_str());
            if let Some(trace_id) = traceparent_trace_id(&req) {
                span.record("trace_id", trace_id);
            }
            let method = req.method().clone();
            req.extensions_mut().insert(request_id.clone());
            async move {
                let started = Instant::now();
                let mut response = endpoint
                    .call(req)
                    .await
                    .map_or_else(poem::Error::into_response, IntoResponse::into_response);
                let elapsed = started.elapsed();
                let status = response.status();
                let route = response.data::<PathPattern>().map(|p| &*p.0);
                tracing::info!(
                    status = status.as_u16(),
                    micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
                    "served"
                );
                traces::record_response(&method, route, status);
                metrics.observe_request(route, &method, status, elapsed);
                response
                    .headers_mut()
                    .insert(REQUEST_ID_HEADER, request_id.0.clone());
                Ok(response)
            }
            .instrument(span)
            .await
        }
    })
}
