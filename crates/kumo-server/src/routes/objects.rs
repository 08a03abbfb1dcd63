//! Buckets, objects, queries and ACLs in the app, user, group and thing scopes. Each route
//! exists under `/apps/{app}`, `/apps/{app}/users/{user}`, `/apps/{app}/groups/{group}` and
//! `/apps/{app}/things/{thing}`.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use kumo_storage::{Object, Precondition, Scope};
use kumo_types::query::BucketQuery;
use kumo_types::{ApiError, ErrorCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::media::{self, with_last_modified, with_location, with_object_type};
use super::{json_as, no_content};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::{parse_object, read_body, JsonObject};
use crate::service::{
    object_document, object_fields, parse_if_match, AclTarget, BucketPath, ObjectWrite, QueryAnswer,
};
use crate::AppState;

pub fn routes(mut router: Router<AppState>) -> Router<AppState> {
    for prefix in [
        "/apps/{app}",
        "/apps/{app}/users/{user}",
        "/apps/{app}/groups/{group}",
        "/apps/{app}/things/{thing}",
    ] {
        let b = format!("{prefix}/buckets/{{bucket}}");
        router = router
            .route(&format!("{prefix}/acl"), get(get_acl))
            .route(&format!("{prefix}/acl/{{action}}"), get(get_acl_verb))
            .route(
                &format!("{prefix}/acl/{{action}}/{{subject}}"),
                get(get_acl_entry).put(grant).delete(revoke),
            )
            .route(&b, get(get_bucket).delete(delete_bucket))
            .route(&format!("{b}/objects"), post(create))
            .route(
                &format!("{b}/objects/{{object}}"),
                get(get_object)
                    .put(put_object)
                    .post(post_object)
                    .patch(patch_object)
                    .delete(delete_object),
            )
            .route(&format!("{b}/query"), post(query))
            .route(&format!("{b}/acl"), get(get_acl))
            .route(&format!("{b}/acl/{{action}}"), get(get_acl_verb))
            .route(
                &format!("{b}/acl/{{action}}/{{subject}}"),
                get(get_acl_entry).put(grant).delete(revoke),
            )
            .route(&format!("{b}/objects/{{object}}/acl"), get(get_acl))
            .route(
                &format!("{b}/objects/{{object}}/acl/{{action}}"),
                get(get_acl_verb),
            )
            .route(
                &format!("{b}/objects/{{object}}/acl/{{action}}/{{subject}}"),
                get(get_acl_entry).put(grant).delete(revoke),
            );
    }
    router
}

#[derive(Deserialize)]
pub struct ScopedPath {
    app: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    thing: Option<String>,
    #[serde(default)]
    bucket: Option<String>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    subject: Option<String>,
}

impl ScopedPath {
    fn scope(&self) -> Scope {
        match (&self.user, &self.group, &self.thing) {
            (Some(u), _, _) => Scope::User(u.clone()),
            (_, Some(g), _) => Scope::Group(g.clone()),
            (_, _, Some(t)) => Scope::Thing(t.clone()),
            _ => Scope::App,
        }
    }

    pub(super) fn bucket(&self) -> BucketPath {
        BucketPath {
            scope: self.scope(),
            name: self.bucket.clone().unwrap_or_default(),
        }
    }

    pub(super) fn object(&self) -> &str {
        self.object.as_deref().unwrap_or_default()
    }

    /// The object's path under `/api`, in the scope the request named (a `me` or address is
    /// already the user's ID here).
    fn object_path(&self, object_id: &str) -> String {
        let scope = match (&self.user, &self.group, &self.thing) {
            (Some(u), _, _) => format!("/users/{u}"),
            (_, Some(g), _) => format!("/groups/{g}"),
            (_, _, Some(t)) => format!("/things/{t}"),
            _ => String::new(),
        };
        format!(
            "/apps/{}{scope}/buckets/{}/objects/{object_id}",
            self.app,
            self.bucket.as_deref().unwrap_or_default()
        )
    }

    /// `OBJECT_NOT_FOUND` and `BUCKET_NOT_FOUND` with the fields Kii's object reference lists:
    /// the `objectScope` (`appID`, `type` and the scope's `userID` / `groupID`), `bucketID`
    /// and, for an object, `objectID`. Only error paths pay for it.
    pub(super) fn naming(&self, mut e: Error) -> Error {
        let code = e.0.code;
        if !matches!(code, ErrorCode::ObjectNotFound | ErrorCode::BucketNotFound)
            || e.0.extra.contains_key("bucketID")
        {
            return e;
        }
        let mut scope = Map::new();
        scope.insert("appID".into(), self.app.as_str().into());
        let kind = match (&self.user, &self.group, &self.thing) {
            (Some(u), _, _) => {
                scope.insert("userID".into(), u.as_str().into());
                "APP_AND_USER"
            }
            (_, Some(g), _) => {
                scope.insert("groupID".into(), g.as_str().into());
                "APP_AND_GROUP"
            }
            (_, _, Some(t)) => {
                scope.insert("thingID".into(), t.as_str().into());
                "APP_AND_THING"
            }
            _ => "APP",
        };
        scope.insert("type".into(), kind.into());
        let extra = &mut e.0.extra;
        extra.insert("objectScope".into(), Value::Object(scope));
        if let Some(b) = &self.bucket {
            extra.insert("bucketID".into(), b.as_str().into());
        }
        if let (ErrorCode::ObjectNotFound, Some(o)) = (code, &self.object) {
            extra.insert("objectID".into(), o.as_str().into());
        }
        e
    }

    fn entry(&self) -> (&str, &str) {
        (
            self.action.as_deref().unwrap_or_default(),
            self.subject.as_deref().unwrap_or_default(),
        )
    }
}

/// The bare type of `application/vnd.{appID}.{type}+json`, if the content type names one.
fn data_type(headers: &HeaderMap, app_id: &str) -> Option<String> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let ct = ct.split(';').next()?.trim();
    let rest = ct.strip_prefix("application/vnd.")?.strip_suffix("+json")?;
    let (app, t) = rest.split_once('.')?;
    let ok = app == app_id
        && (1..=64).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    ok.then(|| t.to_owned())
}

