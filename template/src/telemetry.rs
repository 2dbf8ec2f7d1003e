//! Logging: one subscriber for the whole process, and a span per request.
//!
//! Request spans record the method and the path only: never the query string,
//! headers or cookies, so no token can reach the logs.

use std::{io::IsTerminal, time::Instant};

use poem::{Endpoint, EndpointExt, IntoResponse, Response};
use tracing::Instrument;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::settings::log::{LogFormat, LogSettings};

/// Installs the global subscriber. `RUST_LOG` overrides `log.filter`.
/// Calling it again (as tests do) leaves the first subscriber in place.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    // `try_init` fails only when a subscriber is already set: keep that one.
    let _ = match settings.format {
        // Colours only on a terminal: escape codes are noise in files and collectors.
        LogFormat::Pretty => registry
            .with(fmt::layer().with_ansi(std::io::stdout().is_terminal()))
            .try_init(),
        LogFormat::Json => registry.with(fmt::layer().json()).try_init(),
    };
}

/// Wraps `endpoint` so every request runs in a span and ends with one log line.
pub fn trace_requests<E: Endpoint + 'static>(endpoint: E) -> impl Endpoint<Output = Response> {
    endpoint.around(|endpoint, req| async move {
        let span = tracing::info_span!("request", method = %req.method(), path = %req.uri().path());
        async move {
            let started = Instant::now();
            let result = endpoint.call(req).await.map(IntoResponse::into_response);
            let status = match &result {
                Ok(response) => response.status(),
                Err(error) => error.status(),
            };
            tracing::info!(
                status = status.as_u16(),
                micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                "served"
            );
            result
        }
        .instrument(span)
        .await
    })
}
