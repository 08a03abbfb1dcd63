//! The little of `multipart/form-data` that deploying needs: named parts with their bytes.

/// One part of a multipart body.
#[derive(Debug, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    pub body: &'a [u8],
}

/// The boundary of a `multipart/form-data; boundary=…` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty())
    })
}

/// Splits `body` into its parts; `None` when it is not well-formed.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<Part<'a>>> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut parts = Vec::new();
    let mut rest = &body[find(body, delimiter)? + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))?;
        let end = find(rest, delimiter)?;
        // The part ends with the line break before the next delimiter.
        let mut part = &rest[..end];
        part = part
            .strip_suffix(b"\r\n")
            .or_else(|| part.strip_suffix(b"\n"))
            .unwrap_or(part);
        let (headers, content) = split_headers(part)?;
        let name = headers
            .lines()
            .find(|line| {
                line.to_ascii_lowercase()
                    .starts_with("content-disposition:")
            })
            .and_then(disposition_name)?;
        parts.push(Part {
            name,
            body: content,
        });
        rest = &rest[end + delimiter.len()..];
    }
}

fn split_headers(part: &[u8]) -> Option<(String, &[u8])> {
    let (at, gap) = find(part, b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| find(part, b"\n\n").map(|i| (i, 2)))?;
    let headers = std::str::from_utf8(&part[..at]).ok()?.to_string();
    Some((headers, &part[at + gap..]))
}

fn disposition_name(line: &str) -> Option<String> {
    line.split(';').find_map(|param| {
        let (key, value) = param.trim().split_once('=')?;
        (key.trim() == "name").then(|| value.trim().trim_matches('"').to_string())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kii_cli_deploy_body() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/vnd.kii.ServerCodeMetadataRequest+json\r\n\r\n{\"environmentVersion\":\"6\"}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"server-code\"; filename=\"a.js\"\r\nContent-Type: application/javascript\r\n\r\nfunction main(){}\r\n\r\n--XyZ--\r\n";
        let parts = parse(body, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "metadata");
        assert_eq!(parts[0].body, b"{\"environmentVersion\":\"6\"}");
        assert_eq!(parts[1].name, "server-code");
        assert_eq!(
            parts[1].body, b"function main(){}\r\n",
            "content kept byte-exact"
        );
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        assert!(parse(b"garbage", "XyZ").is_none());
    }
}
