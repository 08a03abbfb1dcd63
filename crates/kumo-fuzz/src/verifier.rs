//! Target `verifier`: the deploy-time check of server code. Any source must give an answer
//! (never a panic); an accepted source keeps its line count after instrumentation (error
//! positions depend on it); and every construct the verifier refuses, placed in an accepted
//! source at the top level, inside a function or inside an arrow function, gets it refused.
//! That last check is an oracle independent of where the walker happens to look. Sources go
//! through [`check`], the verifier as deploys run it (own thread, bounded nesting).

use kumo_engine::check;

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

pub fn run(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(checked) = check(source) else {
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
                check(&embedded).is_err(),
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
            assert!(check(source).is_ok(), "{source:?}");
            for refused in REFUSED {
                for (before, after) in PLACES {
                    let embedded = format!("{source}{before}{refused}{after}");
                    assert!(check(&embedded).is_err(), "{embedded:?}");
                }
            }
        }
    }

    #[test]
    fn placements_of_harmless_code_are_accepted() {
        for (before, after) in PLACES {
            let embedded = format!("var x = 1{before}x{after}");
            assert!(check(&embedded).is_ok(), "{embedded:?}");
        }
    }
}
