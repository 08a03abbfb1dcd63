//! One run of one endpoint in a prepared realm (see `realm.rs`): this module orchestrates the
//! run; `state` holds what the run's natives and interrupt handler share, `natives` the
//! functions a realm is built with, `outcome` how a run's end becomes an [`Outcome`].
//!
//! Limits are enforced in two ways at once: native functions (the step counter, `console`)
//! throw the moment a limit is crossed, and the interrupt handler, which user code cannot catch,
//! stops the run shortly after if the code swallowed that exception. The wall clock is checked
//! by the interrupt handler alone.

mod awaiting;
mod natives;
mod outcome;
mod state;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rquickjs::{Context, Ctx, Object, Runtime, Value};

use crate::bytecode::run_bytecode;
use crate::realm::{self, Building, Kind, Natives};
use crate::scheduler::{Scheduler, SLICE};
use crate::sdk;
use crate::{Failure, FailureKind, Invocation, LogLevel, Outcome, Returned};
use awaiting::Awaiting;
use natives::{install_natives, make_context, set_env};
use outcome::{
    describe_thrown, engine_failure, exception_outcome, failure_from, limit_failure, to_json,
    with_stack,
};
use state::{Current, CurrentRun, State, Thrown};

/// Extra time a run gets to turn its `_timeoutResponse` into JSON after the deadline.
const GRACE: Duration = Duration::from_millis(100);