fn media_type(app_id: &str, data_type: &Option<String>) -> String {
    match data_type {
        Some(t) => format!("application/vnd.{app_id}.{t}+json"),
        None => "application/json".to_owned(),
    }
}

fn with_etag(mut res: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

fn if_match(headers: &HeaderMap) -> Result<Option<i64>> {
    match headers.get(header::IF_MATCH) {
        None => Ok(None),
        Some(v) => parse_if_match(v.to_str().unwrap_or("invalid")),
    }
}

async fn write_of(
    req: Request,
    state: &AppState,
    app_id: &str,
) -> Result<(HeaderMap, ObjectWrite)> {
    let headers = req.headers().clone();
    let body = parse_object(&read_body(req, state).await?)?;
    let data_type = data_type(&headers, app_id);
    Ok((
        headers,
        ObjectWrite {
            data: object_fields(body)?,
            data_type,
        },
    ))
}

async fn create(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let (_, write) = write_of(req, &state, &p.app).await?;
    let o = state
        .service
        .create_object(&caller, &p.bucket(), write)
        .await
        .map_err(|e| p.naming(e))?;
    let res = json_as(
        StatusCode::CREATED,
        media::OBJECT_CREATION,
        json!({"objectID": o.id, "createdAt": o.created_at, "dataType": media_type(&p.app, &o.data_type)}),
    );
    let res = with_location(res, &p.object_path(&o.id));
    Ok(with_etag(res, o.version))
}

/// An object as Kii's object guide shows it: typed with its own data type
/// (`application/vnd.{appID}.{type}+json`, plain JSON when it has none), with `ETag` and
/// `Last-Modified`.
fn document_response(app_id: &str, o: &Object) -> Response {
    let mut res = with_etag(
        json_as(StatusCode::OK, "application/json", object_document(o)),
        o.version,
    );
    if let Some(t) = &o.data_type {
        res = with_object_type(res, app_id, t);
    }
    with_last_modified(res, o.modified_at)
}

async fn get_object(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
) -> Result<Response> {
    let o = state
        .service
        .get_object(&caller, &p.bucket(), p.object())
        .await
        .map_err(|e| p.naming(e))?;
    Ok(document_response(&p.app, &o))
}

async fn put_object(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let (headers, write) = write_of(req, &state, &p.app).await?;
    let pre = match (headers.get(header::IF_NONE_MATCH), if_match(&headers)?) {
        (Some(v), _) if v.as_bytes() == b"*" => Precondition::Absent,
        (_, Some(v)) => Precondition::Version(v),
        _ => Precondition::None,
    };
    let (o, created) = state
        .service
        .put_object(&caller, &p.bucket(), p.object(), write, pre)
        .await
        .map_err(|e| p.naming(e))?;
    let body = json!({"createdAt": o.created_at, "modifiedAt": o.modified_at});
    let res = if created {
        // Created with a client-chosen ID: the body is the update's, the headers a creation's.
        with_location(
            json_as(StatusCode::CREATED, media::OBJECT_UPDATE, body),
            &p.object_path(&o.id),
        )
    } else {
        json_as(StatusCode::OK, media::OBJECT_UPDATE, body)
    };
    Ok(with_etag(res, o.version))
}

/// `POST` on an object is a partial update only with `X-HTTP-Method-Override: PATCH`.
async fn post_object(
    state: State<AppState>,
    p: Path<ScopedPath>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let is_patch = req
        .headers()
        .get("x-http-method-override")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("PATCH"));
    if !is_patch {
        return Err(Error::new(
            ErrorCode::MethodNotAllowed,
            "POST on an object needs X-HTTP-Method-Override: PATCH",
        ));
    }
    patch_object(state, p, caller, req).await
}

