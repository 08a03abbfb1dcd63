//! The web console's files under `/console/`: served from the binary with their content
//! types and security headers, revalidated by ETag, absent with `console: false`, and a
//! file the console does not have is a Kii 404 (nothing a path names reaches the disk).

mod common;

use common::TestServer;
use kumo_server::Config;
use kumo_storage::Dialect;
use reqwest::header;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn origin(s: &TestServer) -> String {
    s.site().trim_end_matches("/api").to_owned()
}

async fn files_are_served_with_types_and_security_headers(dialect: Dialect) {
    let s = TestServer::start(dialect).await;
    let client = no_redirects();
    let base = origin(&s);

    let res = client.get(format!("{base}/console")).send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()[header::LOCATION], "/console/");

    for (path, content_type) in [
        ("/console/", "text/html; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
        ("/console/js/app.js", "text/javascript; charset=utf-8"),
        (
            "/console/js/pages/servercode.js",
            "text/javascript; charset=utf-8",
        ),
        ("/console/favicon.svg", "image/svg+xml"),
    ] {
        let res = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers().clone();
        assert_eq!(h[header::CONTENT_TYPE], content_type, "{path}");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(h[header::CACHE_CONTROL], "no-cache", "{path}");
        assert!(!res.bytes().await.unwrap().is_empty(), "{path}");

        // An unchanged file is revalidated without its body.
        let etag = h[header::ETAG].clone();
        let again = client
            .get(format!("{base}{path}"))
            .header(header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert!(again.bytes().await.unwrap().is_empty(), "{path}");
    }

    for path in [
        "/console/nope.js",
        "/console/js/",
        "/console/../Cargo.toml",
        "/console/%2e%2e/src/lib.rs",
        "/console/index.html/x",
    ] {
        let res = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["errorCode"], "NOT_FOUND", "{path}");
    }
    s.stop().await;
}

#[tokio::test]
async fn files_are_served_with_types_and_security_headers_sqlite() {
    files_are_served_with_types_and_security_headers(Dialect::Sqlite).await;
}

#[tokio::test]
async fn files_are_served_with_types_and_security_headers_postgres() {
    files_are_served_with_types_and_security_headers(Dialect::Postgres).await;
}

#[tokio::test]
async fn the_page_has_no_inline_script_or_style() {
    let s = TestServer::start(Dialect::Sqlite).await;
    let html = no_redirects()
        .get(format!("{}/console/", origin(&s)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The CSP would block them anyway; this keeps the page from silently breaking.
    for script in html.split("<script").skip(1) {
        let tag_end = script.find('>').unwrap();
        assert!(
            script[..tag_end].contains("src="),
            "inline script: {script}"
        );
        assert!(script[tag_end + 1..].starts_with("</script>"));
    }
    assert!(!html.contains("<style"), "inline style sheet");
    assert!(!html.contains(" style="), "inline style attribute");
    assert!(
        !html.contains("://"),
        "the page loads nothing from elsewhere"
    );
    s.stop().await;
}

#[tokio::test]
async fn no_console_when_it_is_turned_off() {
    let config = Config {
        console: false,
        ..Config::default()
    };
    let s = TestServer::start_with(Dialect::Sqlite, config).await;
    let client = no_redirects();
    for path in ["/console", "/console/", "/console/js/app.js"] {
        let res = client
            .get(format!("{}{path}", origin(&s)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    // The API is unaffected.
    let res = client
        .get(format!("{}/health", origin(&s)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    s.stop().await;
}
