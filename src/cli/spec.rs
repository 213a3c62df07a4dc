//! `ocirun spec`: write a starter config.json, as `runc spec` does.

use crate::bail;
use crate::error::{Context, Result};
use std::path::PathBuf;

/// Create a new specification file (config.json) in the bundle directory.
#[derive(clap::Args, Debug)]
pub struct Spec {
    /// Path to the bundle directory.
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    /// Generate a configuration for a rootless container.
    #[arg(long)]
    rootless: bool,
}

impl Spec {
    pub fn run(&self) -> Result<i32> {
        let path = self.bundle.join("config.json");
        if path.exists() {
            bail!("File {} exists. Remove it first", path.display());
        }
        let spec = crate::spec_template::default_spec(self.rootless);
        let text = serde_json::to_string_pretty(&spec).expect("spec serializes");
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(0)
    }
}
