//! What the in-sandbox SDK (`sdk.rs`) and Node's globals (`node.rs`) share: Kumo's own
//! JavaScript, in parts compiled once per process, each `(function (lib) { … })` loaded into a
//! realm on its first need; a realm's `lib` object (under a reserved global) holds the loaded
//! parts' exports and `lib.need(name)`; a global can load its part on first touch.

use rquickjs::function::Opt;
use rquickjs::object::Property;
use rquickjs::{Ctx, Exception, Function, Object, Value};

use crate::bytecode::run_bytecode;
use crate::realm::Building;

/// Which parts a realm has loaded, kept on its `lib` object.
const LOADED: &str = "__loaded";

/// Loads a part by name into the realm and answers its `lib` object.
pub(crate) type Need = for<'js> fn(&Ctx<'js>, &str) -> rquickjs::Result<Object<'js>>;

/// Makes the realm's `lib` object, with nothing loaded and `lib.need(name)` calling `need`,
/// as the global `slot` (a reserved name: user code cannot reach it).
pub(crate) fn install_lib<'js>(
    building: &Building<'js>,
    slot: &str,
    need: Need,
) -> rquickjs::Result<()> {
    let ctx = building.ctx();
    let lib = Object::new(ctx.clone())?;
    lib.set(LOADED, Object::new(ctx.clone())?)?;
    let need_fn = building.function(
        move |ctx: Ctx<'js>, name: Opt<String>| -> rquickjs::Result<Object<'js>> {
            need(&ctx, &name.0.unwrap_or_default())
        },
    )?;
    lib.set("need", need_fn)?;
    ctx.globals().prop(slot, Property::from(lib))
}

/// Makes global `name` load `part` on its first read (and become a plain global then).
pub(crate) fn lazy_global<'js>(
    building: &Building<'js>,
    name: &'static str,
    part: &'static str,
    need: Need,
) -> rquickjs::Result<()> {
    building.accessor(
        &building.ctx().globals(),
        name,
        move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
            let value: Value = need(&ctx, part)?.get(name)?;
            // From now on a plain global: later reads cost nothing.
            define(&ctx, name, value.clone())?;
            Ok(value)
        },
        move |ctx: Ctx<'js>, value: Value<'js>| -> rquickjs::Result<()> {
            define(&ctx, name, value)
        },
    )
}

/// Sets a writable, configurable global.
pub(crate) fn define<'js>(ctx: &Ctx<'js>, name: &str, value: Value<'js>) -> rquickjs::Result<()> {
    ctx.globals()
        .prop(name, Property::from(value).writable().configurable())
}

/// Loads part `index` of `compiled` (named `name`) into the realm whose `lib` object is `lib`,
/// unless it is loaded already.
pub(crate) fn load<'js>(
    ctx: &Ctx<'js>,
    lib: &Object<'js>,
    name: &str,
    index: Option<usize>,
    compiled: &Result<Vec<Vec<u8>>, String>,
) -> rquickjs::Result<()> {
    let loaded: Object = lib.get(LOADED)?;
    if loaded.get::<_, bool>(name).unwrap_or(false) {
        return Ok(());
    }
    let index =
        index.ok_or_else(|| Exception::throw_internal(ctx, &format!("no part '{name}'")))?;
    let parts = compiled
        .as_ref()
        .map_err(|message| Exception::throw_internal(ctx, message))?;
    // Marked first, so parts that need each other do not load each other forever.
    loaded.set(name, true)?;
    let install: Function = run_bytecode(ctx, &parts[index])?.get()?;
    install.call::<_, Value>((lib.clone(),))?;
    Ok(())
}
