//! Realms built once per engine thread and kind, and put back after every run.
//!
//! Building a realm (and loading the SDK into it) and collecting it after the run cost several
//! times what a run itself does. Each engine thread instead keeps, per kind of realm (its
//! optional built-ins, and whether it has the SDK), a runtime in a [`Region`]: built once, with
//! the natives every run uses installed and the SDK's most used parts loaded, then saved. After
//! each run the region's saved bytes are copied back, which returns the runtime to exactly that
//! state: nothing a run created, changed or deleted survives it, so every run still starts in a
//! fresh realm.
//!
//! Two rules keep this sound, and the types keep them:
//! - Natives are created only while a realm is built, never during a run: a native owns Rust
//!   memory, and the run's copy of it would vanish with the restore without being released.
//!   Natives are made through a [`Building`], which only [`prepare`] makes, and which
//!   `natives_are_made_only_while_building` (below) checks is the only way they are made. They
//!   find the run they serve through [`crate::sandbox`]'s per-thread current run.
//! - Every native is also held from Rust ([`Natives::held`], filled by the [`Building`] that
//!   made them), so no run can free one (by deleting what refers to it) while the saved bytes
//!   still refer to it.

use std::cell::RefCell;
use std::collections::HashMap;

use rquickjs::function::IntoJsFunc;
use rquickjs::{Context, Ctx, Function, Object, Persistent, Runtime, Value};

use crate::region::Region;

/// Which realm a run needs: its optional built-ins and whether it uses the SDK.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Kind {
    pub builtins: u32,
    pub uses_sdk: bool,
}

/// The natives a run reaches from Rust, and every native installed in the realm.
pub(crate) struct Natives {
    pub done: Persistent<Function<'static>>,
    /// The reactions that end a run when the promise its endpoint returned settles.
    pub settle_fulfilled: Persistent<Function<'static>>,
    pub settle_rejected: Persistent<Function<'static>>,
    pub context_methods: Vec<(&'static str, Persistent<Function<'static>>)>,
    /// `__kii_env`: its values are the running app's, set at the start of each run.
    pub env: Persistent<Object<'static>>,
    /// Every native of the realm. Never read: holding them is the point.
    #[allow(dead_code)]
    held: Vec<Persistent<Value<'static>>>,
}

impl Natives {
    pub(crate) fn new(
        done: Persistent<Function<'static>>,
        settle: [Persistent<Function<'static>>; 2],
        context_methods: Vec<(&'static str, Persistent<Function<'static>>)>,
        env: Persistent<Object<'static>>,
    ) -> Natives {
        let [settle_fulfilled, settle_rejected] = settle;
        Natives {
            done,
            settle_fulfilled,
            settle_rejected,
            context_methods,
            env,
            held: Vec::new(),
        }
    }
}

/// A realm being built: the only way to make a native. Only [`prepare`] makes one, so no
/// native is made during a run, and it holds every native it makes for the realm's life.
pub(crate) struct Building<'js> {
    ctx: Ctx<'js>,
    held: RefCell<Vec<Persistent<Value<'static>>>>,
}

impl<'js> Building<'js> {
    pub(crate) fn ctx(&self) -> &Ctx<'js> {
        &self.ctx
    }

    /// A native function.
    pub(crate) fn function<P, F>(&self, f: F) -> rquickjs::Result<Function<'js>>
    where
        F: IntoJsFunc<'js, P> + 'js,
    {
        let function = Function::new(self.ctx.clone(), f)?;
        self.held
            .borrow_mut()
            .push(Persistent::save(&self.ctx, function.clone().into_value()));
        Ok(function)
    }

    /// A configurable accessor property `name` of `object` with native `get` and `set`.
    pub(crate) fn accessor<GP, G, SP, S>(
        &self,
        object: &Object<'js>,
        name: &str,
        get: G,
        set: S,
    ) -> rquickjs::Result<()>
    where
        G: IntoJsFunc<'js, GP> + 'js,
        S: IntoJsFunc<'js, SP> + 'js,
    {
        let descriptor = Object::new(self.ctx.clone())?;
        descriptor.set("get", self.function(get)?)?;
        descriptor.set("set", self.function(set)?)?;
        descriptor.set("configurable", true)?;
        let define: Function = self
            .ctx
            .globals()
            .get::<_, Object>("Object")?
            .get("defineProperty")?;
        define.call::<_, Value>((object.clone(), name, descriptor))?;
        Ok(())
    }
}

/// A runtime in its region, with its realm and natives, ready to run.
pub(crate) struct Prepared {
    // Dropped in this order: the natives and the realm before their runtime, the runtime
    // before the memory it lives in.
    pub natives: Natives,
    pub context: Context,
    pub runtime: Runtime,
    region: Region,
    /// The largest per-run memory limit the region has room for.
    room_for: usize,
    /// When it was last used, to drop the least recently used kind first.
    last_used: u64,
}

