//! Prometheus metrics: what the service records, and the listener that serves
//! them in the Prometheus text format.
//!
//! Off unless `metrics.port` is set (see [`crate::settings::metrics`]); then
//! every series is recorded by a recorder of this application's own (no
//! process-wide state: each application, and each test, counts its own) and
//! served at `GET /metrics` on a listener separate from the API's, so the
//! metrics are never public by accident.
//!
//! The series, all of them documented in the README:
//!
//! - HTTP: `http_request_duration_seconds{route, method, status}`, a
//!   histogram whose `_count` counts the requests. `route` is the matched
//!   route *template* (`/api/users/:param0/activate`: poem's pattern, whose
//!   path parameters poem-openapi numbers), never the raw path, so the
//!   number of series stays bounded; `unmatched` for a 404 no route took.
//! - Authentication: see [`crate::auth::metrics`]; with a JWKS, the key set's
//!   fetches, failures, keys and age.
//! - Database: the duration of every statement, the pool's connections in use
//!   and idle, and how long the user store waited for a connection.
//! - `service_build_info{version, database, key_source, traces}`, always 1.
//!
//! Recording costs little on the hot path: authentication's counters are
//! atomics of its own, read at each scrape, and a request's histogram is
//! found in a small map without allocating. What only a scrape needs (those
//! counters, pool sizes, the key set's age) is read when a scrape comes, by
//! the collectors.

mod pool;

use std::{
    cell::Cell,
    collections::HashMap,
    fmt, io,
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::Duration,
};

use ::metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, NoopRecorder, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use poem::{
    EndpointExt, Route, get,
    http::{Method, StatusCode},
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
};
use sea_orm::{DatabaseConnection, metric::Info};

use crate::{
    auth::{StoreFuture, Synced, UserClaims, UserStore},
    settings::MetricsSettings,
};

/// `http_request_duration_seconds{route, method, status}`.
pub const HTTP_REQUEST_DURATION: &str = "http_request_duration_seconds";
/// `db_statement_duration_seconds{outcome}`.
pub const DB_STATEMENT_DURATION: &str = "db_statement_duration_seconds";
/// `db_pool_connections{state}`.
pub const DB_POOL_CONNECTIONS: &str = "db_pool_connections";
/// `db_pool_max_connections`.
pub const DB_POOL_MAX_CONNECTIONS: &str = "db_pool_max_connections";
/// `db_acquire_duration_seconds`.
pub const DB_ACQUIRE_DURATION: &str = "db_acquire_duration_seconds";
/// `auth_jwks_fetches_total`.
pub const JWKS_FETCHES: &str = "auth_jwks_fetches_total";
/// `auth_jwks_fetch_failures_total`.
pub const JWKS_FAILURES: &str = "auth_jwks_fetch_failures_total";
/// `auth_jwks_keys`.
pub const JWKS_KEYS: &str = "auth_jwks_keys";
/// `auth_jwks_age_seconds`.
pub const JWKS_AGE: &str = "auth_jwks_age_seconds";
/// `service_build_info{version, database, key_source, traces}`.
pub const BUILD_INFO: &str = "service_build_info";

/// The `route` label of a request no route matched.
const UNMATCHED: &str = "unmatched";

/// Histogram buckets, in seconds: from half a millisecond (a cached
/// authenticated request) to ten seconds (a request that waited out the pool).
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into their buckets when no scrape
/// does it, so memory stays flat between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), ::metrics::Level::INFO, Some(module_path!()));

/// Reads something only a scrape needs, and records it.
type Collector = Box<dyn Fn(&dyn Recorder) + Send + Sync>;

