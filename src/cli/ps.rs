//! `ocirun ps`: the processes running in a container, as runc shows them.

use crate::bail;
use crate::container::ps;
use crate::error::{Context, Result};
use ocirun_state_machine::StateRoot;
use std::collections::BTreeSet;

/// Display the processes running inside a container.
#[derive(clap::Args, Debug)]
pub struct Ps {
    /// Output format: table (the host's `ps` rows for the container) or json (its pids).
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// The container id.
    pub id: String,
    /// Options for `ps` (default: -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

impl Ps {
    pub fn run(&self, root: &StateRoot) -> Result<i32> {
        let pids = ps::pids(root, &self.id)?;
        if self.format == "json" {
            println!("{}", serde_json::to_string(&pids).expect("pids serialize"));
            return Ok(0);
        }
        let args: Vec<&str> = if self.ps_args.is_empty() {
            vec!["-ef"]
        } else {
            self.ps_args.iter().map(String::as_str).collect()
        };
        let output = std::process::Command::new("ps")
            .args(&args)
            .output()
            .context("running ps")?;
        if !output.status.success() {
            bail!(
                "ps {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let table = String::from_utf8_lossy(&output.stdout);
        print!("{}", keep_rows(&table, &pids.into_iter().collect())?);
        Ok(0)
    }
}

/// The header and the rows whose PID column is one of `pids`.
pub fn keep_rows(table: &str, pids: &BTreeSet<i32>) -> Result<String> {
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    let Some(column) = header.split_whitespace().position(|c| c == "PID") else {
        bail!("ps output has no PID column: {header:?}");
    };
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_header_and_the_container_rows() {
        let table = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 init\nroot 42 1 0 10:01 ? 00:00:00 sleep 5\n";
        let kept = keep_rows(table, &BTreeSet::from([42])).unwrap();
        assert_eq!(
            kept,
            "UID PID PPID C STIME TTY TIME CMD\nroot 42 1 0 10:01 ? 00:00:00 sleep 5\n"
        );
        assert!(keep_rows("USER COMMAND\n", &BTreeSet::new()).is_err());
    }
}