async fn patch_object(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let (headers, write) = write_of(req, &state, &p.app).await?;
    let o = state
        .service
        .patch_object(
            &caller,
            &p.bucket(),
            p.object(),
            write.data,
            if_match(&headers)?,
        )
        .await
        .map_err(|e| p.naming(e))?;
    Ok(document_response(&p.app, &o))
}

async fn delete_object(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response> {
    state
        .service
        .delete_object(&caller, &p.bucket(), p.object(), if_match(&headers)?)
        .await
        .map_err(|e| p.naming(e))?;
    Ok(no_content())
}

async fn delete_bucket(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
) -> Result<Response> {
    state
        .service
        .delete_bucket(&caller, &p.bucket())
        .await
        .map_err(|e| p.naming(e))?;
    Ok(no_content())
}

/// `GET` on a bucket: Kii's `BucketRetrievalResponse`, the documented way to count objects.
/// Kumo has only Kii's default (`rw`) bucket type.
async fn get_bucket(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
) -> Result<Response> {
    let size = state
        .service
        .bucket_size(&caller, &p.bucket())
        .await
        .map_err(|e| p.naming(e))?;
    Ok(json_as(
        StatusCode::OK,
        media::BUCKET,
        json!({ "bucketType": "rw", "size": size }),
    ))
}

async fn query(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let bucket_query = body.get("bucketQuery").ok_or_else(|| {
        Error::from(ApiError::invalid_field(
            "bucketQuery",
            "bucketQuery is required",
        ))
    })?;
    let q = BucketQuery::parse(bucket_query)?;
    let limit = match body.get("bestEffortLimit") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            Error::from(ApiError::invalid_field(
                "bestEffortLimit",
                "bestEffortLimit must be an integer",
            ))
        })?),
    };
    let after = match body.get("paginationKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            return Err(
                ApiError::invalid_field("paginationKey", "paginationKey must be a string").into(),
            )
        }
    };
    let answer = state
        .service
        .query(&caller, &p.bucket(), &q, limit, after)
        .await
        .map_err(|e| p.naming(e))?;
    Ok(match answer {
        QueryAnswer::Count { into, count } => {
            let mut aggs = Map::new();
            aggs.insert(into, count.into());
            json_as(
                StatusCode::OK,
                media::QUERY,
                json!({ "aggregations": aggs }),
            )
        }
        QueryAnswer::Page { results, next } => {
            let mut body =
                json!({ "queryDescription": "WHERE ( bucketQuery )", "results": results });
            if let Some(next) = next {
                body["nextPaginationKey"] = next.into();
            }
            json_as(StatusCode::OK, media::QUERY, body)
        }
    })
}

// ---- ACLs ---------------------------------------------------------------------------------

impl ScopedPath {
    /// The scope's, the bucket's or the object's ACL, by which path segments are present.
    fn acl_target(&self) -> AclTarget {
        match (&self.bucket, &self.object) {
            (Some(_), Some(id)) => AclTarget::Object(self.bucket(), id.clone()),
            (Some(_), None) => AclTarget::Bucket(self.bucket()),
            _ => AclTarget::Scope(self.scope()),
        }
    }
}

async fn get_acl(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
) -> Result<Response> {
    Ok(json_as(
        StatusCode::OK,
        media::ACL,
        state.service.acl_document(&caller, &p.acl_target()).await?,
    ))
}

async fn get_acl_verb(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
) -> Result<Response> {
    let (action, _) = p.entry();
    let doc = state
        .service
        .acl_verb_document(&caller, &p.acl_target(), action)
        .await
        .map_err(|e| p.naming(e))?;
    Ok(json_as(StatusCode::OK, media::ACL_VERB, doc))
}

async fn get_acl_entry(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
) -> Result<Response> {
    let (action, subject) = p.entry();
    let doc = state
        .service
        .acl_entry_document(&caller, &p.acl_target(), action, subject)
        .await
        .map_err(|e| p.naming(e))?;
    Ok(json_as(StatusCode::OK, media::ACL_SUBJECT, doc))
}

async fn change_acl(
    state: AppState,
    p: ScopedPath,
    caller: Caller,
    grant: bool,
) -> Result<Response> {
    let (action, subject) = p.entry();
    state
        .service
        .change_acl(&caller, &p.acl_target(), action, subject, grant)
        .await
        .map_err(|e| p.naming(e))?;
    Ok(no_content())
}

async fn grant(
    State(s): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
) -> Result<Response> {
    change_acl(s, p, caller, true).await
}

async fn revoke(
    State(s): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
) -> Result<Response> {
    change_acl(s, p, caller, false).await
}
