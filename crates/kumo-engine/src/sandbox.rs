//! One run of one endpoint in a fresh QuickJS runtime and realm.
//!
//! Limits are enforced in two ways at once: native functions (the step counter, `console`)
//! throw the moment a limit is crossed, and the interrupt handler, which user code cannot catch,
//! stops the run shortly after if the code swallowed that exception. The wall clock is checked
//! by the interrupt handler alone.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rquickjs::function::{Opt, Rest};
use rquickjs::{
    Coerced, Context, Ctx, Exception, Function, IntoJs, Object, Persistent, Runtime, Value,
};

use crate::bytecode::run_bytecode;
use crate::realm::{self, Kind, Natives};
use crate::scheduler::{Scheduler, SLICE};
use crate::sdk;
use crate::{
    now_ms, AppEnv, Failure, FailureKind, Host, HostRequest, Invocation, LogLevel, LogLine,
    Outcome, Returned,
};

/// Extra time a run gets to turn its `_timeoutResponse` into JSON after the deadline.
const GRACE: Duration = Duration::from_millis(100);

/// Per-run state shared by the native functions and the interrupt handler.
struct State {
    deadline: Cell<Instant>,
    timeout_ms: u128,
    steps: Cell<u64>,
    max_steps: u64,
    /// Set when a limit was crossed; the interrupt handler then stops the run.
    abort: Cell<Option<FailureKind>>,
    logs: RefCell<Vec<LogLine>>,
    log_bytes: Cell<usize>,
    max_log_bytes: usize,
    /// Promise rejections nobody has handled (yet), by promise: if the run stalls without
    /// `done`, the first of them is its outcome.
    unhandled: RefCell<Vec<(usize, Thrown)>>,
    /// Strings that must never leave the run (its admin token): removed from every result,
    /// error and log line.
    secrets: RefCell<Vec<String>>,
    /// The first `done` value (JSON; `None` inside for `undefined`), once `done` was called.
    done: RefCell<Option<Result<Option<String>, Failure>>>,
}

impl State {
    fn log(&self, level: LogLevel, message: String, runtime: bool) {
        self.logs.borrow_mut().push(LogLine {
            time_ms: now_ms(),
            level,
            message,
            runtime,
        });
    }

    fn trip(&self, kind: FailureKind) {
        if self.abort.get().is_none() {
            self.abort.set(Some(kind));
        }
    }

    /// `text` without any of the run's secrets.
    fn redact(&self, text: String) -> String {
        let secrets = self.secrets.borrow();
        if secrets.iter().all(|secret| !text.contains(secret.as_str())) {
            return text;
        }
        secrets
            .iter()
            .fold(text, |text, secret| text.replace(secret.as_str(), REDACTED))
    }

