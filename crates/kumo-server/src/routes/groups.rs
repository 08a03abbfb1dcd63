use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kumo_types::{ApiError, ErrorCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::media::{self, with_location};
use super::{json_as, no_content};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::{read_body, JsonObject};
use crate::service::{group_document, GroupInput};
use crate::AppState;

type AppGroup = Path<(String, String)>;

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let input = GroupInput::parse(&body)?;
    let (id, not_found) = state.service.create_group(&caller, None, input).await?;
    Ok(created(&caller, &id, not_found))
}

pub async fn create_with_id(
    State(state): State<AppState>,
    Path((_, group)): AppGroup,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let input = GroupInput::parse(&body)?;
    let (id, not_found) = state
        .service
        .create_group(&caller, Some(&group), input)
        .await?;
    Ok(created(&caller, &id, not_found))
}

/// Kii's `GroupCreationResponse`, with the new group's URI in `Location` (POST and PUT alike).
fn created(caller: &Caller, id: &str, not_found: Vec<String>) -> Response {
    let res = json_as(
        StatusCode::CREATED,
        media::GROUP_CREATION,
        json!({ "groupID": id, "notFoundUsers": not_found }),
    );
    with_location(res, &format!("/apps/{}/groups/{id}", caller.app.id))
}

#[derive(Deserialize)]
pub struct ListQuery {
    owner: Option<String>,
    is_member: Option<String>,
}

/// `GET /groups?owner=U` or `GET /groups?is_member=U`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    let (user, owner) = match (q.owner, q.is_member) {
        (Some(u), None) => (u, true),
        (None, Some(u)) => (u, false),
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidInputData,
                "Give exactly one of the query parameters owner or is_member",
            )
            .into())
        }
    };
    let groups = state.service.list_groups(&caller, &user, owner).await?;
    let groups: Vec<Value> = groups.iter().map(group_document).collect();
    Ok(json_as(
        StatusCode::OK,
        media::GROUPS,
        json!({ "groups": groups }),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Path((_, group)): AppGroup,
    caller: Caller,
) -> Result<Response> {
    let g = state.service.get_group(&caller, &group).await?;
    Ok(json_as(StatusCode::OK, media::GROUP, group_document(&g)))
}

/// `PUT …/name`: the SDK sends the new name as a raw `text/plain` body; a JSON string body
/// is accepted too.
pub async fn rename(
    State(state): State<AppState>,
    Path((_, group)): AppGroup,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let headers = req.headers().clone();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    let bytes = read_body(req, &state).await?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Error::from(ApiError::invalid_field(
            "name",
            "The name must be UTF-8 text",
        ))
    })?;
    let name = match serde_json::from_str::<Value>(text) {
        Ok(Value::String(s)) if is_json => s,
        _ => text.to_owned(),
    };
    state.service.rename_group(&caller, &group, &name).await?;
    Ok(no_content())
}

pub async fn change_owner(
    State(state): State<AppState>,
    Path((_, group)): AppGroup,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let owner = body
        .get("owner")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::from(ApiError::invalid_field("owner", "owner must be a user ID")))?;
    state
        .service
        .change_group_owner(&caller, &group, owner)
        .await?;
    // The reference answers an owner change with 200 and no content, not 204.
    Ok(StatusCode::OK.into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Path((_, group)): AppGroup,
    caller: Caller,
) -> Result<Response> {
    state.service.delete_group(&caller, &group).await?;
    Ok(no_content())
}

pub async fn members(
    State(state): State<AppState>,
    Path((_, group)): AppGroup,
    caller: Caller,
) -> Result<Response> {
    let members = state.service.group_members(&caller, &group).await?;
    let members: Vec<Value> = members
        .into_iter()
        .map(|m| json!({ "userID": m }))
        .collect();
    Ok(json_as(
        StatusCode::OK,
        media::MEMBERS,
        json!({ "members": members }),
    ))
}

pub async fn add_member(
    State(state): State<AppState>,
    Path((_, group, user)): Path<(String, String, String)>,
    caller: Caller,
) -> Result<Response> {
    state
        .service
        .add_group_member(&caller, &group, &user)
        .await?;
    Ok(no_content())
}

pub async fn remove_member(
    State(state): State<AppState>,
    Path((_, group, user)): Path<(String, String, String)>,
    caller: Caller,
) -> Result<Response> {
    state
        .service
        .remove_group_member(&caller, &group, &user)
        .await?;
    Ok(no_content())
}
