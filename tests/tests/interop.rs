//! Interop with the real Auth service's tokens: the real
//! `djangorestframework-simplejwt` (in a Python venv) mints them, and a
//! generated service, running as its own process in production mode, accepts
//! and rejects them as SPEC.md says. Two Auth services: `SimpleJWT`'s default
//! (HS256, a shared key) and one signing with RS256 that publishes its key as
//! a JWKS, which the `key_source=jwks` variant fetches over HTTP.
//!
//! Needs the venv: run `scripts/ensure-python-venv` first (or point
//! `SIMPLEJWT_PYTHON` at a python with `tests/interop/requirements.txt`).

use std::{
    fs::File,
    io::{Read, Write as _},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use template_tests::{Service, cargo, free_port, generate, http_status, repo_root};

const NAME: &str = "interop-svc";
const JWKS_NAME: &str = "interop-jwks-svc";
const OWN_URL: &str = "http://svc.localhost:8001";
const LOGIN_URL: &str = "http://auth.localhost:8000/login/";
const ACCESS_COOKIE: &str = "org.breakthesystem.jwt.access";
const REFRESH_COOKIE: &str = "org.breakthesystem.jwt.refresh";

#[test]
fn simplejwt_tokens_are_accepted_and_rejected_as_spec_says() {
    let python = venv_python();
    let project = generate(NAME, &[("own_url", OWN_URL), ("login_url", LOGIN_URL)]);
    cargo(&project, ["build"]);

    let secret = random_secret();
    let tokens = mint_tokens(&python, &[("SIMPLEJWT_SIGNING_KEY", &secret)]);

    let scratch = tempfile::tempdir().expect("create a temporary folder");
    let db = scratch.path().join("interop.db");
    let mut service = Service::start(
        &project,
        NAME,
        free_port(),
        &production_env(NAME, &db, [("APP__AUTH__SECRET", secret.clone())]),
        &scratch.path().join("service.log"),
    );
    let client = Client::new(service.port());

    tokens_are_accepted_and_rejected(&client, &tokens);
    the_user_row_copies_the_claims(&python, &db, &tokens);
    logged_no_token(&mut service, &tokens);
}

#[test]
fn simplejwt_rs256_tokens_are_verified_with_the_auth_services_jwks() {
    let python = venv_python();
    let project = generate(
        JWKS_NAME,
        &[
            ("own_url", OWN_URL),
            ("login_url", LOGIN_URL),
            ("key_source", "jwks"),
        ],
    );
    cargo(&project, ["build"]);

    let tokens = mint_tokens(&python, &[("SIMPLEJWT_ALGORITHM", "RS256")]);
    // Down (503) until `set_available`: the service must start without keys.
    let jwks = JwksEndpoint::start(tokens["jwks"].to_string());

    let scratch = tempfile::tempdir().expect("create a temporary folder");
    let db = scratch.path().join("interop.db");
    let mut service = Service::spawn(
        &project,
        JWKS_NAME,
        free_port(),
        &production_env(
            JWKS_NAME,
            &db,
            [
                ("APP__AUTH__JWKS_URL", jwks.url.clone()),
                // While no key is loaded, each kid-less token asks for a fetch:
                // at most one a second, instead of the default 30 s.
                ("APP__AUTH__JWKS_MIN_REFRESH_INTERVAL_SECS", "1".to_owned()),
            ],
        ),
        &scratch.path().join("service.log"),
    );
    let client = Client::new(service.port());

    // The Auth service is down: the service runs, not ready, nobody signed in.
    wait_until_answering(service.port());
    let ready = client.get("/api/health/ready", &[accept_json()]);
    assert_eq!(ready.status, 503, "readiness without keys: {ready:?}");
    let valid_cookies = cookie_header(&tokens["valid"]);
    let anonymous = client.get("/api/me", &[accept_json(), valid_cookies.clone()]);
    assert_eq!(anonymous.status, 401, "valid token, no keys: {anonymous:?}");
    // The fetch that request asked for (or the start-up one) was answered.
    assert!(jwks.requests() >= 1, "the service never fetched the JWKS");

    // It comes up: the next fetch, at most a second after a token asks for
    // one, loads the keys.
    jwks.set_available();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = client.get("/api/me", &[accept_json(), valid_cookies.clone()]);
        if reply.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the valid token is still refused 10 s after the JWKS came up: {reply:?}"
        );
        thread::sleep(Duration::from_millis(200));
    }
    service.wait_until_ready();

    tokens_are_accepted_and_rejected(&client, &tokens);
    the_user_row_copies_the_claims(&python, &db, &tokens);
    let log = logged_no_token(&mut service, &tokens);
    for line in ["cannot fetch the JWKS", "JWKS loaded"] {
        assert!(log.contains(line), "no `{line}` in the log:\n{log}");
    }
}

/// Tokens minted by `tests/interop/mint_tokens.py` with `env`.
fn mint_tokens(python: &Path, env: &[(&str, &str)]) -> Value {
    run_json(
        Command::new(python)
            .arg(repo_root().join("tests/interop/mint_tokens.py"))
            .envs(env.iter().copied()),
    )
}

