//! `ocirun kill`: send a signal to a container.

use crate::container;
use crate::error::{Error, Result};
use nix::sys::signal::Signal;
use ocirun_state_machine::StateRoot;
use std::str::FromStr;

/// Send a signal (default SIGTERM) to the container's init.
#[derive(clap::Args, Debug)]
pub struct Kill {
    /// The container id.
    pub id: String,
    /// The signal: a name (KILL, SIGKILL, kill) or a number.
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
    /// Send the signal to every process of the container.
    #[arg(short, long)]
    pub all: bool,
}

pub fn parse_signal(text: &str) -> Result<Signal> {
    if let Ok(number) = text.parse::<i32>() {
        return Signal::try_from(number)
            .map_err(|_| Error::new(format!("unknown signal {text:?}")));
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| Error::new(format!("unknown signal {text:?}")))
}

impl Kill {
    pub fn run(&self, root: &StateRoot) -> Result<i32> {
        let signal = parse_signal(&self.signal)?;
        container::kill(root, &self.id, signal, self.all)?;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("KILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("sigterm").unwrap(), Signal::SIGTERM);
        assert!(parse_signal("SIGNOPE").is_err());
        assert!(parse_signal("99").is_err());
    }
}
