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

use rquickjs::{Ctx, Object};

use crate::bytecode::compile_parts;
use crate::parts;
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
    parts::install_lib(building, SLOT, need)?;
    let ctx = building.ctx();
    for part in PARTS {
        if needed == b::ALL {
            for name in part.globals {
                parts::lazy_global(building, name, part.name, need)?;
            }
        } else if needed & part.flag != 0 {
            let lib = need(ctx, part.name)?;
            for name in part.globals {
                parts::define(ctx, name, lib.get(*name)?)?;
            }
        }
    }
    Ok(())
}

/// The realm's `lib` object with the named part loaded.
fn need<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Object<'js>> {
    let lib: Object = ctx.globals().get(SLOT)?;
    let index = PARTS.iter().position(|part| part.name == name);
    parts::load(ctx, &lib, name, index, compiled())?;
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
