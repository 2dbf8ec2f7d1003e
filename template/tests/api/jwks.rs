//! Keys from the Auth service's JWKS URL (`auth.jwks_url`): fetched, cached,
//! refreshed on rotation, rate-limited, kept when the Auth service fails, and
//! never taken from anywhere else: no `kid`, `jku`, `x5u` or `jwk` header
//! makes the service fetch or trust a key.
//!
//! Each test runs its own stand-in for the Auth service's JWKS endpoint, whose
//! key set, status and speed the test changes while the app runs.

use std::{
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::{
    Response, Route, Server,
    endpoint::make,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
};
use serde_json::{Value, json};
use {{crate_name}}::settings::{Environment, Settings};

use crate::{
    helpers::{
        TestApp, access_claims, access_token, assert_anonymous, eventually, spawn_app_with,
        test_settings,
    },
    metrics::series,
};

/// What the stand-in JWKS endpoint answers, changeable at run time.
struct Answer {
    status: StatusCode,
    body: String,
    delay: Duration,
}

/// A stand-in for the Auth service's JWKS endpoint on 127.0.0.1.
struct JwksServer {
    url: String,
    answer: Arc<Mutex<Answer>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    /// Serves a set of the fixture keys `names`.
    async fn start(names: &[&str]) -> Self {
        let answer = Arc::new(Mutex::new(Answer {
            status: StatusCode::OK,
            body: key_set(names),
            delay: Duration::ZERO,
        }));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (shared, count) = (Arc::clone(&answer), Arc::clone(&fetches));
        let endpoint = make(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
            let (status, body, delay) = {
                let answer = shared.lock().unwrap();
                (answer.status, answer.body.clone(), answer.delay)
            };
            async move {
                tokio::time::sleep(delay).await;
                Response::builder()
                    .status(status)
                    .content_type("application/json")
                    .body(body)
            }
        });
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        tokio::spawn(Server::new_with_acceptor(acceptor).run(Route::new().at("/jwks/", endpoint)));
        Self {
            url: format!("http://127.0.0.1:{port}/jwks/"),
            answer,
            fetches,
        }
    }

    fn serve_keys(&self, names: &[&str]) {
        self.serve(StatusCode::OK, &key_set(names));
    }

    fn serve(&self, status: StatusCode, body: &str) {
        let mut answer = self.answer.lock().unwrap();
        answer.status = status;
        body.clone_into(&mut answer.body);
        answer.delay = Duration::ZERO;
    }

    fn answer_slowly(&self, delay: Duration) {
        self.answer.lock().unwrap().delay = delay;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// A JWKS document with the fixture keys `names`.
fn key_set(names: &[&str]) -> String {
    json!({ "keys": names.iter().map(|name| jwk(name)).collect::<Vec<_>>() }).to_string()
}

/// The public JWK of fixture key `name` (its `kid` is `name`).
fn jwk(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("{name}.jwk.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fixture(file: &str) -> std::path::PathBuf {
    Path::new("tests/fixtures/jwks").join(file)
}

/// `claims` signed with fixture key `name` (ES256 for `ec-*`/`attacker`,
/// RS256 for `rsa-*`), with `kid` in the header when given.
fn sign_as(name: &str, kid: Option<&str>, claims: &Value) -> String {
    let mut header = header_for(name);
    header.kid = kid.map(str::to_owned);
    sign_with_header(name, &header, claims)
}

fn header_for(name: &str) -> Header {
    Header::new(if name.starts_with("rsa") {
        Algorithm::RS256
    } else {
        Algorithm::ES256
    })
}

fn sign_with_header(name: &str, header: &Header, claims: &Value) -> String {
    let pem = std::fs::read(fixture(&format!("{name}-private.pem"))).unwrap();
    let key = if name.starts_with("rsa") {
        EncodingKey::from_rsa_pem(&pem)
    } else {
        EncodingKey::from_ec_pem(&pem)
    }
    .unwrap();
    jsonwebtoken::encode(header, claims, &key).unwrap()
}

/// An app whose keys come from `url`, with `overrides` on top.
async fn spawn_jwks_app(url: &str, overrides: &[(&str, &str)]) -> TestApp {
    let mut all = jwks_settings(url);
    all.extend_from_slice(overrides);
    spawn_app_with(&all).await
}

fn jwks_settings(url: &str) -> Vec<(&str, &str)> {
    vec![
        ("auth.algorithms", "ES256,RS256"),
        ("auth.jwks_url", url),
        // No secret (the test settings' would be a key that cannot take
        // effect), so no development login either.
        ("auth.secret", ""),
        ("dev_login.enabled", "false"),
    ]
}

async fn readiness(app: &TestApp) -> (u16, Value) {
    let response = app.get("/api/health/ready").send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn wait_until_ready(app: &TestApp) {
    eventually("the app is ready", || async { readiness(app).await.0 == 200 }).await;
}

async fn status_of(app: &TestApp, token: &str) -> u16 {
    app.me_with_cookie(token).await.status().as_u16()
}

/// Waits until the server has been asked `more` more times than `before`.
async fn wait_for_fetches(server: &JwksServer, before: usize, more: usize) {
    eventually("the JWKS is fetched again", || async {
        server.fetches() >= before + more
    })
    .await;
}

#[tokio::test]
async fn a_token_with_a_known_kid_signs_the_user_in() {
    let server = JwksServer::start(&["ec-1", "rsa-1"]).await;
    let app = spawn_jwks_app(&server.url, &[]).await;
    wait_until_ready(&app).await;

    let es256 = sign_as("ec-1", Some("ec-1"), &access_claims("alice"));
    let response = app.me_with_cookie(&es256).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "alice");

    let rs256 = sign_as("rsa-1", Some("rsa-1"), &access_claims("bob"));
    assert_eq!(status_of(&app, &rs256).await, 200);
    // One fetch served both: known kids never cause another.
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn a_key_added_on_the_auth_service_is_accepted_without_a_restart() {
    let server = JwksServer::start(&["ec-1"]).await;
    let app = spawn_jwks_app(
        &server.url,
        &[("auth.jwks_min_refresh_interval_secs", "1")],
    )
    .await;
    wait_until_ready(&app).await;
    let before = server.fetches();

    // The Auth service rotates: a new key, and tokens signed with it.
    server.serve_keys(&["ec-1", "ec-2"]);
    let rotated = sign_as("ec-2", Some("ec-2"), &access_claims("alice"));
    // The unknown kid makes the service fetch again (once the rate limit,
    // counted from the start-up fetch, allows).
    eventually("the new key is accepted", || async {
        status_of(&app, &rotated).await == 200
    })
    .await;
    assert!(server.fetches() > before);
    // The old key still works.
    let old = sign_as("ec-1", Some("ec-1"), &access_claims("bob"));
    assert_eq!(status_of(&app, &old).await, 200);
}

#[tokio::test]
async fn a_key_removed_on_the_auth_service_stops_being_accepted() {
    // The caches at their defaults: what a deployed service does.
    let server = JwksServer::start(&["ec-1", "ec-2"]).await;
    let app = spawn_jwks_app(&server.url, &[("auth.jwks_refresh_secs", "1")]).await;
    wait_until_ready(&app).await;
    let seen = sign_as("ec-1", Some("ec-1"), &access_claims("alice"));
    assert_eq!(status_of(&app, &seen).await, 200);

    server.serve_keys(&["ec-2"]);
    wait_for_fetches(&server, server.fetches(), 2).await;
    // A token signed with the withdrawn key that the service has not seen is
    // refused as soon as the new set is in…
    let unseen = sign_as("ec-1", Some("ec-1"), &access_claims("bob"));
    assert_anonymous(app.me_with_cookie(&unseen).await).await;
    let unseen = sign_as("ec-1", None, &access_claims("carol"));
    assert_anonymous(app.me_with_cookie(&unseen).await).await;
    // …while one it verified before stays accepted until its entry in the
    // validated-token cache expires (auth.user_cache_ttl_secs, 60 by
    // default) or the token does: the documented window.
    assert_eq!(status_of(&app, &seen).await, 200);
    let current = sign_as("ec-2", Some("ec-2"), &access_claims("alice"));
    assert_eq!(status_of(&app, &current).await, 200);
}

#[tokio::test]
async fn the_window_for_a_withdrawn_key_closes_with_the_cache_ttl() {
    let server = JwksServer::start(&["ec-1", "ec-2"]).await;
    let app = spawn_jwks_app(
        &server.url,
        &[("auth.jwks_refresh_secs", "1"), ("auth.user_cache_ttl_secs", "2")],
    )
    .await;
    wait_until_ready(&app).await;
    let seen = sign_as("ec-1", Some("ec-1"), &access_claims("alice"));
    assert_eq!(status_of(&app, &seen).await, 200);
    server.serve_keys(&["ec-2"]);
    eventually("the withdrawn key's token is refused", || async {
        status_of(&app, &seen).await == 401
    })
    .await;
    assert_anonymous(app.me_with_cookie(&seen).await).await;
}

#[tokio::test]
async fn unknown_kids_cause_at_most_one_fetch_per_interval() {
    let server = JwksServer::start(&["ec-1"]).await;
    let app = spawn_jwks_app(
        &server.url,
        &[("auth.jwks_min_refresh_interval_secs", "3600")],
    )
    .await;
    wait_until_ready(&app).await;
    let before = server.fetches();

    let requests = (0..50).map(|i| {
        let token = sign_as("attacker", Some(&format!("forged-{i}")), &access_claims("mallory"));
        let app = &app;
        async move { status_of(app, &token).await }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|status| *status == 401), "{statuses:?}");
    assert!(
        server.fetches() <= before + 1,
        "{} fetches for 50 unknown kids",
        server.fetches() - before
    );
}

#[tokio::test]
async fn the_last_good_key_set_is_kept_when_the_auth_service_fails() {
    let server = JwksServer::start(&["ec-1"]).await;
    let app = spawn_jwks_app(
        &server.url,
        &[
            ("auth.jwks_refresh_secs", "1"),
            ("auth.jwks_timeout_secs", "1"),
            ("auth.user_cache_ttl_secs", "0"),
        ],
    )
    .await;
    wait_until_ready(&app).await;

    let symmetric = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "ec-1"}]}).to_string();
    for (status, body) in [
        (StatusCode::INTERNAL_SERVER_ERROR, "oops"),
        (StatusCode::OK, "<html>not JSON</html>"),
        (StatusCode::OK, r#"{"keys": []}"#),
        (StatusCode::OK, r#"{"no": "keys"}"#),
        (StatusCode::OK, symmetric.as_str()),
        (StatusCode::FOUND, ""),
    ] {
        server.serve(status, body);
        // Two more fetches: the first of them has surely been handled.
        wait_for_fetches(&server, server.fetches(), 2).await;
        let token = sign_as("ec-1", Some("ec-1"), &access_claims("alice"));
        assert_eq!(status_of(&app, &token).await, 200, "after {status} {body}");
        assert_eq!(readiness(&app).await.0, 200);
    }

    // A fetch that takes longer than auth.jwks_timeout_secs.
    server.serve_keys(&["ec-2"]);
    server.answer_slowly(Duration::from_secs(5));
    wait_for_fetches(&server, server.fetches(), 2).await;
    let token = sign_as("ec-1", Some("ec-1"), &access_claims("alice"));
    assert_eq!(status_of(&app, &token).await, 200);
}

#[tokio::test]
async fn the_service_starts_while_the_jwks_endpoint_is_down_and_recovers() {
    let server = JwksServer::start(&[]).await;
    server.serve(StatusCode::SERVICE_UNAVAILABLE, "down for maintenance");
    let app = spawn_jwks_app(&server.url, &[]).await;

    // Up, but nobody can sign in yet, and the load balancer is told so.
    let live = app.get("/api/health/live").send().await.unwrap();
    assert_eq!(live.status(), 200);
    let (status, body) = readiness(&app).await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "signing keys unavailable");
    let token = sign_as("ec-1", Some("ec-1"), &access_claims("alice"));
    assert_anonymous(app.me_with_cookie(&token).await).await;

    // The Auth service comes back: the background retries load the keys.
    server.serve_keys(&["ec-1"]);
    wait_until_ready(&app).await;
    assert_eq!(status_of(&app, &token).await, 200);
}

#[tokio::test]
async fn an_unreachable_jwks_endpoint_leaves_the_service_up_and_not_ready() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/jwks/");
    let app = spawn_jwks_app(&url, &[]).await;
    assert_eq!(readiness(&app).await.0, 503);
    let token = sign_as("ec-1", Some("ec-1"), &access_claims("alice"));
    assert_anonymous(app.me_with_cookie(&token).await).await;
    let public = app.get("/api/health/live").send().await.unwrap();
    assert_eq!(public.status(), 200);
}

