//! `/apps/{app}/things…`: registration, a thing by `thingID` or `VENDOR_THING_ID:…`, its
//! status and its owners. Thing-scope buckets are `objects.rs`'s routes under
//! `/apps/{app}/things/{thing}`.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use kumo_storage::ThingOwner;
use kumo_types::ErrorCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::media::{self, with_location};
use super::{json_as, no_content};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::{parse_object, read_body};
use crate::service::{parse_owner, thing_document};
use crate::AppState;

const REGISTER_WITH_TOKEN: &str =
    "application/vnd.kii.ThingRegistrationAndAuthorizationRequest+json";
const REGISTER: &str = "application/vnd.kii.ThingRegistrationRequest+json";
const UPDATE: &str = "application/vnd.kii.ThingUpdateRequest+json";
const STATUS: &str = "application/vnd.kii.ThingStatusUpdateRequest+json";
const OWNERSHIP: &str = "application/vnd.kii.ThingOwnershipRequest+json";
const PASSWORD: &str = "application/vnd.kii.ChangeThingPasswordRequest+json";
const QUERY: &str = "application/vnd.kii.ThingQueryRequest+json";

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/apps/{app}/things", post(register))
        .route("/apps/{app}/things/query", post(query))
        .route(
            "/apps/{app}/things/{thing}",
            get(get_thing).patch(update).delete(delete),
        )
        .route(
            "/apps/{app}/things/{thing}/status",
            get(status).put(set_status),
        )
        .route("/apps/{app}/things/{thing}/password", put(set_password))
        .route(
            "/apps/{app}/things/{thing}/ownership",
            get(owners).post(add_owner_with_password),
        )
        .route(
            "/apps/{app}/things/{thing}/ownership/{owner}",
            put(add_owner).delete(remove_owner).head(check_owner),
        )
}

#[derive(Deserialize)]
pub struct ThingPath {
    thing: String,
    #[serde(default)]
    owner: Option<String>,
}

/// The request's media type if it is one of `allowed` (ignoring case and parameters), else
/// `415 UNSUPPORTED_MEDIA_TYPE` naming what to send.
fn media_type<'a>(headers: &HeaderMap, allowed: &[&'a str]) -> Result<&'a str> {
    let sent = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let sent = sent.split(';').next().unwrap_or_default().trim();
    allowed
        .iter()
        .find(|t| sent.eq_ignore_ascii_case(t))
        .copied()
        .ok_or_else(|| {
            Error::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "Send this request as {}, not '{}'",
                    allowed.join(" or "),
                    sent.chars().take(100).collect::<String>()
                ),
            )
        })
}

