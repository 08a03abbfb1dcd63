//! Replays every saved fuzz input (`fuzz/corpus/<target>/`) through its target, so the corpus
//! guards against regressions on stable, without cargo-fuzz. A failure names the input file;
//! `cargo +nightly fuzz run <target> <file>` (from the repository root) reproduces it.

fn replay(target: &str, run: fn(&[u8])) {
    let files = kumo_fuzz::corpus(target);
    assert!(!files.is_empty(), "the {target} corpus is empty");
    for file in files {
        let data = std::fs::read(&file).expect("read corpus file");
        let result = std::panic::catch_unwind(|| run(&data));
        if let Err(panic) = result {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{target}: {} fails: {message}", file.display());
        }
    }
}

#[test]
fn query_sql_corpus() {
    replay("query_sql", kumo_fuzz::query_sql::run);
    kumo_fuzz::query_sql::release();
}

#[test]
fn router_corpus() {
    replay("router", kumo_fuzz::router::run);
    kumo_fuzz::router::release();
}

#[test]
fn verifier_corpus() {
    replay("verifier", kumo_fuzz::verifier::run);
}

#[test]
fn engine_run_corpus() {
    replay("engine_run", kumo_fuzz::engine_run::run);
}
