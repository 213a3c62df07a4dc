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
use clap::Parser;
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

#[derive(Debug)]
pub enum Command {
    Spec(spec::Spec),
    Create(create::Create),
    Start(start::Start),
    Run(run::Run),
    State(state::State),
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

/// The subcommands for clap, each built only when it is the one used (`Command::defer`):
/// building every subcommand's arguments at each start cost ~0.2 ms, more than the rest
/// of parsing. What derive(Subcommand) would generate, with the deferral. `$about`
/// repeats the first line of the struct's doc comment, which the deferred part applies
/// too: the top-level help lists subcommands without building them.
macro_rules! subcommands {
    ($($name:literal $(alias $alias:literal)? => $variant:ident($args:ty, $about:literal)),* $(,)?) => {
        impl clap::Subcommand for Command {
            fn augment_subcommands(command: clap::Command) -> clap::Command {
                command$(.subcommand(
                    clap::Command::new($name)
                        .about($about)
                        $(.alias($alias))?
                        .defer(|c| <$args as clap::Args>::augment_args(c)),
                ))*
            }

            fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
                command$(.subcommand(
                    clap::Command::new($name)
                        .about($about)
                        $(.alias($alias))?
                        .defer(|c| <$args as clap::Args>::augment_args_for_update(c)),
                ))*
            }

            fn has_subcommand(name: &str) -> bool {
                matches!(name, $($name $(| $alias)?)|*)
            }
        }

        impl clap::FromArgMatches for Command {
            fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
                Self::from_arg_matches_mut(&mut matches.clone())
            }

            fn from_arg_matches_mut(
                matches: &mut clap::ArgMatches,
            ) -> Result<Self, clap::Error> {
                match matches.remove_subcommand() {
                    $(Some((name, mut sub)) if name == $name => Ok(Command::$variant(
                        <$args as clap::FromArgMatches>::from_arg_matches_mut(&mut sub)?.into(),
                    )),)*
                    Some((name, _)) => Err(clap::Error::raw(
                        clap::error::ErrorKind::InvalidSubcommand,
                        format!("unknown subcommand {name:?}"),
                    )),
                    None => Err(clap::Error::raw(
                        clap::error::ErrorKind::MissingSubcommand,
                        "a subcommand is required",
                    )),
                }
            }

            fn update_from_arg_matches(
                &mut self,
                matches: &clap::ArgMatches,
            ) -> Result<(), clap::Error> {
                *self = Self::from_arg_matches(matches)?;
                Ok(())
            }
        }

        /// Each subcommand's listed about, and the one its own doc comment gives it.
        #[cfg(test)]
        fn listed_and_own_abouts() -> Vec<(&'static str, String, String)> {
            vec![$((
                $name,
                $about.to_string(),
                <$args as clap::Args>::augment_args(clap::Command::new($name))
                    .get_about()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
            )),*]
        }
    };
}

subcommands! {
    "spec" => Spec(spec::Spec, "Create a new specification file (config.json) in the bundle directory"),
    "create" => Create(create::Create, "Create a container from a bundle; its program runs at `start`"),
    "start" => Start(start::Start, "Execute the user-defined process in a created container"),
    "run" => Run(run::Run, "Create and run a container (create + start, then wait unless detached)"),
    "state" => State(state::State, "Output the state of a container"),
    "list" alias "ls" => List(list::List, "List the containers under --root"),
    "kill" => Kill(kill::Kill, "Send a signal (default SIGTERM) to the container's init"),
    "delete" => Delete(delete::Delete, "Delete a container and everything the runtime made for it"),
    "exec" => Exec(exec::Exec, "Execute a new process inside the container"),
    "ps" => Ps(ps::Ps, "Display the processes running inside a container"),
    "pause" => Pause(pause::Pause, "Suspend every process of a running container (the cgroup freezer)"),
    "resume" => Resume(pause::Resume, "Resume every process of a paused container"),
    "update" => Update(update::Update, "Update the resource limits of a container. Flags override `--resources`"),
    "events" => Events(events::Events, "Display container events such as OOM notifications and resource usage statistics"),
    "checkpoint" => Checkpoint(unimplemented::NotImplemented, "Not implemented yet"),
    "restore" => Restore(unimplemented::NotImplemented, "Not implemented yet"),
    "features" => Features(features::Features, "Show the features this runtime implements (JSON)"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_subcommand_is_listed_with_its_own_about() {
        for (name, listed, own) in listed_and_own_abouts() {
            assert_eq!(
                listed, own,
                "{name}: the list in `subcommands!` says something else"
            );
        }
    }
}
