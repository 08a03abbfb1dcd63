//! Node's globals that Kii's runtime had and that need no host: `Buffer`, `URL`,
//! `URLSearchParams`, `TextEncoder`, `TextDecoder` (`js/node/*.js`, pure computation in the
//! realm). Like the optional built-ins, a realm gets them only when the code can reach them by
//! name (`verify::builtins`): code that names one gets its part loaded when the thread builds
//! the realm (so runs pay nothing), code that reaches the global object gets accessors that
//! load a part on first touch (so its runs pay only for what they use).
//!
//! Each part is `(function (lib) { … })`: it attaches its exports to the shared `lib` object
//! and reaches other parts through `lib.need(name)`.

use std::sync::OnceLock;

use rquickjs::function::Opt;
use rquickjs::object::Property;
use rquickjs::{Ctx, Exception, Function, Object, Value};

use crate::bytecode::{compile_parts, run_bytecode};
use crate::realm::Building;
use crate::verify::builtins as b;

struct Part {
    name: &'static str,
    source: &'static str,
    /// The flag in [`crate::verify::builtins`] that asks for it.
    flag: u32,
    globals: &'static [&'static str],
}

/// `text` comes first: the others need its UTF-8 coding.
const PARTS: &[Part] = &[
    Part {
        name: "text",
        source: include_str!("../js/node/text.js"),
        flag: b::TEXT_CODING,
        globals: &["TextEncoder", "TextDecoder"],
    },
    Part {
        name: "buffer",
        source: include_str!("../js/node/buffer.js"),
        flag: b::BUFFER,
        globals: &["Buffer"],
    },
    Part {
        name: "url",
        source: include_str!("../js/node/url.js"),
        flag: b::URL,
        globals: &["URL", "URLSearchParams"],
    },
];

const NODE_FLAGS: u32 = b::TEXT_CODING | b::BUFFER | b::URL;

/// Where a realm keeps its `lib` object (the reserved prefix: user code cannot name it).
const SLOT: &str = "__kii_node";
const LOADED: &str = "__loaded";

fn compiled() -> &'static Result<Vec<Vec<u8>>, String> {
    static COMPILED: OnceLock<Result<Vec<Vec<u8>>, String>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        compile_parts(
            PARTS
                .iter()
                .map(|part| (format!("node/{}.js", part.name), part.source)),
        )
    })
}

/// Compiles every part now rather than in the first run that needs one.
pub(crate) fn warm_up() -> Result<(), String> {
    compiled().as_ref().map(|_| ()).map_err(Clone::clone)
}

/// The optional built-ins the parts that `needed` asks for use themselves (`text` with any of
/// them: the others need it), added to `needed`.
pub(crate) fn with_builtins(needed: u32) -> u32 {
    if needed & NODE_FLAGS == 0 || needed == b::ALL {
        return needed;
    }
    static OWN: OnceLock<Vec<u32>> = OnceLock::new();
    let own = OWN.get_or_init(|| {
        PARTS
            .iter()
            .map(|part| crate::verify::builtins_of(part.source))
            .collect()
    });
    PARTS
        .iter()
        .zip(own)
        .filter(|(part, _)| part.name == "text" || needed & part.flag != 0)
        .fold(needed, |all, (_, builtins)| all | builtins)
}

/// Builds a realm's Node globals (see the module's comment); nothing when it needs none.
pub(crate) fn install<'js>(building: &Building<'js>, needed: u32) -> rquickjs::Result<()> {
    if needed & NODE_FLAGS == 0 {
        return Ok(());
    }
    let ctx = building.ctx();
    let globals = ctx.globals();
    let lib = Object::new(ctx.clone())?;
    lib.set(LOADED, Object::new(ctx.clone())?)?;
    let need_fn = building.function(
        |ctx: Ctx<'js>, name: Opt<String>| -> rquickjs::Result<Object<'js>> {
            need(&ctx, &name.0.unwrap_or_default())
        },
    )?;
    lib.set("need", need_fn)?;
    globals.prop(SLOT, Property::from(lib))?;
    for part in PARTS {
        if needed == b::ALL {
            for name in part.globals {
                let (part_name, getter_name, setter_name) = (part.name, *name, *name);
                building.accessor(
                    &globals,
                    name,
                    move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
                        let value: Value = need(&ctx, part_name)?.get(getter_name)?;
                        // From now on a plain global: later reads cost nothing.
                        define(&ctx, getter_name, value.clone())?;
                        Ok(value)
                    },
                    move |ctx: Ctx<'js>, value: Value<'js>| -> rquickjs::Result<()> {
                        define(&ctx, setter_name, value)
                    },
                )?;
            }
        } else if needed & part.flag != 0 {
            let lib = need(ctx, part.name)?;
            for name in part.globals {
                define(ctx, name, lib.get(*name)?)?;
            }
        }
    }
    Ok(())
}

fn define<'js>(ctx: &Ctx<'js>, name: &str, value: Value<'js>) -> rquickjs::Result<()> {
    ctx.globals()
        .prop(name, Property::from(value).writable().configurable())
}

/// The realm's `lib` object with the named part loaded.
fn need<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Object<'js>> {
    let lib: Object = ctx.globals().get(SLOT)?;
    let loaded: Object = lib.get(LOADED)?;
    if loaded.get::<_, bool>(name).unwrap_or(false) {
        return Ok(lib);
    }
    let index = PARTS
        .iter()
        .position(|part| part.name == name)
        .ok_or_else(|| Exception::throw_internal(ctx, &format!("no Node part '{name}'")))?;
    let parts = compiled()
        .as_ref()
        .map_err(|message| Exception::throw_internal(ctx, message))?;
    // Marked first, so parts that need each other do not load each other forever.
    loaded.set(name, true)?;
    let install: Function = run_bytecode(ctx, &parts[index])?.get()?;
    install.call::<_, Value>((lib.clone(),))?;
    Ok(lib)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_compiles() {
        warm_up().unwrap();
    }

    #[test]
    fn every_global_has_its_flag() {
        for part in PARTS {
            for name in part.globals {
                assert_eq!(b::for_global(name), part.flag, "{name}");
            }
        }
    }
}
