//! Container operations: each command's transition, from the state machine's point of
//! view (lock, check the table, journal) down to the executors that do the work.

pub mod cleanup;
pub mod conclude;
pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod facts;
pub mod foreground;
pub mod kill;
pub mod observe;
pub mod pause;
pub mod ps;
pub mod run;
pub mod start;
pub mod state;
pub mod update;

pub use create::{create, create_serving_terminal, CreateOptions, Created};
pub use delete::delete;
pub use events::events;
pub use exec::{exec, ExecRequest};
pub use kill::kill;
pub use pause::{pause, resume};
pub use run::run;
pub use start::start;
pub use state::{list, state, ContainerState};
pub use update::update;
