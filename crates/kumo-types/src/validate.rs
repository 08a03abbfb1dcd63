//! Field rules, shared by every entry point (REST today, server code later). Each returns
//! the `400 INVALID_INPUT_DATA` error Kii gives, naming the field.

use crate::error::ApiError;

type Check = Result<(), ApiError>;

fn bad(field: &str, rule: &str) -> ApiError {
    ApiError::invalid_field(field, format!("{field} {rule}"))
}

/// `^[a-zA-Z0-9-_.]{3,64}$`, the SDK's own client-side rule.
pub fn login_name(v: &str) -> Check {
    let ok = (3..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(bad(
            "loginName",
            "must be 3 to 64 characters of letters, digits, '-', '_' or '.'",
        ))
    }
}

/// `^[\x20-\x7E]{4,50}$`.
pub fn password(field: &str, v: &str) -> Check {
    if (4..=50).contains(&v.len()) && v.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Ok(())
    } else {
        Err(bad(field, "must be 4 to 50 printable ASCII characters"))
    }
}

/// A pragmatic address check: one `@`, something on both sides, a dot in the domain, no spaces.
pub fn email(v: &str) -> Check {
    let ok = v.len() <= 254
        && !v.contains(char::is_whitespace)
        && matches!(v.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.contains('@')
                && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'));
    if ok {
        Ok(())
    } else {
        Err(bad("emailAddress", "is not a valid email address"))
    }
}

/// International form `+<digits>` (what the SDK requires without a country), or local digits
/// (optionally with `-`) when a `country` is given.
pub fn phone(v: &str, has_country: bool) -> Check {
    let digits = v.strip_prefix('+').unwrap_or(v);
    let ok = (v.starts_with('+') || has_country)
        && (6..=20).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && digits.bytes().filter(u8::is_ascii_digit).count() >= 6;
    if ok {
        Ok(())
    } else {
        Err(bad(
            "phoneNumber",
            "must be in international form (+ and digits), or local digits with a country",
        ))
    }
}

/// 1 to 50 characters.
pub fn display_name(v: &str) -> Check {
    if (1..=50).contains(&v.chars().count()) {
        Ok(())
    } else {
        Err(bad("displayName", "must be 1 to 50 characters"))
    }
}

/// ISO 3166-1 alpha-2, upper case.
pub fn country(v: &str) -> Check {
    if v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(bad(
            "country",
            "must be two upper-case letters (ISO 3166-1)",
        ))
    }
}

/// A BCP 47-ish tag: letters, digits and `-`/`_`, at most 35 characters.
pub fn locale(v: &str) -> Check {
    let ok = (1..=35).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(bad("locale", "must be a language tag such as en-US"))
    }
}

/// Client-chosen group IDs: `^[a-z0-9-_.]{1,30}$`, the SDK's rule.
pub fn group_id(v: &str) -> Check {
    let ok = (1..=30).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(bad(
            "groupID",
            "must be 1 to 30 characters of lower-case letters, digits, '-', '_' or '.'",
        ))
    }
}

/// 1 to 190 characters, no control characters.
pub fn group_name(v: &str) -> Check {
    if (1..=190).contains(&v.chars().count()) && !v.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(bad(
            "name",
            "must be 1 to 190 characters without control characters",
        ))
    }
}

/// Bucket names: 2 to 64 characters of letters, digits, `-` and `_` (Kii's rule). An
/// encrypted bucket's `CRYPTO:` prefix is accepted and kept as part of the name.
pub fn bucket_name(v: &str) -> Check {
    let bare = v.strip_prefix("CRYPTO:").unwrap_or(v);
    if (2..=64).contains(&bare.len())
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(ApiError::new(
            crate::ErrorCode::InvalidBucket,
            "Bucket names are 2 to 64 characters of letters, digits, '-' and '_'",
        ))
    }
}

/// Object IDs: `^[a-zA-Z0-9-_.]{2,100}$` (the SDK's rule).
pub fn object_id(v: &str) -> Check {
    if (2..=100).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        Ok(())
    } else {
        Err(ApiError::new(
            crate::ErrorCode::InvalidObjectId,
            "Object IDs are 2 to 100 characters of letters, digits, '-', '_' and '.'",
        ))
    }
}

/// An app's human name for `kumo app create`.
pub fn app_name(v: &str) -> Check {
    if (1..=100).contains(&v.chars().count()) && !v.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(bad(
            "name",
            "must be 1 to 100 characters without control characters",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names() {
        assert!(login_name("alice").is_ok());
        assert!(login_name("a.b-c_d").is_ok());
        assert!(login_name("ab").is_err());
        assert!(login_name("has space").is_err());
        assert!(login_name("bob@example.com").is_err());
        assert!(login_name(&"x".repeat(65)).is_err());
    }

    #[test]
    fn passwords() {
        assert!(password("password", "abcd").is_ok());
        assert!(password("password", "abc").is_err());
        assert!(password("password", "tab\there").is_err());
        assert!(password("password", "ünïcode").is_err());
        assert!(password("password", &"x".repeat(51)).is_err());
    }

    #[test]
    fn emails_and_phones() {
        assert!(email("bob@example.com").is_ok());
        assert!(email("bob@localhost").is_err());
        assert!(email("@example.com").is_err());
        assert!(email("a@b@c.com").is_err());
        assert!(phone("+819012345678", false).is_ok());
        assert!(phone("09012345678", false).is_err());
        assert!(phone("090-1234-5678", true).is_ok());
        assert!(phone("+81abc", false).is_err());
    }

    #[test]
    fn error_names_the_field() {
        let e = country("jp").unwrap_err();
        assert_eq!(e.extra["field"], "country");
        assert_eq!(e.code.status(), 400);
    }

    #[test]
    fn group_ids_and_names() {
        assert!(group_id("team-1.a_b").is_ok());
        assert!(group_id("Team").is_err());
        assert!(group_id("").is_err());
        assert!(group_name("Team A").is_ok());
        assert!(group_name("").is_err());
        assert!(group_name("a\nb").is_err());
    }
}
