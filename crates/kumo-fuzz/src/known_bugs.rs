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
