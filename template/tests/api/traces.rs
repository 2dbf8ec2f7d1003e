//! Traces: the service's binary exports the spans of a request over
//! OTLP/HTTP to a receiver in this test, which decodes them and checks their
//! links: the caller's span (from `traceparent`) → the request's server span
//! → `authenticate` → each database statement's client span.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::any_value::Value as AnyValue,
    trace::v1::{Span, span::SpanKind},
};
use poem::{
    EndpointExt, Route, Server, handler,
    listener::{Acceptor, Listener, TcpListener},
    post,
    web::Data,
};
use prost::Message;
use reqwest::header::COOKIE;

use crate::{
    database::TestDatabase,
    helpers::{access_token, cookie_pair},
    process::Running,
};

/// Spans received so far.
type Received = Arc<Mutex<Vec<Span>>>;

// poem hands extractors over by value.
#[allow(clippy::needless_pass_by_value)]
#[handler]
fn receive(body: Vec<u8>, Data(received): Data<&Received>) -> poem::Response {
    let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("an OTLP export");
    let spans = request
        .resource_spans
        .into_iter()
        .flat_map(|resource| resource.scope_spans)
        .flat_map(|scope| scope.spans);
    received.lock().unwrap().extend(spans);
    poem::Response::builder()
        .content_type("application/x-protobuf")
        .body(ExportTraceServiceResponse::default().encode_to_vec())
}

/// An OTLP/HTTP receiver on a free port: its endpoint, and what it received.
async fn receiver() -> (String, Received) {
    let received = Received::default();
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    let app = Route::new()
        .at("/v1/traces", post(receive))
        .data(Arc::clone(&received));
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    (format!("http://127.0.0.1:{port}/v1/traces"), received)
}

fn attribute<'s>(span: &'s Span, key: &str) -> Option<&'s AnyValue> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

#[tokio::test]
async fn one_request_exports_its_spans_linked_to_the_caller_and_to_each_other() {
    let (endpoint, received) = receiver().await;
    let database = TestDatabase::create().await;
    let service = Running::start(&[
        ("APP__DATABASE__URL", database.url()),
        ("APP__TRACES__OTLP_ENDPOINT", &endpoint),
    ])
    .unwrap_or_else(|output| panic!("the service never started:\n{output}"));

    // A new user: authentication writes the row, so statements run.
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let response = reqwest::Client::new()
        .get(service.url("/api/me"))
        .header(COOKIE, cookie_pair(&access_token("traced")))
        .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // A graceful stop sends what is left; the receiver runs meanwhile.
    let (stopped, output) = service.terminate().await;
    assert!(stopped, "the service did not stop cleanly:\n{output}");

    let spans: Vec<Span> = received
        .lock()
        .unwrap()
        .iter()
        .filter(|span| hex(&span.trace_id) == caller_trace)
        .cloned()
        .collect();
    let named = |name: &str| {
        spans
            .iter()
            .find(|span| span.name == name)
            .unwrap_or_else(|| panic!("no `{name}` span among {spans:#?}"))
    };
    let request = named("GET /api/me");
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(hex(&request.parent_span_id), caller_span);
    assert_eq!(
        attribute(request, "http.route"),
        Some(&AnyValue::StringValue("/api/me".to_owned()))
    );
    assert_eq!(
        attribute(request, "http.response.status_code"),
        Some(&AnyValue::IntValue(200))
    );

    let authenticate = named("authenticate");
    assert_eq!(authenticate.parent_span_id, request.span_id);

    let statements: Vec<&Span> = spans
        .iter()
        .filter(|span| span.kind == SpanKind::Client as i32)
        .collect();
    assert!(!statements.is_empty(), "no statement span among {spans:#?}");
    for statement in statements {
        assert_eq!(statement.parent_span_id, authenticate.span_id);
        assert!(statement.start_time_unix_nano >= authenticate.start_time_unix_nano);
        assert!(statement.end_time_unix_nano <= authenticate.end_time_unix_nano);
        let Some(AnyValue::StringValue(sql)) = attribute(statement, "db.query.text") else {
            panic!("no SQL on {statement:#?}");
        };
        // The claims are values, never part of the recorded SQL.
        assert!(!sql.contains("traced"), "{sql}");
    }
}
