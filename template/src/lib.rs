//! {{project-name}}: {{description}}
//!
//! A tour of the modules, in the order a request meets them:
//!
//! - [`settings`]: typed, validated configuration (`config/*.toml`, `APP__…`).
//! - [`startup`]: [`startup::Application`] builds the routes, binds, serves and
//!   shuts down gracefully; tests build it on port 0.
//! - [`telemetry`]: logging, a span per request with its request id; tokens
//!   never logged; [`telemetry::traces`]: OpenTelemetry traces, when generated.
//! - [`metrics`]: Prometheus metrics on a listener of their own (`metrics.port`).
//! - [`cors`]: credentialed CORS for browser front-ends on sibling origins.
//! - [`auth`]: who the user is, from the Auth service's JWT cookies (or a bearer
//!   token); self-contained, it talks to the rest only through its settings and
//!   the [`auth::UserStore`] trait.
//! - [`api`]: the OpenAPI operations (`/api/...`, spec at `/openapi.json`,
//!   Swagger UI at `/docs`); [`pages`]: server-rendered HTML.
//! - [`db`]: connecting and migrating; [`entities`]: SeaORM table definitions;
//!   [`models`]: queries on them.
//! - [`error`]: the handlers' error type and its HTTP mapping.
//! - [`dev_login`]: a development-only sign-in page standing in for the Auth service.
//! - [`cli`]: `serve`, `migrate`, `mint-token`, `check-config`.

pub mod api;
pub mod auth;
pub mod cli;
pub mod cors;
pub mod db;
pub mod dev_login;
pub mod entities;
pub mod error;
pub mod metrics;
pub mod models;
pub mod pages;
pub mod settings;
pub mod startup;
pub mod telemetry;
