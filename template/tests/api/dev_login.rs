//! The development login: a stand-in for the Auth service on a developer's machine.

use reqwest::header;

use crate::{
    helpers::{ACCESS_COOKIE, OWN_URL, REFRESH_COOKIE, TestApp, spawn_app},
    process::Running,
};

const FORM: [(&str, &str); 6] = [
    ("username", "dev-alice"),
    ("email", "alice@example.com"),
    ("first_name", "Alice"),
    ("last_name", "Liddell"),
    ("is_staff", "on"),
    ("next", "/me/"),
];

async fn sign_in(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.post("/dev/login/").form(form).send().await.unwrap()
}

/// The `name=value` pairs of the response's Set-Cookie headers, as a Cookie header.
fn cookie_header(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn the_login_page_carries_next_through_the_form() {
    let app = spawn_app().await;
    let response = app
        .get("/dev/login/?next=/me/%3Ftab%3D1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"name="next" value="/me/?tab=1""#), "{page}");
}

#[tokio::test]
async fn signing_in_sets_both_cookies_and_returns_to_next() {
    let app = spawn_app().await;
    let response = sign_in(&app, &FORM).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[header::LOCATION], "/me/");
    let set_cookies: Vec<&str> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap())
        .collect();
    assert_eq!(set_cookies.len(), 2);
    for (cookie, name) in set_cookies.iter().zip([ACCESS_COOKIE, REFRESH_COOKIE]) {
        assert!(cookie.starts_with(&format!("{name}=")), "{cookie}");
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && cookie.contains("Path=/")
        );
    }

    // The cookies are what the Auth service would set: the service accepts them.
    let me = app.me_json(&cookie_header(&response)).await;
    assert_eq!(me["username"], "dev-alice");
    assert_eq!(me["first_name"], "Alice");
    assert_eq!(me["is_staff"], true);
    assert_eq!(me["is_superuser"], false);
}

#[tokio::test]
async fn next_outside_own_url_falls_back_to_the_home_page() {
    let app = spawn_app().await;
    for next in [
        "http://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "\t//evil.example",
        "https://evil.example@svc.localhost:8001.evil.example/",
        "javascript:alert(1)",
        "",
    ] {
        let mut form = FORM.to_vec();
        form[5] = ("next", next);
        let response = sign_in(&app, &form).await;
        assert_eq!(response.headers()[header::LOCATION], "/", "{next}");
    }
    // A browser resolves `http:evil.example` against this page as a path
    // here: it stays on this service, like every `next` that is not refused.
    let own = url::Url::parse(OWN_URL).unwrap();
    for next in [
        "http:evil.example",
        "/./me/",
        "me/../x",
        "?a=//evil.example",
    ] {
        let mut form = FORM.to_vec();
        form[5] = ("next", next);
        let response = sign_in(&app, &form).await;
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        assert_eq!(
            own.join(location).unwrap().origin(),
            own.origin(),
            "{next} → {location}"
        );
    }
    let mut form = FORM.to_vec();
    form[5] = ("next", "http://svc.localhost:8001/me/?x=1");
    let response = sign_in(&app, &form).await;
    assert_eq!(
        response.headers()[header::LOCATION],
        "http://svc.localhost:8001/me/?x=1"
    );
    // Percent-encoded, a tab is just part of a path on this service.
    let mut form = FORM.to_vec();
    form[5] = ("next", "/%09/evil.example");
    let response = sign_in(&app, &form).await;
    assert_eq!(response.headers()[header::LOCATION], "/%09/evil.example");
    // A path that a browser would read as another host stays on this one.
    let mut form = FORM.to_vec();
    form[5] = ("next", "/.//evil.example");
    let response = sign_in(&app, &form).await;
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    assert!(
        location.starts_with("http://svc.localhost:8001/"),
        "{location}"
    );
}

#[tokio::test]
async fn invalid_claims_get_a_400_page_and_no_cookies() {
    let app = spawn_app().await;
    let long = "x".repeat(151);
    for (field, value) in [("username", ""), ("username", long.as_str()), ("email", "")] {
        let mut form = FORM.to_vec();
        let slot = form.iter().position(|(k, _)| *k == field).unwrap();
        form[slot] = (field, value);
        let response = sign_in(&app, &form).await;
        assert_eq!(response.status(), 400, "{field}");
        assert!(response.headers().get(header::SET_COOKIE).is_none());
    }
    // A form missing fields altogether is a client error too, never a 500.
    let response = app
        .post("/dev/login/")
        .form(&[("next", "/")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
}

#[tokio::test]
async fn signing_out_expires_both_cookies() {
    let app = spawn_app().await;
    let response = app.post("/dev/logout/").send().await.unwrap();
    assert_eq!(response.status(), 303);
    let cleared: Vec<&str> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap())
        .collect();
    assert_eq!(cleared.len(), 2);
    assert!(cleared.iter().all(|c| c.contains("Max-Age=0")));
}

#[tokio::test]
async fn the_development_login_is_absent_when_disabled() {
    let app = crate::helpers::spawn_app_with(&[("dev_login.enabled", "false")]).await;
    assert_eq!(app.get("/dev/login/").send().await.unwrap().status(), 404);
    assert_eq!(sign_in(&app, &FORM).await.status(), 404);
}

#[tokio::test]
async fn the_development_login_follows_the_port_the_service_runs_on() {
    // The local settings, on a port other than the one generated with.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let database = crate::database::TestDatabase::create().await;
    let service = Running::start(&[
        ("APP_ENV", "local"),
        ("APP__SERVER__PORT", &port),
        ("APP__DATABASE__URL", database.url()),
    ])
    .unwrap_or_else(|output| panic!("the service never started:\n{output}"));
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(service.url("/me/"))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()[header::LOCATION],
        format!("http://localhost:{port}/dev/login/?next=http%3A//localhost%3A{port}/me/").as_str()
    );
}
