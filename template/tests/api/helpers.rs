//! Spawning the app and minting tokens.

use std::{
    future::Future,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use {{crate_name}}::{
    auth::{Authenticator, DEVELOPMENT_SECRET, UserStore},
    db,
    entities::users,
    metrics::{Metrics, observe_statements},
    models::users::DbUserStore,
    settings::{Environment, Settings},
    startup::Application,
    telemetry,
};
use reqwest::{RequestBuilder, Response, header};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Value, json};

use crate::database::TestDatabase;

/// Login page and own origin of every test app: the Auth service's example
/// set-up, with the service on `svc.localhost`.
pub(crate) const LOGIN_URL: &str = "http://auth.localhost:8000/login/";
pub(crate) const OWN_URL: &str = "http://svc.localhost:8001";
pub(crate) const ACCESS_COOKIE: &str = "org.breakthesystem.jwt.access";
pub(crate) const REFRESH_COOKIE: &str = "org.breakthesystem.jwt.refresh";

/// A running app with its own database.
pub(crate) struct TestApp {
    pub(crate) address: String,
    pub(crate) db: DatabaseConnection,
    pub(crate) authenticator: Arc<Authenticator>,
    /// SQL statements the app has sent since start (migrations excluded).
    pub(crate) statements: Arc<AtomicUsize>,
    pub(crate) client: reqwest::Client,
    /// `http://127.0.0.1:<port>` of the metrics listener, when `metrics.port` is set.
    pub(crate) metrics_address: Option<String>,
    /// Dropped with the last app on it: the database goes away with the apps.
    database: Arc<TestDatabase>,
}

/// The app with the test settings.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The app with extra setting overrides, e.g. `("auth.leeway_secs", "30")`.
pub(crate) async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let database = Arc::new(TestDatabase::create().await);
    spawn(overrides, database, |db| Arc::new(DbUserStore::new(db))).await
}

/// Another replica of `app`: an app of its own on the same database.
pub(crate) async fn spawn_replica_of(app: &TestApp, overrides: &[(&str, &str)]) -> TestApp {
    spawn(overrides, Arc::clone(&app.database), |db| {
        Arc::new(DbUserStore::new(db))
    })
    .await
}

/// The app with `store` (given the app's database) keeping its users.
pub(crate) async fn spawn_app_with_store(
    store: impl FnOnce(DatabaseConnection) -> Arc<dyn UserStore>,
) -> TestApp {
    let database = Arc::new(TestDatabase::create().await);
    spawn(&[], database, store).await
}

async fn spawn(
    overrides: &[(&str, &str)],
    database: Arc<TestDatabase>,
    store: impl FnOnce(DatabaseConnection) -> Arc<dyn UserStore>,
) -> TestApp {
    let mut settings = test_settings(overrides).expect("test settings are valid");
    if std::env::var_os("TEST_LOG").is_some() {
        // Traces are not exported from the test suite (tests/api/traces.rs
        // runs the binary for that), so the guard has nothing to keep.
        drop(telemetry::init(&settings.log, &settings.traces));
    }
    settings.database.url = database.url().to_owned().into();

    let mut db = db::connect(&settings.database).await.expect("database");
    db::migrate(&db, &settings.database)
        .await
        .expect("migrations");
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&statements);
    let metrics = Metrics::new(&settings.metrics);
    observe_statements(&mut db, &metrics, move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });

    let app = Application::build_with_store(settings, db.clone(), store(db.clone()), metrics)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    let authenticator = Arc::clone(app.authenticator());
    tokio::spawn(app.run_until(std::future::pending()));

    TestApp {
        address,
        db,
        authenticator,
        statements,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client"),
        metrics_address,
        database,
    }
}

/// The `test` environment's settings with the test suite's fixed values.
pub(crate) fn test_settings(
    overrides: &[(&str, &str)],
) -> Result<Settings, {{crate_name}}::settings::SettingsError> {
    let mut all = vec![
        ("server.port", "0"),
        ("auth.login_url", LOGIN_URL),
        ("auth.own_url", OWN_URL),
        ("auth.access_cookie", ACCESS_COOKIE),
        ("auth.refresh_cookie", REFRESH_COOKIE),
    ];
    all.extend_from_slice(overrides);
    Settings::load_with_overrides(&Environment::named("test"), Path::new("config"), &all)
}