#[tokio::test]
async fn a_token_without_kid_is_checked_with_every_key_of_the_set() {
    let server = JwksServer::start(&["ec-1", "ec-2", "rsa-1"]).await;
    let app = spawn_jwks_app(&server.url, &[]).await;
    wait_until_ready(&app).await;

    // SimpleJWT's default: no `kid`.
    for name in ["ec-1", "ec-2", "rsa-1"] {
        let token = sign_as(name, None, &access_claims("alice"));
        assert_eq!(status_of(&app, &token).await, 200, "{name}");
    }
    let forged = sign_as("attacker", None, &access_claims("mallory"));
    assert_anonymous(app.me_with_cookie(&forged).await).await;
    // A known key's `kid` on a token signed by another key does not help either.
    let forged = sign_as("attacker", Some("ec-1"), &access_claims("mallory"));
    assert_anonymous(app.me_with_cookie(&forged).await).await;
    assert!(app.users().await.iter().all(|user| user.username != "mallory"));
}

#[tokio::test]
async fn jku_x5u_and_jwk_headers_never_cause_a_fetch_or_choose_the_key() {
    let server = JwksServer::start(&["ec-1"]).await;
    let attacker = JwksServer::start(&["attacker"]).await;
    let app = spawn_jwks_app(&server.url, &[]).await;
    wait_until_ready(&app).await;

    let attacker_jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk("attacker")).unwrap();
    for kid in [Some("attacker"), Some("ec-1"), None] {
        let mut header = header_for("attacker");
        header.kid = kid.map(str::to_owned);
        header.jku = Some(attacker.url.clone());
        header.x5u = Some(attacker.url.clone());
        header.jwk = Some(attacker_jwk.clone());
        let forged = sign_with_header("attacker", &header, &access_claims("mallory"));
        assert_anonymous(app.me_with_cookie(&forged).await).await;
    }
    assert_eq!(attacker.fetches(), 0, "the service fetched the token's jku/x5u");
}

