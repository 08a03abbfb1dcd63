#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kumo_fuzz::router::run(data));