/// Request histograms by (method, status), then by route template: found
/// with a borrowed route, so a request allocates nothing once its series exists.
type RequestHistograms = HashMap<(&'static str, u16), HashMap<Box<str>, Histogram>>;

/// The metrics of one application; cheap to clone. Does nothing when off.
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<Inner>>);

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    requests: RwLock<RequestHistograms>,
    statements_ok: Histogram,
    statements_failed: Histogram,
    acquire: Histogram,
    collectors: Mutex<Vec<Collector>>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("on", &self.is_on())
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics as `settings` say: on when `metrics.port` is set.
    #[must_use]
    pub fn new(settings: &MetricsSettings) -> Self {
        if settings.port.is_none() {
            return Self(None);
        }
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            // Only fails for an empty list of buckets.
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        let histogram = |name: &'static str, labels: &[(&'static str, &'static str)]| {
            recorder.register_histogram(&key(name, labels), &METADATA)
        };
        let statements_ok = histogram(DB_STATEMENT_DURATION, &[("outcome", "ok")]);
        let statements_failed = histogram(DB_STATEMENT_DURATION, &[("outcome", "error")]);
        let acquire = histogram(DB_ACQUIRE_DURATION, &[]);
        describe(&recorder);
        Self(Some(Arc::new(Inner {
            recorder,
            handle,
            requests: RwLock::default(),
            statements_ok,
            statements_failed,
            acquire,
            collectors: Mutex::default(),
        })))
    }

    /// Whether metrics are recorded.
    #[must_use]
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// The recorder to register handles with; one that drops everything when
    /// metrics are off.
    #[must_use]
    pub fn recorder(&self) -> &dyn Recorder {
        match &self.0 {
            Some(inner) => &inner.recorder,
            None => &NoopRecorder,
        }
    }

    /// Records one served request. `route` is the matched route template, if
    /// any route matched.
    pub fn observe_request(
        &self,
        route: Option<&str>,
        method: &Method,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let Some(inner) = &self.0 else { return };
        let route = route.unwrap_or(UNMATCHED);
        let group = (method_label(method), status.as_u16());
        let found = inner
            .requests
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&group)
            .and_then(|routes| routes.get(route).cloned());
        let histogram = found.unwrap_or_else(|| {
            let histogram = inner.recorder.register_histogram(
                &Key::from_parts(
                    HTTP_REQUEST_DURATION,
                    vec![
                        Label::new("route", route.to_owned()),
                        Label::from_static_parts("method", group.0),
                        Label::new("status", status.as_str().to_owned()),
                    ],
                ),
                &METADATA,
            );
            inner
                .requests
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(group)
                .or_default()
                .insert(route.into(), histogram.clone());
            histogram
        });
        histogram.record(elapsed.as_secs_f64());
    }

    /// Records one database statement (SeaORM's metric callback).
    fn observe_statement(&self, info: &Info<'_>) {
        if let Some(inner) = &self.0 {
            let histogram = if info.failed {
                &inner.statements_failed
            } else {
                &inner.statements_ok
            };
            histogram.record(info.elapsed.as_secs_f64());
        }
    }

    /// Runs `collect` before every scrape, to record what only a scrape needs.
    pub fn collect(&self, collect: impl Fn(&dyn Recorder) + Send + Sync + 'static) {
        if let Some(inner) = &self.0 {
            inner
                .collectors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Box::new(collect));
        }
    }

    /// Every series in the Prometheus text format (empty when off).
    #[must_use]
    pub fn render(&self) -> String {
        let Some(inner) = &self.0 else {
            return String::new();
        };
        for collect in inner
            .collectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            collect(&inner.recorder);
        }
        inner.handle.render()
    }

    /// Records `service_build_info`, the pool's gauges and, with a JWKS, the
    /// key set's series; called once by the application.
    pub(crate) fn register_service(
        &self,
        db: &DatabaseConnection,
        max_connections: u32,
        authenticator: &Arc<crate::auth::Authenticator>,
    ) {
        if !self.is_on() {
            return;
        }
        let database = match db.get_database_backend() {
            sea_orm::DbBackend::MySql => "mysql",
            sea_orm::DbBackend::Postgres => "postgres",
            _ => "sqlite",
        };
        let settings = authenticator.settings();
        let key_source = if crate::auth::keys::is_hmac(settings.algorithms[0]) {
            "shared_secret"
        } else if settings.keys.fixed().is_empty() {
            "jwks"
        } else {
            "public_key"
        };
        gauge(
            self.recorder(),
            BUILD_INFO,
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("database", database),
                ("key_source", key_source),
                ("traces", crate::telemetry::traces::LABEL),
            ],
        )
        .set(1.0);
        gauge(self.recorder(), DB_POOL_MAX_CONNECTIONS, &[]).set(f64::from(max_connections));

        let db = db.clone();
        self.collect(move |recorder| {
            let (size, idle) = pool::size_and_idle(&db);
            gauge(recorder, DB_POOL_CONNECTIONS, &[("state", "in_use")])
                .set(f64::from(size.saturating_sub(idle)));
            gauge(recorder, DB_POOL_CONNECTIONS, &[("state", "idle")]).set(f64::from(idle));
        });
        let authenticator = Arc::clone(authenticator);
        self.collect(move |recorder| {
            authenticator.counters().export(|name, labels, value| {
                recorder
                    .register_counter(&key(name, labels), &METADATA)
                    .absolute(value);
            });
            let Some(stats) = authenticator.key_set_stats() else {
                return;
            };
            counter(recorder, JWKS_FETCHES).absolute(stats.fetches);
            counter(recorder, JWKS_FAILURES).absolute(stats.failures);
            #[allow(clippy::cast_precision_loss)] // A key set holds 16 keys at most.
            gauge(recorder, JWKS_KEYS, &[]).set(stats.keys as f64);
            if let Some(age) = stats.age {
                gauge(recorder, JWKS_AGE, &[]).set(age.as_secs_f64());
            }
        });
    }

    /// Folds histogram samples into buckets every few seconds, until the
    /// returned task is aborted; without it, samples would pile up in memory
    /// while nobody scrapes.
    pub(crate) fn spawn_upkeep(&self) -> Option<tokio::task::JoinHandle<()>> {
        let handle = self.0.as_ref()?.handle.clone();
        Some(tokio::spawn(async move {
            let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
            loop {
                interval.tick().await;
                handle.run_upkeep();
            }
        }))
    }
}

fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|&(key, value)| Label::from_static_parts(key, value))
        .collect();
    Key::from_parts(name, labels)
}

fn gauge(
    recorder: &dyn Recorder,
    name: &'static str,
    labels: &[(&'static str, &'static str)],
) -> Gauge {
    recorder.register_gauge(&key(name, labels), &METADATA)
}

fn counter(recorder: &dyn Recorder, name: &'static str) -> Counter {
    recorder.register_counter(&key(name, &[]), &METADATA)
}

/// The `method` label: the standard methods by name, anything else `other`,
/// so a client cannot invent series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The `# HELP` lines of the scrape.
fn describe(recorder: &PrometheusRecorder) {
    let help = [
        (
            HTTP_REQUEST_DURATION,
            "HTTP requests by route template, method and status; _count counts them.",
        ),
        (
            crate::auth::metrics::OUTCOMES,
            "Requests that asked who the user is, by outcome and anonymous reason.",
        ),
        (
            crate::auth::metrics::TOKEN_CACHE,
            "Lookups in the cache of validated tokens, by result.",
        ),
        (
            crate::auth::metrics::USER_CACHE,
            "Lookups in the cache of known users, by result.",
        ),
        (
            crate::auth::metrics::USER_SYNCS,
            "Calls to the user store on a user-cache miss (a read, and a write for new or changed users), by result.",
        ),
        (
            DB_STATEMENT_DURATION,
            "Database statements by outcome; _count counts them.",
        ),
        (
            DB_POOL_CONNECTIONS,
            "Connections of the database pool, in use or idle.",
        ),
        (
            DB_POOL_MAX_CONNECTIONS,
            "Size limit of the database pool (database.max_connections).",
        ),
        (
            DB_ACQUIRE_DURATION,
            "Time user-store calls waited for a pooled connection.",
        ),
        (JWKS_FETCHES, "Fetches of the Auth service's JWKS."),
        (
            JWKS_FAILURES,
            "Failed fetches of the JWKS (the last good set is kept).",
        ),
        (JWKS_KEYS, "Usable signing keys in the current JWKS."),
        (JWKS_AGE, "Seconds since the current JWKS was fetched."),
        (
            BUILD_INFO,
            "Version and template choices of this service; always 1.",
        ),
    ];
    // The exporter keeps one description per name, whatever the kind.
    for (name, text) in help {
        recorder.describe_counter(name.into(), None, text.into());
    }
}

