//! The web developer console: static files under `/console/`, embedded in the binary at build
//! time so that serving it needs nothing on disk and building it needs no Node.js. The console
//! is a client of the public and admin REST API like any other; it has no routes of its own
//! beyond these files.

use std::sync::OnceLock;

use axum::extract::{Path, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::error::Error;
use kumo_types::ErrorCode;

/// No inline script or style and nothing from elsewhere: a tenant string that slipped into
/// the page as markup could run nothing. `connect-src 'self'` keeps the token on this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

macro_rules! file {
    ($path:literal, $type:expr) => {
        (
            $path,
            include_bytes!(concat!("../console/", $path)).as_slice(),
            $type,
        )
    };
}

/// Every file the console has: (path under `/console/`, bytes, content type). A fixed table,
/// so nothing a request names can reach the file system.
const FILES: &[(&str, &[u8], &str)] = &[
    file!("index.html", HTML),
    file!("console.css", CSS),
    file!("favicon.svg", SVG),
    file!("js/app.js", JS),
    file!("js/api.js", JS),
    file!("js/dom.js", JS),
    file!("js/session.js", JS),
    file!("js/source_view.js", JS),
    file!("js/chart.js", JS),
    file!("js/sse.js", JS),
    file!("js/pages/signin.js", JS),
    file!("js/pages/servercode.js", JS),
    file!("js/pages/run.js", JS),
    file!("js/pages/hooks.js", JS),
    file!("js/pages/executions.js", JS),
    file!("js/pages/devlog.js", JS),
    file!("js/pages/data.js", JS),
    file!("js/pages/users.js", JS),
];

/// The console's routes, to be merged into the top-level router.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(|req: Request| serve("index.html", req)))
        .route(
            "/console/{*path}",
            get(|Path(path): Path<String>, req: Request| async move { serve(&path, req).await }),
        )
}

async fn serve(path: &str, req: Request) -> Response {
    let Some(index) = FILES.iter().position(|(p, _, _)| *p == path) else {
        return Error::new(ErrorCode::NotFound, format!("No such console file: {path}"))
            .into_response();
    };
    let (_, bytes, content_type) = FILES[index];
    let etag = &etags()[index];
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // The files change only with the binary and their names carry no version, so browsers
    // revalidate every time; an unchanged file costs a 304 without a body.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, bytes).into_response()
}

/// Each file's ETag (a digest of its bytes), computed once, in `FILES` order.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        FILES
            .iter()
            .map(|(_, bytes, _)| {
                let digest = Sha256::digest(bytes);
                let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_distinct_path_and_a_body() {
        for (i, (path, bytes, _)) in FILES.iter().enumerate() {
            assert!(!bytes.is_empty(), "{path} is empty");
            assert!(
                FILES[i + 1..].iter().all(|(other, _, _)| other != path),
                "{path} is listed twice"
            );
        }
    }

    /// `dir/../x.js`-style import specifiers resolved against the importing file's folder.
    fn resolve(from: &str, spec: &str) -> String {
        let mut parts: Vec<&str> = from.split('/').collect();
        parts.pop();
        for part in spec.split('/') {
            match part {
                "." => {}
                ".." => {
                    parts.pop();
                }
                other => parts.push(other),
            }
        }
        parts.join("/")
    }

    /// A module missing from the table would 404 in the browser and blank a page; only the
    /// browser test would notice, late. This finds it at `cargo test`.
    #[test]
    fn every_imported_module_is_served() {
        for (path, bytes, _) in FILES.iter().filter(|(p, _, _)| p.ends_with(".js")) {
            let text = std::str::from_utf8(bytes).unwrap();
            for piece in text.split(" from '").skip(1) {
                let spec = &piece[..piece.find('\'').unwrap()];
                let target = resolve(path, spec);
                assert!(
                    FILES.iter().any(|(p, _, _)| *p == target),
                    "{path} imports {spec}, which is not in FILES"
                );
            }
        }
    }

    /// Tenant text must reach the page as text: no module may parse strings as markup.
    #[test]
    fn no_module_builds_markup_from_strings() {
        for (path, bytes, _) in FILES.iter().filter(|(p, _, _)| p.ends_with(".js")) {
            let text = std::str::from_utf8(bytes).unwrap();
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "createContextualFragment",
                "eval(",
                "new Function",
            ] {
                assert!(!text.contains(sink), "{path} uses {sink}");
            }
        }
    }
}
