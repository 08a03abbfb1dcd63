//! `VENDOR_THING_ID:{v}` in a thing-scope path (`/apps/{app}/things/VENDOR_THING_ID:v/buckets/…`
//! and `…/acl…`) becomes the thing's ID before routing, as `user_paths.rs` does for users, so
//! the object routes and the stored scope only ever see thing IDs. The thing routes themselves
//! (`/things/{thing}`, its status, owners, password) take either form and name the one they
//! were given in their errors, so they are left alone.

use axum::extract::Request;
use axum::http::Uri;

use crate::AppState;

const PREFIX: &str = "VENDOR_THING_ID";

/// The request with a vendor thing ID in a thing-scope path replaced by the thing's ID. A
/// vendor ID that names no thing is left as it is (the route then answers `THING_NOT_FOUND`).
pub async fn resolve(state: &AppState, mut req: Request) -> Request {
    let Some((app, index, vendor)) = find(req.uri()) else {
        return req;
    };
    let key = kumo_storage::ThingKey::Vendor(vendor);
    let Ok(Some(thing)) = state.service.storage.get_thing(&app, &key).await else {
        return req;
    };
    let uri = req.uri();
    let mut segments: Vec<&str> = uri.path().split('/').collect();
    segments[index] = &thing.id;
    let mut text = segments.join("/");
    if let Some(q) = uri.query() {
        text.push('?');
        text.push_str(q);
    }
    // Thing IDs are made by Kumo of URL-safe characters.
    if let Ok(new) = text.parse::<Uri>() {
        *req.uri_mut() = new;
    }
    req
}

/// The app, the segment index and the vendor thing ID, if the path is a thing scope's named
/// by vendor thing ID.
fn find(uri: &Uri) -> Option<(String, usize, String)> {
    let path = uri.path();
    if !path.contains("/things/") || !path.contains(PREFIX) {
        return None;
    }
    let segments: Vec<&str> = path.split('/').collect();
    // ["", "api", "apps", app, "things", thing, "buckets" | "acl", …]
    if segments.len() < 7
        || segments[1] != "api"
        || segments[2] != "apps"
        || segments[4] != "things"
        || !matches!(segments[6], "buckets" | "acl")
    {
        return None;
    }
    let raw = segments[5];
    if raw.len() > 512 {
        return None;
    }
    let decoded = crate::user_paths::percent_decode(raw)?;
    let vendor = decoded.strip_prefix("VENDOR_THING_ID:")?;
    (!vendor.is_empty()).then(|| (segments[3].to_owned(), 5, vendor.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(uri: &str) -> Option<(String, usize, String)> {
        find(&uri.parse().unwrap())
    }

    #[test]
    fn finds_vendor_ids_in_thing_scopes_only() {
        let v = Some(("a1".to_owned(), 5, "cam-1".to_owned()));
        assert_eq!(
            found("/api/apps/a1/things/VENDOR_THING_ID:cam-1/buckets/b/objects"),
            v
        );
        assert_eq!(found("/api/apps/a1/things/VENDOR_THING_ID%3Acam-1/acl"), v);
        assert_eq!(found("/api/apps/a1/things/VENDOR_THING_ID:cam-1"), None);
        assert_eq!(
            found("/api/apps/a1/things/VENDOR_THING_ID:cam-1/ownership"),
            None
        );
        assert_eq!(found("/api/apps/a1/things/th.1/buckets/b"), None);
        assert_eq!(
            found("/api/apps/a1/things/VENDOR_THING_ID:/buckets/b"),
            None
        );
        assert_eq!(
            found("/api/apps/a1/buckets/VENDOR_THING_ID:x/objects"),
            None
        );
    }
}