    fn redact_outcome(&self, outcome: Outcome) -> Outcome {
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
struct Thrown {
    /// `Name: message`, or `thrown: …` for a value that is not an Error.
    message: String,
    stack: Option<String>,
}

/// What the natives of a realm need to know about the run they serve.
struct Current {
    state: Rc<State>,
    host: Arc<dyn Host>,
    env: AppEnv,
    caller_token: Option<String>,
}

thread_local! {
    /// The run this thread is executing; natives are built once per realm and find it here.
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Calls `f` with the current run; a native called outside a run throws.
fn with_current<'js, T>(
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
fn call_host<T>(ctx: &Ctx<'_>, call: impl FnOnce(&dyn Host, Instant) -> T) -> rquickjs::Result<T> {
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
struct CurrentRun;

impl CurrentRun {
    fn begin(current: Current) -> CurrentRun {
        CURRENT.with(|c| *c.borrow_mut() = Some(current));
        CurrentRun
    }
}

impl Drop for CurrentRun {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

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
        unhandled: RefCell::new(Vec::new()),
        secrets: RefCell::new(Vec::new()),
    });
    let host = invocation.host.clone();
    let mut respond = Some(respond);
    let mut send = |outcome: Outcome| {
        if let Some(respond) = respond.take() {
            respond(state.redact_outcome(outcome))
        }
    };

    let needs = invocation.program.needs_of(&invocation.endpoint);
    let mut builtins = needs.builtins;
    if needs.uses_sdk {
        builtins |= sdk::builtins();
    }
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
    let ran = realm::with_prepared(kind, limits.memory_bytes, build_realm, |prepared| {
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
                    let mut unhandled = state.unhandled.borrow_mut();
                    if is_handled {
                        unhandled.retain(|(k, _)| *k != key);
                    } else if unhandled.len() < MAX_UNHANDLED {
                        unhandled.push((key, describe_thrown(&ctx, &reason)));
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
    let mut logs = state.logs.take();
    if !state.secrets.borrow().is_empty() {
        for line in &mut logs {
            line.message = state.redact(std::mem::take(&mut line.message));
        }
    }
    host.finished(logs);
}

/// Rejections a run may leave unhandled at once that are remembered (the first is reported).
const MAX_UNHANDLED: usize = 64;

/// How much a run may allocate before QuickJS's first collection in it.
const GC_HEADROOM: usize = 2 << 20;

/// Builds a realm of `kind` with every native a run uses (see `realm.rs`).
fn build_realm(runtime: &Runtime, kind: Kind) -> rquickjs::Result<(Context, Natives)> {
    let context = new_realm(runtime, kind.builtins)?;
    let natives = context.with(|ctx| install_natives(&ctx, kind.uses_sdk))?;
    Ok((context, natives))
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
/// already known; `None` when an asynchronous endpoint is still waiting for `done`.
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
        Ok(value) if !asynchronous => Some(Outcome {
            result: to_json(ctx, value).map(Returned::Value),
            steps: state.steps.get(),
        }),
        Ok(_) => None,
    }
}

/// Runs pending jobs. With `waiting`, stops as soon as `done` has been called and returns the
/// outcome; a run that can make no more progress without `done` ends as a timeout at once
/// (nothing could ever call it), so a stuck run never holds a thread for the whole limit.
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

/// Installs every native of a realm (see `realm.rs`: natives are made only here, while the
/// realm is built, and find the run they serve through [`with_current`]).
fn install_natives<'js>(ctx: &Ctx<'js>, uses_sdk: bool) -> rquickjs::Result<Natives> {
    let globals = ctx.globals();
    let mut held: Vec<Persistent<Value<'static>>> = Vec::new();
    let mut hold = |value: Value<'js>| held.push(Persistent::save(ctx, value));
    let hidden = |name: &str, value: Value<'js>| -> rquickjs::Result<()> {
        globals.prop(name, rquickjs::object::Property::from(value))
    };

    let counter = Function::new(ctx.clone(), |ctx: Ctx<'js>| -> rquickjs::Result<()> {
        with_current(&ctx, |current| {
            let state = &current.state;
            if let Some(kind) = state.abort.get() {
                return Err(Exception::throw_internal(&ctx, kind.code()));
            }
            let steps = state.steps.get() + 1;
            state.steps.set(steps);
            if steps >= state.max_steps {
                state.trip(FailureKind::StepLimit);
                return Err(Exception::throw_internal(
                    &ctx,
                    &format!("step limit exceeded. limit={}", state.max_steps),
                ));
            }
            Ok(())
        })
    })?;
    hold(counter.clone().into_value());
    hidden(crate::verify::STEP_FN, counter.into_value())?;

    let console = Object::new(ctx.clone())?;
    for (name, level) in [
        ("log", LogLevel::Info),
        ("info", LogLevel::Info),
        ("debug", LogLevel::Debug),
        ("warn", LogLevel::Warn),
        ("error", LogLevel::Error),
    ] {
        let function = Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> rquickjs::Result<()> {
                with_current(&ctx, |current| {
                    let state = &current.state;
                    let message = format_args_for_log(&ctx, &args.0);
                    let bytes = state.log_bytes.get() + message.len();
                    if bytes > state.max_log_bytes {
                        state.trip(FailureKind::LogLimit);
                        return Err(Exception::throw_internal(
                            &ctx,
                            &format!("log limit exceeded. limit={}bytes", state.max_log_bytes),
                        ));
                    }
                    state.log_bytes.set(bytes);
                    state.log(level, message, false);
                    Ok(())
                })
            },
        )?;
        hold(function.clone().into_value());
        console.set(name, function)?;
    }
    globals.set("console", console)?;

