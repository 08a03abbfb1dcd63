//! The fuzz targets' logic, one module per target, each a `run(&[u8])` that panics when the
//! input shows a bug. `fuzz/` (cargo-fuzz, nightly) calls them with generated inputs;
//! `tests/replay.rs` calls them with every saved input under `fuzz/corpus/<target>/`, so the
//! corpus is checked by the ordinary `cargo test --workspace` on stable.
//!
//! Each target keeps its expensive state (databases, a router, an engine) in a process-wide
//! value made on first use, so one fuzzing process or one replay test reuses it across inputs.

pub mod engine_run;
pub mod query_sql;
pub mod router;
pub mod verifier;

use std::path::PathBuf;

/// The saved inputs of `target`, sorted, from `fuzz/corpus/<target>/`.
pub fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no corpus at {}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// A multi-threaded runtime shared by the targets that talk to databases or the router.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}
