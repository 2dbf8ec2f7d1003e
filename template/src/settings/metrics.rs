//! `[metrics]`: the Prometheus listener, off unless a port is set.
//!
//! Metrics are served on a listener of their own, never on the service's
//! port: behind a gateway that exposes the service, they stay private unless
//! someone binds them to a public address on purpose.

use std::net::IpAddr;

use serde::Deserialize;

use super::{ServerSettings, SettingsError};

/// Checked `[metrics]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    /// Address of the metrics listener: an IP address or `localhost`.
    pub host: String,
    /// Its port; `None` turns metrics off (nothing is recorded or served).
    /// 0 picks a free port (tests).
    pub port: Option<u16>,
}

impl MetricsSettings {
    /// Metrics off, as when `metrics.port` is unset.
    #[must_use]
    pub fn off() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: None,
        }
    }
}

/// `[metrics]` as written. The port is read as text so that an empty
/// `APP__METRICS__PORT=` means unset, like a missing key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    host: String,
    #[serde(default)]
    port: Option<String>,
}

impl RawMetrics {
    pub(super) fn check(self, server: &ServerSettings) -> Result<MetricsSettings, SettingsError> {
        let host = self.host.trim();
        if host != "localhost" && host.parse::<IpAddr>().is_err() {
            return Err(SettingsError::new(
                "metrics.host",
                format!(
                    "\"{host}\" is not an IP address (e.g. 127.0.0.1, 0.0.0.0, ::) or localhost"
                ),
            ));
        }
        let port = match self.port.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(port) => Some(port.parse::<u16>().map_err(|_| {
                SettingsError::new(
                    "metrics.port",
                    format!(
                        "\"{port}\" is not a TCP port (0 to 65535); unset it to turn metrics off"
                    ),
                )
            })?),
        };
        if port.is_some_and(|port| port != 0 && port == server.port) {
            return Err(SettingsError::new(
                "metrics.port",
                "is server.port: metrics need a listener of their own, so that they are never served where the API is",
            ));
        }
        Ok(MetricsSettings {
            host: host.to_owned(),
            port,
        })
    }
}
