//! Fuzzes the check of an import's body (the logical dump): any bytes are refused with a
//! reason or accepted as a whole, and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = svc_store::dump::check_body(body);
});
