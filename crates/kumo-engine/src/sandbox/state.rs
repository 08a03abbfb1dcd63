//! What a run's natives and its interrupt handler share: the run's [`State`], and the
//! per-thread current run through which natives, made once per realm, find the run they serve.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use rquickjs::{Ctx, Exception};

use crate::{now_ms, AppEnv, Failure, FailureKind, Host, LogLevel, LogLine, Outcome, Returned};

/// Per-run state shared by the native functions and the interrupt handler.
pub(super) struct State {
    pub(super) deadline: Cell<Instant>,
    pub(super) timeout_ms: u128,
    pub(super) steps: Cell<u64>,
    pub(super) max_steps: u64,
    /// Set when a limit was crossed; the interrupt handler then stops the run.
    pub(super) abort: Cell<Option<FailureKind>>,
    pub(super) logs: RefCell<Vec<LogLine>>,
    pub(super) log_bytes: Cell<usize>,
    pub(super) max_log_bytes: usize,
    /// Promise rejections nobody has handled (yet), by promise: if the run stalls without
    /// `done`, the first of them is its outcome.
    pub(super) unhandled: RefCell<Vec<(usize, Thrown)>>,
    /// Strings that must never leave the run (its admin token): removed from every result,
    /// error and log line.
    pub(super) secrets: RefCell<Vec<String>>,
    /// The run's result once known: the first `done` value (JSON; `None` inside for
    /// `undefined`), or how the promise the endpoint returned settled, whichever came first.
    pub(super) done: RefCell<Option<Result<Option<String>, Failure>>>,
    /// Whether the endpoint takes `done`: its returned promise fulfilled with `undefined` then
    /// leaves the result to `done` (see `awaiting.rs`).
    pub(super) done_form: Cell<bool>,
    /// Whether the returned promise, not `done`, gave the result.
    pub(super) settled_by_promise: Cell<bool>,
}

impl State {
    pub(super) fn log(&self, level: LogLevel, message: String, runtime: bool) {
        self.logs.borrow_mut().push(LogLine {
            time_ms: now_ms(),
            level,
            message,
            runtime,
        });
    }

    pub(super) fn trip(&self, kind: FailureKind) {
        if self.abort.get().is_none() {
            self.abort.set(Some(kind));
        }
    }

    /// `text` without any of the run's secrets.
    pub(super) fn redact(&self, text: String) -> String {
        let secrets = self.secrets.borrow();
        if secrets.iter().all(|secret| !text.contains(secret.as_str())) {
            return text;
        }
        secrets
            .iter()
            .fold(text, |text, secret| text.replace(secret.as_str(), REDACTED))
    }

    /// The lines logged so far (secrets redacted); later lines start a new list.
    pub(super) fn take_logs(&self) -> Vec<LogLine> {
        let mut logs = self.logs.take();
        if !self.secrets.borrow().is_empty() {
            for line in &mut logs {
                line.message = self.redact(std::mem::take(&mut line.message));
            }
        }
        logs
    }

    pub(super) fn redact_outcome(&self, outcome: Outcome) -> Outcome {
        if self.secrets.borrow().is_empty() {
            return outcome;
        }
        let result = match outcome.result {
            Ok(Returned::Value(value)) => Ok(Returned::Value(value.map(|v| self.redact(v)))),
            Ok(Returned::TimeoutResponse(value)) => {
                Ok(Returned::TimeoutResponse(self.redact(value)))
            }
            Err(failure) => Err(Failure {
                kind: failure.kind,
                message: self.redact(failure.message),
                stack: failure.stack.map(|s| self.redact(s)),
            }),
        };
        Outcome { result, ..outcome }
    }
}

/// What stands in for a secret in anything a run hands out.
const REDACTED: &str = "***";

/// A thrown value or rejection reason, described while the run could still read it.
#[derive(Clone)]
pub(super) struct Thrown {
    /// `Name: message`, or `thrown: …` for a value that is not an Error.
    pub(super) message: String,
    pub(super) stack: Option<String>,
}

/// What the natives of a realm need to know about the run they serve.
pub(super) struct Current {
    pub(super) state: Rc<State>,
    pub(super) host: Arc<dyn Host>,
    pub(super) env: AppEnv,
    pub(super) caller_token: Option<String>,
}

thread_local! {
    /// The run this thread is executing; natives are built once per realm and find it here.
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Calls `f` with the current run; a native called outside a run throws.
pub(super) fn with_current<'js, T>(
    ctx: &Ctx<'js>,
    f: impl FnOnce(&Current) -> rquickjs::Result<T>,
) -> rquickjs::Result<T> {
    CURRENT.with(|current| match &*current.borrow() {
        Some(current) => f(current),
        None => Err(Exception::throw_internal(ctx, "no run is in progress")),
    })
}

/// Calls the current run's host (a clone, so no borrow is held meanwhile) with the run's
/// deadline. A call that comes back at the deadline ends the run as a timeout: the host gave up
/// waiting, and no JavaScript may run past the deadline to act on that.
pub(super) fn call_host<T>(
    ctx: &Ctx<'_>,
    call: impl FnOnce(&dyn Host, Instant) -> T,
) -> rquickjs::Result<T> {
    let (host, state) = with_current(ctx, |current| {
        Ok((current.host.clone(), current.state.clone()))
    })?;
    let deadline = state.deadline.get();
    let result = call(&*host, deadline);
    if Instant::now() >= deadline {
        state.trip(FailureKind::Timeout);
        return Err(Exception::throw_internal(ctx, FailureKind::Timeout.code()));
    }
    Ok(result)
}

/// Clears the current run when dropped, also when a run panics.
pub(super) struct CurrentRun;

impl CurrentRun {
    pub(super) fn begin(current: Current) -> CurrentRun {
        CURRENT.with(|c| *c.borrow_mut() = Some(current));
        CurrentRun
    }
}

impl Drop for CurrentRun {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}