#[tokio::test]
async fn symmetric_and_non_signing_keys_of_the_set_are_never_used() {
    let secret = b"a-secret-published-at-a-url-is-no-secret-0123";
    let mut encryption = jwk("ec-2");
    encryption["use"] = json!("enc");
    let mut mislabelled = jwk("rsa-1");
    mislabelled["alg"] = json!("ES256");
    let set = json!({"keys": [
        {"kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret), "kid": "sym", "alg": "HS256"},
        encryption,
        mislabelled,
        jwk("ec-1"),
    ]});
    let server = JwksServer::start(&[]).await;
    server.serve(StatusCode::OK, &set.to_string());
    let app = spawn_jwks_app(&server.url, &[("auth.algorithms", "ES256,RS256")]).await;
    wait_until_ready(&app).await;

    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("sym".to_owned());
    let hmac = jsonwebtoken::encode(
        &header,
        &access_claims("mallory"),
        &EncodingKey::from_secret(secret).unwrap(),
    )
    .unwrap();
    assert_anonymous(app.me_with_cookie(&hmac).await).await;
    let with_encryption_key = sign_as("ec-2", Some("ec-2"), &access_claims("mallory"));
    assert_anonymous(app.me_with_cookie(&with_encryption_key).await).await;
    let kidless = sign_as("ec-2", None, &access_claims("mallory"));
    assert_anonymous(app.me_with_cookie(&kidless).await).await;
    // An RSA key that declares `alg: ES256` fits no algorithm at all.
    let with_mislabelled_key = sign_as("rsa-1", Some("rsa-1"), &access_claims("mallory"));
    assert_anonymous(app.me_with_cookie(&with_mislabelled_key).await).await;

    let genuine = sign_as("ec-1", Some("ec-1"), &access_claims("alice"));
    assert_eq!(status_of(&app, &genuine).await, 200);
}

#[tokio::test]
async fn a_set_without_a_usable_key_never_makes_the_service_ready() {
    let server = JwksServer::start(&[]).await;
    let mut encryption = jwk("ec-1");
    encryption["use"] = json!("enc");
    server.serve(
        StatusCode::OK,
        &json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}, encryption]}).to_string(),
    );
    let app = spawn_jwks_app(&server.url, &[]).await;
    wait_for_fetches(&server, 0, 2).await;
    assert_eq!(readiness(&app).await.0, 503);
}

