//! Kii lets a path name a user by `me` or by an address (`LOGIN_NAME:…`, `EMAIL:…`,
//! `PHONE:…`) wherever it takes a user ID. This layer runs before routing and rewrites such a
//! path to the user's ID, so every route, handler and service method (and server code, which
//! goes through the same router) sees IDs only, and no route can forget the rule.
//!
//! Where a user may stand: `/apps/{app}/users/{user}` and everything under it (the user
//! record, its scope's buckets, objects, queries and ACLs), a group member
//! (`/apps/{app}/groups/{group}/members/{user}`), and the `owner` / `is_member` parameters of
//! the group list.

use axum::extract::Request;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};

use crate::auth::{authenticate, FromServerCode};
use crate::error::Result;
use crate::service::UserAddress;
use crate::AppState;

/// The longest segment or parameter value taken for an address; a longer one is left alone
/// (and then names no user).
const MAX_ADDRESS: usize = 512;
/// Group-list parameters that take a user.
const USER_PARAMS: [&str; 2] = ["owner", "is_member"];

/// A request path (or query parameter) that names a user by address.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// Path segment `index` (of the path split on `/`).
    Segment(usize, UserAddress),
    /// The value of query parameter `index` (of the query split on `&`).
    Param(usize, UserAddress),
}

/// The request with any user address in its path replaced by the user's ID, or the error
/// answer (e.g. `me` without a user token).
pub async fn resolve(state: &AppState, mut req: Request) -> std::result::Result<Request, Response> {
    let Some((app_id, found)) = find(req.uri()) else {
        return Ok(req);
    };
    // The body is not `Sync`, so only what resolving needs is borrowed across the awaits.
    let mark = req.extensions().get::<FromServerCode>().cloned();
    let headers = req.headers().clone();
    let uri = req.uri().clone();
    match rewrite(state, &uri, &headers, mark.as_ref(), &app_id, found).await {
        Ok(uri) => {
            *req.uri_mut() = uri;
            Ok(req)
        }
        Err(e) => Err(e.into_response()),
    }
}

async fn rewrite(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    mark: Option<&FromServerCode>,
    app_id: &str,
    found: Found,
) -> Result<Uri> {
    let caller = authenticate(&state.service, app_id, headers, mark).await?;
    let (index, address, in_query) = match found {
        Found::Segment(i, a) => (i, a, false),
        Found::Param(i, a) => (i, a, true),
    };
    let id = state.service.user_id_for(&caller, &address).await?;
    let mut path: Vec<&str> = uri.path().split('/').collect();
    let mut query: Vec<String> = uri
        .query()
        .map(|q| q.split('&').map(str::to_owned).collect())
        .unwrap_or_default();
    if in_query {
        let name = query[index]
            .split('=')
            .next()
            .unwrap_or_default()
            .to_owned();
        query[index] = format!("{name}={id}");
    } else {
        path[index] = &id;
    }
    let mut text = path.join("/");
    if !query.is_empty() {
        text.push('?');
        text.push_str(&query.join("&"));
    }
    // User IDs are made by Kumo of URL-safe characters, so the new text is a valid URI.
    text.parse::<Uri>()
        .map_err(|_| crate::error::Error::new(kumo_types::ErrorCode::InternalError, "bad URI"))
}

/// The app and the address, if the path names a user by address.
fn find(uri: &Uri) -> Option<(String, Found)> {
    let path = uri.path();
    // Most requests name no user at all: they leave here without splitting anything.
    if !path.contains("/users/") && !path.contains("/groups") {
        return None;
    }
    let segments: Vec<&str> = path.split('/').collect();
    // ["", "api", "apps", app, …]
    if segments.len() < 5 || segments[1] != "api" || segments[2] != "apps" {
        return None;
    }
    let app = segments[3].to_owned();
    let address_at = |i: usize| segments.get(i).and_then(|s| address(s));
    let found = match (segments[4], segments.get(6)) {
        ("users", _) => address_at(5).map(|a| Found::Segment(5, a)),
        ("groups", Some(&"members")) => address_at(7).map(|a| Found::Segment(7, a)),
        ("groups", None) if segments.len() == 5 => uri.query().and_then(|q| {
            q.split('&').enumerate().find_map(|(i, pair)| {
                let (name, value) = pair.split_once('=')?;
                if !USER_PARAMS.contains(&name) {
                    return None;
                }
                address(value).map(|a| Found::Param(i, a))
            })
        }),
        _ => None,
    };
    found.map(|f| (app, f))
}

fn address(raw: &str) -> Option<UserAddress> {
    if raw.len() > MAX_ADDRESS {
        return None;
    }
    UserAddress::parse(&percent_decode(raw)?)
}

/// Percent-decodes a path segment or parameter value; `None` if the result is not UTF-8 or an
/// escape is malformed (such a segment is then taken as a plain ID, which names no user).
pub(crate) fn percent_decode(raw: &str) -> Option<String> {
    if !raw.contains('%') {
        return Some(raw.to_owned());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kumo_storage::UserKey;

    fn found(uri: &str) -> Option<(String, Found)> {
        find(&uri.parse().unwrap())
    }

    #[test]
    fn finds_addresses_where_a_user_stands() {
        let me = Some(("a1".to_owned(), Found::Segment(5, UserAddress::Me)));
        assert_eq!(found("/api/apps/a1/users/me"), me);
        assert_eq!(found("/api/apps/a1/users/me/buckets/b/objects/o/acl"), me);
        assert_eq!(
            found("/api/apps/a1/users/LOGIN_NAME%3Abob/acl"),
            Some((
                "a1".to_owned(),
                Found::Segment(5, UserAddress::Key(UserKey::LoginName("bob".into())))
            ))
        );
        assert_eq!(
            found("/api/apps/a1/groups/g/members/me"),
            Some(("a1".to_owned(), Found::Segment(7, UserAddress::Me)))
        );
        assert_eq!(
            found("/api/apps/a1/groups?x=1&is_member=EMAIL:a%40b.c"),
            Some((
                "a1".to_owned(),
                Found::Param(1, UserAddress::Key(UserKey::Email("a@b.c".into())))
            ))
        );
    }

    #[test]
    fn leaves_ids_and_other_paths_alone() {
        assert_eq!(found("/api/apps/a1/users/u-123/buckets/me"), None);
        assert_eq!(found("/api/apps/a1/users"), None);
        assert_eq!(found("/api/apps/a1/groups/me"), None);
        assert_eq!(found("/api/apps/a1/groups?owner=u-1"), None);
        assert_eq!(found("/api/apps/a1/buckets/me/objects"), None);
        assert_eq!(found("/api/apps/a1/users/%ff%fe"), None);
        assert_eq!(found("/api/apps/a1/users/LOGIN_NAME%3"), None);
        assert_eq!(found("/health"), None);
    }
}
