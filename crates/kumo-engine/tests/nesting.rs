//! Code nested as deeply as a request body can hold is refused with a position, never a crash:
//! every kind of nesting, at depths up to the largest body a server accepts.

use kumo_engine::{compile, CompileError};

/// The largest request body `kumo serve` accepts by default, and the largest source it stores.
const BODY_LIMIT: usize = 1 << 20;
const SOURCE_LIMIT: usize = 4 << 20;

/// Each kind of nesting as (opening, innermost, closing): `open * n + inner + close * n`.
const KINDS: &[(&str, &str, &str, &str)] = &[
    ("arrays", "[", "1", "]"),
    ("objects", "{a:", "1", "}"),
    ("calls", "f(", "1", ")"),
    ("parentheses", "(", "1", ")"),
    ("unary chain", "!", "x", ""),
    ("typeof chain", "typeof ", "x", ""),
    ("negation chain", "- ", "x", ""),
    ("sum chain", "a+", "a", ""),
    ("member chain", "a.", "b", ""),
    ("call chain", "", "f", "()"),
    ("index chain", "", "a", "[0]"),
    ("assignments", "a=", "1", ""),
    ("conditionals", "a?b:", "c", ""),
    ("exponents", "a**", "a", ""),
    ("arrows", "x=>", "x", ""),
    ("new chain", "new ", "X", ""),
    ("templates", "`${", "1", "}`"),
    ("function expressions", "(function(){return ", "1", "})"),
    ("array patterns", "[", "a", "]"),
    ("object patterns", "{a:", "b", "}"),
];

/// What follows the nesting of a kind (a pattern is assigned to).
fn after(name: &str) -> &'static str {
    if name.ends_with("patterns") {
        "=c"
    } else {
        ""
    }
}

/// Whole statements nested inside a function body.
const STATEMENT_KINDS: &[(&str, &str, &str, &str)] = &[
    ("blocks", "{", "x();", "}"),
    ("ifs", "if(a)", "x();", ""),
    ("loops", "while(a)", "x();", ""),
    ("functions", "function g(){", "x();", "}"),
    ("try blocks", "try{", "x();", "}finally{}"),
];

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    let mut s = String::with_capacity((open.len() + close.len()) * depth + inner.len());
    for _ in 0..depth {
        s.push_str(open);
    }
    s.push_str(inner);
    for _ in 0..depth {
        s.push_str(close);
    }
    s
}

fn depths(unit: usize, limit: usize) -> Vec<usize> {
    let most = (limit - 200) / unit.max(1);
    let mut depths: Vec<usize> = [10, 100, 1_500, 5_000, 20_000]
        .into_iter()
        .filter(|d| *d < most)
        .collect();
    depths.push(most);
    depths
}

/// Compiles `source`; a refusal must name a line and column.
fn check(name: &str, depth: usize, source: &str) -> Result<(), String> {
    match compile(source) {
        Ok(_) => Ok(()),
        Err(CompileError::Refused(v)) => {
            assert!(v.line >= 1 && v.column >= 1, "{name} at {depth}: {v}");
            if depth <= 100 {
                return Err(format!("{name} nested {depth} deep was refused: {v}"));
            }
            Ok(())
        }
        Err(e) => Err(format!("{name} at {depth}: {e}")),
    }
}

#[test]
fn every_kind_of_nesting_is_compiled_or_refused_cleanly() {
    let mut problems = Vec::new();
    for (name, open, inner, close) in KINDS {
        for depth in depths(open.len() + close.len(), BODY_LIMIT) {
            let source = format!(
                "function main(p, c) {{ return ({}{}); }}",
                nested(open, inner, close, depth),
                after(name)
            );
            if let Err(e) = check(name, depth, &source) {
                problems.push(e);
            }
        }
    }
    for (name, open, inner, close) in STATEMENT_KINDS {
        for depth in depths(open.len() + close.len(), BODY_LIMIT) {
            let source = format!(
                "function main(p, c) {{ {} }}",
                nested(open, inner, close, depth)
            );
            if let Err(e) = check(name, depth, &source) {
                problems.push(e);
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_deepest_stored_source_is_refused_too() {
    for (open, inner, close) in [("[", "1", "]"), ("a+", "a", "")] {
        let depth = (SOURCE_LIMIT - 100) / (open.len() + close.len());
        let source = format!("function f() {{ {} }}", nested(open, inner, close, depth));
        let err = compile(&source).expect_err("refused");
        let CompileError::Refused(v) = err else {
            panic!("{err}")
        };
        assert!(v.reason.contains("nests too deeply"), "{v}");
    }
}

#[test]
fn the_reported_crash_is_a_refusal_with_a_position() {
    // 4.5 KB, from the issue: an array literal nested 1 500 deep used to abort the process.
    let source = format!("function f() {{ return {}; }}", nested("[", "", "]", 1_500));
    match compile(&source) {
        Ok(_) => {}
        Err(CompileError::Refused(v)) => assert!(v.reason.contains("nests too deeply"), "{v}"),
        Err(e) => panic!("{e}"),
    }
    let braces = format!("{}{}", "{".repeat(5_000), "}".repeat(5_000));
    let err = compile(&braces).expect_err("refused");
    let CompileError::Refused(v) = err else {
        panic!("{err}")
    };
    assert!(v.reason.contains("nests too deeply"), "{v}");
    assert_eq!(v.line, 1);
    assert!(v.column > 100, "{v}");
    // Ordinary code still compiles.
    compile("function f(p, c) { return [[[{a: (1 + 2)}]]]; }").unwrap();
}
