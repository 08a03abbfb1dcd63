use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::media::{self, with_location};
use super::{json_as, no_content};
use crate::auth::app_not_found;
use crate::auth::Caller;
use crate::error::Result;
use crate::http::{parse_object, read_body, JsonObject};
use crate::service::{registration_document, Registration};
use crate::AppState;

const PSEUDO_USER_TYPE: &str = "application/vnd.kii.registrationandauthorizationrequest+json";

/// `POST /apps/{app}/users`: register, or create a pseudo user when the content type is
/// `RegistrationAndAuthorizationRequest`.
pub async fn register(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    req: Request,
) -> Result<Response> {
    let pseudo = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with(PSEUDO_USER_TYPE));
    let (from_server_code, by_hook) = crate::auth::server_code_mark(req.extensions());
    let bytes = read_body(req, &state).await?;
    // A pseudo user may be registered with no fields at all.
    let body = if pseudo && bytes.iter().all(u8::is_ascii_whitespace) {
        Default::default()
    } else {
        parse_object(&bytes)?
    };
    let app = state
        .service
        .app(&app_id)
        .await?
        .ok_or_else(|| app_not_found(&app_id))?;
    let (user, token) = state
        .service
        .register(
            &app,
            Registration {
                pseudo,
                body,
                from_server_code,
                by_hook,
            },
        )
        .await?;
    let res = json_as(
        StatusCode::CREATED,
        media::REGISTRATION,
        registration_document(&user, token),
    );
    Ok(with_location(
        res,
        &format!("/apps/{}/users/{}", app.id, user.id),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Path((_, user)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    let doc = state.service.get_user(&caller, &user).await?;
    Ok(json_as(StatusCode::OK, media::USER_DATA, doc))
}

pub async fn update(
    State(state): State<AppState>,
    Path((_, user)): Path<(String, String)>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let modified = state.service.update_user(&caller, &user, &body).await?;
    // The "modifying custom fields" guide prints this type for the update's answer.
    Ok(json_as(
        StatusCode::OK,
        media::USER_DATA,
        json!({ "modifiedAt": modified }),
    ))
}

pub async fn change_password(
    State(state): State<AppState>,
    Path((_, user)): Path<(String, String)>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    state.service.change_password(&caller, &user, &body).await?;
    Ok(no_content())
}

pub async fn status(
    State(state): State<AppState>,
    Path((_, user)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    let doc = state.service.user_status(&caller, &user).await?;
    Ok(json_as(StatusCode::OK, media::USER_STATUS, doc))
}

pub async fn set_status(
    State(state): State<AppState>,
    Path((_, user)): Path<(String, String)>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    state.service.set_user_status(&caller, &user, &body).await?;
    Ok(no_content())
}

pub async fn delete(
    State(state): State<AppState>,
    Path((_, user)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    state.service.delete_user(&caller, &user).await?;
    Ok(no_content())
}
