//! Interop with the real Auth service: a small Django project using the real
//! `djangorestframework-simplejwt` (`tests/interop/auth_service`, in a Python
//! venv) signs a user in and sets its cookies, renews expired sessions and
//! publishes its keys; a generated service, running as its own process in
//! production mode, accepts and rejects its tokens as SPEC.md says. Two Auth
//! services: `SimpleJWT`'s default (HS256, a shared key) and one signing with
//! RS256 that publishes its key as a JWKS, which the `key_source=jwks`
//! variant fetches over HTTP. The tokens the Auth service never hands out
//! (expired, wrong type, other key, a claim missing) are crafted with its own
//! settings and keys by `tests/interop/mint_tokens.py`.
//!
//! Needs the venv: run `scripts/ensure-python-venv` first (or point
//! `SIMPLEJWT_PYTHON` at a python with `tests/interop/requirements.txt`).

use std::{
    collections::BTreeMap,
    fmt,
    fs::File,
    io::Read,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    thread,
    time::Duration,
};

use serde_json::{Value, json};
use template_tests::{Service, cargo, free_port, generate, http_status, poll, repo_root};

const NAME: &str = "interop-svc";
const JWKS_NAME: &str = "interop-jwks-svc";
/// What the projects are generated with; each test overrides both with the
/// real addresses (`APP__AUTH__OWN_URL`, `APP__AUTH__LOGIN_URL`).
const GENERATED_OWN_URL: &str = "http://svc.localhost:8001";
const GENERATED_LOGIN_URL: &str = "http://auth.localhost:8000/login/";
const ACCESS_COOKIE: &str = "org.breakthesystem.jwt.access";
const REFRESH_COOKIE: &str = "org.breakthesystem.jwt.refresh";
/// The user `serve.py` creates at the Auth service.
const USERNAME: &str = "ada";

#[test]
fn simplejwt_tokens_are_accepted_and_rejected_as_spec_says() {
    let python = venv_python();
    let project = hs256_project();
    let scratch = tempfile::tempdir().expect("create a temporary folder");
    let (port, own_url) = own_address();

    let secret = random_secret();
    let auth = AuthService::start(
        &python,
        scratch.path(),
        &[
            ("AUTH_SERVICE_SIGNING_KEY", secret.clone()),
            ("AUTH_SERVICE_REDIRECT_HOSTS", host_of(&own_url)),
        ],
    );
    let tokens = auth_service_tokens(&auth, &own_url);

    let db = scratch.path().join("interop.db");
    let mut service = Service::start(
        project,
        NAME,
        port,
        &production_env(
            NAME,
            &db,
            &own_url,
            &auth,
            [("APP__AUTH__SECRET", secret.clone())],
        ),
        &scratch.path().join("service.log"),
    );
    let client = Client::new(port);

    tokens_are_accepted_and_rejected(&client, &tokens, &auth, &own_url);
    the_user_row_copies_the_claims(&python, &db, &tokens);
    logged_no_token(&mut service, &tokens);
}

