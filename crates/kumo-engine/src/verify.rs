//! Deploy-time checks and step instrumentation of user code.
//!
//! The code is parsed once with a real JavaScript parser. The same walk rejects the constructs
//! Kii forbids and records where to insert the step counter, so the instrumented source differs
//! from the original only by inserted text: line numbers in error messages stay the same.

use std::collections::{HashMap, HashSet};

use oxc_allocator::Allocator;
use oxc_ast::ast::BindingIdentifier;
use oxc_ast::ast::{
    CallExpression, Expression, IdentifierReference, NewExpression, Program, Statement,
};
use oxc_ast_visit::{walk, Visit};
use oxc_parser::Parser;
use oxc_span::SourceType;

/// The runtime's step counter. Reserved by the `__kii_` prefix, which user code may not use.
pub const STEP_FN: &str = "__kii_s";

/// Why a deployment was refused, with a 1-based position in the uploaded source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub line: u32,
    pub column: u32,
    pub reason: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.reason
        )
    }
}

/// Global names the in-sandbox Kii SDK defines. Code that names none of them never pays for
/// loading the SDK.
pub const SDK_GLOBALS: &[&str] = &[
    "Kii",
    "KiiUser",
    "KiiGroup",
    "KiiBucket",
    "KiiObject",
    "KiiQuery",
    "KiiClause",
    "KiiACL",
    "KiiACLEntry",
    "KiiACLAction",
    "KiiAnonymousUser",
    "KiiAnyAuthenticatedUser",
    "KiiAppAdminContext",
    "KiiServerCodeEntry",
    "KiiServerCodeExecResult",
    "KiiGeoPoint",
    "KiiSite",
    "KiiServerCodeEnvironmentVersion",
    "KiiErrorParser",
    "$",
    "jQuery",
    "KiiThing",
    "KiiThingQuery",
    "KiiThingQueryResult",
    "KiiThingContext",
];

/// Names that reach globals without naming them.
const GLOBAL_OBJECT_NAMES: &[&str] = &["globalThis", "global", "window", "self", "this"];

/// Optional JavaScript built-ins a run's realm gets only when the code names them. A realm
/// with every built-in costs about twice one with the few that every run needs (measured in
/// `examples/realm_cost.rs`), so this is decided once, at deploy.
pub mod builtins {
    pub const DATE: u32 = 1;
    pub const REGEXP: u32 = 1 << 1;
    pub const MAP_SET: u32 = 1 << 2;
    pub const PROXY: u32 = 1 << 3;
    pub const TYPED_ARRAYS: u32 = 1 << 4;
    pub const WEAK_REF: u32 = 1 << 5;
    pub const PERFORMANCE: u32 = 1 << 6;
    pub const DOM_EXCEPTION: u32 = 1 << 7;
    pub const BIG_INT: u32 = 1 << 8;
    pub const BASE64: u32 = 1 << 9;
    /// Node's globals (`js/node/`), written in JavaScript: see `node.rs`.
    pub const BUFFER: u32 = 1 << 10;
    pub const URL: u32 = 1 << 11;
    pub const TEXT_CODING: u32 = 1 << 12;
    /// Every built-in: code that can reach globals by name at run time (the global object,
    /// the SDK) gets them all.
    pub const ALL: u32 = u32::MAX;

    /// The built-in a global name belongs to.
    pub fn for_global(name: &str) -> u32 {
        match name {
            "Date" => DATE,
            "RegExp" => REGEXP,
            "Map" | "Set" | "WeakMap" | "WeakSet" => MAP_SET,
            "Proxy" => PROXY,
            "ArrayBuffer" | "SharedArrayBuffer" | "DataView" | "Atomics" | "Int8Array"
            | "Uint8Array" | "Uint8ClampedArray" | "Int16Array" | "Uint16Array" | "Int32Array"
            | "Uint32Array" | "Float16Array" | "Float32Array" | "Float64Array"
            | "BigInt64Array" | "BigUint64Array" => TYPED_ARRAYS,
            "WeakRef" | "FinalizationRegistry" => WEAK_REF,
            "performance" => PERFORMANCE,
            "DOMException" => DOM_EXCEPTION,
            "BigInt" => BIG_INT,
            "atob" | "btoa" => BASE64,
            "Buffer" => BUFFER,
            "URL" | "URLSearchParams" => URL,
            "TextEncoder" | "TextDecoder" => TEXT_CODING,
            _ => 0,
        }
    }