#[tokio::test]
async fn hs256_tokens_are_refused_in_jwks_mode() {
    let server = JwksServer::start(&["ec-1"]).await;
    let app = spawn_jwks_app(&server.url, &[]).await;
    wait_until_ready(&app).await;
    // Signed with the development secret, which the test settings still hold.
    assert_anonymous(app.me_with_cookie(&access_token("alice")).await).await;
}

#[test]
fn jwks_settings_that_cannot_work_are_refused() {
    let url = "http://127.0.0.1:9/jwks/";
    let error_for = |overrides: &[(&str, &str)]| {
        test_settings(overrides)
            .expect_err("settings should be refused")
            .to_string()
    };
    // HS* and a JWKS do not mix.
    let error = error_for(&[("auth.jwks_url", url), ("dev_login.enabled", "false")]);
    assert!(error.contains("`auth.jwks_url`"), "{error}");
    // One public-key source at a time.
    let mut both = jwks_settings(url);
    both.push(("auth.public_key_file", "tests/fixtures/es256-public.pem"));
    let error = error_for(&both);
    assert!(error.contains("`auth.jwks_url`"), "{error}");
    for (key, value) in [
        ("auth.jwks_url", "auth.example.com/jwks"),
        ("auth.jwks_url", "ftp://auth.example.com/jwks"),
        // Plain HTTP only on loopback: anyone on the path could swap the keys.
        ("auth.jwks_url", "http://auth.example.com/jwks"),
        ("auth.jwks_refresh_secs", "0"),
        ("auth.jwks_min_refresh_interval_secs", "0"),
        ("auth.jwks_timeout_secs", "0"),
    ] {
        let mut settings = jwks_settings(url);
        settings.push((key, value));
        let error = error_for(&settings);
        assert!(error.contains(&format!("`{key}`")), "{key}={value}: {error}");
    }
    test_settings(&jwks_settings(url)).unwrap();
}

