//! Compiling scripts to QuickJS bytecode once, and loading that bytecode into a realm.
//!
//! rquickjs exposes bytecode only for modules; server code must run as a sloppy-mode script
//! (top-level functions are globals, as on Kii), so the two raw QuickJS calls live here.

use std::collections::HashMap;

use rquickjs::{qjs, Context, Ctx, Runtime, Value};

use crate::verify::{self, Needs, Violation};

/// A verified, instrumented and compiled server-code file.
#[derive(Debug)]
pub struct Program {
    pub bytecode: Vec<u8>,
    /// What a run of any endpoint may need.
    pub needs: Needs,
    /// What a run of each top-level function needs (usually much less).
    pub endpoints: HashMap<String, Needs>,
}

impl Program {
    /// What a run of `endpoint` needs in its realm: the SDK globals and optional built-ins.
    pub fn needs_of(&self, endpoint: &str) -> Needs {
        self.endpoints.get(endpoint).copied().unwrap_or(self.needs)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error("{0}")]
    Refused(Violation),
    #[error("the JavaScript engine could not start: {0}")]
    Engine(String),
}

/// The stack QuickJS's parser may use on user code: the bound on how deeply code may nest.
/// Its parser checks it at every token, so any nesting it accepts is within the bound, and so
/// is every later walk over the same code (each takes a bounded amount of stack per level).
pub(crate) const PARSE_STACK: usize = 1 << 20;
/// The stack user code is compiled on: room for the deepest walk of code within the bound
/// (only the pages a compile touches are ever used).
const COMPILE_STACK: usize = 256 << 20;

/// Verifies, instruments and compiles user code, on a thread of its own: a stack overflow
/// cannot be caught, and code is tenant input.
pub fn compile(source: &str) -> Result<Program, CompileError> {
    on_compile_thread(|| {
        let checked = check_here(source)?;
        // Instrumenting adds braces around single statements: a little more nesting.
        let bytecode = compile_script(&checked.instrumented, "server-code.js", PARSE_STACK * 4)
            .map_err(refusal)?;
        Ok(Program {
            bytecode,
            needs: checked.needs,
            endpoints: checked.endpoints,
        })
    })
}

/// The deploy-time checks and instrumentation alone (what [`compile`] does before compiling),
/// as safely: on a thread of its own, within the nesting bound.
pub fn check(source: &str) -> Result<verify::Checked, CompileError> {
    on_compile_thread(|| check_here(source))
}

fn on_compile_thread<T: Send>(
    work: impl FnOnce() -> Result<T, CompileError> + Send,
) -> Result<T, CompileError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("kumo-compile".into())
            .stack_size(COMPILE_STACK)
            .spawn_scoped(scope, work)
            .map_err(|e| CompileError::Engine(format!("could not start the compiler: {e}")))?
            .join()
            .unwrap_or_else(|_| Err(CompileError::Engine("the compiler failed".into())))
    })
}

fn check_here(source: &str) -> Result<verify::Checked, CompileError> {
    // QuickJS parses the code as sent first, so nothing below walks code nested deeper than
    // its parser accepts.
    if let Err(e) = compile_script(source, "server-code.js", PARSE_STACK) {
        return Err(match e {
            ScriptError::Syntax { ref message, .. } if message == STACK_EXCEEDED => {
                let (line, column) = verify::position(source, too_deep_at(source));
                CompileError::Refused(Violation {
                    line,
                    column,
                    reason: TOO_DEEP.into(),
                })
            }
            e => refusal(e),
        });
    }
    verify::verify_and_instrument(source).map_err(CompileError::Refused)
}

/// QuickJS's message when its parser runs out of stack (it carries no position).
const STACK_EXCEEDED: &str = "Maximum call stack size exceeded";
const TOO_DEEP: &str = "the code nests too deeply";

