//! Reading a bundle's config.json into the spec's types and checking what the schema
//! cannot express, so that a bad bundle fails before anything is created.

mod validate;

use crate::error::{Context, Error, Result};
use oci_spec::runtime::Spec;
use std::path::{Path, PathBuf};

pub use validate::validate;

/// A bundle whose config parsed and validated.
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    pub rootfs: PathBuf,
}

impl Bundle {
    pub fn load(dir: &Path) -> Result<Bundle> {
        let dir =
            std::fs::canonicalize(dir).with_context(|| format!("bundle {}", dir.display()))?;
        let config_path = dir.join("config.json");
        let bytes = std::fs::read(&config_path)
            .with_context(|| format!("reading {}", config_path.display()))?;
        let spec = parse(&bytes).map_err(|e| e.wrap(config_path.display()))?;
        let rootfs = validate(&spec, &dir).map_err(|e| e.wrap(config_path.display()))?;
        Ok(Bundle { dir, spec, rootfs })
    }
}

/// Parses config.json, naming the field that is wrong (`linux.namespaces[1].type: ...`).
pub fn parse(bytes: &[u8]) -> Result<Spec> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(Error::new(
            "invalid config: the top level must be a JSON object",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let spec: Spec = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let broken_json = matches!(
            inner.classify(),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof
        );
        match (broken_json, path.as_str()) {
            (true, _) => Error::new(format!("invalid JSON: {inner}")),
            (false, "." | "?" | "") => Error::new(format!("invalid config: {inner}")),
            (false, _) => Error::new(format!("{path}: {inner}")),
        }
    })?;
    Ok(spec)
}
