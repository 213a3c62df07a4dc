//! The command line, with runc's command names, flags, defaults and exit codes. Each
//! subcommand is one documented clap struct in its own file with a `run` function that
//! calls into [`crate::container`].

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod unimplemented;
mod update;

use crate::error::{Error, Result};
use crate::logging::{self, Format};
use clap::{Parser, Subcommand};
use ocirun_state_machine::StateRoot;
use std::path::PathBuf;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// ocirun: run containers from OCI bundles (a drop-in for runc).
#[derive(Parser, Debug)]
#[command(name = "ocirun", disable_version_flag = true, about)]
pub struct Cli {
    /// Root directory for container state (tmpfs is best).
    #[arg(long, global = true, default_value = "/run/ocirun")]
    pub root: PathBuf,
    /// Write logs to this file instead of stderr.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long = "log-format", global = true, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Enable debug logging.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd for cgroups: the container's cgroup is a transient scope, and
    /// linux.cgroupsPath reads "slice:prefix:name".
    #[arg(long = "systemd-cgroup")]
    pub systemd_cgroup: bool,
    /// Rootless mode: true, false or auto (accepted for compatibility).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "VALUE")]
    pub rootless: Option<String>,
    /// Path to criu (accepted for compatibility).
    #[arg(long)]
    pub criu: Option<PathBuf>,
    /// Print the version.
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Spec(spec::Spec),
    Create(create::Create),
    Start(start::Start),
    Run(run::Run),
    State(state::State),
    #[command(alias = "ls")]
    List(list::List),
    Kill(kill::Kill),
    Delete(delete::Delete),
    Exec(exec::Exec),
    Ps(ps::Ps),
    Pause(pause::Pause),
    Resume(pause::Resume),
    Update(Box<update::Update>),
    Events(events::Events),
    Checkpoint(unimplemented::NotImplemented),
    Restore(unimplemented::NotImplemented),
    Features(features::Features),
}

/// The subcommands that re-execute from a read-only view before anything else (see
/// `sealed_binary`); `create` and `run` decide once they have read the bundle.
const ENTERS_CONTAINERS: [&str; 1] = ["exec"];

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    // Re-exec from the read-only view before parsing anything: the process that is
    // replaced should do no work, and parsing happens once, in the re-executed one. A
    // word that merely looks like such a subcommand (an id "run") costs one harmless
    // re-exec; `dispatch` checks again after parsing, so nothing is missed.
    if std::env::args_os()
        .skip(1)
        .any(|arg| ENTERS_CONTAINERS.iter().any(|c| arg == *c))
    {
        if let Err(error) = crate::executors::sealed_binary::ensure_running_sealed() {
            eprintln!("ocirun: {error}");
            return 1;
        }
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => {
            // --help and friends.
            let _ = error.print();
            return 0;
        }
        Err(error) => {
            // One line, as every other error: clap's first line, plus where to look.
            let rendered = error.render().to_string();
            let paragraph: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = paragraph.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            eprintln!("ocirun: {message} (see ocirun --help)");
            return 1;
        }
    };
    if cli.version {
        println!("ocirun version {VERSION}\nspec: {}", crate::SPEC_VERSION);
        return 0;
    }
    let format = if cli.log_format == "json" {
        Format::Json
    } else {
        Format::Text
    };
    if let Err(error) = logging::init(cli.log.as_deref(), format, cli.debug) {
        eprintln!(
            "ocirun: --log {}: {error}",
            cli.log.clone().unwrap_or_default().display()
        );
        return 1;
    }
    match dispatch(&cli) {
        Ok(code) => code,
        Err(error) => {
            if cli.log.is_some() {
                tracing::error!("{error}");
            }
            eprintln!("ocirun: {error}");
            1
        }
    }
}

fn dispatch(cli: &Cli) -> Result<i32> {
    let Some(command) = &cli.command else {
        use clap::CommandFactory;
        let _ = Cli::command().print_help();
        return Ok(0);
    };
    if matches!(command, Command::Exec(_)) {
        // It puts a process of ours into a container: never from the host's binary.
        crate::executors::sealed_binary::ensure_running_sealed()?;
    }
    let root = || StateRoot::open(&cli.root).map_err(Error::new);
    match command {
        Command::Spec(args) => args.run(),
        Command::Create(args) => args.run(&root()?, cli.systemd_cgroup),
        Command::Start(args) => args.run(&root()?),
        Command::Run(args) => args.run(&root()?, cli.systemd_cgroup),
        Command::State(args) => args.run(&root()?),
        Command::List(args) => args.run(&root()?),
        Command::Kill(args) => args.run(&root()?),
        Command::Delete(args) => args.run(&root()?),
        Command::Exec(args) => args.run(&root()?),
        Command::Ps(args) => args.run(&root()?),
        Command::Pause(args) => args.run(&root()?),
        Command::Resume(args) => args.run(&root()?),
        Command::Update(args) => args.run(&root()?),
        Command::Events(args) => args.run(&root()?),
        Command::Checkpoint(_) => unimplemented::fail("checkpoint"),
        Command::Restore(_) => unimplemented::fail("restore"),
        Command::Features(args) => args.run(),
    }
}
