//! Request ids: kept when sane, replaced (never echoed) when not, sent back
//! in the response, and in every log line of the request; a `traceparent`'s
//! trace id in the log lines too.

use reqwest::header::{COOKIE, HeaderValue};
use serde_json::Value;

use crate::{
    database::TestDatabase,
    helpers::{cookie_pair, spawn_app},
    process::{Running, json_lines},
};

const REQUEST_ID: &str = "x-request-id";

fn is_uuid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok() && id.len() == 36
}

#[tokio::test]
async fn a_request_without_an_id_gets_a_new_one_in_the_response() {
    let app = spawn_app().await;
    let first = app.get("/api/health/live").send().await.unwrap();
    let second = app.get("/api/health/live").send().await.unwrap();
    let id =
        |response: &reqwest::Response| response.headers()[REQUEST_ID].to_str().unwrap().to_owned();
    assert!(is_uuid(&id(&first)), "{}", id(&first));
    assert_ne!(id(&first), id(&second));
}

#[tokio::test]
async fn a_sane_request_id_is_kept_on_every_answer() {
    let app = spawn_app().await;
    for path in ["/api/health/live", "/api/me", "/no/such/page"] {
        let response = app
            .get(path)
            .header(REQUEST_ID, "gateway-7f3a.1_B")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()[REQUEST_ID], "gateway-7f3a.1_B", "{path}");
    }
    let longest = "a".repeat(64);
    let response = app
        .get("/api/health/live")
        .header(REQUEST_ID, &longest)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[REQUEST_ID], longest.as_str());
}

#[tokio::test]
async fn a_hostile_request_id_is_replaced_never_echoed() {
    let app = spawn_app().await;
    let hostile: Vec<HeaderValue> = vec![
        HeaderValue::from_str(&"x".repeat(10 * 1024)).unwrap(),
        HeaderValue::from_str(&"a".repeat(65)).unwrap(),
        HeaderValue::from_bytes(b"abc\tdef").unwrap(),
        HeaderValue::from_bytes(b"\xff\xfe-obs-text").unwrap(),
        HeaderValue::from_bytes("caf\u{e9}".as_bytes()).unwrap(),
        HeaderValue::from_static("<script>alert(1)</script>"),
        HeaderValue::from_static("id with spaces"),
        HeaderValue::from_static("a=b; c"),
        HeaderValue::from_static(""),
    ];
    for value in hostile {
        let response = app
            .get("/api/health/live")
            .header(REQUEST_ID, value.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let ids: Vec<_> = response.headers().get_all(REQUEST_ID).iter().collect();
        assert_eq!(ids.len(), 1);
        let id = ids[0].to_str().unwrap();
        assert!(is_uuid(id), "{value:?} became {id}");
        assert_ne!(ids[0], &value);
    }
}

/// The request id of the span a log line was written in (the request's
/// span, or one inside it).
fn request_id_of(line: &Value) -> Option<&str> {
    line["spans"]
        .as_array()?
        .iter()
        .find_map(|span| span["request_id"].as_str())
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_id_and_its_trace_id() {
    let database = TestDatabase::create().await;
    let service = Running::start(&[("APP__DATABASE__URL", database.url())])
        .unwrap_or_else(|output| panic!("the service never started:\n{output}"));
    let client = reqwest::Client::new();

    // A rejected token: authentication logs why, inside the request.
    let response = client
        .get(service.url("/api/me"))
        .header(REQUEST_ID, "req-rejected-1")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header(COOKIE, cookie_pair("not.a.token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()[REQUEST_ID], "req-rejected-1");

    let lines = lines_of(&service.json_lines(), "req-rejected-1");
    let rejected = lines
        .iter()
        .find(|line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("token rejected"))
        })
        .unwrap_or_else(|| panic!("no `token rejected` line in {lines:#?}"));
    for line in [rejected, lines.last().unwrap()] {
        assert_eq!(request_id_of(line), Some("req-rejected-1"), "{line}");
        let trace_id = line["spans"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|span| span["trace_id"].as_str());
        assert_eq!(trace_id, Some("4bf92f3577b34da6a3ce929d0e0e4736"), "{line}");
    }
    // The token itself is in no line.
    assert!(
        lines
            .iter()
            .all(|line| !line.to_string().contains("not.a.token"))
    );

    // A hostile id: the log has the id that replaced it, never the bytes sent.
    let hostile = format!("evil{}", "x".repeat(10 * 1024));
    let response = client
        .get(service.url("/api/health/live"))
        .header(REQUEST_ID, &hostile)
        .header(
            "traceparent",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .unwrap();
    let replaced = response.headers()[REQUEST_ID].to_str().unwrap().to_owned();
    assert!(is_uuid(&replaced));
    let (stopped, output) = service.terminate().await;
    assert!(stopped, "not a clean exit:\n{output}");
    let lines = lines_of(&json_lines(&output), &replaced);
    let served = lines.last().unwrap();
    assert!(!served.to_string().contains("evil"));
    // An all-zero trace id is invalid: not logged.
    assert!(!served.to_string().contains("trace_id"), "{served}");
}

/// The log lines of the request `request_id`, its `served` line last.
fn lines_of(lines: &[Value], request_id: &str) -> Vec<Value> {
    let of_request: Vec<Value> = lines
        .iter()
        .filter(|line| request_id_of(line) == Some(request_id))
        .cloned()
        .collect();
    assert!(
        of_request
            .last()
            .is_some_and(|line| line["fields"]["message"] == "served"),
        "no `served` line last for {request_id} in {lines:#?}"
    );
    of_request
}
