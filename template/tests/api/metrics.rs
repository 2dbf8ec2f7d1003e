//! Metrics: off by default, on a listener of their own when `metrics.port` is
//! set, and a scripted sequence of requests moves each series by exactly what
//! it should.

use std::collections::BTreeMap;

use reqwest::header;
use serde_json::json;

use crate::helpers::{
    ACCESS_COOKIE, TestApp, access_claims, access_token, claims_with, cookie_pair, now,
    sign, sign_with, spawn_app, spawn_app_with, test_settings,
};

/// One scrape: every series (`name{label="value",…}`, labels sorted) and its value.
#[derive(Debug, Clone)]
pub(crate) struct Scrape(BTreeMap<String, f64>);

impl Scrape {
    /// The value of `name` with exactly `labels`; 0 when absent.
    pub(crate) fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .get(&series(name, labels))
            .copied()
            .unwrap_or_default()
    }

    /// [`Scrape::get`] of a counter or a gauge of whole things.
    #[allow(clippy::cast_possible_truncation)] // Counts of a test's requests.
    pub(crate) fn count(&self, name: &str, labels: &[(&str, &str)]) -> i64 {
        self.get(name, labels).round() as i64
    }

    /// Whether a series of that name and labels is there at all.
    pub(crate) fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.0.contains_key(&series(name, labels))
    }

    /// How much every series moved since `before`, leaving out those that
    /// did not move.
    pub(crate) fn since(&self, before: &Self) -> BTreeMap<String, f64> {
        self.0
            .iter()
            .filter_map(|(series, value)| {
                let moved = value - before.0.get(series).copied().unwrap_or_default();
                (moved != 0.0).then(|| (series.clone(), moved))
            })
            .collect()
    }
}

/// The canonical name of a series: labels sorted.
pub(crate) fn series(name: &str, labels: &[(&str, &str)]) -> String {
    let mut labels = labels.to_vec();
    labels.sort_unstable();
    if labels.is_empty() {
        return name.to_owned();
    }
    let labels: Vec<String> = labels
        .iter()
        .map(|(key, value)| format!("{key}=\"{value}\""))
        .collect();
    // Built by hand: doubled braces would read as Liquid in the template.
    let mut text = name.to_owned();
    text.push('{');
    text.push_str(&labels.join(","));
    text.push('}');
    text
}

/// Parses the Prometheus text format (our label values hold no `,` or `"`).
fn parse(text: &str) -> Scrape {
    let mut found = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (series_text, value) = line.rsplit_once(' ').expect("`series value`");
        let value: f64 = value.parse().expect("a number");
        let (name, labels) = match series_text.split_once('{') {
            Some((name, rest)) => {
                let rest = rest.strip_suffix('}').expect("closing brace");
                let labels: Vec<(&str, &str)> = rest
                    .split(',')
                    .map(|pair| {
                        let (key, value) = pair.split_once('=').expect("key=value");
                        (key, value.trim_matches('"'))
                    })
                    .collect();
                (name, labels)
            }
            None => (series_text, Vec::new()),
        };
        found.insert(series(name, &labels), value);
    }
    Scrape(found)
}

impl TestApp {
    /// Scrapes the app's metrics listener.
    pub(crate) async fn scrape(&self) -> Scrape {
        let address = self.metrics_address.as_ref().expect("metrics are on");
        let response = self
            .client
            .get(format!("{address}/metrics"))
            .send()
            .await
            .expect("scrape");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("ASCII")
            .to_owned();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        parse(&response.text().await.expect("body"))
    }
}

async fn spawn_with_metrics() -> TestApp {
    spawn_app_with(&[("metrics.port", "0")]).await
}

const OUTCOMES: &str = "auth_outcomes_total";
const TOKEN_CACHE: &str = "auth_token_cache_lookups_total";
const USER_CACHE: &str = "auth_user_cache_lookups_total";
const SYNCS: &str = "auth_user_syncs_total";
const REQUESTS: &str = "http_request_duration_seconds_count";
const STATEMENTS: &str = "db_statement_duration_seconds_count";

fn anonymous(reason: &str) -> String {
    series(OUTCOMES, &[("outcome", "anonymous"), ("reason", reason)])
}

fn outcome(outcome: &str) -> String {
    series(OUTCOMES, &[("outcome", outcome), ("reason", "none")])
}

fn result(name: &str, result: &str) -> String {
    series(name, &[("result", result)])
}

fn http(route: &str, method: &str, status: &str) -> String {
    series(
        REQUESTS,
        &[("method", method), ("route", route), ("status", status)],
    )
}

/// Sends `request` and returns how every series moved, with the status.
async fn moved_by(app: &TestApp, request: reqwest::RequestBuilder) -> (u16, BTreeMap<String, f64>) {
    let before = app.scrape().await;
    let status = request.send().await.expect("request").status().as_u16();
    (status, app.scrape().await.since(&before))
}

/// `[(series, delta)]` as a map, for comparing with [`Scrape::since`].
fn expect(deltas: &[(String, f64)]) -> BTreeMap<String, f64> {
    deltas.iter().cloned().collect()
}

