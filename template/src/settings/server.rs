//! `[server]`: where the service listens.

use std::net::IpAddr;

use serde::Deserialize;
use url::{Host, Url};

use super::{SettingsError, in_range};

/// Checked `[server]`.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Address to bind: an IP address or `localhost`.
    pub host: String,
    /// Port to bind; 0 picks a free one (tests).
    pub port: u16,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_timeout_secs: u64,
}

/// `[server]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    host: String,
    port: u16,
    shutdown_timeout_secs: u64,
}

impl RawServer {
    pub(super) fn check(self) -> Result<ServerSettings, SettingsError> {
        let host = self.host.trim();
        if host != "localhost" && host.parse::<IpAddr>().is_err() {
            return Err(SettingsError::new(
                "server.host",
                format!(
                    "\"{host}\" is not an IP address (e.g. 127.0.0.1, 0.0.0.0, ::) or localhost"
                ),
            ));
        }
        Ok(ServerSettings {
            host: host.to_owned(),
            port: self.port,
            shutdown_timeout_secs: in_range(
                "server.shutdown_timeout_secs",
                self.shutdown_timeout_secs,
                0..=3600,
            )?,
        })
    }
}

impl ServerSettings {
    /// Whether the service listens on this machine only.
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// Whether `url` names this machine: a loopback address, `localhost`, or a
/// name under `.localhost`, which browsers resolve to loopback (RFC 6761).
#[must_use]
pub fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.');
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
