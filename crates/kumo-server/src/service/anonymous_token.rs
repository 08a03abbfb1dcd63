//! Kii's anonymous user token (its "access as anonymous user" guide). It opens nothing that a
//! request without credentials does not, so it needs no row and no lookup: it names its app and
//! its expiry, plus random bytes so that no two look alike. Forging one gains nothing: a client
//! may always call anonymously. Minting them therefore writes nothing anyone can pile up.

use crate::secrets::new_token;

const PREFIX: &str = "anon.";

/// A new anonymous token for `app_id`, refused after `expires_at` (epoch ms) if given.
pub fn issue(app_id: &str, expires_at: Option<i64>) -> String {
    let (random, _) = new_token();
    format!("{PREFIX}{app_id}.{}.{random}", expires_at.unwrap_or(0))
}

/// Why an anonymous token is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Invalid,
    Expired,
}

/// `None` if `token` is no anonymous token (look it up as a stored one); else whether it
/// admits an anonymous caller of `app_id` at `now_ms`.
pub fn check(token: &str, app_id: &str, now_ms: i64) -> Option<Result<(), Refusal>> {
    let rest = token.strip_prefix(PREFIX)?;
    let mut parts = rest.splitn(3, '.');
    let (Some(app), Some(expires_at), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return Some(Err(Refusal::Invalid));
    };
    let Ok(expires_at) = expires_at.parse::<i64>() else {
        return Some(Err(Refusal::Invalid));
    };
    Some(if app != app_id {
        Err(Refusal::Invalid)
    } else if expires_at != 0 && expires_at <= now_ms {
        Err(Refusal::Expired)
    } else {
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = issue("app1", None);
        assert_eq!(check(&t, "app1", 5), Some(Ok(())));
        assert_eq!(check(&t, "app2", 5), Some(Err(Refusal::Invalid)));
        assert_ne!(t, issue("app1", None));
        let t = issue("app1", Some(100));
        assert_eq!(check(&t, "app1", 99), Some(Ok(())));
        assert_eq!(check(&t, "app1", 100), Some(Err(Refusal::Expired)));
        assert_eq!(check("anon.app1", "app1", 1), Some(Err(Refusal::Invalid)));
        assert_eq!(
            check("anon.app1.x.y", "app1", 1),
            Some(Err(Refusal::Invalid))
        );
        assert_eq!(check("stored-token", "app1", 1), None);
    }
}