impl TestApp {
    pub(crate) fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(format!("{}{path}", self.address))
    }

    pub(crate) fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(format!("{}{path}", self.address))
    }

    /// `GET /api/me` with the access cookie `token` and a refresh cookie.
    pub(crate) async fn me_with_cookie(&self, token: &str) -> Response {
        self.me_with_cookies(&cookie_pair(token)).await
    }

    /// `GET /api/me` with the raw `Cookie` header `cookies`.
    pub(crate) async fn me_with_cookies(&self, cookies: &str) -> Response {
        self.get("/api/me")
            .header(header::COOKIE, cookies)
            .send()
            .await
            .expect("request")
    }

    /// `GET /api/me` with `Authorization: Bearer <token>`.
    pub(crate) async fn me_with_bearer(&self, token: &str) -> Response {
        self.get("/api/me")
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// The JSON of `GET /api/me` sent with the raw `Cookie` header `cookies`.
    pub(crate) async fn me_json(&self, cookies: &str) -> Value {
        self.me_with_cookies(cookies)
            .await
            .json()
            .await
            .expect("JSON body")
    }

    /// Every row of `users`.
    pub(crate) async fn users(&self) -> Vec<users::Model> {
        users::Entity::find().all(&self.db).await.expect("query")
    }

    /// SQL statements sent so far.
    pub(crate) fn statement_count(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }
}

/// A `Cookie` header with `access` and a refresh token.
pub(crate) fn cookie_pair(access: &str) -> String {
    format!(
        "{ACCESS_COOKIE}={access}; {REFRESH_COOKIE}={}",
        refresh_token("alice")
    )
}

pub(crate) fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs(),
    )
    .expect("time fits")
}

/// The payload SimpleJWT puts in an access token for `username`, with the
/// Auth service's custom claims.
pub(crate) fn access_claims(username: &str) -> Value {
    let now = now();
    json!({
        "token_type": "access",
        "exp": now + 300,
        "iat": now,
        "jti": uuid::Uuid::new_v4().simple().to_string(),
        "user_id": 42,
        "user_uuid": username,
        "user_email": format!("{username}@example.com"),
        "user_is_staff": false,
        "user_is_superuser": false,
        "user_first_name": "Alice",
        "user_last_name": "Liddell",
    })
}

/// A refresh token: same key, `token_type: refresh`, a day long.
pub(crate) fn refresh_token(username: &str) -> String {
    let mut claims = access_claims(username);
    claims["token_type"] = json!("refresh");
    claims["exp"] = json!(now() + 86_400);
    sign(&claims)
}

/// Signs `claims` with HS256 and the development secret, as the Auth service would.
pub(crate) fn sign(claims: &Value) -> String {
    sign_with(claims, DEVELOPMENT_SECRET.as_bytes())
}

/// Signs `claims` with HS256 and `secret`.
pub(crate) fn sign_with(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret).expect("HMAC key"),
    )
    .expect("token encodes")
}

/// A valid access token for `username`.
pub(crate) fn access_token(username: &str) -> String {
    sign(&access_claims(username))
}

/// `access_claims` with `key` set to `value` (`Value::Null` removes it).
pub(crate) fn claims_with(username: &str, key: &str, value: Value) -> Value {
    let mut claims = access_claims(username);
    match value {
        Value::Null => {
            claims.as_object_mut().expect("object").remove(key);
        }
        value => claims[key] = value,
    }
    claims
}

/// Polls `check` every 100 ms until it holds; fails the test, saying `what`
/// it waited for, after 20 seconds.
pub(crate) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts `response` is a protected route's answer while the database is
/// unavailable: 503, with `Retry-After`.
pub(crate) fn assert_unavailable(response: &Response) {
    assert_eq!(response.status(), 503, "expected 503, got {response:?}");
    assert!(response.headers().contains_key(header::RETRY_AFTER));
}

/// Asserts `response` is an API request's answer to an expired access token:
/// 401, saying so in the body and in `WWW-Authenticate`, with where to renew.
pub(crate) async fn assert_expired(response: Response) {
    assert_eq!(response.status(), 401, "expected 401, got {response:?}");
    let challenge = response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(
        challenge.starts_with(r#"Bearer error="invalid_token""#) && challenge.contains("expired"),
        "{challenge}"
    );
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["error"], "token_expired");
    assert_eq!(body["login_url"], LOGIN_URL);
}

/// Asserts `response` is the anonymous answer of an API request.
pub(crate) async fn assert_anonymous(response: Response) {
    assert_eq!(response.status(), 401, "expected 401, got {response:?}");
    assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["error"], "unauthenticated");
}

/// Sends `token` as the access cookie (with a refresh cookie) to a fresh app
/// and asserts the request is anonymous and wrote no row.
pub(crate) async fn assert_token_rejected(token: &str) {
    let app = spawn_app().await;
    assert_anonymous(app.me_with_cookie(token).await).await;
    assert!(app.users().await.is_empty(), "a rejected token wrote a row");
}
