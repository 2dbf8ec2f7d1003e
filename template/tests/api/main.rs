//! The service's integration tests: one binary, one module per area.
//!
//! Each test starts the real application on a random port with a fresh
//! database and talks to it over HTTP with tokens minted like the Auth
//! service's. Set `TEST_LOG=1` to see the service's logs.

mod claims;
mod cli;
mod cors;
mod credentials;
mod csrf;
mod database;
mod dev_login;
mod health;
mod helpers;
{% if key_source == "jwks" %}mod jwks;
{% endif %}mod keys;
mod metrics;
mod openapi;
mod prefix;
mod process;
mod redirect;
{% if database != "sqlite" %}mod replicas;
{% endif %}mod request_ids;
mod settings;
mod tokens;
{% if traces %}mod traces;
{% endif %}mod users;
