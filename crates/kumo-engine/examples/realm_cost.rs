//! What a fresh realm costs with different intrinsic sets (one thread, reused runtime).
use std::time::Instant;

use rquickjs::context::intrinsic;
use rquickjs::{Context, Runtime};

fn time(label: &str, n: u32, mut f: impl FnMut()) {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!(
        "{label:40} {:6.1} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}

fn main() {
    let rt = Runtime::new().unwrap();
    let n = 5000;
    time("Runtime::new + drop", n, || drop(Runtime::new().unwrap()));
    time("Context::full (reused runtime)", n, || {
        drop(Context::full(&rt).unwrap())
    });
    time("Context::full (fresh runtime)", n, || {
        let rt = Runtime::new().unwrap();
        drop(Context::full(&rt).unwrap());
    });
    time("Context::base", n, || drop(Context::base(&rt).unwrap()));
    time("base + Eval + Json + Promise", n, || {
        drop(
            Context::custom::<(intrinsic::Eval, intrinsic::Json, intrinsic::Promise)>(&rt).unwrap(),
        )
    });
    time("base + Eval+Json+Promise+Date+RegExp", n, || {
        drop(
            Context::custom::<(
                intrinsic::Eval,
                intrinsic::Json,
                intrinsic::Promise,
                intrinsic::Date,
                intrinsic::RegExpCompiler,
                intrinsic::RegExp,
            )>(&rt)
            .unwrap(),
        )
    });
    time("... + MapSet + Proxy + TypedArrays", n, || {
        drop(
            Context::custom::<(
                intrinsic::Eval,
                intrinsic::Json,
                intrinsic::Promise,
                intrinsic::Date,
                intrinsic::RegExpCompiler,
                intrinsic::RegExp,
                intrinsic::MapSet,
                intrinsic::Proxy,
                intrinsic::TypedArrays,
            )>(&rt)
            .unwrap(),
        )
    });
}
