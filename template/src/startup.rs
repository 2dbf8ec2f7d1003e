//! Building and running the application: database, authentication, routes,
//! listeners (the API's and, when on, the metrics'), graceful shutdown. Tests
//! use the same [`Application::build`] with port 0 and a fresh database.

use std::{future::Future, io, sync::Arc, time::Duration};

use poem::{
    EndpointExt, Route, Server,
    endpoint::make_sync,
    get,
    http::header,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
    web::Html,
};
use poem_openapi::OpenApiService;
use sea_orm::DatabaseConnection;

use crate::{
    api,
    auth::{
        ACCESS_COOKIE_NAME_PLACEHOLDER, AuthMiddleware, Authenticator, UserStore, keys::KeyError,
    },
    cors::AllowedOrigins,
    db::{self, ConnectError},
    dev_login::DevLogin,
    metrics::{Metrics, MetricsListener, ObservedStore, observe_statements},
    models::users::DbUserStore,
    pages,
    settings::Settings,
    telemetry,
};

/// Why the service could not start. Each message names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database stayed unreachable through all retries.
    #[error(transparent)]
    Database(#[from] ConnectError),
    /// A migration failed; the message has the URL's password taken out.
    #[error("cannot apply database migrations: {0}")]
    Migration(String),
    /// A configured key cannot be used.
    #[error("invalid setting `auth`: {0}")]
    Key(#[from] KeyError),
    /// The address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// `host:port` from the settings.
        address: String,
        /// Why.
        source: io::Error,
    },
}

/// A built application, bound to its port and ready to run.
pub struct Application {
    port: u16,
    acceptor: TcpAcceptor,
    endpoint: poem::endpoint::BoxEndpoint<'static>,
    authenticator: Arc<Authenticator>,
    shutdown_timeout: Duration,
    metrics: Metrics,
    /// Bound when `metrics.port` is set.
    metrics_listener: Option<MetricsListener>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Connects to the database (with retries), applies migrations when
    /// configured to, and binds the listener.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let db = db::connect(&settings.database).await?;
        if settings.database.migrate_on_start {
            db::migrate(&db, &settings.database)
                .await
                .map_err(|e| StartupError::Migration(settings.database.redact(&e.to_string())))?;
        }
        Self::build_with_db(settings, db).await
    }

    /// Like [`Application::build`] on an existing connection, without migrating.
    pub async fn build_with_db(
        settings: Settings,
        mut db: DatabaseConnection,
    ) -> Result<Self, StartupError> {
        let metrics = Metrics::new(&settings.metrics);
        // Before the store takes its clone, so its statements are measured too.
        observe_statements(&mut db, &metrics, |_| {});
        let store = Arc::new(DbUserStore::new(db.clone()));
        Self::build_with_store(settings, db, store, metrics).await
    }

    /// Like [`Application::build_with_db`], with `store` keeping the users
    /// (the test suite wraps the database's store to watch or delay it), and
    /// `metrics` (built from `settings.metrics`) recording what the
    /// application does; the connections `observe_statements` set up report
    /// their statements to it.
    pub async fn build_with_store(
        settings: Settings,
        db: DatabaseConnection,
        store: Arc<dyn UserStore>,
        metrics: Metrics,
    ) -> Result<Self, StartupError> {
        let store = ObservedStore::wrap(store, &metrics);

        let authenticator = Arc::new(Authenticator::new(settings.auth.clone(), store)?);
        // Background work of the key source (fetching a key set) and of the
        // database, started before the listener binds.
        authenticator.keys().start();
        db::start_background_work(&settings.database);
        settings.warn_about_development_conveniences();
        let endpoint = routes(&settings, &db, &authenticator, &metrics);
        metrics.register_service(&db, settings.database.max_connections, &authenticator);

        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let acceptor = TcpListener::bind(address.clone())
            .into_acceptor()
            .await
            .map_err(|source| StartupError::Bind {
                address: address.clone(),
                source,
            })?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().map(std::net::SocketAddr::port))
            .ok_or_else(|| StartupError::Bind {
                address,
                source: io::Error::other("no local address"),
            })?;

        let metrics_listener = match MetricsListener::bind(&settings.metrics).await {
            Ok(listener) => listener,
            Err(source) => {
                return Err(StartupError::Bind {
                    address: format!(
                        "{}:{} (metrics)",
                        settings.metrics.host,
                        settings.metrics.port.unwrap_or_default()
                    ),
                    source,
                });
            }
        };

        Ok(Self {
            port,
            acceptor,
            endpoint,
            authenticator,
            shutdown_timeout: Duration::from_secs(settings.server.shutdown_timeout_secs),
            metrics,
            metrics_listener,
        })
    }

    /// The port actually bound (useful with port 0).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port the metrics are served on, when they are on.
    #[must_use]
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener.as_ref().map(MetricsListener::port)
    }

    /// The application's authenticator.
    #[must_use]
    pub fn authenticator(&self) -> &Arc<Authenticator> {
        &self.authenticator
    }

    /// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send) -> io::Result<()> {
        // One signal stops both listeners.
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let metrics = self.metrics_listener.map(|listener| {
            tracing::info!(port = listener.port(), "serving metrics at /metrics");
            let until_stopped = async move {
                let _ = stopped.wait_for(|stopped| *stopped).await;
            };
            tokio::spawn(listener.run(self.metrics.clone(), until_stopped))
        });
        let upkeep = self.metrics.spawn_upkeep();
        tracing::info!(port = self.port, "listening");
        let served = Server::new_with_acceptor(self.acceptor).run_with_graceful_shutdown(
            self.endpoint,
            async move {
                signal.await;
                stop.send_replace(true);
            },
            Some(self.shutdown_timeout),
        );
        let served = served.await;
        if let Some(upkeep) = upkeep {
            upkeep.abort();
        }
        if let Some(metrics) = metrics {
            // A failure of the metrics listener is not worth failing shutdown for.
            if let Ok(Err(error)) = metrics.await {
                tracing::warn!(%error, "the metrics listener failed");
            }
        }
        served?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Every route of the service.
