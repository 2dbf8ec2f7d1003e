//! Anonymous browsers go to the login page with a `next` that always points
//! back at `own_url`, whatever the request's path and headers say.

use reqwest::header;

use crate::helpers::{LOGIN_URL, OWN_URL, access_token, cookie_pair, spawn_app, spawn_app_with};

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

#[tokio::test]
async fn host_and_forwarded_headers_never_change_where_next_points() {
    let app = spawn_app().await;
    let own = url::Url::parse(OWN_URL).unwrap();
    let login = url::Url::parse(LOGIN_URL).unwrap();
    for path in [
        "/me/",
        "//evil.example/x",
        "/%2F%2Fevil.example",
        "/@evil.example",
        "/\\evil.example",
        "/api/me?next=http://evil.example",
    ] {
        let request = app
            .get(path)
            .header(header::HOST, "evil.example")
            .header("X-Forwarded-Host", "evil.example")
            .header("X-Forwarded-Proto", "https")
            .header("Forwarded", "host=evil.example;proto=https");
        let response = request
            .header(header::ACCEPT, BROWSER_ACCEPT)
            .send()
            .await
            .unwrap();
        if response.status() != 302 {
            // Paths that match no route are 404s: nothing to redirect.
            assert_eq!(response.status(), 404, "{path}");
            continue;
        }
        let location =
            url::Url::parse(response.headers()[header::LOCATION].to_str().unwrap()).unwrap();
        assert_eq!(location.origin(), login.origin(), "{path}");
        let next = next_of(location.as_str());
        assert_eq!(next.origin(), own.origin(), "{path} → {next}");
    }
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
    let claims = crate::helpers::claims_with(
        "eve",
        "user_first_name",
        serde_json::json!("<script>alert(1)</script>"),
    );
    let response = app
        .get("/")
        .header(header::COOKIE, cookie_pair(&crate::helpers::sign(&claims)))
        .send()
        .await
        .unwrap();
    let page = response.text().await.unwrap();
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("&lt;script&gt;"));
}
