#![no_main]
//! The argument parser must never panic: NUL-separated words become argv.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ocirun::fuzzing::cli_args(data);
});