    /// String methods that build regular expressions from their argument.
    pub fn for_method(name: &str) -> u32 {
        match name {
            "match" | "matchAll" | "search" | "replace" | "replaceAll" | "split" => REGEXP,
            _ => 0,
        }
    }
}

/// What a run needs in its realm beyond the base built-ins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// Whether the code may touch an SDK global (names one, or the global object).
    pub uses_sdk: bool,
    /// The optional built-ins ([`builtins`]) the code needs.
    pub builtins: u32,
}

impl Needs {
    fn add(&mut self, other: Needs) {
        self.uses_sdk |= other.uses_sdk;
        self.builtins |= other.builtins;
    }
}

/// The result of a successful check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The source with step counters inserted.
    pub instrumented: String,
    /// What the whole file needs.
    pub needs: Needs,
    /// What a run of each top-level function needs: its own code, the functions it names
    /// (transitively) and the file's top level, which runs first.
    pub endpoints: HashMap<String, Needs>,
}

/// Checks `source` and returns it instrumented for step counting. Its walks recurse over the
/// code's nesting: only ever call it within the bound [`crate::check`] and [`crate::compile`]
/// put on that nesting first.
pub(crate) fn verify_and_instrument(source: &str) -> Result<Checked, Violation> {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::script()).parse();
    if let Some(diagnostic) = parsed.diagnostics.first() {
        let offset = diagnostic
            .labels
            .first()
            .map(|label| label.offset())
            .unwrap_or(0);
        return Err(violation_at(
            source,
            offset,
            format!("syntax error: {}", diagnostic.message),
        ));
    }
    if parsed.panicked {
        return Err(violation_at(source, 0, "syntax error".to_string()));
    }
    let mut walker = Walker::new(false);
    walker.visit_program(&parsed.program);
    if let Some((offset, reason)) = walker.violation {
        return Err(violation_at(source, offset, reason));
    }
    let (endpoints, needs) = (walker.endpoint_needs(), walker.needs());
    Ok(Checked {
        instrumented: apply(source, walker.edits),
        needs,
        endpoints,
    })
}

/// The optional built-ins trusted code (the in-sandbox SDK) needs; no checks applied, and its
/// uses of `this` are taken as what they are (method receivers), not as the global object.
pub fn builtins_of(source: &str) -> u32 {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::script()).parse();
    let mut walker = Walker::new(true);
    walker.visit_program(&parsed.program);
    walker.needs().builtins
}

/// How deeply expressions may nest. Far beyond hand-written code; what bounds the walk of
/// generated code such as a concatenation of thousands of strings.
pub const MAX_EXPRESSION_DEPTH: u32 = 10_000;