impl Prepared {
    /// The memory a run may hold, the realm's own included.
    pub(crate) fn limit_memory(&self, bytes: usize) {
        self.region.limit(bytes);
    }
}

/// Kinds of realm a thread keeps at most (each holds its saved bytes and its region's pages).
const KINDS_PER_THREAD: usize = 4;

thread_local! {
    static PREPARED: RefCell<HashMap<Kind, Prepared>> = RefCell::new(HashMap::new());
    static TICK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How a realm of a kind is built: its context with its intrinsics, then everything a run
/// needs (natives, SDK); the realm is saved right after.
pub(crate) struct Build {
    pub context: fn(&Runtime, Kind) -> rquickjs::Result<Context>,
    pub natives: for<'js> fn(&Building<'js>, Kind) -> rquickjs::Result<Natives>,
}

/// Runs `f` with this thread's prepared realm of `kind` (building it first if needed), then
/// returns the realm to its saved state.
pub(crate) fn with_prepared<R>(
    kind: Kind,
    memory_limit: usize,
    build: &Build,
    f: impl FnOnce(&Prepared) -> R,
) -> Result<R, String> {
    let kept = PREPARED.with(|cell| cell.borrow_mut().remove(&kind));
    let mut prepared = match kept {
        Some(prepared) if prepared.room_for >= memory_limit => prepared,
        _ => {
            make_room();
            prepare(kind, memory_limit, build)?
        }
    };
    prepared.last_used = TICK.with(|tick| {
        tick.set(tick.get() + 1);
        tick.get()
    });
    let in_use = InUse {
        kind,
        prepared: Some(prepared),
    };
    Ok(f(in_use.prepared.as_ref().expect("present until dropped")))
}

/// Drops the least recently used kinds until a new one fits.
fn make_room() {
    PREPARED.with(|cell| {
        let mut realms = cell.borrow_mut();
        while realms.len() >= KINDS_PER_THREAD {
            let oldest = realms
                .iter()
                .min_by_key(|(_, p)| p.last_used)
                .map(|(kind, _)| *kind)
                .expect("not empty");
            realms.remove(&oldest);
        }
    });
}

/// A realm out of the thread's map for a run. Dropping it, when the run returns or when a
/// panic unwinds through it, puts the saved state back and the realm in the map: a runtime is
/// never left (or dropped) in the middle of a run.
struct InUse {
    kind: Kind,
    prepared: Option<Prepared>,
}

impl Drop for InUse {
    fn drop(&mut self) {
        let Some(mut prepared) = self.prepared.take() else {
            return;
        };
        // SAFETY: the run is over, returned or unwound: every handle it made into the runtime
        // lived in its frames and was dropped with them.
        unsafe { prepared.region.restore() };
        let _ = PREPARED.try_with(|cell| cell.borrow_mut().insert(self.kind, prepared));
    }
}

fn prepare(kind: Kind, memory_limit: usize, build: &Build) -> Result<Prepared, String> {
    // Large blocks are rounded up to a power of two, so a run may need twice its limit.
    let room_for = memory_limit.max(64 << 20);
    let region =
        Region::reserve(room_for * 2 + (64 << 20)).ok_or("could not reserve memory for a realm")?;
    let runtime = Runtime::new_with_alloc(region.allocator()).map_err(|e| e.to_string())?;
    let context = (build.context)(&runtime, kind).map_err(|e| e.to_string())?;
    let natives = context
        .with(|ctx| {
            let building = Building {
                ctx,
                held: RefCell::new(Vec::new()),
            };
            let mut natives = (build.natives)(&building, kind)?;
            natives.held = building.held.into_inner();
            Ok::<_, rquickjs::Error>(natives)
        })
        .map_err(|e| e.to_string())?;
    // What building left behind goes now, so the saved state is only what runs need.
    runtime.run_gc();
    let mut prepared = Prepared {
        natives,
        context,
        runtime,
        region,
        room_for,
        last_used: 0,
    };
    prepared.region.take_snapshot();
    tracing::debug!(
        builtins = kind.builtins,
        sdk = kind.uses_sdk,
        bytes = prepared.region.snapshot_len(),
        "realm prepared"
    );
    Ok(prepared)
}

#[cfg(test)]
mod tests {
    /// Natives are made only through [`super::Building`]: nowhere else in the engine may a
    /// function or accessor be made from Rust.
    #[test]
    fn natives_are_made_only_while_building() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut offenders = Vec::new();
        let mut dirs = vec![src];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                if path.file_name().is_some_and(|n| n == "realm.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for needle in ["Function::new(", "Accessor::new", "Accessor::from"] {
                    if text.contains(needle) {
                        offenders.push(format!("{}: {needle}", path.display()));
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "natives made outside Building: {offenders:?}"
        );
    }
}
