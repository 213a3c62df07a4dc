//! runc commands that other issues bring: accepted by name, refused clearly.

use crate::error::{Error, Result};

/// Not implemented yet.
#[derive(clap::Args, Debug)]
pub struct NotImplemented {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    args: Vec<String>,
}

pub fn fail(command: &str) -> Result<i32> {
    Err(Error::new(format!("{command}: not implemented yet")))
}