/// What moves on every request besides: its own HTTP series, and the
/// histogram's sum and buckets, left out of the comparison.
fn without_timings(moved: BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    moved
        .into_iter()
        .filter(|(series, _)| !series.contains("_bucket") && !series.contains("_sum"))
        // The scrapes themselves are not requests of the app.
        .filter(|(series, _)| !series.starts_with("db_pool_connections"))
        .collect()
}

#[tokio::test]
async fn metrics_are_off_by_default_and_never_on_the_api_port() {
    let app = spawn_app().await;
    assert!(app.metrics_address.is_none());
    let app = spawn_with_metrics().await;
    let response = app.get("/metrics").send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(app.scrape().await.has(
        "service_build_info",
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("database", database()),
            ("key_source", "shared_secret"),
            ("traces", traces_label()),
        ]
    ));
}

/// The database this service was generated for.
fn database() -> &'static str {
    {{crate_name}}::db::URL_SCHEMES[0]
}

fn traces_label() -> &'static str {
    {{crate_name}}::telemetry::traces::LABEL
}

/// Sends `request`, checks its status, and that the series moved by exactly
/// `deltas` (timings aside; `db_*` series too when `with_db` is false).
async fn step(
    app: &TestApp,
    request: reqwest::RequestBuilder,
    status: u16,
    deltas: &[(String, f64)],
    with_db: bool,
) {
    let (answered, moved) = moved_by(app, request).await;
    assert_eq!(answered, status);
    let moved: BTreeMap<String, f64> = without_timings(moved)
        .into_iter()
        .filter(|(series, _)| with_db || !series.starts_with("db_"))
        .collect();
    assert_eq!(moved, expect(deltas));
}

#[tokio::test]
async fn a_scripted_sequence_of_requests_moves_each_series_by_exactly_its_count() {
    let app = spawn_with_metrics().await;
    let valid = cookie_pair(&access_token("alice"));
    let me = "/api/me";
    let ok_me = || (http(me, "GET", "200"), 1.0);
    let refused_me = || (http(me, "GET", "401"), 1.0);

    // First sight: the token is validated, the user written. Every statement
    // the app sent is in the metrics (however many the database needs).
    let statements = app.statement_count();
    let (status, moved) = moved_by(&app, app.get(me).header(header::COOKIE, &valid)).await;
    assert_eq!(status, 200);
    let sent = app.statement_count() - statements;
    assert!(sent >= 1);
    let first_sight = [
        (outcome("user"), 1.0),
        (result(TOKEN_CACHE, "miss"), 1.0),
        (result(USER_CACHE, "miss"), 1.0),
        (result(SYNCS, "written"), 1.0),
        (
            series(STATEMENTS, &[("outcome", "ok")]),
            f64::from(u32::try_from(sent).unwrap()),
        ),
        ("db_acquire_duration_seconds_count".to_owned(), 1.0),
        ok_me(),
    ];
    assert_eq!(without_timings(moved), expect(&first_sight));

    // Steady state: both caches hit, no statement.
    let steady = [
        (outcome("user"), 1.0),
        (result(TOKEN_CACHE, "hit"), 1.0),
        (result(USER_CACHE, "hit"), 1.0),
        ok_me(),
    ];
    step(&app, app.get(me).header(header::COOKIE, &valid), 200, &steady, true).await;

    // Expired; forged (signed with another key): validated, refused.
    let expired = sign(&claims_with("alice", "exp", json!(now() - 10)));
    let forged = sign_with(
        &access_claims("mallory"),
        b"not-the-auth-service-secret-but-32-bytes-long",
    );
    for (token, reason) in [(expired, "expired"), (forged, "bad_signature")] {
        let refused = [
            (anonymous(reason), 1.0),
            (result(TOKEN_CACHE, "miss"), 1.0),
            refused_me(),
        ];
        let request = app.get(me).header(header::COOKIE, cookie_pair(&token));
        step(&app, request, 401, &refused, true).await;
    }

    // The access cookie without the refresh cookie: no token is looked at;
    // no credentials at all.
    let alone = format!("{ACCESS_COOKIE}={}", access_token("alice"));
    let request = app.get(me).header(header::COOKIE, alone);
    let refused = [(anonymous("missing_refresh_cookie"), 1.0), refused_me()];
    step(&app, request, 401, &refused, true).await;
    let refused = [(anonymous("no_token"), 1.0), refused_me()];
    step(&app, app.get(me), 401, &refused, true).await;

    // A cookie-authenticated POST from another site: the (cached) token is
    // valid, the origin is not.
    let request = app
        .post("/api/users/1/deactivate")
        .header(header::COOKIE, &valid)
        .header(header::ORIGIN, "https://evil.example");
    let csrf = [
        (outcome("csrf_rejected"), 1.0),
        (result(TOKEN_CACHE, "hit"), 1.0),
        (http("/api/users/:param0/deactivate", "POST", "403"), 1.0),
    ];
    step(&app, request, 403, &csrf, true).await;

    // A public endpoint asks nobody who the user is; a path no route takes
    // is counted under one label, not its own.
    let live = "/api/health/live";
    let request = app.get(live).header(header::COOKIE, &valid);
    step(&app, request, 200, &[(http(live, "GET", "200"), 1.0)], true).await;
    let unmatched = [(http("unmatched", "GET", "404"), 1.0)];
    step(&app, app.get("/no/such/page/12345"), 404, &unmatched, true).await;

    // The database goes away: a new user cannot be loaded.
    app.db.close_by_ref().await.unwrap();
    let request = app
        .get(me)
        .header(header::COOKIE, cookie_pair(&access_token("bob")));
    let outage = [
        (outcome("unavailable"), 1.0),
        (result(TOKEN_CACHE, "miss"), 1.0),
        (result(USER_CACHE, "miss"), 1.0),
        (result(SYNCS, "unavailable"), 1.0),
        (http(me, "GET", "503"), 1.0),
    ];
    step(&app, request, 503, &outage, false).await;
}

