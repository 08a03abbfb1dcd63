//! Endpoints that return a promise (an `async function`, `obj.save().then(…)`) or any other
//! thenable: the run awaits it, as `await` would, and how it settles is the run's result.
//!
//! Settling is observed through two natives made with the realm and attached to the awaited
//! promise as its reactions, so the result is taken at the very moment the promise settles, and
//! against `done` the first to settle wins (both write the one `State::done` latch).
//! A thenable that is not a native promise is adopted the way Promise resolution adopts one:
//! its `then` is read once (a getter that throws rejects) and called with resolving functions
//! that only the first call of either can use; thenables that resolve to thenables are
//! followed by QuickJS's own resolution, one job per level, so no depth recurses.

use rquickjs::atom::PredefinedAtom;
use rquickjs::function::{Opt, This};
use rquickjs::{qjs, Ctx, Function, Object, Promise, Value};

use super::outcome::{describe_thrown, limit_failure, thrown_failure, to_json, with_stack};
use super::state::{with_current, State};
use crate::realm::{Building, Natives};
use crate::{FailureKind, LogLevel, Outcome};

/// What an endpoint's return value asks of the run.
pub(super) enum Awaiting<'js> {
    /// Not a thenable: the value itself (or, for the `done` form, nothing) is the result.
    Plain(Value<'js>),
    /// A thenable now being awaited: its settling (or `done`) gives the result.
    Awaited,
    /// Reading or calling its `then` crossed a limit.
    Ended(Outcome),
}

/// Awaits `value` if it is a thenable. Only objects are inspected, so a plain return costs at
/// most one property lookup.
pub(super) fn await_returned<'js>(
    ctx: &Ctx<'js>,
    natives: &Natives,
    state: &State,
    value: Value<'js>,
) -> rquickjs::Result<Awaiting<'js>> {
    let Some(object) = value.as_object() else {
        return Ok(Awaiting::Plain(value));
    };
    let promise = if let Some(promise) = value.as_promise() {
        // A native promise is awaited directly: like `await`, its `then` is not consulted.
        promise.clone()
    } else {
        match object.get::<_, Value>(PredefinedAtom::Then) {
            Ok(then) => match then.as_function() {
                Some(then) => match adopt(ctx, state, object, then)? {
                    Some(promise) => promise,
                    None => return Ok(Awaiting::Ended(limit_ended(state))),
                },
                None => return Ok(Awaiting::Plain(value)),
            },
            Err(rquickjs::Error::Exception) => match state.abort.get() {
                Some(_) => return Ok(Awaiting::Ended(limit_ended(state))),
                None => rejected(ctx, ctx.catch())?,
            },
            Err(e) => return Err(e),
        }
    };
    let on_fulfilled = natives.settle_fulfilled.clone().restore(ctx)?;
    let on_rejected = natives.settle_rejected.clone().restore(ctx)?;
    // SAFETY: all three values belong to this context and are alive for the call; the
    // returned value is owned and handed to a `Value`, which frees it.
    let derived = unsafe {
        qjs::JS_PromiseThen(
            ctx.as_raw().as_ptr(),
            promise.as_raw(),
            on_fulfilled.as_raw(),
            on_rejected.as_raw(),
        )
    };
    if unsafe { qjs::JS_IsException(derived) } {
        return Err(rquickjs::Error::Exception);
    }
    drop(unsafe { Value::from_raw(ctx.clone(), derived) });
    Ok(Awaiting::Awaited)
}

/// A native promise that follows the thenable `object`, as Promise resolution makes one: its
/// `then` is called with resolving functions of which only the first call counts, and a throw
/// from `then` rejects (unless it already settled). `None` when a limit was crossed.
fn adopt<'js>(
    ctx: &Ctx<'js>,
    state: &State,
    object: &Object<'js>,
    then: &Function<'js>,
) -> rquickjs::Result<Option<Promise<'js>>> {
    let (promise, resolve, reject) = ctx.promise()?;
    match then.call::<_, Value>((This(object.clone()), resolve, reject.clone())) {
        Ok(_) => {}
        Err(rquickjs::Error::Exception) => {
            let thrown = ctx.catch();
            if state.abort.get().is_some() {
                return Ok(None);
            }
            reject.call::<_, Value>((thrown,))?;
        }
        Err(e) => return Err(e),
    }
    if state.abort.get().is_some() {
        return Ok(None);
    }
    Ok(Some(promise))
}

fn rejected<'js>(ctx: &Ctx<'js>, reason: Value<'js>) -> rquickjs::Result<Promise<'js>> {
    let (promise, _, reject) = ctx.promise()?;
    reject.call::<_, Value>((reason,))?;
    Ok(promise)
}

fn limit_ended(state: &State) -> Outcome {
    limit_failure(state, state.abort.get().unwrap_or(FailureKind::Timeout))
}

/// The reactions attached to an awaited promise: made once with the realm (natives cannot be
/// made during a run) and never reachable from JavaScript.
pub(super) fn make_settlers<'js>(
    building: &Building<'js>,
) -> rquickjs::Result<(Function<'js>, Function<'js>)> {
    let fulfilled = building.function(
        |ctx: Ctx<'js>, value: Opt<Value<'js>>| -> rquickjs::Result<()> {
            with_current(&ctx, |current| {
                let state = &current.state;
                if !open(state) {
                    return Ok(());
                }
                let value = value.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
                // In the `done` form an `async function` fulfils with `undefined` as soon as
                // it returns, while SDK callbacks it started have yet to call `done`: Kii code
                // written that way must keep working, so only `done` can end such a run.
                if value.is_undefined() && state.done_form.get() {
                    return Ok(());
                }
                let json = to_json(&ctx, value);
                // `toJSON` is the code's own and may have called `done` meanwhile.
                if open(state) {
                    *state.done.borrow_mut() = Some(json);
                    state.settled_by_promise.set(true);
                }
                Ok(())
            })
        },
    )?;
    let rejected = building.function(
        |ctx: Ctx<'js>, reason: Opt<Value<'js>>| -> rquickjs::Result<()> {
            with_current(&ctx, |current| {
                let state = &current.state;
                if state.abort.get().is_some() {
                    return Ok(());
                }
                let reason = reason
                    .0
                    .unwrap_or_else(|| Value::new_undefined(ctx.clone()));
                let described = describe_thrown(&ctx, &reason);
                if state.abort.get().is_some() {
                    return Ok(());
                }
                if state.done.borrow().is_some() {
                    // `done` gave the result; the failure still deserves its author's eyes,
                    // as an exception thrown after `done` does.
                    state.log(
                        LogLevel::Error,
                        format!(
                            "the promise the endpoint returned was rejected after done(): {}",
                            with_stack(described.message, described.stack)
                        ),
                        true,
                    );
                    return Ok(());
                }
                let failure = thrown_failure(state, described.clone());
                if failure.kind == FailureKind::Exception {
                    state.log(
                        LogLevel::Error,
                        format!(
                            "the promise the endpoint returned was rejected: {}",
                            with_stack(described.message, described.stack)
                        ),
                        true,
                    );
                }
                *state.done.borrow_mut() = Some(Err(failure));
                state.settled_by_promise.set(true);
                Ok(())
            })
        },
    )?;
    Ok((fulfilled, rejected))
}

/// Whether the run's result is still to be decided.
fn open(state: &State) -> bool {
    state.abort.get().is_none() && state.done.borrow().is_none()
}
