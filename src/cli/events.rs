//! `ocirun events`: resource usage and OOM notifications, as runc prints them.

use crate::container;
use crate::error::{Error, Result};
use ocirun_state_machine::StateRoot;
use std::time::Duration;

/// Display container events such as OOM notifications and resource usage statistics.
#[derive(clap::Args, Debug)]
pub struct Events {
    /// The container id.
    pub id: String,
    /// How often to print statistics (a Go duration: 5s, 500ms, 1m).
    #[arg(long, default_value = "5s")]
    pub interval: String,
    /// Print the statistics once and exit.
    #[arg(long)]
    pub stats: bool,
}

/// Go's duration syntax for the common units (runc's flag type).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad = || {
        Error::new(format!(
            "--interval {text:?}: expected a duration such as 5s or 500ms"
        ))
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .ok_or_else(bad)?;
    let (amount, unit) = text.split_at(split);
    let amount: f64 = amount.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "ns" => amount / 1e9,
        "us" | "µs" => amount / 1e6,
        "ms" => amount / 1e3,
        "s" => amount,
        "m" => amount * 60.0,
        "h" => amount * 3600.0,
        _ => return Err(bad()),
    };
    if seconds <= 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(seconds))
}

impl Events {
    pub fn run(&self, root: &StateRoot) -> Result<i32> {
        let interval = parse_duration(&self.interval)?;
        container::events(root, &self.id, interval, self.stats, &mut std::io::stdout())?;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
    }
}
