//! How the end of a run becomes its [`Outcome`]: results as JSON, crossed limits, exceptions
//! and rejections described.

use std::rc::Rc;

use rquickjs::{Coerced, Ctx, Value};

use super::state::{State, Thrown};
use crate::{Failure, FailureKind, Outcome};

/// JSON.stringify semantics: `undefined` and functions give no value, `NaN` gives `null`,
/// a `Date` its ISO string; a cycle or a BigInt cannot be returned.
pub(super) fn to_json<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Result<Option<String>, Failure> {
    match ctx.json_stringify(value) {
        Ok(None) => Ok(None),
        Ok(Some(json)) => json
            .to_string()
            .map(Some)
            .map_err(|e| Failure::new(FailureKind::ResultNotSerializable, e.to_string())),
        Err(_) => {
            let error = ctx.catch();
            let message = error
                .as_exception()
                .and_then(|e| e.message())
                .unwrap_or_else(|| "the value cannot be turned into JSON".into());
            Err(Failure::new(
                FailureKind::ResultNotSerializable,
                format!("the returned value cannot be turned into JSON: {message}"),
            ))
        }
    }
}

pub(super) fn limit_failure(state: &State, kind: FailureKind) -> Outcome {
    Outcome {
        result: Err(limit_error(state, kind)),
        steps: state.steps.get(),
    }
}

fn limit_error(state: &State, kind: FailureKind) -> Failure {
    let message = match kind {
        FailureKind::Timeout => format!("execution timeout. limit={}ms", state.timeout_ms),
        FailureKind::StepLimit => format!("step limit exceeded. limit={}", state.max_steps),
        FailureKind::LogLimit => {
            format!("log limit exceeded. limit={}bytes", state.max_log_bytes)
        }
        FailureKind::MemoryLimit => "memory limit exceeded".into(),
        FailureKind::StackOverflow => "stack limit exceeded".into(),
        other => other.code().to_string(),
    };
    Failure::new(kind, message)
}

/// Turns a failed call into an outcome: a crossed limit wins over whatever was thrown.
pub(super) fn failure_from(ctx: &Ctx, state: &Rc<State>, error: rquickjs::Error) -> Outcome {
    let caught = if matches!(error, rquickjs::Error::Exception) {
        Some(ctx.catch())
    } else {
        None
    };
    if let Some(kind) = state.abort.get() {
        return limit_failure(state, kind);
    }
    let Some(thrown) = caught else {
        return engine_failure(state, error.to_string());
    };
    let described = describe_thrown(ctx, &thrown);
    Outcome {
        result: Err(thrown_failure(state, described)),
        steps: state.steps.get(),
    }
}

/// What a thrown value (or a rejection reason) that nothing caught means: running out of
/// memory or stack is that limit (and ends the run), anything else an uncaught exception.
pub(super) fn thrown_failure(state: &State, described: Thrown) -> Failure {
    let lowered = described.message.to_ascii_lowercase();
    // Only the allocator knows whether memory ran out: code may throw `null` or an error
    // that says "out of memory" on its own.
    let kind = if crate::region::allocation_refused() {
        FailureKind::MemoryLimit
    } else if lowered.contains("stack overflow") || lowered.contains("call stack size exceeded") {
        FailureKind::StackOverflow
    } else {
        FailureKind::Exception
    };
    if kind != FailureKind::Exception {
        state.trip(kind);
        return limit_error(state, kind);
    }
    exception_failure(described)
}

/// The outcome of an exception (or rejection) nothing caught.
pub(super) fn exception_outcome(state: &State, thrown: Thrown) -> Outcome {
    Outcome {
        result: Err(exception_failure(thrown)),
        steps: state.steps.get(),
    }
}

fn exception_failure(thrown: Thrown) -> Failure {
    Failure {
        kind: FailureKind::Exception,
        message: first_line(&thrown.message),
        stack: thrown
            .stack
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim_end().to_owned()),
    }
}

/// `Name: message` of a thrown value and its stack when it is an Error; other values as
/// `thrown: ` and their JSON (or their string form when they have none).
pub(super) fn describe_thrown<'js>(ctx: &Ctx<'js>, thrown: &Value<'js>) -> Thrown {
    if let Some(exception) = thrown.as_exception() {
        let name: String = exception
            .get::<_, Coerced<String>>("name")
            .map(|n| n.0)
            .unwrap_or_else(|_| "Error".into());
        let message = exception.message().unwrap_or_default();
        return Thrown {
            message: at_most(format!("{name}: {message}"), MAX_DESCRIBED),
            stack: exception.stack().map(|s| at_most(s, MAX_DESCRIBED)),
        };
    }
    let json = if thrown.is_object() && !thrown.is_function() {
        match ctx.json_stringify(thrown.clone()) {
            Ok(json) => json.and_then(|j| j.to_string().ok()),
            Err(_) => {
                let _ = ctx.catch();
                None
            }
        }
    } else {
        None
    };
    let text = json.unwrap_or_else(|| match thrown.get::<Coerced<String>>() {
        Ok(s) => s.0,
        Err(_) => {
            let _ = ctx.catch();
            "a value that is not an Error".into()
        }
    });
    Thrown {
        message: at_most(format!("thrown: {text}"), MAX_DESCRIBED),
        stack: None,
    }
}

/// The most of a thrown value's description (message, stack) a failure carries: enough for any
/// error, and a thrown 10 MB object does not become a 10 MB error body and log record.
const MAX_DESCRIBED: usize = 8 << 10;

/// `text` cut to at most `max` bytes (on a character boundary), marked with `…` when cut.
fn at_most(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

pub(super) fn with_stack(message: String, stack: Option<String>) -> String {
    match stack {
        Some(stack) if !stack.trim().is_empty() => format!("{message}\n{}", stack.trim_end()),
        _ => message,
    }
}

pub(super) fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().to_owned()
}

pub(super) fn engine_failure(state: &State, message: String) -> Outcome {
    Outcome {
        result: Err(Failure::new(
            FailureKind::Exception,
            format!("engine error: {message}"),
        )),
        steps: state.steps.get(),
    }
}

#[cfg(test)]
mod tests {
    use super::at_most;

    #[test]
    fn descriptions_are_cut_on_a_character_boundary() {
        assert_eq!(at_most("short".into(), 8), "short");
        assert_eq!(at_most("abcdefghij".into(), 4), "abcd…");
        // 'é' is two bytes: a cut inside it moves back before it.
        assert_eq!(at_most("aé".into(), 2), "a…");
        let huge = at_most("x".repeat(2_000_000), super::MAX_DESCRIBED);
        assert!(huge.len() <= super::MAX_DESCRIBED + '…'.len_utf8());
    }
}