    // The synchronous bridge the SDK is written against: `__kii_env`, `__kii_http`,
    // `__kii_fetch`. A realm for code that names no SDK global gets it only when the code
    // asks for the SDK through `context.getAppAdminContext()`.
    let env = Object::new(ctx.clone())?;
    let http = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>,
         method: String,
         path: String,
         headers: Opt<Object<'js>>,
         body: Opt<Value<'js>>|
         -> rquickjs::Result<Object<'js>> {
            let request = host_request(method, path, headers.0, body.0)?;
            let response = call_host(&ctx, |host, deadline| host.kii(request, deadline))?;
            response_object(&ctx, response)
        },
    )?;
    hold(http.clone().into_value());
    let fetch = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>,
         method: String,
         url: String,
         headers: Opt<Object<'js>>,
         body: Opt<Value<'js>>|
         -> rquickjs::Result<Object<'js>> {
            let request = host_request(method, String::new(), headers.0, body.0)?;
            match call_host(&ctx, |host, deadline| host.fetch(&url, request, deadline))? {
                Ok(response) => response_object(&ctx, response),
                Err(message) => Err(Exception::throw_message(&ctx, &message)),
            }
        },
    )?;
    hold(fetch.clone().into_value());
    let bridge = Bridge {
        env: Persistent::save(ctx, env.clone()),
        http: Persistent::save(ctx, http),
        fetch: Persistent::save(ctx, fetch),
    };
    if uses_sdk {
        bridge.install(ctx)?;
    }

    for native in sdk::install(ctx, uses_sdk)? {
        hold(native);
    }

    let done = make_done(ctx)?;
    hold(done.clone().into_value());
    let context_methods = context_methods(ctx, bridge)?;
    for (_, method) in &context_methods {
        hold(method.clone().into_value());
    }
    Ok(Natives {
        done: Persistent::save(ctx, done),
        context_methods: context_methods
            .into_iter()
            .map(|(name, method)| (name, Persistent::save(ctx, method)))
            .collect(),
        env: Persistent::save(ctx, env),
        held,
    })
}

/// The bridge's globals, kept so a realm can be given them during a run (natives cannot be
/// made then).
struct Bridge {
    env: Persistent<Object<'static>>,
    http: Persistent<Function<'static>>,
    fetch: Persistent<Function<'static>>,
}

impl Bridge {
    fn install<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<()> {
        let globals = ctx.globals();
        if globals.contains_key("__kii_http")? {
            return Ok(());
        }
        let hidden = |name: &str, value: Value<'js>| {
            globals.prop(name, rquickjs::object::Property::from(value))
        };
        hidden("__kii_env", self.env.clone().restore(ctx)?.into_value())?;
        hidden("__kii_http", self.http.clone().restore(ctx)?.into_value())?;
        hidden("__kii_fetch", self.fetch.clone().restore(ctx)?.into_value())
    }
}

/// Gives `__kii_env` the running app's values.
fn set_env<'js>(ctx: &Ctx<'js>, natives: &Natives, app: &AppEnv) -> rquickjs::Result<()> {
    let env = natives.env.clone().restore(ctx)?;
    env.set("appID", app.app_id.as_str())?;
    env.set("appKey", app.app_key.as_str())?;
    env.set("baseURL", app.base_url.as_str())?;
    Ok(())
}

fn host_request<'js>(
    method: String,
    path: String,
    headers: Option<Object<'js>>,
    body: Option<Value<'js>>,
) -> rquickjs::Result<HostRequest> {
    let mut pairs = Vec::new();
    if let Some(headers) = headers {
        for entry in headers.props::<String, Coerced<String>>() {
            let (name, value) = entry?;
            pairs.push((name.to_ascii_lowercase(), value.0));
        }
    }
    let body = match body {
        Some(body) if !body.is_undefined() && !body.is_null() => {
            Some(body.get::<Coerced<String>>()?.0)
        }
        _ => None,
    };
    Ok(HostRequest {
        method,
        path,
        headers: pairs,
        body,
    })
}

fn response_object<'js>(
    ctx: &Ctx<'js>,
    response: crate::HostResponse,
) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    object.set("status", response.status)?;
    let headers = Object::new(ctx.clone())?;
    for (name, value) in response.headers {
        headers.set(name.to_ascii_lowercase(), value)?;
    }
    object.set("headers", headers)?;
    object.set("body", response.body)?;
    Ok(object)
}

/// The methods of the endpoint's second argument.
fn context_methods<'js>(
    ctx: &Ctx<'js>,
    bridge: Bridge,
) -> rquickjs::Result<Vec<(&'static str, Function<'js>)>> {
    let app_id = Function::new(ctx.clone(), |ctx: Ctx<'js>| {
        with_current(&ctx, |current| Ok(current.env.app_id.clone()))
    })?;
    let app_key = Function::new(ctx.clone(), |ctx: Ctx<'js>| {
        with_current(&ctx, |current| Ok(current.env.app_key.clone()))
    })?;
    let token = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
            match with_current(&ctx, |current| Ok(current.caller_token.clone()))? {
                Some(token) => token.as_str().into_js(&ctx),
                None => Ok(Value::new_null(ctx)),
            }
        },
    )?;
    let admin = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
            let token = call_host(&ctx, |host, deadline| host.admin_token(deadline))?
                .map_err(|message| Exception::throw_internal(&ctx, &message))?;
            with_current(&ctx, |current| {
                let mut secrets = current.state.secrets.borrow_mut();
                if !secrets.contains(&token) {
                    secrets.push(token.clone());
                }
                Ok(())
            })?;
            // Code that names no SDK global reaches the SDK only through this method.
            bridge.install(&ctx)?;
            sdk::admin_context(&ctx, token)
        },
    )?;
    Ok(vec![
        ("getAppID", app_id),
        ("getAppKey", app_key),
        ("getAccessToken", token),
        ("getAppAdminContext", admin),
    ])
}