async fn body_of(
    req: Request,
    state: &AppState,
    allowed: &[&'static str],
) -> Result<(&'static str, serde_json::Map<String, Value>)> {
    let media = media_type(req.headers(), allowed)?;
    let body = parse_object(&read_body(req, state).await?)?;
    Ok((media, body))
}

async fn register(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let (media, body) = body_of(req, &state, &[REGISTER_WITH_TOKEN, REGISTER]).await?;
    let with_token = media == REGISTER_WITH_TOKEN;
    let (thing, token) = state
        .service
        .register_thing(&caller, &body, with_token)
        .await?;
    let mut doc = thing_document(&thing);
    doc.as_object_mut().map(|d| d.remove("_disabled"));
    if let Some(t) = token {
        doc["_accessToken"] = t.into();
    }
    let media = if with_token {
        media::THING_REGISTRATION_WITH_TOKEN
    } else {
        media::THING_REGISTRATION
    };
    let res = json_as(StatusCode::CREATED, media, doc);
    Ok(with_location(
        res,
        &format!("/apps/{app_id}/things/{}", thing.id),
    ))
}

/// `POST /things/query` (Kii's `ThingQueryRequest`): things the caller (or its groups) owns.
async fn query(State(state): State<AppState>, caller: Caller, req: Request) -> Result<Response> {
    let (_, body) = body_of(req, &state, &[QUERY]).await?;
    let page = state.service.query_things(&caller, &body).await?;
    let results: Vec<Value> = page.things.iter().map(thing_document).collect();
    let mut doc = json!({ "results": results });
    if let Some(next) = page.next {
        doc["nextPaginationKey"] = next.into();
    }
    Ok(json_as(StatusCode::OK, media::THING_QUERY, doc))
}

async fn get_thing(
    State(state): State<AppState>,
    Path(p): Path<ThingPath>,
    caller: Caller,
) -> Result<Response> {
    let thing = state.service.get_thing(&caller, &p.thing).await?;
    Ok(json_as(
        StatusCode::OK,
        media::THING,
        thing_document(&thing),
    ))
}

async fn update(
    State(state): State<AppState>,
    Path(p): Path<ThingPath>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let (_, body) = body_of(req, &state, &[UPDATE]).await?;
    state.service.update_thing(&caller, &p.thing, &body).await?;
    Ok(no_content())
}

async fn delete(
    State(state): State<AppState>,
    Path(p): Path<ThingPath>,
    caller: Caller,
) -> Result<Response> {
    state.service.delete_thing(&caller, &p.thing).await?;
    Ok(no_content())
}

async fn status(
    State(state): State<AppState>,
    Path(p): Path<ThingPath>,
    caller: Caller,
) -> Result<Response> {
    let disabled = state.service.thing_disabled(&caller, &p.thing).await?;
    Ok(json_as(
        StatusCode::OK,
        media::THING_STATUS,
        json!({ "disabled": disabled }),
    ))
}

async fn set_status(
    State(state): State<AppState>,
    Path(p): Path<ThingPath>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let (_, body) = body_of(req, &state, &[STATUS]).await?;
    let disabled = body
        .get("disabled")
        .and_then(Value::as_bool)
        .ok_or_else(|| {
            Error::from(kumo_types::ApiError::invalid_field(
                "disabled",
                "disabled must be true or false",
            ))
        })?;
    state
        .service
        .set_thing_disabled(&caller, &p.thing, disabled)
        .await?;
    Ok(no_content())
}

async fn set_password(
    State(state): State<AppState>,
    Path(p): Path<ThingPath>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let (_, body) = body_of(req, &state, &[PASSWORD]).await?;
    state
        .service
        .set_thing_password(&caller, &p.thing, &body)
        .await?;
    Ok(no_content())
}

fn owner_of(p: &ThingPath) -> Result<ThingOwner> {
    parse_owner(p.owner.as_deref().unwrap_or_default())
}

async fn add_owner(
    State(state): State<AppState>,
    Path(p): Path<ThingPath>,
    caller: Caller,
) -> Result<Response> {
    let owner = owner_of(&p)?;
    state
        .service
        .add_thing_owner(&caller, &p.thing, &owner, None)
        .await?;
    Ok(no_content())
}

/// `POST …/ownership` (Kii's `ThingOwnershipRequest`): `userID` or `groupID`, and the thing's
/// password.
async fn add_owner_with_password(
    State(state): State<AppState>,
    Path(p): Path<ThingPath>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let (_, body) = body_of(req, &state, &[OWNERSHIP]).await?;
    let text = |k: &str| match body.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(Error::from(kumo_types::ApiError::invalid_field(
            k,
            format!("{k} must be a non-empty string"),
        ))),
    };
    let owner = match (text("userID")?, text("groupID")?) {
        (Some(u), None) => ThingOwner::User(u),
        (None, Some(g)) => ThingOwner::Group(g),
        _ => {
            return Err(kumo_types::ApiError::invalid_field(
                "userID",
                "Give exactly one of userID and groupID",
            )
            .into())
        }
    };
    let password = text("thingPassword")?.ok_or_else(|| {
        Error::from(kumo_types::ApiError::invalid_field(
            "thingPassword",
            "thingPassword is required",
        ))
    })?;
    state
        .service
        .add_thing_owner(&caller, &p.thing, &owner, Some(&password))
        .await?;
    Ok(no_content())
}

async fn remove_owner(
    State(state): State<AppState>,
    Path(p): Path<ThingPath>,
    caller: Caller,
) -> Result<Response> {
    let owner = owner_of(&p)?;
    state
        .service
        .remove_thing_owner(&caller, &p.thing, &owner)
        .await?;
    Ok(no_content())
}

async fn check_owner(
    State(state): State<AppState>,
    Path(p): Path<ThingPath>,
    caller: Caller,
) -> Result<Response> {
    let owner = owner_of(&p)?;
    state
        .service
        .is_thing_owner(&caller, &p.thing, &owner)
        .await?;
    Ok(no_content())
}

async fn owners(
    State(state): State<AppState>,
    Path(p): Path<ThingPath>,
    caller: Caller,
) -> Result<Response> {
    let owners = state.service.list_thing_owners(&caller, &p.thing).await?;
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    for o in owners {
        match o {
            ThingOwner::User(u) => users.push(u),
            ThingOwner::Group(g) => groups.push(g),
        }
    }
    Ok(json_as(
        StatusCode::OK,
        media::THING_OWNERS,
        json!({ "users": users, "groups": groups }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_matched_ignoring_case_and_parameters() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/vnd.kii.thingregistrationrequest+json; charset=utf-8"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            media_type(&h, &[REGISTER_WITH_TOKEN, REGISTER]).unwrap(),
            REGISTER
        );
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        let e = media_type(&h, &[REGISTER]).unwrap_err();
        assert_eq!(e.0.code, ErrorCode::UnsupportedMediaType);
    }
}