fn routes(
    settings: &Settings,
    db: &DatabaseConnection,
    authenticator: &Arc<Authenticator>,
    metrics: &Metrics,
) -> poem::endpoint::BoxEndpoint<'static> {
    let api = OpenApiService::new(
        api::all(db, authenticator),
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
    )
    .description(concat!(
        env!("CARGO_PKG_DESCRIPTION"),
        "\n\nAuthentication: the central Auth service's access token, from its cookie \
         (browsers) or an `Authorization: Bearer` header (API clients)."
    ))
    // Behind a gateway that strips a path prefix, the API is under it.
    .server(format!("{}/api", settings.auth.path_prefix()));

    // poem-openapi only takes `'static` names, so the cookie's name is filled
    // in here from the settings, once, in the spec and in Swagger UI's copy.
    let spec = api.spec();
    let cookie_name =
        serde_json::to_string(&settings.auth.access_cookie).unwrap_or_else(|_| "\"\"".to_owned());
    let placeholder = format!("\"{ACCESS_COOKIE_NAME_PLACEHOLDER}\"");
    let swagger_ui = api
        .swagger_ui_html()
        .replace(&spec, &spec.replace(&placeholder, &cookie_name));
    let spec = spec.replace(&placeholder, &cookie_name);

    let mut app = Route::new()
        .at("/", get(pages::home))
        .at("/me/", get(pages::me))
        .nest("/api", api)
        .at(
            "/openapi.json",
            make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json; charset=utf-8")
                    .body(spec.clone())
            }),
        )
        .at("/docs", make_sync(move |_| Html(swagger_ui.clone())));
    if settings.dev_login.enabled {
        let dev = DevLogin::new(settings.auth.clone(), settings.dev_login.lifetimes());
        app = app.nest("/dev", dev.routes());
    }
    let app = app
        .with(AuthMiddleware::new(Arc::clone(authenticator)))
        .with(
            poem::middleware::SetHeader::new()
                .overriding(header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        )
        // Outside authentication: preflights are answered without it.
        .with_if(
            !settings.cors_allowed_origins.is_empty(),
            AllowedOrigins::new(&settings.cors_allowed_origins),
        );
    telemetry::trace_requests(app, metrics.clone()).boxed()
}

/// Completes on SIGTERM (orchestrators) or Ctrl-C (people).
///
/// The handlers are installed here, before the service says it is listening:
/// a signal that arrives at once must not meet the default action, which ends
/// the process without a graceful shutdown.
fn shutdown_signal() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    let (mut terminate, mut interrupt) = {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind: SignalKind, name: &str| {
            signal(kind)
                .inspect_err(|error| tracing::error!(%error, "cannot listen for {name}"))
                .ok()
        };
        (
            install(SignalKind::terminate(), "SIGTERM"),
            install(SignalKind::interrupt(), "SIGINT"),
        )
    };
    async move {
        #[cfg(unix)]
        tokio::select! {
            () = received(terminate.as_mut()) => {},
            () = received(interrupt.as_mut()) => {},
        }
        #[cfg(not(unix))]
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}

/// Completes when `signal` arrives; never, when it could not be installed.
#[cfg(unix)]
async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}
