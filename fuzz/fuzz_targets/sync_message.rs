#![no_main]
//! The runtime/init sync message decoder must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ocirun::fuzzing::sync_message(data);
});
