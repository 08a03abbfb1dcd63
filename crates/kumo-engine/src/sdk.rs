//! The in-sandbox Kii SDK: JavaScript parts (`js/sdk/*.js`) compiled once per process and
//! loaded into a realm only when the code first touches one of their globals (the most used
//! ones are loaded when an engine thread builds the realm it keeps; see `realm.rs`).
//!
//! A realm cannot share bytecode with another (QuickJS binds functions to their realm), so
//! every realm that uses the SDK pays for reading what it loads; splitting the SDK keeps that to
//! the parts a run needs. Each part is `(function (sdk) { … })`: it receives the shared `sdk`
//! object, attaches its exports to it, and reaches other parts through `sdk.need(name)`.

use std::sync::OnceLock;

use rquickjs::{Ctx, Function, Object, Value};

use crate::bytecode::compile_parts;
use crate::parts;
use crate::realm::Building;

pub(crate) struct Part {
    pub name: &'static str,
    source: &'static str,
    pub globals: &'static [&'static str],
}

pub(crate) const PARTS: &[Part] = &[
    Part {
        name: "core",
        source: include_str!("../js/sdk/core.js"),
        globals: &[
            "Kii",
            "KiiAnonymousUser",
            "KiiAnyAuthenticatedUser",
            "KiiAppAdminContext",
        ],
    },
    Part {
        name: "servercode",
        source: include_str!("../js/sdk/servercode.js"),
        globals: &[
            "KiiServerCodeEntry",
            "KiiServerCodeExecResult",
            "KiiServerCodeEnvironmentVersion",
        ],
    },
    Part {
        name: "misc",
        source: include_str!("../js/sdk/misc.js"),
        globals: &["KiiErrorParser", "KiiGeoPoint", "KiiSite"],
    },
    Part {
        name: "users",
        source: include_str!("../js/sdk/users.js"),
        globals: &["KiiUser"],
    },
    Part {
        name: "groups",
        source: include_str!("../js/sdk/groups.js"),
        globals: &["KiiGroup"],
    },
    Part {
        name: "objects",
        source: include_str!("../js/sdk/objects.js"),
        globals: &["KiiBucket", "KiiObject"],
    },
    Part {
        name: "query",
        source: include_str!("../js/sdk/query.js"),
        globals: &["KiiQuery", "KiiClause"],
    },
    Part {
        name: "acl",
        source: include_str!("../js/sdk/acl.js"),
        globals: &["KiiACL", "KiiACLEntry", "KiiACLAction"],
    },
    Part {
        name: "things",
        source: include_str!("../js/sdk/things.js"),
        globals: &[
            "KiiThing",
            "KiiThingQuery",
            "KiiThingQueryResult",
            "KiiThingContext",
        ],
    },
    Part {
        name: "jquery",
        source: include_str!("../js/sdk/jquery.js"),
        globals: &["$", "jQuery"],
    },
];

/// Where a realm keeps its `sdk` object (the reserved prefix: user code cannot name it).
const SLOT: &str = "__kii_sdk";

fn compiled() -> &'static Result<Vec<Vec<u8>>, String> {
    static COMPILED: OnceLock<Result<Vec<Vec<u8>>, String>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        compile_parts(
            PARTS
                .iter()
                .map(|part| (format!("kii-sdk/{}.js", part.name), part.source)),
        )
    })
}

/// Compiles every part now rather than in the first run that needs it.
pub(crate) fn warm_up() -> Result<(), String> {
    compiled().as_ref().map(|_| ()).map_err(Clone::clone)
}

/// The optional built-ins the SDK's own code uses.
pub(crate) fn builtins() -> u32 {
    static BUILTINS: OnceLock<u32> = OnceLock::new();
    *BUILTINS.get_or_init(|| {
        PARTS
            .iter()
            .fold(0, |all, part| all | crate::verify::builtins_of(part.source))
    })
}

/// Builds a realm's SDK (see `realm.rs`): the `sdk` object with its loader and, when the
/// program may name SDK globals, an accessor per global that loads its part on first touch.
/// In such a realm the parts most runs use are loaded now, once, rather than in every run.
pub(crate) fn install<'js>(building: &Building<'js>, uses_sdk: bool) -> rquickjs::Result<()> {
    parts::install_lib(building, SLOT, need)?;
    if !uses_sdk {
        return Ok(());
    }
    for part in PARTS {
        for name in part.globals {
            parts::lazy_global(building, name, part.name, need)?;
        }
    }
    need(building.ctx(), PRELOADED)?;
    Ok(())
}

/// The part loaded into every SDK realm when it is built (with `core`, which it needs).
const PRELOADED: &str = "objects";

/// The realm's `sdk` object with `core` and the named part loaded.
pub(crate) fn need<'js>(ctx: &Ctx<'js>, part: &str) -> rquickjs::Result<Object<'js>> {
    let sdk: Object = ctx.globals().get(SLOT)?;
    load(ctx, &sdk, "core")?;
    load(ctx, &sdk, part)?;
    Ok(sdk)
}

fn load<'js>(ctx: &Ctx<'js>, sdk: &Object<'js>, name: &str) -> rquickjs::Result<()> {
    let index = PARTS.iter().position(|part| part.name == name);
    parts::load(ctx, sdk, name, index, compiled())
}

/// `context.getAppAdminContext()`: the SDK's admin context acting with `token`.
pub(crate) fn admin_context<'js>(ctx: &Ctx<'js>, token: String) -> rquickjs::Result<Value<'js>> {
    let make: Function = need(ctx, "core")?.get("__adminContext")?;
    make.call((token,))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sdk_global_belongs_to_one_part() {
        let mut names: Vec<&str> = PARTS
            .iter()
            .flat_map(|p| p.globals.iter().copied())
            .collect();
        names.sort_unstable();
        let mut expected = crate::verify::SDK_GLOBALS.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected);
    }

    #[test]
    fn every_part_compiles() {
        warm_up().unwrap();
    }
}
