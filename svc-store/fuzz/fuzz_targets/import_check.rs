//! Fuzzes the check of an import's body (the logical dump): any bytes are refused with a
//! reason or accepted as a whole, and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// One key for the whole run: drawing one per input would only slow the fuzzer.
static KEY: OnceLock<secret_seal::Key> = OnceLock::new();

fuzz_target!(|body: &[u8]| {
    let key = KEY.get_or_init(|| secret_seal::Key::generate().expect("a key"));
    let _ = svc_store::dump::check_body(body, key);
});
