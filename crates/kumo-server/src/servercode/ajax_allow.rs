//! Which URLs `$.ajax` may reach (`--ajax-allow-host`).
//!
//! A URL is parsed once, by the parser the HTTP client itself uses, and that parsed value is
//! both the one checked and the one sent: a check that reads the host differently from the
//! client (a hand-written splitter took `http://evil\@allowed/` for `allowed`; the client goes
//! to `evil`) is a way around the list. Every redirect is checked again before it is followed.

use reqwest::redirect::{Attempt, Policy};
use reqwest::Url;

/// As many redirects as the HTTP client follows by default.
const MAX_REDIRECTS: usize = 10;

#[derive(Debug, Clone, Default)]
pub struct AjaxAllowList {
    any: bool,
    /// As the URL parser writes hosts (see `comparable`).
    hosts: Vec<String>,
}

impl AjaxAllowList {
    /// From the configured entries: host names or IP addresses (IPv6 with or without brackets),
    /// or `*` for any host. An entry that is not a bare host (a port, a path) matches nothing.
    pub fn new(entries: &[String]) -> Self {
        let mut list = AjaxAllowList::default();
        for entry in entries.iter().map(|e| e.trim()) {
            if entry == "*" {
                list.any = true;
            } else if let Some(host) = bare_host(entry) {
                list.hosts.push(host);
            } else {
                tracing::warn!(
                    entry,
                    "an --ajax-allow-host entry that is not a host is ignored"
                );
            }
        }
        list
    }

    /// The URL to send if `raw` may be reached.
    pub fn check(&self, raw: &str) -> Result<Url, String> {
        let url = Url::parse(raw).map_err(|e| format!("not an http(s) URL: {raw} ({e})"))?;
        self.permits(&url)?;
        Ok(url)
    }

    /// Whether the client may connect where `url` leads.
    fn permits(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("not an http(s) URL: {url}"));
        }
        let host = url
            .host_str()
            .map(comparable)
            .ok_or_else(|| format!("not an http(s) URL: {url}"))?;
        if self.any || self.hosts.contains(&host) {
            Ok(())
        } else {
            Err(format!(
                "outbound HTTP to {host} is not allowed (the server's --ajax-allow-host)"
            ))
        }
    }

    /// For the HTTP client: follow a redirect only to a URL this list permits.
    pub fn redirect_policy(self) -> Policy {
        Policy::custom(move |attempt: Attempt| {
            // `previous` holds the first URL too.
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match self.permits(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(why) => {
                    let message = format!("redirect to {} refused: {why}", attempt.url());
                    attempt.error(message)
                }
            }
        })
    }
}

/// A configured entry as the host the URL parser would make of it.
fn bare_host(entry: &str) -> Option<String> {
    let authority = if entry.contains(':') && !entry.starts_with('[') {
        format!("[{entry}]")
    } else {
        entry.to_owned()
    };
    let url = Url::parse(&format!("http://{authority}/")).ok()?;
    let bare = url.port().is_none() && url.username().is_empty() && url.path() == "/";
    bare.then(|| url.host_str().map(comparable)).flatten()
}

/// A host as compared: a domain's trailing dot only makes the name absolute, so it names the
/// same host the client resolves (the parser already lowercases and percent-decodes names and
/// normalises IP addresses, which it writes without a trailing dot and IPv6 in brackets).
fn comparable(host: &str) -> String {
    host.strip_suffix('.').unwrap_or(host).to_owned()
}

#[cfg(test)]
mod tests {
    use super::AjaxAllowList;

    fn list(entries: &[&str]) -> AjaxAllowList {
        AjaxAllowList::new(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>())
    }

    /// The host the client would connect to, when allowed.
    fn reached(list: &AjaxAllowList, url: &str) -> Option<String> {
        list.check(url)
            .ok()
            .map(|u| u.host_str().unwrap().to_owned())
    }

