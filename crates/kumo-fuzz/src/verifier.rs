//! Target `verifier`: the deploy-time check of server code. Any source must give an answer
//! (never a panic); an accepted source keeps its line count after instrumentation (error
//! positions depend on it); and every construct the verifier refuses, placed in an accepted
//! source at the top level, inside a function or inside an arrow function, gets it refused.
//! That last check is an oracle independent of where the walker happens to look.

/// Expressions the verifier must refuse wherever they appear (see `kumo_engine::verify`).
pub const REFUSED: &[&str] = &[
    "eval('1')",
    "eval",
    "setTimeout(function () {}, 1)",
    "setInterval",
    "__filename",
    "__dirname",
    "new Array(3)",
    "Array(3)",
    "__kii_s",
    "__kii_anything",
];

/// Ways of embedding a refused expression `E` after an accepted program: the program is complete
/// (it parsed), so a new line and a `;` start a fresh statement whatever it ended with.
const PLACES: &[(&str, &str)] = &[
    ("\n;", ";\n"),
    ("\n;function fuzzPlaced(a) { if (a) { return ", "; } }\n"),
    ("\n;var fuzzArrow = (a) => [a, ", "];\n"),
    ("\n;try { x = 1 } finally { x = ", " }\n"),
];

/// The verifier as deploys run it: on its own thread, within the nesting bound.
fn verify_and_instrument(
    source: &str,
) -> Result<kumo_engine::verify::Checked, kumo_engine::CompileError> {
    kumo_engine::check(source)
}

pub fn run(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(checked) = verify_and_instrument(source) else {
        return;
    };
    assert_eq!(
        checked.instrumented.lines().count(),
        source.lines().count(),
        "instrumenting changed the line count of {source:?}"
    );
    for refused in REFUSED {
        for (before, after) in PLACES {
            let embedded = format!("{source}{before}{refused}{after}");
            assert!(
                verify_and_instrument(&embedded).is_err(),
                "the verifier accepted `{refused}` in {embedded:?}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The oracle only means something if every placement is one the verifier walks.
    #[test]
    fn every_placement_of_every_refused_construct_is_refused_after_plain_code() {
        for source in ["", "var x = 1", "function main() { return 1 }\n// end"] {
            assert!(verify_and_instrument(source).is_ok(), "{source:?}");
            for refused in REFUSED {
                for (before, after) in PLACES {
                    let embedded = format!("{source}{before}{refused}{after}");
                    assert!(verify_and_instrument(&embedded).is_err(), "{embedded:?}");
                }
            }
        }
    }

    #[test]
    fn placements_of_harmless_code_are_accepted() {
        for (before, after) in PLACES {
            let embedded = format!("var x = 1{before}x{after}");
            assert!(verify_and_instrument(&embedded).is_ok(), "{embedded:?}");
        }
    }
}