/// The endpoint's second argument: a fresh object each run, with the realm's methods.
fn make_context<'js>(ctx: &Ctx<'js>, natives: &Natives) -> rquickjs::Result<Object<'js>> {
    let context = Object::new(ctx.clone())?;
    for (name, method) in &natives.context_methods {
        context.set(*name, method.clone().restore(ctx)?)?;
    }
    Ok(context)
}

/// `done`: the first call gives the result; later ones are logged as warnings.
fn make_done<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Function<'js>> {
    Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, value: Opt<Value<'js>>| -> rquickjs::Result<()> {
            with_current(&ctx, |current| {
                let state = &current.state;
                if state.done.borrow().is_some() {
                    state.log(
                        LogLevel::Warn,
                        "done() was called more than once; only the first value is returned".into(),
                        true,
                    );
                    return Ok(());
                }
                let value = value.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
                let json = to_json(&ctx, value);
                *state.done.borrow_mut() = Some(json);
                Ok(())
            })
        },
    )
}

/// JSON.stringify semantics: `undefined` and functions give no value, `NaN` gives `null`,
/// a `Date` its ISO string; a cycle or a BigInt cannot be returned.
fn to_json<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Result<Option<String>, Failure> {
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

fn format_args_for_log<'js>(ctx: &Ctx<'js>, args: &[Value<'js>]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if let Some(s) = arg.as_string() {
            out.push_str(&s.to_string().unwrap_or_default());
        } else if arg.is_undefined() {
            out.push_str("undefined");
        } else if arg.is_object() && !arg.is_function() && !arg.is_error() {
            match ctx.json_stringify(arg.clone()) {
                Ok(Some(json)) => out.push_str(&json.to_string().unwrap_or_default()),
                _ => {
                    let _ = ctx.catch();
                    out.push_str("[object]");
                }
            }
        } else {
            match arg.get::<Coerced<String>>() {
                Ok(s) => out.push_str(&s.0),
                Err(_) => {
                    let _ = ctx.catch();
                    out.push_str("[value]");
                }
            }
        }
    }
    out
}

fn limit_failure(state: &State, kind: FailureKind) -> Outcome {
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
    Outcome {
        result: Err(Failure::new(kind, message)),
        steps: state.steps.get(),
    }
}

/// Turns a failed call into an outcome: a crossed limit wins over whatever was thrown.
fn failure_from(ctx: &Ctx, state: &Rc<State>, error: rquickjs::Error) -> Outcome {
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
        return limit_failure(state, kind);
    }
    exception_outcome(state, described)
}

/// The outcome of an exception (or rejection) nothing caught.
fn exception_outcome(state: &State, thrown: Thrown) -> Outcome {
    Outcome {
        result: Err(Failure {
            kind: FailureKind::Exception,
            message: first_line(&thrown.message),
            stack: thrown
                .stack
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim_end().to_owned()),
        }),
        steps: state.steps.get(),
    }
}

/// `Name: message` of a thrown value and its stack when it is an Error; other values as
/// `thrown: ` and their JSON (or their string form when they have none).
fn describe_thrown<'js>(ctx: &Ctx<'js>, thrown: &Value<'js>) -> Thrown {
    if let Some(exception) = thrown.as_exception() {
        let name: String = exception
            .get::<_, Coerced<String>>("name")
            .map(|n| n.0)
            .unwrap_or_else(|_| "Error".into());
        let message = exception.message().unwrap_or_default();
        return Thrown {
            message: format!("{name}: {message}"),
            stack: exception.stack(),
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
        message: format!("thrown: {text}"),
        stack: None,
    }
}

fn with_stack(message: String, stack: Option<String>) -> String {
    match stack {
        Some(stack) if !stack.trim().is_empty() => format!("{message}\n{}", stack.trim_end()),
        _ => message,
    }
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().to_owned()
}

fn engine_failure(state: &State, message: String) -> Outcome {
    Outcome {
        result: Err(Failure::new(
            FailureKind::Exception,
            format!("engine error: {message}"),
        )),
        steps: state.steps.get(),
    }
}