fn violation_at(source: &str, offset: u32, reason: String) -> Violation {
    let (line, column) = position(source, offset as usize);
    Violation {
        line,
        column,
        reason,
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn position(source: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() as u32 + 1;
    (line, column)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Text inserted at a byte offset. Edits at the same offset keep the order they were made in.
struct Edit {
    at: u32,
    text: &'static str,
}

fn apply(source: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|edit| edit.at); // stable: same-offset edits keep their order
    let extra: usize = edits.iter().map(|edit| edit.text.len()).sum();
    let mut out = String::with_capacity(source.len() + extra);
    let mut last = 0usize;
    for edit in edits {
        out.push_str(&source[last..edit.at as usize]);
        out.push_str(edit.text);
        last = edit.at as usize;
    }
    out.push_str(&source[last..]);
    out
}

const COUNT: &str = "__kii_s();";
const OPEN_COUNTED: &str = "{__kii_s();";
const CLOSE: &str = "}";

struct Walker {
    edits: Vec<Edit>,
    /// The first forbidden construct found (byte offset, reason).
    violation: Option<(u32, String)>,
    /// What each part of the file needs: `units[0]` is the top level outside function
    /// declarations, then one per top-level function declaration.
    units: Vec<Unit>,
    /// The unit being walked.
    unit: usize,
    /// Top-level function names and their units.
    functions: HashMap<String, Vec<usize>>,
    /// The next statement list is the program's body.
    at_top: bool,
    /// Walking the SDK: `this` is not the global object there.
    trusted: bool,
    /// How many expressions enclose the one being walked.
    depth: u32,
}

#[derive(Default)]
struct Unit {
    needs: Needs,
    /// Every name the unit refers to (the top-level functions among them count).
    names: HashSet<String>,
}

/// Kii counts one step per executed statement that does work; control statements (`if`, loops,
/// `switch`, `try`, blocks, labels, `break`/`continue`) and declarations of functions are free.
fn counts(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::ExpressionStatement(_)
            | Statement::VariableDeclaration(_)
            | Statement::ReturnStatement(_)
            | Statement::ThrowStatement(_)
            | Statement::ClassDeclaration(_)
    )
}

impl Walker {
    fn new(trusted: bool) -> Self {
        Walker {
            edits: Vec::new(),
            violation: None,
            units: vec![Unit::default()],
            unit: 0,
            functions: HashMap::new(),
            at_top: true,
            trusted,
            depth: 0,
        }
    }

    fn current(&mut self) -> &mut Needs {
        &mut self.units[self.unit].needs
    }

    /// Code that reaches the global object can reach any global by name at run time.
    fn reaches_global_object(&mut self) {
        if !self.trusted {
            *self.current() = Needs {
                uses_sdk: true,
                builtins: builtins::ALL,
            };
        }
    }

    fn needs(&self) -> Needs {
        let mut all = Needs::default();
        for unit in &self.units {
            all.add(unit.needs);
        }
        all
    }

    /// For each top-level function: the needs of the top level and of every unit reachable
    /// from it or from the top level through the top-level functions they name.
    fn endpoint_needs(&self) -> HashMap<String, Needs> {
        self.functions
            .iter()
            .map(|(name, units)| {
                let mut seen: HashSet<usize> = HashSet::new();
                let mut todo: Vec<usize> = vec![0];
                todo.extend(units);
                let mut needs = Needs::default();
                while let Some(u) = todo.pop() {
                    if !seen.insert(u) {
                        continue;
                    }
                    needs.add(self.units[u].needs);
                    for referred in &self.units[u].names {
                        if let Some(units) = self.functions.get(referred) {
                            todo.extend(units);
                        }
                    }
                }
                (name.clone(), needs)
            })
            .collect()
    }

    fn forbid(&mut self, offset: u32, reason: impl Into<String>) {
        if self.violation.is_none() {
            self.violation = Some((offset, reason.into()));
        }
    }

    fn check_name(&mut self, name: &str, offset: u32) {
        if name.starts_with("__kii_") {
            self.forbid(
                offset,
                format!("identifiers starting with __kii_ are reserved (`{name}`)"),
            );
        }
    }

    /// A statement that is the whole body of an `if`, a loop or a label: when it counts, it gets
    /// braces so that the counter call and the statement stay one statement.
    fn wrap_single_body(&mut self, statement: &Statement) {
        if counts(statement) {
            let span = statement_span(statement);
            self.edits.push(Edit {
                at: span.0,
                text: OPEN_COUNTED,
            });
            self.edits.push(Edit {
                at: span.1,
                text: CLOSE,
            });
        }
    }

    fn is_array_constructor(callee: &Expression) -> bool {
        matches!(callee, Expression::Identifier(id) if id.name == "Array")
    }
}

fn statement_span(statement: &Statement) -> (u32, u32) {
    use oxc_span::GetSpan;
    let span = statement.span();
    (span.start, span.end)
}

impl<'a> Visit<'a> for Walker {
    fn visit_statements(&mut self, statements: &oxc_allocator::Vec<'a, Statement<'a>>) {
        for statement in statements {
            if counts(statement) {
                self.edits.push(Edit {
                    at: statement_span(statement).0,
                    text: COUNT,
                });
            }
        }
        if !std::mem::take(&mut self.at_top) {
            walk::walk_statements(self, statements);
            return;
        }
        for statement in statements {
            self.unit = match statement {
                Statement::FunctionDeclaration(f) => match &f.id {
                    Some(id) => {
                        self.units.push(Unit::default());
                        let unit = self.units.len() - 1;
                        self.functions
                            .entry(id.name.to_string())
                            .or_default()
                            .push(unit);
                        unit
                    }
                    None => 0,
                },
                _ => 0,
            };
            self.visit_statement(statement);
        }
        self.unit = 0;
    }

    fn visit_if_statement(&mut self, it: &oxc_ast::ast::IfStatement<'a>) {
        self.wrap_single_body(&it.consequent);
        if let Some(alternate) = &it.alternate {
            self.wrap_single_body(alternate);
        }
        walk::walk_if_statement(self, it);
    }

    fn visit_for_statement(&mut self, it: &oxc_ast::ast::ForStatement<'a>) {
        self.wrap_single_body(&it.body);
        walk::walk_for_statement(self, it);
    }

    fn visit_for_in_statement(&mut self, it: &oxc_ast::ast::ForInStatement<'a>) {
        self.wrap_single_body(&it.body);
        walk::walk_for_in_statement(self, it);
    }

    fn visit_for_of_statement(&mut self, it: &oxc_ast::ast::ForOfStatement<'a>) {
        self.wrap_single_body(&it.body);
        walk::walk_for_of_statement(self, it);
    }

    fn visit_while_statement(&mut self, it: &oxc_ast::ast::WhileStatement<'a>) {
        self.wrap_single_body(&it.body);
        walk::walk_while_statement(self, it);
    }

    fn visit_do_while_statement(&mut self, it: &oxc_ast::ast::DoWhileStatement<'a>) {
        self.wrap_single_body(&it.body);
        walk::walk_do_while_statement(self, it);
    }

    fn visit_with_statement(&mut self, it: &oxc_ast::ast::WithStatement<'a>) {
        self.wrap_single_body(&it.body);
        walk::walk_with_statement(self, it);
    }

    fn visit_labeled_statement(&mut self, it: &oxc_ast::ast::LabeledStatement<'a>) {
        self.wrap_single_body(&it.body);
        walk::walk_labeled_statement(self, it);
    }

    fn visit_identifier_reference(&mut self, it: &IdentifierReference<'a>) {
        let offset = it.span.start;
        match it.name.as_str() {
            "eval" => self.forbid(offset, "`eval` is not allowed in server code"),
            "setTimeout" | "setInterval" => self.forbid(
                offset,
                format!("`{}` is not allowed in server code", it.name),
            ),
            "__filename" | "__dirname" => self.forbid(
                offset,
                format!("`{}` is not available in server code", it.name),
            ),
            name => {
                if SDK_GLOBALS.contains(&name) {
                    self.current().uses_sdk = true;
                }
                if GLOBAL_OBJECT_NAMES.contains(&name) {
                    // Globals reached by name at run time: everything must be there.
                    self.reaches_global_object();
                }
                self.current().builtins |= builtins::for_global(name);
                if !self.units[self.unit].names.contains(name) {
                    self.units[self.unit].names.insert(name.to_owned());
                }
                self.check_name(name, offset)
            }
        }
    }

    fn visit_static_member_expression(&mut self, it: &oxc_ast::ast::StaticMemberExpression<'a>) {
        let name = it.property.name.as_str();
        self.current().builtins |= builtins::for_method(name);
        if name == "getAppAdminContext" {
            // The admin context is an SDK object.
            self.current().uses_sdk = true;
        }
        walk::walk_static_member_expression(self, it);
    }

    fn visit_reg_exp_literal(&mut self, _it: &oxc_ast::ast::RegExpLiteral<'a>) {
        self.current().builtins |= builtins::REGEXP;
    }

    fn visit_big_int_literal(&mut self, _it: &oxc_ast::ast::BigIntLiteral<'a>) {
        self.current().builtins |= builtins::BIG_INT;
    }

    fn visit_this_expression(&mut self, _it: &oxc_ast::ast::ThisExpression) {
        // `this` in sloppy functions is the global object.
        self.reaches_global_object();
    }

    fn visit_binding_identifier(&mut self, it: &BindingIdentifier<'a>) {
        self.check_name(it.name.as_str(), it.span.start);
    }

    fn visit_new_expression(&mut self, it: &NewExpression<'a>) {
        if Self::is_array_constructor(&it.callee) {
            self.forbid(
                it.span.start,
                "the Array constructor is not allowed in server code; use [] literals",
            );
        }
        walk::walk_new_expression(self, it);
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if Self::is_array_constructor(&it.callee) {
            self.forbid(
                it.span.start,
                "the Array constructor is not allowed in server code; use [] literals",
            );
        }
        walk::walk_call_expression(self, it);
    }

    /// Chains that parse without recursion (`a+a+…`, `a.b.c…`, `f()()…`) still nest in the
    /// tree; past the bound the walk stops rather than recurse on.
    fn visit_expression(&mut self, it: &oxc_ast::ast::Expression<'a>) {
        if self.depth >= MAX_EXPRESSION_DEPTH {
            use oxc_span::GetSpan;
            self.forbid(
                it.span().start,
                format!("the code nests too deeply (more than {MAX_EXPRESSION_DEPTH} levels of expressions)"),
            );
            return;
        }
        self.depth += 1;
        walk::walk_expression(self, it);
        self.depth -= 1;
    }

    fn visit_program(&mut self, it: &Program<'a>) {
        walk::walk_program(self, it);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instrumented(source: &str) -> String {
        verify_and_instrument(source)
            .expect("accepted")
            .instrumented
    }

    fn refused(source: &str) -> Violation {
        verify_and_instrument(source).expect_err("refused")
    }

    #[test]
    fn counts_working_statements_only() {
        assert_eq!(
            instrumented("function f(p, c) { console.log('x'); return 3.14; }"),
            "function f(p, c) { __kii_s();console.log('x'); __kii_s();return 3.14; }"
        );
        assert_eq!(
            instrumented("if (a) b(); else { c(); }"),
            "if (a) {__kii_s();b();} else { __kii_s();c(); }"
        );
        assert_eq!(
            instrumented("for (var i = 0; i < 3; i++) x += i"),
            "for (var i = 0; i < 3; i++) {__kii_s();x += i}"
        );
        assert_eq!(
            instrumented("outer: for (;;) { break outer; }"),
            "outer: for (;;) { break outer; }"
        );
    }

    #[test]
    fn refuses_forbidden_constructs_with_positions() {
        let v = refused("function f() {\n  return eval('1');\n}");
        assert_eq!((v.line, v.column), (2, 10));
        assert!(v.reason.contains("eval"), "{v}");
        assert!(refused("setTimeout(function(){}, 1)")
            .reason
            .contains("setTimeout"));
        assert!(refused("var t = setInterval")
            .reason
            .contains("setInterval"));
        assert!(refused("var a = new Array(3)").reason.contains("Array"));
        assert!(refused("var a = Array(3)").reason.contains("Array"));
        assert!(refused("var __kii_x = 1").reason.contains("__kii_"));
        assert!(refused("function __kii_f() {}").reason.contains("__kii_"));
        assert!(refused("x = __dirname").reason.contains("__dirname"));
        assert!(refused("x = __filename").reason.contains("__filename"));
        let v = refused("function f( {");
        assert!(v.reason.starts_with("syntax error"), "{v}");
        assert_eq!(v.line, 1);
    }

    #[test]
    fn allows_array_literals_and_array_statics() {
        instrumented("var a = []; Array.isArray(a); a.eval = 1; var o = {eval: 2};");
    }

    #[test]
    fn notices_code_that_can_reach_the_sdk() {
        let uses = |s: &str| verify_and_instrument(s).unwrap().needs.uses_sdk;
        assert!(!uses("function f(p) { return p; }"));
        assert!(uses(
            "function f(p, c, done) { KiiUser.authenticate('a', 'b'); }"
        ));
        assert!(uses("function f() { return $.Deferred(); }"));
        assert!(uses("function f() { return globalThis['Kii']; }"));
        assert!(uses("function f() { return this.Kii; }"));
        assert!(uses("function f(p, c) { return c.getAppAdminContext(); }"));
    }

    #[test]
    fn finds_what_each_endpoint_can_reach() {
        let checked = verify_and_instrument(
            "var started = new Date();\n\
             function echo(p) { return p; }\n\
             function helper(s) { return s.split(','); }\n\
             function parse(p) { return helper(p.s); }\n\
             function save(p, c, done) { c.getAppAdminContext(); }\n\
             function both(p, c, done) { parse(p); save(p, c, done); }\n\
             function loop() { return loop(); }\n\
             function global() { return this; }",
        )
        .unwrap();
        let of = |name: &str| checked.endpoints[name];
        let date = builtins::DATE;
        let plain = |builtins| Needs {
            uses_sdk: false,
            builtins,
        };
        assert_eq!(of("echo"), plain(date), "the top level always runs");
        assert_eq!(of("parse"), plain(date | builtins::REGEXP));
        assert!(of("save").uses_sdk && !of("parse").uses_sdk);
        assert_eq!(of("both").builtins, date | builtins::REGEXP);
        assert!(of("both").uses_sdk);
        assert_eq!(of("loop"), plain(date));
        assert_eq!(of("global").builtins, builtins::ALL);
        assert_eq!(checked.needs.builtins, builtins::ALL);
        // A function declared twice: the last one runs, but either may; both count.
        let twice = verify_and_instrument(
            "function f() { return new Date(); }\nfunction f() { return /x/; }",
        )
        .unwrap();
        assert_eq!(twice.endpoints["f"].builtins, date | builtins::REGEXP);
        // The top level naming a function makes that function's needs everyone's.
        let top = verify_and_instrument(
            "var k = make();\nfunction make() { return KiiUser; }\nfunction echo(p) { return p; }",
        )
        .unwrap();
        assert!(top.endpoints["echo"].uses_sdk);
    }

    #[test]
    fn finds_the_builtins_code_needs() {
        let needs = |s: &str| verify_and_instrument(s).unwrap().needs.builtins;
        assert_eq!(needs("function f(p) { return p.a + 1; }"), 0);
        assert_eq!(needs("function f() { return new Date(); }"), builtins::DATE);
        assert_eq!(
            needs("function f(s) { return /a+/.test(s); }"),
            builtins::REGEXP
        );
        assert_eq!(
            needs("function f(s) { return s.split(','); }"),
            builtins::REGEXP
        );
        assert_eq!(
            needs("function f() { return new Map([[1, new Uint8Array(2)]]); }"),
            builtins::MAP_SET | builtins::TYPED_ARRAYS
        );
        assert_eq!(
            needs("function f() { return Kii.getAppID(); }"),
            0,
            "the SDK's own needs are added at run time"
        );
        assert_eq!(
            needs("function f() { return globalThis.Date; }"),
            builtins::ALL
        );
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(position("é\nab", 4), (2, 2));
        assert_eq!(position("aé", 3), (1, 3));
    }
}
