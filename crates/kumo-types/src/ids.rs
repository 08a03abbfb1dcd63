//! Identifier formats. Kii clients treat IDs as opaque strings, but they appear raw in URL
//! paths, so every generated ID uses only `[a-z0-9-]`.

use rand::{distributions::Alphanumeric, Rng};

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

fn random_hex(len: usize) -> String {
    random_from(b"0123456789abcdef", len)
}

/// A user ID in Kii's shape: `xxxxxxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxx` (hex).
pub fn user_id() -> String {
    format!(
        "{}-{}-{}-{}-{}",
        random_hex(12),
        random_hex(4),
        random_hex(4),
        random_hex(4),
        random_hex(8)
    )
}

/// A thing ID in Kii's shape: `th.` and a user-ID-shaped hex part (the one ID with a `.`).
pub fn thing_id() -> String {
    format!("th.{}", user_id())
}

/// An object ID: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex), within the SDK's ID rule.
pub fn object_id() -> String {
    format!(
        "{}-{}-{}-{}-{}",
        random_hex(8),
        random_hex(4),
        random_hex(4),
        random_hex(4),
        random_hex(12)
    )
}

/// A group ID: 25 lower-case alphanumerics, like Kii's.
pub fn group_id() -> String {
    random_from(LOWER_ALNUM, 25)
}

/// A server-code version ID: 25 lower-case alphanumerics, like Kii's.
pub fn version_id() -> String {
    random_from(LOWER_ALNUM, 25)
}

/// An object-body upload ID (also the body's entity tag): 25 lower-case alphanumerics.
pub fn upload_id() -> String {
    random_from(LOWER_ALNUM, 25)
}

/// A publication ID: 40 lower-case alphanumerics (about 206 bits). It is the only secret a
/// published body's URL carries, so it must not be guessable.
pub fn publication_id() -> String {
    random_from(LOWER_ALNUM, 40)
}

/// An app ID: 8 lower-case hex digits, like Kii's.
pub fn app_id() -> String {
    random_hex(8)
}

/// An app key: 32 hex digits. Kii no longer checks it; Kumo hands one out so SDK
/// initialisation code has a value to pass.
pub fn app_key() -> String {
    random_hex(32)
}

/// A client ID: 32 hex digits.
pub fn client_id() -> String {
    random_hex(32)
}

/// A client secret: 64 mixed-case alphanumerics (about 380 bits).
pub fn client_secret() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(64)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_url_safe_and_distinct() {
        let a = user_id();
        let b = user_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
        let g = group_id();
        assert_eq!(g.len(), 25);
        assert!(crate::validate::group_id(&g).is_ok());
        assert_eq!(app_id().len(), 8);
        assert_eq!(client_secret().len(), 64);
    }
}