/// Where the parser ran out of stack in `source`: the shortest prefix that still overflows
/// ends there (a shallower prefix is merely incomplete). Only refused code pays for this
/// search, some twenty parses that each stop at the overflow.
fn too_deep_at(source: &str) -> usize {
    let overflows = |end: usize| {
        let mut end = end;
        while !source.is_char_boundary(end) {
            end -= 1;
        }
        matches!(
            compile_script(&source[..end], "server-code.js", PARSE_STACK),
            Err(ScriptError::Syntax { ref message, .. }) if message == STACK_EXCEEDED
        )
    };
    let (mut low, mut high) = (0, source.len());
    while low + 1 < high {
        let middle = low + (high - low) / 2;
        if overflows(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

fn refusal(error: ScriptError) -> CompileError {
    match error {
        ScriptError::Syntax {
            line,
            column,
            message,
        } => CompileError::Refused(Violation {
            line,
            column,
            reason: if message == STACK_EXCEEDED {
                TOO_DEEP.into()
            } else {
                format!("syntax error: {message}")
            },
        }),
        ScriptError::Engine(message) => CompileError::Engine(message),
    }
}

pub(crate) enum ScriptError {
    Syntax {
        line: u32,
        column: u32,
        message: String,
    },
    Engine(String),
}

/// Compiles Kumo's own scripts, `(file name, source)` each, for the parse stack; an error
/// names the file, line and column (a bug in Kumo, reported once per process).
pub(crate) fn compile_parts<'a>(
    parts: impl Iterator<Item = (String, &'a str)>,
) -> Result<Vec<Vec<u8>>, String> {
    parts
        .map(|(file, source)| {
            compile_script(source, &file, PARSE_STACK).map_err(|e| match e {
                ScriptError::Syntax {
                    line,
                    column,
                    message,
                } => format!("{file}:{line}:{column}: {message}"),
                ScriptError::Engine(message) => message,
            })
        })
        .collect()
}

/// Compiles a global script (not run) with at most `stack` bytes of stack, and serialises its
/// bytecode.
pub(crate) fn compile_script(
    source: &str,
    file_name: &str,
    stack: usize,
) -> Result<Vec<u8>, ScriptError> {
    let runtime = Runtime::new().map_err(|e| ScriptError::Engine(e.to_string()))?;
    runtime.set_max_stack_size(stack);
    let context = Context::full(&runtime).map_err(|e| ScriptError::Engine(e.to_string()))?;
    context.with(|ctx| {
        let file = std::ffi::CString::new(file_name).expect("file name has no NUL");
        let code = std::ffi::CString::new(source).map_err(|_| ScriptError::Syntax {
            line: 1,
            column: 1,
            message: "the code contains a NUL character".into(),
        })?;
        let flags = (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
        // SAFETY: `ctx` is a live context; the C strings outlive the call; the returned value is
        // owned by us and freed below (or handed to `Value::from_raw`, which frees it).
        let function = unsafe {
            qjs::JS_Eval(
                ctx.as_raw().as_ptr(),
                code.as_ptr(),
                source.len() as _,
                file.as_ptr(),
                flags,
            )
        };
        if unsafe { qjs::JS_IsException(function) } {
            return Err(syntax_error(&ctx));
        }
        let function = unsafe { Value::from_raw(ctx.clone(), function) };
        let mut size: qjs::size_t = 0;
        // SAFETY: `function` is a live compiled function; the buffer is freed with js_free.
        let bytes = unsafe {
            let ptr = qjs::JS_WriteObject(
                ctx.as_raw().as_ptr(),
                &mut size,
                function.as_raw(),
                // Function sources are left out: they would be copied into every realm that
                // loads the program, and `Function.prototype.toString` has no use here.
                (qjs::JS_WRITE_OBJ_BYTECODE | qjs::JS_WRITE_OBJ_STRIP_SOURCE) as i32,
            );
            if ptr.is_null() {
                return Err(ScriptError::Engine("could not serialise bytecode".into()));
            }
            let bytes = std::slice::from_raw_parts(ptr, size as usize).to_vec();
            qjs::js_free(ctx.as_raw().as_ptr(), ptr.cast());
            bytes
        };
        Ok(bytes)
    })
}

fn syntax_error(ctx: &Ctx) -> ScriptError {
    let error = ctx.catch();
    let exception = error.as_exception();
    let message = exception
        .and_then(|e| e.message())
        .unwrap_or_else(|| "invalid script".into());
    let stack = exception.and_then(|e| e.stack()).unwrap_or_default();
    let (line, column) = parse_position(&stack).unwrap_or((1, 1));
    ScriptError::Syntax {
        line,
        column,
        message,
    }
}

/// Finds the first `file:line:column` in a QuickJS stack trace.
fn parse_position(stack: &str) -> Option<(u32, u32)> {
    stack.lines().find_map(|frame| {
        let mut parts = frame.trim().rsplitn(3, ':');
        let column = parts.next()?.trim_end_matches(')').parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        Some((line, column))
    })
}

/// Loads bytecode made by [`compile_script`] and runs its top level.
pub(crate) fn run_bytecode<'js>(ctx: &Ctx<'js>, bytecode: &[u8]) -> rquickjs::Result<Value<'js>> {
    // SAFETY: the bytecode was produced by `compile_script` of this very QuickJS build (it is
    // never accepted from users); JS_EvalFunction takes ownership of the function value.
    let result = unsafe {
        let raw = ctx.as_raw().as_ptr();
        let function = qjs::JS_ReadObject(
            raw,
            bytecode.as_ptr(),
            bytecode.len() as _,
            qjs::JS_READ_OBJ_BYTECODE as i32,
        );
        if qjs::JS_IsException(function) {
            return Err(rquickjs::Error::Exception);
        }
        qjs::JS_EvalFunction(raw, function)
    };
    if unsafe { qjs::JS_IsException(result) } {
        return Err(rquickjs::Error::Exception);
    }
    Ok(unsafe { Value::from_raw(ctx.clone(), result) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_found_by_quickjs_carry_a_position() {
        // The parser accepts this; QuickJS's early errors do not.
        let err = compile("function f() {\n  let a = 1;\n  let a = 2;\n}").unwrap_err();
        let CompileError::Refused(v) = err else {
            panic!("{err:?}")
        };
        assert_eq!(v.line, 3, "{v}");
    }

    #[test]
    fn stack_positions_are_parsed() {
        assert_eq!(parse_position("    at server-code.js:3:7\n"), Some((3, 7)));
        assert_eq!(
            parse_position("    at f (server-code.js:12:1)"),
            Some((12, 1))
        );
    }
}