#[test]
fn simplejwt_rs256_tokens_are_verified_with_the_auth_services_jwks() {
    let python = venv_python();
    let project = generate(
        JWKS_NAME,
        &[
            ("own_url", GENERATED_OWN_URL),
            ("login_url", GENERATED_LOGIN_URL),
            ("key_source", "jwks"),
        ],
    );
    cargo(&project, ["build"]);
    let scratch = tempfile::tempdir().expect("create a temporary folder");
    let (port, own_url) = own_address();

    // Its JWKS answers 503 until the test brings it up: the service must
    // start without keys. It publishes its next key first (a rotation in
    // progress), so a kid-less token has to be matched against more than one.
    let auth = AuthService::start(
        &python,
        scratch.path(),
        &[
            ("AUTH_SERVICE_ALGORITHM", "RS256".to_owned()),
            ("AUTH_SERVICE_JWKS_DOWN", "1".to_owned()),
            ("AUTH_SERVICE_PUBLISH_NEXT_KEY", "1".to_owned()),
            ("AUTH_SERVICE_REDIRECT_HOSTS", host_of(&own_url)),
        ],
    );
    let tokens = auth_service_tokens(&auth, &own_url);

    let db = scratch.path().join("interop.db");
    let mut service = Service::spawn(
        &project,
        JWKS_NAME,
        port,
        &production_env(
            JWKS_NAME,
            &db,
            &own_url,
            &auth,
            [
                ("APP__AUTH__JWKS_URL", auth.url("/jwks/")),
                // While no key is loaded, each kid-less token asks for a fetch:
                // at most one a second, instead of the default 30 s.
                ("APP__AUTH__JWKS_MIN_REFRESH_INTERVAL_SECS", "1".to_owned()),
            ],
        ),
        &scratch.path().join("service.log"),
    );
    let client = Client::new(port);

    // The Auth service's JWKS is down: the service runs, not ready, nobody
    // signed in.
    wait_until_answering(port);
    let ready = client.get("/api/health/ready", &[accept_json()]);
    assert_eq!(ready.status, 503, "readiness without keys: {ready:?}");
    let valid_cookies = cookie_header(&tokens["valid"]);
    let anonymous = client.get("/api/me", &[accept_json(), valid_cookies.clone()]);
    assert_eq!(anonymous.status, 401, "valid token, no keys: {anonymous:?}");
    // The fetch that request asked for (or the start-up one) was answered.
    auth.wait_for_request(r#""GET /jwks/ HTTP/1.1" 503"#);

    // It comes up: the next fetch, at most a second after a token asks for
    // one, loads the keys.
    let up = auth
        .http
        .post(&auth.url("/test/jwks/up/"), &[], Body::Empty);
    assert_eq!(up.status, 204, "bringing the JWKS up: {up:?}");
    let mut last = None;
    let accepted = poll(Duration::from_secs(10), Duration::from_millis(200), || {
        let reply = client.get("/api/me", &[accept_json(), valid_cookies.clone()]);
        if reply.status == 200 {
            return Some(());
        }
        last = Some(reply);
        None
    });
    assert!(
        accepted.is_some(),
        "the valid token is still refused 10 s after the JWKS came up: {last:?}"
    );
    service.wait_until_ready();

    tokens_are_accepted_and_rejected(&client, &tokens, &auth, &own_url);
    the_user_row_copies_the_claims(&python, &db, &tokens);
    let log = logged_no_token(&mut service, &tokens);
    for line in ["cannot fetch the JWKS", "JWKS loaded"] {
        assert!(log.contains(line), "no `{line}` in the log:\n{log}");
    }
}

/// Awaits the template's `auth.refresh_url` (`APP__AUTH__REFRESH_URL`): until
/// the service knows that setting, it refuses to start with it.
#[test]
fn an_expired_session_is_renewed_through_the_auth_service_without_a_login_form() {
    /// Short, so the test waits little, long enough for two requests.
    const ACCESS_LIFETIME: Duration = Duration::from_secs(3);

    let python = venv_python();
    let project = hs256_project();
    let scratch = tempfile::tempdir().expect("create a temporary folder");
    let (port, own_url) = own_address();

    let secret = random_secret();
    let auth = AuthService::start(
        &python,
        scratch.path(),
        &[
            ("AUTH_SERVICE_SIGNING_KEY", secret.clone()),
            ("AUTH_SERVICE_REDIRECT_HOSTS", host_of(&own_url)),
            (
                "AUTH_SERVICE_ACCESS_LIFETIME_SECS",
                ACCESS_LIFETIME.as_secs().to_string(),
            ),
            ("AUTH_SERVICE_ROTATE_REFRESH_TOKENS", "1".to_owned()),
        ],
    );
    let db = scratch.path().join("interop.db");
    let mut service = Service::start(
        project,
        NAME,
        port,
        &production_env(
            NAME,
            &db,
            &own_url,
            &auth,
            [
                ("APP__AUTH__SECRET", secret.clone()),
                ("APP__AUTH__REFRESH_URL", auth.url("/refresh/")),
            ],
        ),
        &scratch.path().join("service.log"),
    );
    let me_page = format!("{own_url}/me/");
    let next = format!("next=http%3A//127.0.0.1%3A{port}/me/");
    let mut browser = Browser::new("browser");

    // Anonymous: to the login form and back, signed in.
    let to_login = browser.navigate(&me_page);
    assert_eq!(to_login.status, 302, "anonymous browser: {to_login:?}");
    assert_eq!(
        to_login.location.as_deref(),
        Some(auth.url(&format!("/login/?{next}")).as_str())
    );
    browser.sign_in(&auth, &me_page);
    let page = browser.navigate(&me_page);
    the_page_shows_the_user(&page);
    let first_access = browser.cookie(ACCESS_COOKIE);

    // The access token expires; an API client is told so, and where to go.
    let expired = browser.poll_until_not_ok(
        &format!("{own_url}/api/me"),
        ACCESS_LIFETIME + Duration::from_secs(10),
    );
    the_api_client_is_told_the_token_expired(&expired, &auth);

    // A browser goes to the Auth service's refresh page, which sends it back
    // with a new access token (and, rotated, a new refresh token).
    let to_refresh = browser.navigate(&me_page);
    assert_eq!(to_refresh.status, 302, "expired session: {to_refresh:?}");
    assert_eq!(
        to_refresh.location.as_deref(),
        Some(auth.url(&format!("/refresh/?{next}")).as_str())
    );
    let renewed = browser.navigate(to_refresh.location.as_deref().unwrap_or_default());
    assert_eq!(renewed.status, 302, "the refresh page: {renewed:?}");
    assert_eq!(renewed.location.as_deref(), Some(me_page.as_str()));
    for cookie in [ACCESS_COOKIE, REFRESH_COOKIE] {
        assert!(
            renewed.sets_cookie(cookie),
            "the refresh page set no {cookie}: {renewed:?}"
        );
    }
    assert_ne!(browser.cookie(ACCESS_COOKIE), first_access, "a new token");
    let page = browser.navigate(&me_page);
    the_page_shows_the_user(&page);

    no_login_form_after_signing_in(&browser, &auth);

    // Without a refresh cookie, the refresh page sends the browser to the
    // login form, with the same `next`.
    let to_login = Browser::new("no cookies").navigate(&auth.url(&format!("/refresh/?{next}")));
    assert_eq!(
        to_login.status, 302,
        "refresh without a cookie: {to_login:?}"
    );
    assert_eq!(
        to_login.location.as_deref(),
        Some(format!("/login/?{next}").as_str())
    );

    logged_no_token(&mut service, &json!(browser.tokens_seen));
}

/// The 401 for an expired access token next to the refresh cookie: JSON
/// `token_expired` with where to renew it or sign in, and the RFC 6750
/// challenge.
fn the_api_client_is_told_the_token_expired(expired: &Reply, auth: &AuthService) {
    assert_eq!(expired.status, 401, "expired access token: {expired:?}");
    let error: Value = serde_json::from_str(&expired.body).expect("401 answers JSON");
    assert_eq!(error["error"], "token_expired", "{expired:?}");
    for (field, url) in [
        ("login_url", auth.url("/login/")),
        ("refresh_url", auth.url("/refresh/")),
    ] {
        let value = error[field].as_str().unwrap_or_default();
        assert!(value.starts_with(&url), "`{field}` is not {url}…: {error}");
    }
    let challenge = expired.www_authenticate.as_deref().unwrap_or_default();
    // RFC 6750 section 3: the parameters' order (and a realm) are free.
    let description = challenge
        .split_once(r#"error_description=""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(description, _)| description);
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains(r#"error="invalid_token""#)
            && description.is_some_and(|d| d.contains("expired")),
        "WWW-Authenticate for an expired token: {challenge:?}"
    );
}

/// Once signed in, no hop went to the login form.
fn no_login_form_after_signing_in(browser: &Browser, auth: &AuthService) {
    let signed_in = browser
        .hops
        .iter()
        .position(|hop| hop.method == "POST")
        .expect("the sign-in hop");
    let login_form = auth.url("/login/");
    for hop in &browser.hops[signed_in + 1..] {
        let to_login = hop.url.starts_with(&login_form)
            || hop
                .location
                .as_deref()
                .is_some_and(|l| l.contains("/login/"));
        assert!(!to_login, "a login form after signing in: {}", hop.url);
    }
}

/// The HS256 service, generated and built once for the tests that use it.
fn hs256_project() -> &'static Path {
    static PROJECT: OnceLock<PathBuf> = OnceLock::new();
    PROJECT.get_or_init(|| {
        let project = generate(
            NAME,
            &[
                ("own_url", GENERATED_OWN_URL),
                ("login_url", GENERATED_LOGIN_URL),
            ],
        );
        cargo(&project, ["build"]);
        project
    })
}

/// A free port for the service, and its own URL there.
fn own_address() -> (u16, String) {
    let port = free_port();
    (port, format!("http://127.0.0.1:{port}"))
}

/// `host:port` of an `http://` URL: what the Auth service may redirect to.
fn host_of(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .expect("a host")
        .to_owned()
}

/// The tokens for the tests: `valid`, the cookie pair a browser gets by
/// signing in (to come back to `own_url`); `api`, the pair an API client
/// gets from `SimpleJWT`'s `/api/token/`; and the crafted ones of
/// `mint_tokens.py`, with the user's `claims`.
fn auth_service_tokens(auth: &AuthService, own_url: &str) -> Value {
    let mut browser = Browser::new("sign-in");
    browser.sign_in(auth, &format!("{own_url}/me/"));
    let mut tokens = auth.mint_tokens();
    tokens["valid"] = json!({
        "access": browser.cookie(ACCESS_COOKIE),
        "refresh": browser.cookie(REFRESH_COOKIE),
    });
    tokens["api"] = auth.obtain_token_pair();
    tokens
}

/// A production service's settings: its `SQLite` file `db`, its own URL, the
/// Auth service's login page, debug logs, and `auth` (where the Auth
/// service's signing keys come from, and more).
fn production_env<const N: usize>(
    name: &str,
    db: &Path,
    own_url: &str,
    auth_service: &AuthService,
    auth: [(&'static str, String); N],
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("APP_ENV", "production".to_owned()),
        (
            "APP__DATABASE__URL",
            format!("sqlite://{}?mode=rwc", db.display()),
        ),
        ("APP__AUTH__OWN_URL", own_url.to_owned()),
        ("APP__AUTH__LOGIN_URL", auth_service.url("/login/")),
        // The service's own debug lines too: a token must not show up in any.
        ("RUST_LOG", format!("info,{}=debug", name.replace('-', "_"))),
    ];
    env.extend(auth);
    env
}

/// Waits until the service answers HTTP at all (ready or not).
fn wait_until_answering(port: u16) {
    let answered = poll(
        template_tests::READY_WITHIN,
        Duration::from_millis(100),
        || http_status(port, "/api/health/ready"),
    );
    assert!(
        answered.is_some(),
        "nothing answers on port {port} after {:?}",
        template_tests::READY_WITHIN
    );
}

/// Valid tokens are the claims' user, bad ones are anonymous, and an
/// anonymous browser is sent to the Auth service's login page.
fn tokens_are_accepted_and_rejected(
    client: &Client,
    tokens: &Value,
    auth: &AuthService,
    own_url: &str,
) {
    valid_tokens_are_accepted(client, tokens);
    bad_tokens_are_rejected(client, tokens);

    // A browser without cookies goes to the Auth service and comes back here.
    let page = client.get("/me/", &[("Accept", "text/html".to_owned())]);
    assert_eq!(page.status, 302, "anonymous browser: {page:?}");
    let own = own_url.replace(':', "%3A");
    assert_eq!(
        page.location,
        Some(auth.url(&format!("/login/?next={own}/me/"))),
    );
}

/// One local row, a copy of the claims; the rejected tokens created none.
fn the_user_row_copies_the_claims(python: &Path, db: &Path, tokens: &Value) {
    let users = run_json(
        Command::new(python)
            .arg(repo_root().join("tests/interop/dump_users.py"))
            .arg(db),
    );
    let claims = &tokens["claims"];
    let flag = |claim: &str| json!(i64::from(claims[claim].as_bool().expect("a bool claim")));
    assert_eq!(
        users,
        json!([{
            "username": claims["user_uuid"],
            "email": claims["user_email"],
            "first_name": claims["user_first_name"],
            "last_name": claims["user_last_name"],
            "is_staff": flag("user_is_staff"),
            "is_superuser": flag("user_is_superuser"),
            "is_active": 1,
        }]),
    );
}

/// `/me/` answered 200 with the signed-in user's account.
fn the_page_shows_the_user(page: &Reply) {
    assert_eq!(page.status, 200, "the account page: {page:?}");
    assert!(
        page.body.contains("<td>ada@example.com</td>"),
        "the account page does not show the user: {page:?}"
    );
}

/// Stops the service and returns its output, which must hold no token:
/// tokens are credentials.
fn logged_no_token(service: &mut Service, tokens: &Value) -> String {
    let log = service.stop();
    assert!(!log.trim().is_empty(), "the service logged nothing");
    let tokens = all_tokens(tokens);
    assert!(!tokens.is_empty(), "no token to look for");
    for token in tokens {
        assert!(!log.contains(token), "the service logged a token:\n{log}");
    }
    log
}

/// The Auth service's cookie pair (as a browser on the shared domain sends
/// it) and an access token from its API as a bearer token (the native API
/// mode) are the same user, a copy of the claims.
fn valid_tokens_are_accepted(client: &Client, tokens: &Value) {
    let claims = &tokens["claims"];
    let by_cookie = client.get("/api/me", &[accept_json(), cookie_header(&tokens["valid"])]);
    assert_eq!(by_cookie.status, 200, "valid cookie pair: {by_cookie:?}");
    let me: Value = serde_json::from_str(&by_cookie.body).expect("/api/me answers JSON");
    for (field, claim) in [
        ("username", "user_uuid"),
        ("email", "user_email"),
        ("first_name", "user_first_name"),
        ("last_name", "user_last_name"),
        ("is_staff", "user_is_staff"),
        ("is_superuser", "user_is_superuser"),
    ] {
        assert_eq!(
            me[field], claims[claim],
            "/api/me `{field}` vs claim `{claim}`: {me}"
        );
    }
    assert_eq!(me["is_active"], true, "{me}");

    let by_bearer = client.get(
        "/api/me",
        &[accept_json(), bearer_header(&tokens["api"]["access"])],
    );
    assert_eq!(by_bearer.status, 200, "valid bearer token: {by_bearer:?}");
    let me_again: Value = serde_json::from_str(&by_bearer.body).expect("/api/me answers JSON");
    assert_eq!(me_again, me, "bearer and cookie are the same local user");
}

/// Every token `SimpleJWT` refuses, and one it accepts that lacks a required
/// claim: anonymous (401 JSON with `WWW-Authenticate`), by cookie and bearer.
fn bad_tokens_are_rejected(client: &Client, tokens: &Value) {
    let valid_refresh = &tokens["valid"]["refresh"];
    let cases = [
        (
            "expired access token",
            &tokens["expired_access"],
            valid_refresh,
        ),
        (
            "refresh token as access token",
            &tokens["refresh_as_access"],
            valid_refresh,
        ),
        (
            "signed with another key",
            &tokens["other_key"]["access"],
            &tokens["other_key"]["refresh"],
        ),
        (
            "no user_uuid claim",
            &tokens["no_uuid"]["access"],
            &tokens["no_uuid"]["refresh"],
        ),
    ];
    for (case, access, refresh) in cases {
        let pair = json!({ "access": access, "refresh": refresh });
        for (mode, credentials) in [
            ("cookie", cookie_header(&pair)),
            ("bearer", bearer_header(access)),
        ] {
            let reply = client.get("/api/me", &[accept_json(), credentials]);
            assert_eq!(reply.status, 401, "{case} ({mode}): {reply:?}");
            let error: Value = serde_json::from_str(&reply.body).expect("401 answers JSON");
            // An expired token is the one rejection told apart: the client
            // can renew it instead of signing in again.
            let expected = if case == "expired access token" {
                "token_expired"
            } else {
                "unauthenticated"
            };
            assert_eq!(error["error"], expected, "{case} ({mode}): {reply:?}");
            assert!(
                reply.www_authenticate.is_some(),
                "{case} ({mode}): no WWW-Authenticate"
            );
        }
    }
}

/// The venv's python, from `SIMPLEJWT_PYTHON` or `<repo>/target/venv`.
fn venv_python() -> PathBuf {
    let python = std::env::var_os("SIMPLEJWT_PYTHON")
        .map_or_else(|| repo_root().join("target/venv/bin/python"), PathBuf::from);
    assert!(
        python.exists(),
        "no python at {}: run scripts/ensure-python-venv first",
        python.display()
    );
    python
}

/// 50 random alphanumeric characters: a signing key, or a password.
fn random_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0_u8; 50];
    File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// Runs `command` and parses its standard output as JSON.
fn run_json(command: &mut Command) -> Value {
    let output = command.output().expect("run python");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

/// Every token string in `value`.
fn all_tokens(value: &Value) -> Vec<&str> {
    match value {
        Value::String(token) if token.starts_with("eyJ") => vec![token.as_str()],
        Value::Object(map) => map.values().flat_map(all_tokens).collect(),
        Value::Array(list) => list.iter().flat_map(all_tokens).collect(),
        _ => Vec::new(),
    }
}

fn accept_json() -> (&'static str, String) {
    ("Accept", "application/json".to_owned())
}

fn cookie_header(pair: &Value) -> (&'static str, String) {
    let (access, refresh) = (text(&pair["access"]), text(&pair["refresh"]));
    (
        "Cookie",
        format!("{ACCESS_COOKIE}={access}; {REFRESH_COOKIE}={refresh}"),
    )
}

fn bearer_header(access: &Value) -> (&'static str, String) {
    ("Authorization", format!("Bearer {}", text(access)))
}

fn text(value: &Value) -> &str {
    value.as_str().expect("a token string")
}

/// The Auth service stand-in (`tests/interop/auth_service/serve.py`): a
/// Django project with the real `SimpleJWT`, on a port of its choosing on
/// 127.0.0.1, its state (`SQLite`, RSA keys) in a folder of the test's.
/// Killed on drop; when the test is panicking, its log is printed.
struct AuthService {
    child: Child,
    /// `http://127.0.0.1:<port>`
    base: String,
    /// Its settings: `mint_tokens.py` runs with them too.
    env: Vec<(&'static str, String)>,
    password: String,
    log: PathBuf,
    http: Http,
}

impl AuthService {
    /// Starts it with `settings` (`AUTH_SERVICE_*` variables; none is
    /// inherited) and waits until it announces its port.
    fn start(python: &Path, scratch: &Path, settings: &[(&'static str, String)]) -> Self {
        let dir = scratch.join("auth-service");
        std::fs::create_dir_all(&dir).expect("create the Auth service's folder");
        let password = random_secret();
        let mut env = vec![
            ("AUTH_SERVICE_DIR", dir.display().to_string()),
            ("AUTH_SERVICE_USERNAME", USERNAME.to_owned()),
            ("AUTH_SERVICE_PASSWORD", password.clone()),
            ("PYTHONDONTWRITEBYTECODE", "1".to_owned()),
            ("PYTHONUNBUFFERED", "1".to_owned()),
        ];
        env.extend(settings.iter().cloned());
        let log = scratch.join("auth-service.log");
        let output = File::create(&log).expect("create the Auth service's log");
        let mut command = Command::new(python);
        Self::settings_only(&mut command, &env);
        let child = command
            .arg(repo_root().join("tests/interop/auth_service/serve.py"))
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("share the log file"))
            .stderr(output)
            .spawn()
            .expect("start the Auth service");
        let mut auth = Self {
            child,
            base: String::new(),
            env,
            password,
            log,
            http: Http::new(),
        };
        auth.base = auth.wait_until_listening();
        auth
    }

    /// `command` with `env`, and no `AUTH_SERVICE_*` nor `DJANGO_SETTINGS_MODULE`
    /// from the developer's shell.
    fn settings_only(command: &mut Command, env: &[(&'static str, String)]) {
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("AUTH_SERVICE_") {
                command.env_remove(key);
            }
        }
        command.env_remove("DJANGO_SETTINGS_MODULE");
        command.envs(env.iter().map(|(key, value)| (key, value)));
    }

    /// Polls its log for `auth-service listening on <url>/`; returns `<url>`.
    fn wait_until_listening(&mut self) -> String {
        const ANNOUNCEMENT: &str = "auth-service listening on ";
        let child = &mut self.child;
        let log = &self.log;
        let outcome = poll(
            template_tests::READY_WITHIN,
            Duration::from_millis(50),
            || {
                let output = std::fs::read_to_string(log).unwrap_or_default();
                if let Some(url) = output.lines().find_map(|l| l.strip_prefix(ANNOUNCEMENT)) {
                    return Some(Ok(url.trim_end_matches('/').to_owned()));
                }
                child.try_wait().expect("poll the Auth service").map(Err)
            },
        );
        match outcome {
            Some(Ok(url)) => url,
            Some(Err(status)) => panic!(
                "the Auth service exited with {status} before it listened:\n{}",
                self.output()
            ),
            None => panic!(
                "the Auth service did not listen within {:?}:\n{}",
                template_tests::READY_WITHIN,
                self.output()
            ),
        }
    }

    /// `http://127.0.0.1:<port><path>`
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The crafted tokens of `tests/interop/mint_tokens.py`, made with this
    /// Auth service's settings, keys and user.
    fn mint_tokens(&self) -> Value {
        let python = venv_python();
        let mut command = Command::new(python);
        Self::settings_only(&mut command, &self.env);
        run_json(command.arg(repo_root().join("tests/interop/mint_tokens.py")))
    }

    /// A token pair from `SimpleJWT`'s own `POST /api/token/`, as an API
    /// client signs in.
    fn obtain_token_pair(&self) -> Value {
        let credentials = json!({ "username": USERNAME, "password": self.password });
        let reply = self.http.post(
            &self.url("/api/token/"),
            &[("Accept", "application/json".to_owned())],
            Body::Json(&credentials),
        );
        // The body holds tokens: only the status goes into a message.
        assert_eq!(reply.status, 200, "POST /api/token/");
        let pair: Value = serde_json::from_str(&reply.body).expect("/api/token/ answers JSON");
        assert!(pair["access"].is_string() && pair["refresh"].is_string());
        pair
    }

    /// Waits (at most 5 s) until its log shows `request` (a part of a request
    /// line, e.g. `"GET /jwks/ HTTP/1.1" 503`), which Django writes once the
    /// response is sent.
    fn wait_for_request(&self, request: &str) {
        let seen = poll(Duration::from_secs(5), Duration::from_millis(50), || {
            self.output().contains(request).then_some(())
        });
        assert!(
            seen.is_some(),
            "the Auth service never answered {request}:\n{}",
            self.output()
        );
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for AuthService {
    fn drop(&mut self) {
        // Killing an exited child is harmless; waiting reaps it.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- Auth service output ---\n{}", self.output());
        }
    }
}

/// What a test needs of a response. Its `Debug` shows cookie names, never
/// their values.
struct Reply {
    status: u16,
    location: Option<String>,
    www_authenticate: Option<String>,
    /// `(name, value, attributes)` of each `Set-Cookie`.
    set_cookies: Vec<(String, String, String)>,
    body: String,
}

impl Reply {
    fn sets_cookie(&self, name: &str) -> bool {
        self.set_cookies.iter().any(|(set, _, _)| set == name)
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cookies: Vec<String> = self
            .set_cookies
            .iter()
            .map(|(name, _, attributes)| format!("{name}=…; {attributes}"))
            .collect();
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("location", &self.location)
            .field("www_authenticate", &self.www_authenticate)
            .field("set_cookies", &cookies)
            .field("body", &self.body)
            .finish()
    }
}

/// A request body.
#[derive(Clone, Copy)]
enum Body<'a> {
    Empty,
    Form(&'a [(&'a str, &'a str)]),
    Json(&'a Value),
}

/// Plain HTTP: no redirects followed, no cookies kept, 4xx/5xx are answers,
/// not errors.
struct Http {
    agent: ureq::Agent,
}

impl Http {
    fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Self { agent }
    }

    fn get(&self, url: &str, headers: &[(&str, String)]) -> Reply {
        let mut request = self.agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        Self::reply(url, request.call())
    }

    fn post(&self, url: &str, headers: &[(&str, String)], body: Body<'_>) -> Reply {
        let mut request = self.agent.post(url);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let sent = match body {
            Body::Empty => request.send_empty(),
            Body::Form(fields) => request.send_form(fields.iter().copied()),
            Body::Json(value) => request
                .header("Content-Type", "application/json")
                .send(value.to_string()),
        };
        Self::reply(url, sent)
    }

    fn reply(url: &str, sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut response = sent.unwrap_or_else(|e| panic!("{url}: {e}"));
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .map(|v| v.to_str().expect("an ASCII header").to_owned())
        };
        let (location, www_authenticate) = (header("location"), header("www-authenticate"));
        let set_cookies = headers
            .get_all("set-cookie")
            .iter()
            .map(|v| {
                let line = v.to_str().expect("an ASCII header");
                let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
                let (name, value) = pair.split_once('=').expect("a cookie pair");
                (
                    name.trim().to_owned(),
                    value.trim().to_owned(),
                    attributes.trim().to_owned(),
                )
            })
            .collect();
        Reply {
            status: response.status().as_u16(),
            location,
            www_authenticate,
            set_cookies,
            body: response.body_mut().read_to_string().expect("read the body"),
        }
    }
}

/// HTTP to the service at `127.0.0.1:port`.
struct Client {
    http: Http,
    base: String,
}

impl Client {
    fn new(port: u16) -> Self {
        Self {
            http: Http::new(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn get(&self, path: &str, headers: &[(&str, String)]) -> Reply {
        self.http.get(&format!("{}{path}", self.base), headers)
    }
}

/// One request a [`Browser`] made, for the record.
struct Hop {
    method: &'static str,
    url: String,
    status: u16,
    location: Option<String>,
}

impl fmt::Display for Hop {
    /// Method, URL, status and `Location`: never a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.method, self.url, self.status)?;
        if let Some(location) = &self.location {
            write!(f, ", Location: {location}")?;
        }
        Ok(())
    }
}

/// A browser, as far as the tests need one: it keeps the cookies both
/// servers set (they share the host 127.0.0.1, and cookies ignore ports, as
/// they would on a shared parent domain), follows no redirect by itself, and
/// records every hop.
struct Browser {
    /// Tags its hops in the test's output.
    name: &'static str,
    http: Http,
    cookies: BTreeMap<String, String>,
    hops: Vec<Hop>,
    /// Every token it was given: none may show up in a log.
    tokens_seen: Vec<String>,
}

impl Browser {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            http: Http::new(),
            cookies: BTreeMap::new(),
            hops: Vec::new(),
            tokens_seen: Vec::new(),
        }
    }

    /// A page navigation (`Accept: text/html`) to `url`.
    fn navigate(&mut self, url: &str) -> Reply {
        let headers = self.headers("text/html");
        let reply = self.http.get(url, &headers);
        self.record("GET", url, reply)
    }

    /// Signs in at `auth`'s login form, to come back to `next`: the form
    /// (with its CSRF token), then the POST, which sets the two `HttpOnly`
    /// cookies on the whole host and redirects to `next`.
    fn sign_in(&mut self, auth: &AuthService, next: &str) {
        let form_url = auth.url("/login/");
        let form = self.navigate(&format!("{form_url}?next={}", quote(next)));
        assert_eq!(form.status, 200, "the login form: {form:?}");
        assert!(
            form.body
                .contains(&format!(r#"name="next" value="{next}""#)),
            "the login form does not carry `next` on: {form:?}"
        );
        let csrf = form
            .body
            .split_once(r#"name="csrfmiddlewaretoken" value=""#)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(token, _)| token.to_owned())
            .expect("a CSRF token in the login form");

        let mut headers = self.headers("text/html");
        headers.push(("Origin", auth.base.clone()));
        let fields = [
            ("csrfmiddlewaretoken", csrf.as_str()),
            ("username", USERNAME),
            ("password", auth.password.as_str()),
            ("next", next),
        ];
        let reply = self.http.post(&form_url, &headers, Body::Form(&fields));
        let reply = self.record("POST", &form_url, reply);
        assert_eq!(reply.status, 302, "signing in: {reply:?}");
        assert_eq!(reply.location.as_deref(), Some(next), "signing in");
        for cookie in [ACCESS_COOKIE, REFRESH_COOKIE] {
            let (_, _, attributes) = reply
                .set_cookies
                .iter()
                .find(|(name, _, _)| name == cookie)
                .unwrap_or_else(|| panic!("signing in set no {cookie}: {reply:?}"));
            for attribute in ["HttpOnly", "Path=/", "SameSite=Lax"] {
                assert!(
                    attributes.split("; ").any(|a| a == attribute),
                    "{cookie} is not {attribute}: {reply:?}"
                );
            }
        }
    }

    /// `GET url` as an API client with the browser's cookies, every 200 ms,
    /// until the answer is not 200; at most `within`.
    fn poll_until_not_ok(&mut self, url: &str, within: Duration) -> Reply {
        let headers = self.headers("application/json");
        let http = &self.http;
        let reply = poll(within, Duration::from_millis(200), || {
            let reply = http.get(url, &headers);
            (reply.status != 200).then_some(reply)
        })
        .unwrap_or_else(|| panic!("{url} still answers 200 after {within:?}"));
        self.record("GET (API)", url, reply)
    }

    /// The value of the cookie `name`.
    fn cookie(&self, name: &str) -> String {
        self.cookies
            .get(name)
            .unwrap_or_else(|| panic!("no cookie {name}"))
            .clone()
    }

    /// `Accept` and the cookies it holds.
    fn headers(&self, accept: &str) -> Vec<(&'static str, String)> {
        let mut headers = vec![("Accept", accept.to_owned())];
        if !self.cookies.is_empty() {
            let cookies: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            headers.push(("Cookie", cookies.join("; ")));
        }
        headers
    }

    /// Keeps the cookies `reply` sets and records the hop.
    fn record(&mut self, method: &'static str, url: &str, reply: Reply) -> Reply {
        for (name, value, attributes) in &reply.set_cookies {
            if attributes.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.clone(), value.clone());
            }
            if value.starts_with("eyJ") {
                self.tokens_seen.push(value.clone());
            }
        }
        let hop = Hop {
            method,
            url: url.to_owned(),
            status: reply.status,
            location: reply.location.clone(),
        };
        // Printed as it happens, so a failing run shows the way to it.
        let cookies: Vec<&str> = reply.set_cookies.iter().map(|c| c.0.as_str()).collect();
        eprintln!(
            "[{}] hop {}: {hop}{}",
            self.name,
            self.hops.len() + 1,
            if cookies.is_empty() {
                String::new()
            } else {
                format!(", sets {}", cookies.join(", "))
            }
        );
        self.hops.push(hop);
        reply
    }
}

/// `value` percent-encoded as a query value, `/` kept: Python's
/// `urllib.parse.quote(value, safe="/")`, as Django's `redirect_to_login`.
fn quote(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
