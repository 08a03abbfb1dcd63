//! `$.ajax` and the server's allow-list, against a local HTTP server: the host checked is the
//! host the client connects to, whatever the spelling of the URL, and redirects are checked
//! too. (Nothing here touches storage, so SQLite alone is enough.)

mod common;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use common::TestServer;
use kumo_server::Config;
use kumo_storage::Dialect;
use serde_json::{json, Value};

/// Runs `$.ajax` on `params.url`; answers `reached <body>` or `refused <the error's message>`.
const CODE: &str = r#"
function fetch(params, context, done) {
  $.ajax({ url: params.url, type: "GET", dataType: "text" })
    .done(function (text) { done("reached " + text); })
    .fail(function (xhr, status, error) { done("refused " + (error && error.message || error)); });
}
"#;

fn redirect(to: String) -> impl IntoResponse {
    (StatusCode::FOUND, [(header::LOCATION, to)])
}

/// A local server on 127.0.0.1 with `/hello` and redirects; returns its port.
async fn target() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .route("/hello", get(|| async { "hello" }))
        // `localhost` is this same server, but not on the allow-list.
        .route(
            "/to-localhost",
            get(move || async move { redirect(format!("http://localhost:{port}/hello")) }),
        )
        .route(
            "/to-allowed",
            get(move || async move { redirect(format!("http://127.0.0.1:{port}/hello")) }),
        )
        .route(
            "/twice",
            get(move || async move { redirect(format!("http://127.0.0.1:{port}/to-localhost")) }),
        )
        .route(
            "/hop/{n}",
            get(move |Path(n): Path<u32>| async move {
                let next = if n == 1 {
                    "hello".to_owned()
                } else {
                    format!("hop/{}", n - 1)
                };
                redirect(format!("http://127.0.0.1:{port}/{next}"))
            }),
        )
        .route(
            "/forever",
            get(move || async move { redirect(format!("http://127.0.0.1:{port}/forever")) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

async fn server() -> TestServer {
    let mut config = Config::default();
    config.server_code.ajax_hosts = vec!["127.0.0.1".into()];
    let s = TestServer::start_with(Dialect::Sqlite, config).await;
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;
    s
}

/// What user code saw when it fetched `url`.
async fn fetch(s: &TestServer, url: &str) -> String {
    let r = s
        .post(
            "/apps/{app}/server-code/versions/current/fetch",
            None,
            json!({ "url": url }),
        )
        .await;
    r.expect_status(200);
    match &r.body["returnedValue"] {
        Value::String(text) => text.clone(),
        other => panic!("unexpected result {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_are_allowed_or_refused_as_the_client_would_connect() {
    let port = target().await;
    let s = server().await;
    let reached = [
        format!("http://127.0.0.1:{port}/hello"),
        format!("HTTP://127.0.0.1:{port}/hello"),
        format!("http://user:pw@127.0.0.1:{port}/hello"),
        format!("http://%31%32%37.0.0.1:{port}/hello"),
        format!("http://0x7f.1:{port}/hello"),
        format!("http://127.0.0.1.:{port}/hello"),
    ];
    for url in &reached {
        assert_eq!(fetch(&s, url).await, "reached hello", "{url}");
    }
    // (URL, the host named in the refusal)
    let refused = [
        // The client connects to `localhost`: the backslash ends the host.
        (
            format!(r"http://localhost\@127.0.0.1:{port}/hello"),
            "localhost",
        ),
        (
            format!("http://127.0.0.1@localhost:{port}/hello"),
            "localhost",
        ),
        (format!("http://[::1]:{port}/hello"), "[::1]"),
        (format!("http://LOCALHOST:{port}/hello"), "localhost"),
    ];
    for (url, host) in &refused {
        let seen = fetch(&s, url).await;
        assert!(
            seen.starts_with("refused ") && seen.contains("not allowed") && seen.contains(host),
            "{url}: {seen}"
        );
    }
    for url in [
        format!("ftp://127.0.0.1:{port}/hello"),
        "file:///etc/passwd".to_owned(),
        "127.0.0.1/hello".to_owned(),
    ] {
        let seen = fetch(&s, &url).await;
        assert!(
            seen.starts_with("refused not an http(s) URL"),
            "{url}: {seen}"
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_checked_against_the_allow_list() {
    let port = target().await;
    let s = server().await;
    assert_eq!(
        fetch(&s, &format!("http://127.0.0.1:{port}/to-allowed")).await,
        "reached hello"
    );
    for path in ["to-localhost", "twice"] {
        let seen = fetch(&s, &format!("http://127.0.0.1:{port}/{path}")).await;
        assert!(
            seen.starts_with("refused ")
                && seen.contains(&format!(
                    "redirect to http://localhost:{port}/hello refused"
                ))
                && seen.contains("not allowed"),
            "{path}: {seen}"
        );
    }
    // As many redirects as the client follows by default, and no more.
    assert_eq!(
        fetch(&s, &format!("http://127.0.0.1:{port}/hop/10")).await,
        "reached hello"
    );
    let seen = fetch(&s, &format!("http://127.0.0.1:{port}/hop/11")).await;
    assert!(seen.contains("more than 10 redirects"), "{seen}");
    let seen = fetch(&s, &format!("http://127.0.0.1:{port}/forever")).await;
    assert!(seen.contains("more than 10 redirects"), "{seen}");
    s.stop().await;
}
