//! Inputs that would hit a bug already known and being fixed elsewhere. The targets skip them so
//! that fuzzing keeps looking for new bugs instead of stopping at the same crash, and so the
//! saved corpus never holds an input that aborts the replay.

/// Deeply nested brackets overflow the stack in the deploy verifier (the parser and the walk
/// recurse), which aborts the process; a depth bound is being added to the verifier. Nothing
/// legitimate nests anywhere near this deep.
pub const MAX_BRACKET_DEPTH: usize = 200;

/// Whether `source` nests `(`, `[` or `{` deeper than [`MAX_BRACKET_DEPTH`] (counted crudely,
/// strings and comments included: over-skipping is harmless, under-skipping aborts).
pub fn nests_too_deep(source: &[u8]) -> bool {
    let mut depth = 0usize;
    for &b in source {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_BRACKET_DEPTH {
                    return true;
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_deep_nesting_is_skipped() {
        assert!(!nests_too_deep(b"function f() { return [[1], {a: (2)}]; }"));
        assert!(!nests_too_deep("[".repeat(MAX_BRACKET_DEPTH).as_bytes()));
        assert!(nests_too_deep("[".repeat(1500).as_bytes()));
        assert!(nests_too_deep("{".repeat(5000).as_bytes()));
        assert!(!nests_too_deep("[]".repeat(5000).as_bytes()));
    }
}
