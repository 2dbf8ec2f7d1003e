//! Anonymous browsers go to the login page with a `next` that always points
//! back at `own_url`, whatever the request's path and headers say.

use std::sync::Arc;

use poem::{
    EndpointExt, Route, Server, get,
    listener::{Acceptor, Listener, TcpListener},
};
use reqwest::header;
use serde_json::json;
use {{crate_name}}::auth::{AuthMiddleware, SignedIn};

use crate::helpers::{
    ACCESS_COOKIE, LOGIN_URL, OWN_URL, TestApp, access_claims, access_token, claims_with,
    cookie_pair, now, sign, sign_with, spawn_app, spawn_app_with,
};

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn location_of(request: reqwest::RequestBuilder) -> String {
    let response = request
        .header(header::ACCEPT, BROWSER_ACCEPT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Decodes the single `next` value of a Location.
fn next_of(location: &str) -> url::Url {
    let location = url::Url::parse(location).unwrap();
    let next: Vec<String> = location
        .query_pairs()
        .filter(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(next.len(), 1, "{location}");
    url::Url::parse(&next[0]).unwrap()
}

#[tokio::test]
async fn an_anonymous_browser_gets_the_exact_redirect_of_the_spec() {
    let app = spawn_app().await;
    // The HTML page at `/me/` and an API operation answer a browser alike.
    let location = location_of(app.get("/me/")).await;
    assert_eq!(
        location,
        "http://auth.localhost:8000/login/?next=http%3A//svc.localhost%3A8001/me/"
    );
    let response = app
        .get("/api/me")
        .header(header::ACCEPT, BROWSER_ACCEPT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()[header::LOCATION],
        "http://auth.localhost:8000/login/?next=http%3A//svc.localhost%3A8001/api/me"
    );
}

#[tokio::test]
async fn the_spec_example_redirects_byte_for_byte() {
    let app = spawn_app().await;
    let location = location_of(app.get("/me/")).await;
    assert_eq!(
        location,
        "http://auth.localhost:8000/login/?next=http%3A//svc.localhost%3A8001/me/"
    );
    let location = location_of(app.get("/me/?tab=profile&x=%C3%A9")).await;
    assert_eq!(
        location,
        "http://auth.localhost:8000/login/?next=http%3A//svc.localhost%3A8001/me/%3Ftab%3Dprofile%26x%3D%25C3%25A9"
    );
}

#[tokio::test]
async fn the_original_query_string_is_part_of_next() {
    let app = spawn_app().await;
    let location = location_of(app.get("/api/users?page=2&per_page=5")).await;
    let next = next_of(&location);
    assert_eq!(
        next.as_str(),
        "http://svc.localhost:8001/api/users?page=2&per_page=5"
    );
}

#[tokio::test]
async fn a_query_already_on_login_url_is_kept() {
    let app = spawn_app_with(&[(
        "auth.login_url",
        "http://auth.localhost:8000/login/?client=svc",
    )])
    .await;
    let location = location_of(app.get("/me/")).await;
    assert_eq!(
        location,
        "http://auth.localhost:8000/login/?client=svc&next=http%3A//svc.localhost%3A8001/me/"
    );
}

/// Serves `app`'s authentication on a route that redirects for every path
/// (the service's own routes answer 404 to most odd paths before any redirect).
async fn catch_all_route(app: &TestApp) -> String {
    #[poem::handler]
    fn signed_in_only(SignedIn(user): SignedIn) -> String {
        user.username.clone()
    }
    let route = Route::new()
        .at("/*path", get(signed_in_only))
        .with(AuthMiddleware::new(Arc::clone(&app.authenticator)));
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    tokio::spawn(Server::new_with_acceptor(acceptor).run(route));
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn host_and_forwarded_headers_never_change_where_next_points() {
    let app = spawn_app().await;
    let base = catch_all_route(&app).await;
    let own = url::Url::parse(OWN_URL).unwrap();
    let login = url::Url::parse(LOGIN_URL).unwrap();
    for path in [
        "/",
        "//evil.example/x",
        "/%2F%2Fevil.example",
        "/@evil.example",
        "/\\evil.example",
        "/%5Cevil.example",
        "/.%2E/%2E%2E/evil",
        "/x?next=http://evil.example",
        "/%0d%0aLocation:%20http://evil.example",
    ] {
        let response = app
            .client
            .get(format!("{base}{path}"))
            .header(header::HOST, "evil.example")
            .header("X-Forwarded-Host", "evil.example")
            .header("X-Forwarded-Proto", "https")
            .header("Forwarded", "host=evil.example;proto=https")
            .header(header::ACCEPT, BROWSER_ACCEPT)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302, "{path}");
        let location = url::Url::parse(response.headers()[header::LOCATION].to_str().unwrap())
            .unwrap();
        assert_eq!(location.origin(), login.origin(), "{path}");
        let next = next_of(location.as_str());
        assert_eq!(next.origin(), own.origin(), "{path} → {next}");
    }
}

#[tokio::test]
async fn an_expired_session_goes_to_the_refresh_page_with_the_same_next() {
    let refresh = "http://auth.localhost:8000/refresh/";
    let app = spawn_app_with(&[("auth.refresh_url", refresh)]).await;
    let expired = sign(&claims_with("alice", "exp", json!(now() - 5)));
    let location = location_of(app.get("/me/?tab=1").header(header::COOKIE, cookie_pair(&expired))).await;
    assert_eq!(
        location,
        "http://auth.localhost:8000/refresh/?next=http%3A//svc.localhost%3A8001/me/%3Ftab%3D1"
    );

    // Only an expired token with the refresh cookie next to it is renewable:
    // anything else goes to the login page.
    let forged = sign_with(&access_claims("alice"), b"another-secret-that-is-long-enough-too");
    let location = location_of(app.get("/me/").header(header::COOKIE, cookie_pair(&forged))).await;
    assert!(location.starts_with(LOGIN_URL), "{location}");
    let app = spawn_app_with(&[
        ("auth.refresh_url", refresh),
        ("auth.require_refresh_cookie", "false"),
    ])
    .await;
    let alone = format!("{ACCESS_COOKIE}={expired}");
    let location = location_of(app.get("/me/").header(header::COOKIE, alone)).await;
    assert!(location.starts_with(LOGIN_URL), "{location}");
}

#[tokio::test]
async fn without_a_refresh_page_an_expired_session_goes_to_the_login_page() {
    let app = spawn_app().await;
    let expired = sign(&claims_with("alice", "exp", json!(now() - 5)));
    let location = location_of(app.get("/me/").header(header::COOKIE, cookie_pair(&expired))).await;
    assert_eq!(
        location,
        "http://auth.localhost:8000/login/?next=http%3A//svc.localhost%3A8001/me/"
    );
}

#[tokio::test]
async fn answers_that_depend_on_the_user_are_never_cached_by_others() {
    let app = spawn_app().await;
    let cookies = cookie_pair(&access_token("alice"));
    let staff = cookie_pair(&sign(&claims_with("boss", "user_is_staff", json!(true))));
    let requests = [
        ("/api/me", Some(cookies.as_str()), "application/json"),
        ("/api/me", None, "application/json"),
        ("/api/users", Some(staff.as_str()), "application/json"),
        ("/", Some(cookies.as_str()), BROWSER_ACCEPT),
        ("/", None, BROWSER_ACCEPT),
        ("/me/", Some(cookies.as_str()), BROWSER_ACCEPT),
        // The login redirect too: it says this browser is not signed in.
        ("/me/", None, BROWSER_ACCEPT),
    ];
    for (path, cookies, accept) in requests {
        let mut request = app.get(path).header(header::ACCEPT, accept);
        if let Some(cookies) = cookies {
            request = request.header(header::COOKIE, cookies);
        }
        let response = request.send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{path} {:?}", response.status());
        assert_eq!(headers[header::VARY], "Cookie, Authorization", "{path}");
    }
    // Public answers may be cached as usual.
    let response = app.get("/api/health/live").send().await.unwrap();
    assert!(response.headers().get(header::CACHE_CONTROL).is_none());
}

#[tokio::test]
async fn an_api_client_gets_401_not_a_redirect() {
    let app = spawn_app().await;
    let response = app
        .get("/api/me")
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_signed_in_browser_is_greeted_by_name() {
    let app = spawn_app().await;
    let response = app
        .get("/")
        .header(header::ACCEPT, BROWSER_ACCEPT)
        .header(header::COOKIE, cookie_pair(&access_token("alice")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Hello, Alice!"));
}

#[tokio::test]
async fn the_home_page_greets_anonymous_visitors_with_a_way_to_sign_in() {
    let app = spawn_app().await;
    let response = app
        .get("/")
        .header(header::ACCEPT, BROWSER_ACCEPT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("You are not signed in"), "{page}");
    assert!(page.contains(r#"<a href="me/">Sign in</a>"#), "{page}");
}

#[tokio::test]
async fn names_are_html_escaped_on_the_page() {
    let app = spawn_app().await;
    let claims = claims_with(
        "eve",
        "user_first_name",
        serde_json::json!("<script>alert(1)</script>"),
    );
    let response = app
        .get("/")
        .header(header::COOKIE, cookie_pair(&sign(&claims)))
        .send()
        .await
        .unwrap();
    let page = response.text().await.unwrap();
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("&lt;script&gt;"));
}
