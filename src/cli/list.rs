//! `ocirun list`: every container, as runc's table or JSON.

use crate::container::{self, ContainerState};
use crate::error::Result;
use ocirun_state_machine::StateRoot;

/// List the containers under --root.
#[derive(clap::Args, Debug)]
pub struct List {
    /// Output format: table or json.
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Print only the container ids.
    #[arg(short, long)]
    pub quiet: bool,
}

impl List {
    pub fn run(&self, root: &StateRoot) -> Result<i32> {
        let states = container::list(root)?;
        if self.quiet {
            for state in &states {
                println!("{}", state.id);
            }
        } else if self.format == "json" {
            // runc prints `null` for no containers; engines accept both.
            if states.is_empty() {
                println!("null");
            } else {
                println!(
                    "{}",
                    serde_json::to_string(&states).expect("states serialize")
                );
            }
        } else {
            print!("{}", table(&states));
        }
        Ok(0)
    }
}

/// runc's table: columns padded to the widest cell plus three spaces, at least 12 wide.
fn table(states: &[ContainerState]) -> String {
    let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
    let mut rows = vec![header.to_vec()];
    for s in states {
        rows.push(vec![
            s.id.clone(),
            s.pid.to_string(),
            s.status.to_string(),
            s.bundle.display().to_string(),
            s.created.clone(),
            s.owner.clone(),
        ]);
    }
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns - 1)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
                .saturating_add(3)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        for (c, cell) in row.iter().enumerate() {
            if c + 1 < columns {
                out.push_str(&format!("{cell:<width$}", width = widths[c]));
            } else {
                out.push_str(cell);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_is_the_header_padded_like_runc() {
        assert_eq!(
            table(&[]),
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
        );
    }
}