/// A production service's settings: its `SQLite` file `db`, the test's URLs,
/// debug logs, and `keys` (where the Auth service's signing keys come from).
fn production_env<const N: usize>(
    name: &str,
    db: &Path,
    keys: [(&'static str, String); N],
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("APP_ENV", "production".to_owned()),
        (
            "APP__DATABASE__URL",
            format!("sqlite://{}?mode=rwc", db.display()),
        ),
        ("APP__AUTH__OWN_URL", OWN_URL.to_owned()),
        ("APP__AUTH__LOGIN_URL", LOGIN_URL.to_owned()),
        // The service's own debug lines too: a token must not show up in any.
        ("RUST_LOG", format!("info,{}=debug", name.replace('-', "_"))),
    ];
    env.extend(keys);
    env
}

/// Waits until the service answers HTTP at all (ready or not).
fn wait_until_answering(port: u16) {
    let deadline = Instant::now() + template_tests::READY_WITHIN;
    while http_status(port, "/api/health/ready").is_none() {
        assert!(
            Instant::now() < deadline,
            "nothing answers on port {port} after {:?}",
            template_tests::READY_WITHIN
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// Valid tokens are the claims' user, bad ones are anonymous, and an
/// anonymous browser is sent to the Auth service's login page.
fn tokens_are_accepted_and_rejected(client: &Client, tokens: &Value) {
    valid_tokens_are_accepted(client, tokens);
    bad_tokens_are_rejected(client, tokens);

    // A browser without cookies goes to the Auth service and comes back here.
    let page = client.get("/me/", &[("Accept", "text/html".to_owned())]);
    assert_eq!(page.status, 302, "anonymous browser: {page:?}");
    assert_eq!(
        page.location.as_deref(),
        Some("http://auth.localhost:8000/login/?next=http%3A//svc.localhost%3A8001/me/"),
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

/// Stops the service and returns its output, which must hold no token:
/// tokens are credentials.
fn logged_no_token(service: &mut Service, tokens: &Value) -> String {
    let log = service.stop();
    assert!(!log.trim().is_empty(), "the service logged nothing");
    for token in all_tokens(tokens) {
        assert!(!log.contains(token), "the service logged a token:\n{log}");
    }
    log
}

/// The Auth service's cookie pair (as a browser on the shared domain sends
/// it) and its access token as a bearer token (the native API mode) are the
/// same user, a copy of the claims.
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
        &[accept_json(), bearer_header(&tokens["valid"]["access"])],
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
            assert_eq!(
                error["error"], "unauthenticated",
                "{case} ({mode}): {reply:?}"
            );
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

/// 50 random alphanumeric characters: the Auth service's signing key.
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

/// Every token string in the minter's output.
fn all_tokens(value: &Value) -> Vec<&str> {
    match value {
        Value::String(token) if token.starts_with("eyJ") => vec![token.as_str()],
        Value::Object(map) => map.values().flat_map(all_tokens).collect(),
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

/// What a test needs of a response.
#[derive(Debug)]
struct Reply {
    status: u16,
    location: Option<String>,
    www_authenticate: Option<String>,
    body: String,
}

/// HTTP to the service: no redirects followed, 4xx/5xx are answers, not errors.
struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    fn new(port: u16) -> Self {
        let agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Self {
            agent,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn get(&self, path: &str, headers: &[(&str, String)]) -> Reply {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = request.call().unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().expect("an ASCII header").to_owned())
        };
        let (location, www_authenticate) = (header("location"), header("www-authenticate"));
        Reply {
            status: response.status().as_u16(),
            location,
            www_authenticate,
            body: response.body_mut().read_to_string().expect("read the body"),
        }
    }
}

/// The Auth service's JWKS endpoint on 127.0.0.1: answers every request with
/// the key set as `application/json`, or with 503 until
/// [`JwksEndpoint::set_available`], and counts the requests. Its thread lives
/// as long as the test process.
struct JwksEndpoint {
    url: String,
    state: Arc<EndpointState>,
}

struct EndpointState {
    key_set: String,
    available: AtomicBool,
    requests: AtomicUsize,
}

impl JwksEndpoint {
    fn start(key_set: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the JWKS endpoint");
        let address = listener.local_addr().expect("its address");
        let state = Arc::new(EndpointState {
            key_set,
            available: AtomicBool::new(false),
            requests: AtomicUsize::new(0),
        });
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                shared.answer(stream);
            }
        });
        Self {
            url: format!("http://{address}/api/jwks/"),
            state,
        }
    }

    fn set_available(&self) {
        self.state.available.store(true, Ordering::SeqCst);
    }

    /// Requests answered so far, 503s included.
    fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl EndpointState {
    /// Reads the request head (whatever it asks for) and answers it; one
    /// request per connection.
    fn answer(&self, mut stream: TcpStream) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut head = Vec::new();
        let mut chunk = [0_u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&chunk[..n]),
            }
        }
        let (status, body) = if self.available.load(Ordering::SeqCst) {
            ("200 OK", self.key_set.as_str())
        } else {
            ("503 Service Unavailable", r#"{"detail": "down"}"#)
        };
        // Counted before the answer: once a client has it, the count shows it.
        self.requests.fetch_add(1, Ordering::SeqCst);
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}
