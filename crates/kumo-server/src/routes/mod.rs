//! The REST surface: thin handlers that parse the wire format, call the service layer and
//! render Kii's response shapes. Paths are relative to the `/api` prefix.

mod bodies;
mod console;
mod executions;
mod groups;
mod hook_jobs;
mod hooks;
mod media;
mod oauth;
mod objects;
mod servercode;
mod things;
mod users;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::Value;

use crate::AppState;

pub fn api() -> Router<AppState> {
    let router = Router::new()
        .route("/oauth2/token", post(oauth::token))
        .route("/apps/{app}/oauth2/token", post(oauth::token_for_app))
        .route("/apps/{app}/users", post(users::register))
        .route(
            "/apps/{app}/users/{user}",
            get(users::get).post(users::update).delete(users::delete),
        )
        .route(
            "/apps/{app}/users/{user}/password",
            put(users::change_password),
        )
        .route(
            "/apps/{app}/users/{user}/status",
            get(users::status).put(users::set_status),
        )
        .route("/apps/{app}/groups", post(groups::create).get(groups::list))
        .route(
            "/apps/{app}/groups/{group}",
            get(groups::get)
                .put(groups::create_with_id)
                .delete(groups::delete),
        )
        .route("/apps/{app}/groups/{group}/name", put(groups::rename))
        .route(
            "/apps/{app}/groups/{group}/owner",
            put(groups::change_owner),
        )
        .route("/apps/{app}/groups/{group}/members", get(groups::members))
        .route(
            "/apps/{app}/groups/{group}/members/{user}",
            put(groups::add_member).delete(groups::remove_member),
        )
        .route(
            "/apps/{app}/developer-log/stream",
            get(crate::live_log::sse::stream),
        )
        .route("/logs", get(crate::live_log::ws::logs));
    console::routes(hooks::routes(executions::routes(hook_jobs::routes(
        servercode::routes(bodies::routes(things::routes(objects::routes(router)))),
    ))))
}

/// A JSON response with an explicit status.
fn json(status: StatusCode, body: Value) -> Response {
    json_as(status, "application/json", body)
}

/// A JSON response with the media type Kii's reference names for it.
fn json_as(status: StatusCode, media_type: &'static str, body: Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    res
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