/// Runs `invocation`; `respond` gets the outcome as soon as it is known. Callbacks the code
/// left behind keep running afterwards (until they finish or the deadline), then the host
/// receives the logs.
pub(crate) fn run(
    invocation: Invocation,
    scheduler: &Arc<Scheduler>,
    deadline: Instant,
    respond: impl FnOnce(Outcome),
) {
    let limits = invocation.limits.clone();
    let state = Rc::new(State {
        deadline: Cell::new(deadline),
        timeout_ms: limits.timeout.as_millis(),
        steps: Cell::new(0),
        max_steps: limits.max_steps,
        abort: Cell::new(None),
        logs: RefCell::new(Vec::new()),
        log_bytes: Cell::new(0),
        max_log_bytes: limits.log_bytes,
        done: RefCell::new(None),
        done_form: Cell::new(false),
        settled_by_promise: Cell::new(false),
        unhandled: RefCell::new(Vec::new()),
        secrets: RefCell::new(Vec::new()),
    });
    let host = invocation.host.clone();
    let mut respond = Some(respond);
    let mut send = |outcome: Outcome| {
        if let Some(respond) = respond.take() {
            host.answering(state.take_logs());
            respond(state.redact_outcome(outcome))
        }
    };

    let needs = invocation.program.needs_of(&invocation.endpoint);
    let mut builtins = needs.builtins;
    if needs.uses_sdk {
        builtins |= sdk::builtins();
    }
    let builtins = crate::node::with_builtins(builtins);
    let kind = Kind {
        builtins,
        uses_sdk: needs.uses_sdk,
    };
    let current = CurrentRun::begin(Current {
        state: state.clone(),
        host: host.clone(),
        env: invocation.env.clone(),
        caller_token: invocation.caller_token.clone(),
    });
    let ran = realm::with_prepared(kind, limits.memory_bytes, &BUILD, |prepared| {
        let runtime = &prepared.runtime;
        // The region's allocator enforces the limit, and says when it refused (see region.rs).
        runtime.set_memory_limit(0);
        prepared.limit_memory(limits.memory_bytes);
        runtime.set_max_stack_size(limits.stack_bytes);
        // QuickJS collects whenever its heap grows by half since the last collection; a run
        // that loads SDK parts would collect several times, each walking the whole live realm.
        // The realm is put back when the run ends instead, and code that churns memory still
        // triggers collections past this headroom.
        runtime.set_gc_threshold(GC_HEADROOM.min(limits.memory_bytes / 2));
        {
            let state = state.clone();
            let scheduler = scheduler.clone();
            let started = Instant::now();
            runtime.set_interrupt_handler(Some(Box::new(move || {
                if state.abort.get().is_some() {
                    return true;
                }
                let now = Instant::now();
                if now >= state.deadline.get() {
                    state.trip(FailureKind::Timeout);
                    return true;
                }
                if now - started >= SLICE {
                    scheduler.demote();
                }
                false
            })));
        }
        {
            let state = state.clone();
            runtime.set_host_promise_rejection_tracker(Some(Box::new(
                move |ctx, promise, reason, is_handled| {
                    // The promise's address tells a later "handled" which rejection it was.
                    // SAFETY: a promise is an object, whose value holds its pointer.
                    let key = unsafe { promise.as_raw().u.ptr } as usize;
                    if is_handled {
                        state.unhandled.borrow_mut().retain(|(k, _)| *k != key);
                    } else if state.unhandled.borrow().len() < MAX_UNHANDLED {
                        // Its place is taken first and it is described with the list not
                        // borrowed: describing runs the reason's own code (`toJSON`, getters),
                        // which may reject more promises, and those come after it.
                        let pending = Thrown {
                            message: "thrown: (being described)".into(),
                            stack: None,
                        };
                        state.unhandled.borrow_mut().push((key, pending));
                        let thrown = describe_thrown(&ctx, &reason);
                        let mut unhandled = state.unhandled.borrow_mut();
                        if let Some(entry) = unhandled.iter_mut().find(|(k, _)| *k == key) {
                            entry.1 = thrown;
                        }
                    }
                },
            )));
        }
        prepared.context.with(|ctx| {
            // The saved runtime remembers where the stack was when the realm was built.
            // SAFETY: the runtime is alive and used by this thread only.
            unsafe {
                rquickjs::qjs::JS_UpdateStackTop(rquickjs::qjs::JS_GetRuntime(
                    ctx.as_raw().as_ptr(),
                ))
            };
            let outcome = start(&ctx, &invocation, &prepared.natives, &state);
            let outcome = match outcome {
                Some(outcome) => Some(outcome),
                None => drive(&ctx, &state, true),
            };
            if let Some(outcome) = outcome {
                let outcome = finish_timeout(&ctx, &state, outcome);
                send(outcome);
            }
            // Whatever the code started keeps running after the answer went out, as on Kii.
            if state.abort.get().is_none() {
                if let Some(outcome) = drive(&ctx, &state, false) {
                    send(outcome);
                }
            }
        });
        runtime.set_interrupt_handler(None);
        runtime.set_host_promise_rejection_tracker(None);
    });
    drop(current);
    if let Err(e) = ran {
        send(engine_failure(&state, format!("could not start: {e}")));
    }
    host.finished(state.take_logs());
}

/// Rejections a run may leave unhandled at once that are remembered (the first is reported).
const MAX_UNHANDLED: usize = 64;

/// How much a run may allocate before QuickJS's first collection in it.
const GC_HEADROOM: usize = 2 << 20;

/// How a realm of a kind is built (see `realm.rs`): its intrinsics, then every native a run
/// uses.
const BUILD: realm::Build = realm::Build {
    context: |runtime, kind| new_realm(runtime, kind.builtins),
    natives: install,
};

fn install(building: &Building<'_>, kind: Kind) -> rquickjs::Result<Natives> {
    let natives = install_natives(building, kind.uses_sdk)?;
    crate::node::install(building, kind.builtins)?;
    Ok(natives)
}

