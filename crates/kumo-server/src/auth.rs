//! Who is calling: credentials from the `Authorization` header resolved against an app.
//!
//! No `Authorization` header means an anonymous caller (the Kii SDK sends none for anonymous
//! calls); `Basic base64(appID:anything)` is anonymous too; `Bearer` (any case) carries a
//! token issued by `/oauth2/token` (stored as a digest, see [`crate::secrets`]), or the admin
//! token of a server-code run on that run's own in-process requests.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use base64::Engine;
use kumo_storage::App;
use kumo_types::{now_ms, ErrorCode};

pub use crate::caller::{Caller, Principal};
use crate::error::{Error, Result};
pub use crate::secrets::{digest_hex, digests_equal, new_token, Passwords};
use crate::service::anonymous_token::{self, Refusal};
use crate::service::Service;
use crate::AppState;

/// Marks a request that running server code made in-process (through the in-sandbox SDK).
///
/// It is a request extension, set only by the sandbox host: no header or anything else a client
/// sends can produce it, so no client can pass for server code, and server code cannot pass for
/// a client (whatever headers it sets).
#[derive(Debug, Clone, Default)]
pub struct FromServerCode {
    /// The run's own admin token, once it asked for one (`context.getAppAdminContext()`).
    pub admin: Option<RunAdmin>,
    /// A trigger run's stand-in for the user who caused the event
    /// (`context.getAccessToken()`): a user token only on the run's own requests.
    pub user: Option<RunUser>,
    /// The run was started by a server hook: its writes fire no hooks.
    pub by_hook: bool,
}

/// A trigger run's token for the user whose change fired it: made for the run, never stored,
/// and that user's token only on the run's own requests (like [`RunAdmin`]).
#[derive(Debug, Clone)]
pub struct RunUser {
    pub app_id: Arc<str>,
    pub user_id: Arc<str>,
    pub token: Arc<str>,
}

impl RunUser {
    pub fn new(app_id: &str, user_id: &str) -> RunUser {
        RunUser {
            app_id: app_id.into(),
            user_id: user_id.into(),
            token: new_token().0.into(),
        }
    }
}

/// A run's admin token: made for the run, never stored, and an admin token only on the run's
/// own requests (they carry it in their [`FromServerCode`]), so nothing it leaks to can use it.
#[derive(Debug, Clone)]
pub struct RunAdmin {
    pub app_id: Arc<str>,
    pub token: Arc<str>,
}

impl RunAdmin {
    pub fn new(app_id: &str) -> RunAdmin {
        RunAdmin {
            app_id: app_id.into(),
            token: new_token().0.into(),
        }
    }

    /// Whether `token` is this run's admin token for `app_id`.
    fn admits(&self, app_id: &str, token: &str) -> bool {
        *self.app_id == *app_id && digests_equal(&self.token, token)
    }
}

/// Whether `extensions` carry the in-process mark, and whether a hook started that run.
pub fn server_code_mark(extensions: &axum::http::Extensions) -> (bool, bool) {
    match extensions.get::<FromServerCode>() {
        Some(mark) => (true, mark.by_hook),
        None => (false, false),
    }
}

/// Every handler of an app's routes (`/apps/{app}/…`) takes its caller as an argument.
impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Caller> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::new(ErrorCode::InternalError, "route has no app"))?;
        let app_id = params
            .iter()
            .find_map(|(name, value)| (name == "app").then_some(value))
            .ok_or_else(|| Error::new(ErrorCode::InternalError, "route has no app"))?;
        let mark = parts.extensions.get::<FromServerCode>();
        authenticate(&state.service, app_id, &parts.headers, mark).await
    }
}

/// Resolves the caller of a request addressed to `app_id`; `mark` is the in-process mark of a
/// request made by running server code.
pub async fn authenticate(
    service: &Service,
    app_id: &str,
    headers: &HeaderMap,
    mark: Option<&FromServerCode>,
) -> Result<Caller> {
    let from_server_code = mark.is_some();
    let by_hook = mark.is_some_and(|m| m.by_hook);
    let app = service
        .app(app_id)
        .await?
        .ok_or_else(|| app_not_found(app_id))?;
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Caller {
            app,
            principal: Principal::Anonymous,
            from_server_code,
            by_hook,
        });
    };
    let value = value
        .to_str()
        .map_err(|_| unauthorized("The Authorization header is not valid text"))?
        .trim();
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        let run_admin = mark.and_then(|m| m.admin.as_ref());
        let run_user = mark.and_then(|m| m.user.as_ref());
        let principal = match (run_admin, run_user) {
            (Some(run), _) if run.admits(&app.id, credentials) => Principal::Admin,
            (_, Some(run)) if *run.app_id == *app.id && digests_equal(&run.token, credentials) => {
                Principal::User(run.user_id.to_string())
            }
            _ => principal_for_token(service, &app, credentials).await?,
        };
        Ok(Caller {
            app,
            principal,
            from_server_code,
            by_hook,
        })
    } else if scheme.eq_ignore_ascii_case("basic") {
        // Kii's "Basic appID:anything" means anonymous access to that app.
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| unauthorized("Malformed Basic credentials"))?;
        let user = decoded.split(':').next().unwrap_or_default();
        if user != app.id {
            return Err(unauthorized("Basic credentials must name this app's ID"));
        }
        Ok(Caller {
            app,
            principal: Principal::Anonymous,
            from_server_code,
            by_hook,
        })
    } else {
        Err(unauthorized("Unsupported Authorization scheme; use Bearer"))
    }
}

/// Who `token` (a token `/oauth2/token` issued) stands for in `app`.
pub async fn principal_for_token(service: &Service, app: &App, token: &str) -> Result<Principal> {
    let wrong = || Error::new(ErrorCode::WrongToken, "The access token is invalid");
    if token.is_empty() || token.len() > 512 {
        return Err(wrong());
    }
    let expired = || Error::new(ErrorCode::WrongToken, "The access token has expired");
    if let Some(anonymous) = anonymous_token::check(token, &app.id, now_ms()) {
        return match anonymous {
            Ok(()) => Ok(Principal::Anonymous),
            Err(Refusal::Expired) => Err(expired()),
            Err(Refusal::Invalid) => Err(wrong()),
        };
    }
    let record = service.token(&digest_hex(token)).await?.ok_or_else(wrong)?;
    if record.app_id != app.id {
        return Err(wrong());
    }
    if record.expires_at.is_some_and(|t| t <= now_ms()) {
        return Err(expired());
    }
    if let Some(thing_id) = record.thing_id {
        // A thing's token works while the thing exists and is enabled (read each time, so
        // disabling or deleting a thing stops its tokens at once, on every node).
        let key = kumo_storage::ThingKey::Id(thing_id.clone());
        return match service.storage.get_thing(&app.id, &key).await? {
            Some(t) if !t.disabled => Ok(Principal::Thing(thing_id)),
            Some(_) => Err(Error::new(ErrorCode::WrongToken, "The thing is disabled")),
            None => Err(wrong()),
        };
    }
    Ok(match record.user_id {
        Some(id) => Principal::User(id),
        None => Principal::Admin,
    })
}

pub fn app_not_found(app_id: &str) -> Error {
    Error(
        kumo_types::ApiError::new(ErrorCode::AppNotFound, "The app was not found")
            .with("appID", app_id),
    )
}

fn unauthorized(message: &str) -> Error {
    Error::new(ErrorCode::Unauthorized, message)
}
