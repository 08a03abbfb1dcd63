//! The natives a realm is built with (see `realm.rs`: they are made only while a realm is
//! built, through [`Building`], and find the run they serve through [`with_current`]).

use rquickjs::function::{Opt, Rest};
use rquickjs::{Coerced, Ctx, Exception, Function, IntoJs, Object, Persistent, Value};

use super::awaiting::make_settlers;
use super::outcome::to_json;
use super::state::{call_host, with_current};
use crate::realm::{Building, Natives};
use crate::sdk;
use crate::{AppEnv, FailureKind, HostRequest, LogLevel};

/// Installs every native of a realm being built.
pub(super) fn install_natives<'js>(
    building: &Building<'js>,
    uses_sdk: bool,
) -> rquickjs::Result<Natives> {
    let ctx = building.ctx();
    let globals = ctx.globals();
    let hidden = |name: &str, value: Value<'js>| -> rquickjs::Result<()> {
        globals.prop(name, rquickjs::object::Property::from(value))
    };

    let counter = building.function(|ctx: Ctx<'js>| -> rquickjs::Result<()> {
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
    hidden(crate::verify::STEP_FN, counter.into_value())?;

    let console = Object::new(ctx.clone())?;
    for (name, level) in [
        ("log", LogLevel::Info),
        ("info", LogLevel::Info),
        ("debug", LogLevel::Debug),
        ("warn", LogLevel::Warn),
        ("error", LogLevel::Error),
    ] {
        let function = building.function(
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
        console.set(name, function)?;
    }
    globals.set("console", console)?;

    // The synchronous bridge the SDK is written against: `__kii_env`, `__kii_http`,
    // `__kii_fetch`. A realm for code that names no SDK global gets it only when the code
    // asks for the SDK through `context.getAppAdminContext()`.
    let env = Object::new(ctx.clone())?;
    let http = building.function(
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
    let fetch = building.function(
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
    let bridge = Bridge {
        env: Persistent::save(ctx, env.clone()),
        http: Persistent::save(ctx, http),
        fetch: Persistent::save(ctx, fetch),
    };
    if uses_sdk {
        bridge.install(ctx)?;
    }

    sdk::install(building, uses_sdk)?;

    let done = make_done(building)?;
    let (fulfilled, rejected) = make_settlers(building)?;
    let context_methods = context_methods(building, bridge)?;
    Ok(Natives::new(
        Persistent::save(ctx, done),
        [
            Persistent::save(ctx, fulfilled),
            Persistent::save(ctx, rejected),
        ],
        context_methods
            .into_iter()
            .map(|(name, method)| (name, Persistent::save(ctx, method)))
            .collect(),
        Persistent::save(ctx, env),
    ))
}

/// The bridge's globals, kept so a realm can be given them during a run (natives cannot be
/// made then).
pub(super) struct Bridge {
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
pub(super) fn set_env<'js>(
    ctx: &Ctx<'js>,
    natives: &Natives,
    app: &AppEnv,
) -> rquickjs::Result<()> {
    let env = natives.env.clone().restore(ctx)?;
    env.set("appID", app.app_id.as_str())?;
    env.set("appKey", app.app_key.as_str())?;
    env.set("baseURL", app.base_url.as_str())?;
    Ok(())
}

pub(super) fn host_request<'js>(
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

pub(super) fn response_object<'js>(
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
    building: &Building<'js>,
    bridge: Bridge,
) -> rquickjs::Result<Vec<(&'static str, Function<'js>)>> {
    let app_id = building
        .function(|ctx: Ctx<'js>| with_current(&ctx, |current| Ok(current.env.app_id.clone())))?;
    let app_key = building
        .function(|ctx: Ctx<'js>| with_current(&ctx, |current| Ok(current.env.app_key.clone())))?;
    let token = building.function(|ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
        match with_current(&ctx, |current| Ok(current.caller_token.clone()))? {
            Some(token) => token.as_str().into_js(&ctx),
            None => Ok(Value::new_null(ctx)),
        }
    })?;
    let admin = building.function(move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
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
    })?;
    Ok(vec![
        ("getAppID", app_id),
        ("getAppKey", app_key),
        ("getAccessToken", token),
        ("getAppAdminContext", admin),
    ])
}

/// The endpoint's second argument: a fresh object each run, with the realm's methods.
pub(super) fn make_context<'js>(
    ctx: &Ctx<'js>,
    natives: &Natives,
) -> rquickjs::Result<Object<'js>> {
    let context = Object::new(ctx.clone())?;
    for (name, method) in &natives.context_methods {
        context.set(*name, method.clone().restore(ctx)?)?;
    }
    Ok(context)
}

/// `done`: the first call gives the result; later ones are logged as warnings.
fn make_done<'js>(building: &Building<'js>) -> rquickjs::Result<Function<'js>> {
    building.function(
        |ctx: Ctx<'js>, value: Opt<Value<'js>>| -> rquickjs::Result<()> {
            with_current(&ctx, |current| {
                let state = &current.state;
                if state.done.borrow().is_some() {
                    let message = if state.settled_by_promise.get() {
                        "done() was called after the promise the endpoint returned had settled; \
                         the promise gave the result"
                    } else {
                        "done() was called more than once; only the first value is returned"
                    };
                    state.log(LogLevel::Warn, message.into(), true);
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

pub(super) fn format_args_for_log<'js>(ctx: &Ctx<'js>, args: &[Value<'js>]) -> String {
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
