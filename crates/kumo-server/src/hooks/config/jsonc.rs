//! JSON with comments (spec §6.4): Kii's own hook-file templates carry `/* … */` placeholders,
//! so `//` and `/* */` comments outside strings are accepted. They are blanked in a copy
//! rather than cut out, so the JSON parser's line and column numbers still point into the
//! text as uploaded.

/// Why a text is not JSON with comments, before the JSON parser looks at it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Malformed {
    UnterminatedComment { line: usize },
    TooDeep { limit: usize, line: usize },
}

enum State {
    Code,
    Str,
    StrEscape,
    LineComment,
    BlockComment,
}

/// A copy of `text` with its comments replaced by spaces (newlines kept), if no array or
/// object in it nests deeper than `max_depth`. One pass, no recursion: this runs before any
/// recursive parser sees the text.
pub(super) fn strip_comments(text: &[u8], max_depth: usize) -> Result<Vec<u8>, Malformed> {
    let mut out = text.to_vec();
    let mut state = State::Code;
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut comment_line = 0usize;
    let mut i = 0;
    while i < out.len() {
        let b = out[i];
        if b == b'\n' {
            line += 1;
        }
        match state {
            State::Code => match b {
                b'"' => state = State::Str,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > max_depth {
                        return Err(Malformed::TooDeep {
                            limit: max_depth,
                            line,
                        });
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                b'/' if out.get(i + 1) == Some(&b'/') => {
                    state = State::LineComment;
                    out[i] = b' ';
                    out[i + 1] = b' ';
                    i += 1;
                }
                b'/' if out.get(i + 1) == Some(&b'*') => {
                    state = State::BlockComment;
                    comment_line = line;
                    out[i] = b' ';
                    out[i + 1] = b' ';
                    i += 1;
                }
                _ => {}
            },
            State::Str => match b {
                b'\\' => state = State::StrEscape,
                b'"' => state = State::Code,
                _ => {}
            },
            State::StrEscape => state = State::Str,
            State::LineComment => {
                if b == b'\n' {
                    state = State::Code;
                } else {
                    out[i] = b' ';
                }
            }
            State::BlockComment => {
                if b == b'*' && out.get(i + 1) == Some(&b'/') {
                    state = State::Code;
                    out[i] = b' ';
                    out[i + 1] = b' ';
                    i += 1;
                } else if b != b'\n' && b != b'\r' {
                    out[i] = b' ';
                }
            }
        }
        i += 1;
    }
    if let State::BlockComment = state {
        return Err(Malformed::UnterminatedComment { line: comment_line });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(text: &str) -> String {
        String::from_utf8(strip_comments(text.as_bytes(), 32).unwrap()).unwrap()
    }

    #[test]
    fn comments_become_spaces_and_keep_positions() {
        let text = "{ // note\n \"a\": /* x\ny */ 1 }";
        let stripped = strip(text);
        assert_eq!(stripped, "{        \n \"a\":     \n     1 }");
        assert_eq!(stripped.len(), text.len());
        let v: serde_json::Value = serde_json::from_str(&stripped).unwrap();
        assert_eq!(v["a"], 1);
    }

    #[test]
    fn comment_markers_inside_strings_are_text() {
        let text = r#"{"kiicloud://groups/*/buckets/x": "a // b /* c */", "q": "\"//"}"#;
        assert_eq!(strip(text), text);
    }

    #[test]
    fn multibyte_text_in_comments_is_blanked_whole() {
        let stripped = strip("{/* 日本語 */}");
        assert!(stripped
            .trim_matches(|c| c == '{' || c == '}')
            .trim()
            .is_empty());
    }

    #[test]
    fn an_unterminated_block_comment_is_refused() {
        assert_eq!(
            strip_comments(b"{\n\"a\": 1 /* open", 32),
            Err(Malformed::UnterminatedComment { line: 2 })
        );
    }

    #[test]
    fn nesting_is_bounded_before_parsing() {
        let ok = "[".repeat(32) + &"]".repeat(32);
        assert!(strip_comments(ok.as_bytes(), 32).is_ok());
        let deep = "[".repeat(33) + &"]".repeat(33);
        assert_eq!(
            strip_comments(deep.as_bytes(), 32),
            Err(Malformed::TooDeep { limit: 32, line: 1 })
        );
        // Brackets inside strings and comments do not count.
        let text = format!("[\"{}\" /* {} */]", "[".repeat(100), "{".repeat(100));
        assert!(strip_comments(text.as_bytes(), 32).is_ok());
    }
}