/// A realm with the built-ins every run needs (JSON for results, Promise for asynchronous
/// endpoints, the Function constructor) plus the optional ones the program needs.
fn new_realm(runtime: &Runtime, needed: u32) -> rquickjs::Result<Context> {
    use crate::verify::builtins as b;
    use rquickjs::context::intrinsic;
    if needed == b::ALL {
        return Context::full(runtime);
    }
    let context =
        Context::custom::<(intrinsic::Eval, intrinsic::Json, intrinsic::Promise)>(runtime)?;
    let raw = context.as_raw().as_ptr();
    type AddIntrinsic = unsafe extern "C" fn(*mut rquickjs::qjs::JSContext) -> std::ffi::c_int;
    let optional: [(u32, AddIntrinsic); 10] = [
        (b::REGEXP, rquickjs::qjs::JS_AddIntrinsicRegExp),
        (b::BIG_INT, rquickjs::qjs::JS_AddIntrinsicBigInt),
        (b::BASE64, rquickjs::qjs::JS_AddIntrinsicAToB),
        (b::DATE, rquickjs::qjs::JS_AddIntrinsicDate),
        (b::MAP_SET, rquickjs::qjs::JS_AddIntrinsicMapSet),
        (b::PROXY, rquickjs::qjs::JS_AddIntrinsicProxy),
        (b::TYPED_ARRAYS, rquickjs::qjs::JS_AddIntrinsicTypedArrays),
        (b::WEAK_REF, rquickjs::qjs::JS_AddIntrinsicWeakRef),
        (b::PERFORMANCE, rquickjs::qjs::JS_AddPerformance),
        (b::DOM_EXCEPTION, rquickjs::qjs::JS_AddIntrinsicDOMException),
    ];
    // SAFETY: the context is fresh and not in use; each call only adds globals to it.
    unsafe {
        if needed & b::REGEXP != 0 {
            rquickjs::qjs::JS_AddIntrinsicRegExpCompiler(raw);
        }
        for (flag, add) in optional {
            if needed & flag != 0 && add(raw) < 0 {
                return Err(rquickjs::Error::Allocation);
            }
        }
    }
    Ok(context)
}

/// Sets up the realm, runs the top level and calls the endpoint. `Some` when the outcome is
/// already known; `None` while the run waits for `done` or for the promise it returned.
fn start<'js>(
    ctx: &Ctx<'js>,
    invocation: &Invocation,
    natives: &Natives,
    state: &Rc<State>,
) -> Option<Outcome> {
    if let Err(e) = set_env(ctx, natives, &invocation.env) {
        return Some(failure_from(ctx, state, e));
    }
    if let Err(e) = run_bytecode(ctx, &invocation.program.bytecode) {
        return Some(failure_from(ctx, state, e));
    }
    // Only the endpoint's own work counts, not the file's top level.
    state.steps.set(0);
    let endpoint: Value = match ctx.globals().get(invocation.endpoint.as_str()) {
        Ok(endpoint) => endpoint,
        Err(e) => return Some(failure_from(ctx, state, e)),
    };
    let Some(function) = endpoint.as_function().cloned() else {
        return Some(Outcome {
            result: Err(Failure::new(
                FailureKind::EndpointNotFound,
                format!(
                    "the server code does not define a function named '{}'",
                    invocation.endpoint
                ),
            )),
            steps: 0,
        });
    };
    let params = match ctx.json_parse(invocation.params_json.as_str()) {
        Ok(params) => params,
        Err(e) => return Some(failure_from(ctx, state, e)),
    };
    let context = match make_context(ctx, natives) {
        Ok(context) => context,
        Err(e) => return Some(failure_from(ctx, state, e)),
    };
    let arity: usize = function.get("length").unwrap_or(0);
    let asynchronous = arity >= 3;
    state.done_form.set(asynchronous);
    ctx.globals().set("__kii_context", context.clone()).ok();
    let returned = if asynchronous {
        let done = match natives.done.clone().restore(ctx) {
            Ok(done) => done,
            Err(e) => return Some(failure_from(ctx, state, e)),
        };
        function.call::<_, Value>((params, context, done))
    } else {
        function.call::<_, Value>((params, context))
    };
    if let Some(kind) = state.abort.get() {
        // A limit was crossed and the code swallowed the exception.
        return Some(limit_failure(state, kind));
    }
    match returned {
        Err(e) => {
            // An exception ends the run, unless `done` already gave the result.
            if state.done.borrow().is_some() {
                let failure = failure_from(ctx, state, e);
                if let Err(failure) = &failure.result {
                    state.log(
                        LogLevel::Error,
                        format!("exception after done: {}", failure.message),
                        true,
                    );
                }
                None
            } else {
                Some(failure_from(ctx, state, e))
            }
        }
        // `done` called before the return gave the result; what was returned cannot change it.
        Ok(_) if state.done.borrow().is_some() => None,
        Ok(value) => match awaiting::await_returned(ctx, natives, state, value) {
            Ok(Awaiting::Plain(value)) if !asynchronous => Some(Outcome {
                result: to_json(ctx, value).map(Returned::Value),
                steps: state.steps.get(),
            }),
            Ok(Awaiting::Plain(_)) | Ok(Awaiting::Awaited) => None,
            Ok(Awaiting::Ended(outcome)) => Some(outcome),
            Err(e) => Some(failure_from(ctx, state, e)),
        },
    }
}