/// Makes `db` (and the clones made from it afterwards) report every
/// statement to `metrics`, to the traces, and to `also`: SeaORM keeps one
/// callback per connection, so every observer goes through this one.
pub fn observe_statements(
    db: &mut DatabaseConnection,
    metrics: &Metrics,
    also: impl Fn(&Info<'_>) + Send + Sync + 'static,
) {
    let metrics = metrics.clone();
    db.set_metric_callback(move |info| {
        metrics.observe_statement(info);
        STATEMENT_TIME
            .try_with(|spent| spent.set(spent.get() + info.elapsed))
            .ok();
        crate::telemetry::traces::record_statement(info);
        also(info);
    });
}

tokio::task_local! {
    /// Time the statements of the current user-store call took so far.
    static STATEMENT_TIME: Cell<Duration>;
}

/// A [`UserStore`] that records how long each call waited for a pooled
/// connection: its duration less its statements' (which leaves the wait plus
/// microseconds of driver work). The statements report themselves through
/// [`observe_statements`] on the store's connection.
pub(crate) struct ObservedStore {
    store: Arc<dyn UserStore>,
    metrics: Metrics,
}

impl ObservedStore {
    /// `store` as it is when metrics are off; observed otherwise.
    pub(crate) fn wrap(store: Arc<dyn UserStore>, metrics: &Metrics) -> Arc<dyn UserStore> {
        if metrics.is_on() {
            Arc::new(Self {
                store,
                metrics: metrics.clone(),
            })
        } else {
            store
        }
    }
}

impl UserStore for ObservedStore {
    fn sync_user<'a>(&'a self, claims: &'a UserClaims) -> StoreFuture<'a, Synced> {
        Box::pin(STATEMENT_TIME.scope(Cell::new(Duration::ZERO), async move {
            let started = std::time::Instant::now();
            let result = self.store.sync_user(claims).await;
            let waited = started
                .elapsed()
                .saturating_sub(STATEMENT_TIME.with(Cell::get));
            if let Some(inner) = &self.metrics.0 {
                inner.acquire.record(waited.as_secs_f64());
            }
            result
        }))
    }
}

/// The metrics listener, bound and not serving yet.
pub(crate) struct MetricsListener {
    acceptor: TcpAcceptor,
    port: u16,
}

impl MetricsListener {
    /// Binds `metrics.host:metrics.port`, when metrics are on.
    pub(crate) async fn bind(settings: &MetricsSettings) -> io::Result<Option<Self>> {
        let Some(port) = settings.port else {
            return Ok(None);
        };
        let address = format!("{}:{port}", settings.host);
        let acceptor = TcpListener::bind(address).into_acceptor().await?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().map(std::net::SocketAddr::port))
            .ok_or_else(|| io::Error::other("no local address"))?;
        Ok(Some(Self { acceptor, port }))
    }

    /// The port bound (useful with port 0).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Serves `GET /metrics` until `signal` completes.
    pub(crate) async fn run(
        self,
        metrics: Metrics,
        signal: impl std::future::Future<Output = ()> + Send,
    ) -> io::Result<()> {
        let app = Route::new().at(
            "/metrics",
            get(poem::endpoint::make_sync(move |_| {
                poem::Response::builder()
                    .content_type("text/plain; version=0.0.4; charset=utf-8")
                    .body(metrics.render())
            })),
        );
        poem::Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(app.boxed(), signal, Some(Duration::from_secs(1)))
            .await
    }
}