#[tokio::test]
async fn the_scrape_shows_the_pool_and_every_series_before_it_first_moves() {
    let app = spawn_with_metrics().await;
    let scrape = app.scrape().await;
    for state in ["in_use", "idle"] {
        assert!(
            scrape.has("db_pool_connections", &[("state", state)]),
            "{scrape:?}"
        );
    }
    // The pool keeps its minimum of one connection open, idle or (should a
    // pool task hold it at that instant) in use.
    let open = scrape.count("db_pool_connections", &[("state", "idle")])
        + scrape.count("db_pool_connections", &[("state", "in_use")]);
    assert!(open >= 1, "{scrape:?}");
    assert!(scrape.count("db_pool_max_connections", &[]) >= 1);
    // Every reason is there at zero, so `rate()` sees its first increment.
    for reason in ["no_token", "expired", "bad_signature", "missing_refresh_cookie"] {
        assert!(scrape.0.contains_key(&anonymous(reason)), "{reason}");
    }
    for cache in [TOKEN_CACHE, USER_CACHE] {
        for hit in ["hit", "miss"] {
            assert!(scrape.0.contains_key(&result(cache, hit)));
        }
    }
    // Fixed keys have no key set to report on.
    assert!(!scrape.0.keys().any(|series| series.starts_with("auth_jwks_")));
}

#[test]
fn a_bad_metrics_setting_names_its_key() {
    for (overrides, key) in [
        (vec![("metrics.port", "not-a-port")], "metrics.port"),
        (vec![("metrics.port", "70000")], "metrics.port"),
        (vec![("metrics.host", "metrics.example.com")], "metrics.host"),
        (
            vec![("server.port", "8123"), ("metrics.port", "8123")],
            "metrics.port",
        ),
    ] {
        let error = test_settings(&overrides).expect_err("refused");
        assert_eq!(error.key, key, "{overrides:?}: {error}");
    }
    // An empty value means unset: metrics off.
    let settings = test_settings(&[("metrics.port", "")]).expect("valid");
    assert_eq!(settings.metrics.port, None);
}

#[test]
fn every_rejection_has_its_own_label_and_each_is_listed() {
    use {{crate_name}}::auth::token::Rejection;
    let every = [
        Rejection::NoToken,
        Rejection::MissingRefreshCookie,
        Rejection::MalformedAuthorizationHeader,
        Rejection::Malformed,
        Rejection::AlgorithmNotAllowed,
        Rejection::BadSignature,
        Rejection::Expired,
        Rejection::NotYetValid,
        Rejection::WrongIssuer,
        Rejection::WrongAudience,
        Rejection::WrongTokenType,
        Rejection::MissingClaim("user_uuid".to_owned()),
        Rejection::InvalidClaim("user_email".to_owned()),
        Rejection::CsrfFailed,
        Rejection::UnknownKey,
        Rejection::KeysUnavailable,
    ];
    let labels: std::collections::BTreeSet<&str> = every.iter().map(Rejection::label).collect();
    assert_eq!(labels.len(), every.len(), "two reasons share a label");
    assert_eq!(labels, Rejection::LABELS.into_iter().collect());
}

#[tokio::test]
async fn a_known_user_read_again_counts_as_unchanged_not_written() {
    let app = spawn_with_metrics().await;
    let token = access_token("alice");
    assert_eq!(app.me_with_cookie(&token).await.status(), 200);
    // The cache forgets the user (as its TTL would): the store reads the row
    // and finds nothing to write.
    app.authenticator.forget("alice");
    let (status, moved) =
        moved_by(&app, app.get("/api/me").header(header::COOKIE, cookie_pair(&token))).await;
    assert_eq!(status, 200);
    let moved = without_timings(moved);
    assert_eq!(moved.get(&result(SYNCS, "unchanged")), Some(&1.0), "{moved:?}");
    assert_eq!(moved.get(&result(SYNCS, "written")), None, "{moved:?}");
}
