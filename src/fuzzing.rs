//! Entry points shared by the cargo-fuzz targets in fuzz/ and the seed replay test, so
//! both exercise exactly the same code.

/// Parses and validates a config.json; errors are fine, panics are not.
pub fn config(bytes: &[u8]) {
    if let Ok(spec) = crate::config::parse(bytes) {
        let _ = crate::config::validate(&spec, std::path::Path::new("/nonexistent-bundle"));
    }
}

pub fn sync_message(bytes: &[u8]) {
    let _ = crate::executors::sync::Message::decode(bytes);
}

/// NUL-separated words as an argument vector after the program name.
pub fn cli_args(bytes: &[u8]) {
    use clap::Parser;
    let words = bytes
        .split(|b| *b == 0)
        .map(|w| String::from_utf8_lossy(w).into_owned());
    let argv = std::iter::once("ocirun".to_string()).chain(words);
    let _ = crate::cli::Cli::try_parse_from(argv);
}
