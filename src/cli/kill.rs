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

/// A signal by number (1 to SIGRTMAX, real-time ones included), by name with or without
/// SIG in any case, or as RTMIN+N / RTMAX-N, as runc accepts them.
pub fn parse_signal(text: &str) -> Result<i32> {
    let unknown = || Error::new(format!("unknown signal {text:?}"));
    let in_range = |n: i32| {
        (1..=libc::SIGRTMAX())
            .contains(&n)
            .then_some(n)
            .ok_or_else(unknown)
    };
    if let Ok(number) = text.parse::<i32>() {
        return in_range(number);
    }
    let upper = text.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(offset) = bare.strip_prefix("RTMIN") {
        let offset: i32 = if offset.is_empty() {
            0
        } else {
            offset
                .strip_prefix('+')
                .and_then(|n| n.parse().ok())
                .ok_or_else(unknown)?
        };
        return in_range(libc::SIGRTMIN() + offset);
    }
    if let Some(offset) = bare.strip_prefix("RTMAX") {
        let offset: i32 = if offset.is_empty() {
            0
        } else {
            offset
                .strip_prefix('-')
                .and_then(|n| n.parse().ok())
                .ok_or_else(unknown)?
        };
        return in_range(libc::SIGRTMAX() - offset);
    }
    Signal::from_str(&format!("SIG{bare}"))
        .map(|s| s as i32)
        .map_err(|_| unknown())
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
        assert_eq!(parse_signal("9").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("KILL").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("sigterm").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("37").unwrap(), 37);
        assert_eq!(parse_signal("RTMIN+3").unwrap(), libc::SIGRTMIN() + 3);
        assert_eq!(parse_signal("SIGRTMAX-1").unwrap(), libc::SIGRTMAX() - 1);
        assert!(parse_signal("SIGNOPE").is_err());
        assert!(parse_signal("99").is_err());
        assert!(parse_signal("0").is_err());
    }
}