/// Runs pending jobs. With `waiting`, stops as soon as the result is known (`done` was called
/// or the returned promise settled) and returns the outcome; a run that can make no more
/// progress without it ends as a timeout at once (nothing could ever give it), so a stuck run
/// never holds a thread for the whole limit.
fn drive(ctx: &Ctx, state: &Rc<State>, waiting: bool) -> Option<Outcome> {
    loop {
        if waiting {
            if let Some(result) = state.done.borrow().clone() {
                return Some(Outcome {
                    result: result.map(Returned::Value),
                    steps: state.steps.get(),
                });
            }
        }
        if let Some(kind) = state.abort.get() {
            return waiting.then(|| limit_failure(state, kind));
        }
        if !ctx.execute_pending_job() {
            if let Some(kind) = state.abort.get() {
                return waiting.then(|| limit_failure(state, kind));
            }
            if waiting {
                if let Some(result) = state.done.borrow().clone() {
                    return Some(Outcome {
                        result: result.map(Returned::Value),
                        steps: state.steps.get(),
                    });
                }
                // Nothing can call `done` any more. A rejection nobody handled is what went
                // wrong (a failed SDK call in a chain without `catch`): it ends the run as an
                // uncaught exception, so its author sees the error rather than a timeout.
                let first = state.unhandled.borrow_mut().drain(..).next();
                if let Some((_, thrown)) = first {
                    state.log(
                        LogLevel::Error,
                        format!(
                            "unhandled promise rejection: {}",
                            with_stack(thrown.message.clone(), thrown.stack.clone())
                        ),
                        true,
                    );
                    return Some(exception_outcome(state, thrown));
                }
                state.trip(FailureKind::Timeout);
                return Some(limit_failure(state, FailureKind::Timeout));
            }
            return None;
        }
    }
}

/// On a timeout, a value the code put in `context._timeoutResponse` turns the failure into a
/// success (Kii's documented escape hatch; the Japanese docs spell it `_timeoutReponse`).
fn finish_timeout(ctx: &Ctx, state: &Rc<State>, outcome: Outcome) -> Outcome {
    let Err(Failure {
        kind: FailureKind::Timeout,
        ..
    }) = &outcome.result
    else {
        return outcome;
    };
    let Ok(context) = ctx.globals().get::<_, Object>("__kii_context") else {
        return outcome;
    };
    let custom = ["_timeoutResponse", "_timeoutReponse"]
        .iter()
        .filter_map(|key| context.get::<_, Value>(*key).ok())
        .find(|value| !value.is_undefined());
    let Some(custom) = custom else {
        return outcome;
    };
    // Give serialisation a moment of its own; a getter that loops is stopped again.
    state.abort.set(None);
    state.deadline.set(Instant::now() + GRACE);
    let json = ctx.json_stringify(custom);
    let tripped = state.abort.replace(Some(FailureKind::Timeout)).is_some();
    match json {
        Ok(Some(json)) if !tripped => match json.to_string() {
            Ok(json) => Outcome {
                result: Ok(Returned::TimeoutResponse(json)),
                steps: outcome.steps,
            },
            Err(_) => outcome,
        },
        _ => outcome,
    }
}
