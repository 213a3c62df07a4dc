#![no_main]
//! config.json parsing and validation must never panic, whatever the bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ocirun::fuzzing::config(data);
});