#[test]
fn production_accepts_a_jwks_url() {
    let settings = Settings::load_with_overrides(
        &Environment::named("production"),
        Path::new("config"),
        &[("auth.jwks_url", "https://auth.example.com/api/jwks/")],
    )
    .unwrap();
    assert!(matches!(
        settings.auth.keys,
        {{crate_name}}::auth::key_source::KeySettings::Jwks(_)
    ));
}

#[tokio::test]
async fn the_metrics_count_fetches_and_failures_and_show_the_keys_and_their_age() {
    let server = JwksServer::start(&["ec-1", "rsa-1"]).await;
    let app = spawn_jwks_app(
        &server.url,
        &[
            ("metrics.port", "0"),
            ("auth.jwks_min_refresh_interval_secs", "1"),
        ],
    )
    .await;
    wait_until_ready(&app).await;
    let scrape = app.scrape().await;
    assert_eq!(scrape.count("auth_jwks_fetches_total", &[]), 1);
    assert_eq!(scrape.count("auth_jwks_fetch_failures_total", &[]), 0);
    assert_eq!(scrape.count("auth_jwks_keys", &[]), 2);
    assert!((0.0..60.0).contains(&scrape.get("auth_jwks_age_seconds", &[])));
    assert!(scrape.has(
        "service_build_info",
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("database", {{crate_name}}::db::URL_SCHEMES[0]),
            ("key_source", "jwks"),
            ("traces", {{crate_name}}::telemetry::traces::LABEL),
        ]
    ));

    // An unknown kid makes the service fetch once more, which fails: the
    // last good set stays.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server.serve(StatusCode::INTERNAL_SERVER_ERROR, "oops");
    let token = sign_as("ec-2", Some("ec-2"), &access_claims("bob"));
    assert_anonymous(app.me_with_cookie(&token).await).await;
    let after = app.scrape().await;
    let moved = after.since(&scrape);
    assert_eq!(moved.get("auth_jwks_fetches_total"), Some(&1.0), "{moved:?}");
    assert_eq!(moved.get("auth_jwks_fetch_failures_total"), Some(&1.0));
    let unknown_key = series(
        "auth_outcomes_total",
        &[("outcome", "anonymous"), ("reason", "unknown_key")],
    );
    assert_eq!(moved.get(&unknown_key), Some(&1.0));
    assert_eq!(after.count("auth_jwks_keys", &[]), 2);
}
