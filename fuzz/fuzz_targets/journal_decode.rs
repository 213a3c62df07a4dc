#![no_main]
//! The journal reader must never panic on any bytes found on disk.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ocirun_state_machine::journal::decode(data);
});