    #[test]
    fn the_host_checked_is_the_host_the_client_connects_to() {
        let l = list(&["allowed.test", "127.0.0.1", "::1"]);
        // Backslashes are path separators in http URLs: the host ends before them.
        assert_eq!(reached(&l, r"http://evil.test\@allowed.test/"), None);
        assert_eq!(
            reached(&l, r"http://allowed.test\@evil.test/").as_deref(),
            Some("allowed.test")
        );
        assert_eq!(reached(&l, r"http:\\evil.test\"), None);
        // User info is not the host, whichever side of it the allowed name is on.
        assert_eq!(reached(&l, "http://allowed.test@evil.test/"), None);
        assert_eq!(reached(&l, "http://allowed.test:x@evil.test/"), None);
        assert_eq!(
            reached(&l, "http://evil.test:pw@allowed.test:81/").as_deref(),
            Some("allowed.test")
        );
        assert_eq!(reached(&l, "http://evil.test#@allowed.test/"), None);
        assert_eq!(reached(&l, "http://evil.test?@allowed.test/"), None);
        // Percent-encoding and case are undone by the parser before the client resolves.
        assert_eq!(
            reached(&l, "http://%61llowed.test/").as_deref(),
            Some("allowed.test")
        );
        assert_eq!(reached(&l, "http://allowed%2etest.evil.test/"), None);
        // So are full-width letters and other IDNA mappings.
        assert_eq!(
            reached(&l, "http://ａｌｌｏｗｅｄ.test/").as_deref(),
            Some("allowed.test")
        );
        assert_eq!(reached(&l, "http://ａｌｌｏｗｅｄ.test.evil.test/"), None);
        assert_eq!(
            reached(&l, "HTTP://ALLOWED.Test/x").as_deref(),
            Some("allowed.test")
        );
        // Trailing dots name the same host.
        assert_eq!(
            reached(&l, "http://allowed.test./").as_deref(),
            Some("allowed.test.")
        );
        assert_eq!(reached(&l, "http://evil.test./"), None);
        // IP addresses in their other spellings are the same address.
        assert_eq!(
            reached(&l, "http://0x7f.0.0.1:8080/").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            reached(&l, "http://2130706433/").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(reached(&l, "http://127.1/").as_deref(), Some("127.0.0.1"));
        assert_eq!(reached(&l, "http://127.0.0.2/"), None);
        assert_eq!(reached(&l, "http://[::1]:80/").as_deref(), Some("[::1]"));
        assert_eq!(
            reached(&l, "http://[0:0:0:0:0:0:0:1]/").as_deref(),
            Some("[::1]")
        );
        assert_eq!(reached(&l, "http://[::2]/"), None);
        assert_eq!(reached(&l, "http://[::ffff:127.0.0.1]/"), None);
        // Only http and https.
        assert_eq!(reached(&l, "file:///etc/passwd"), None);
        assert_eq!(reached(&l, "ftp://allowed.test/"), None);
        assert_eq!(reached(&l, "ws://allowed.test/"), None);
        assert_eq!(reached(&l, "allowed.test/x"), None);
        assert_eq!(reached(&l, "//allowed.test/x"), None);
        assert_eq!(
            reached(&l, "https://allowed.test/").as_deref(),
            Some("allowed.test")
        );
    }

    #[test]
    fn entries_are_read_as_the_parser_reads_hosts() {
        let l = list(&[
            "Allowed.Test.",
            "[::1]",
            " 0x7f.1 ",
            "ports.test:81",
            "*.test",
        ]);
        assert!(l.check("http://allowed.test/").is_ok());
        assert!(l.check("http://[::1]/").is_ok());
        assert!(l.check("http://127.0.0.1/").is_ok());
        // An entry with a port is no host and matches nothing, not even the host it names.
        assert!(l.check("http://ports.test:81/").is_err());
        assert!(l.check("http://other.test/").is_err());
        assert!(list(&["*"]).check("http://anything.test:9/").is_ok());
        assert!(list(&["*"]).check("file:///etc/passwd").is_err());
        assert!(list(&[]).check("http://allowed.test/").is_err());
    }

    #[test]
    fn refusals_name_the_host() {
        let err = list(&["allowed.test"])
            .check(r"http://evil.test\@allowed.test/")
            .unwrap_err();
        assert!(
            err.contains("evil.test") && err.contains("not allowed"),
            "{err}"
        );
        let err = list(&["allowed.test"]).check("gopher://x/").unwrap_err();
        assert!(err.contains("not an http(s) URL"), "{err}");
    }
}
