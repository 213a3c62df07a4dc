//! The one table of legal transitions. Every command consults [`plan`] before it
//! touches anything, so an illegal request fails without side effects.

use crate::status::Status;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a command asks of a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Create,
    Start,
    Kill,
    Delete {
        force: bool,
    },
    /// Freeze every process of a running container.
    Pause,
    /// Thaw a paused container.
    Resume,
    /// Change the resource limits of a live container (`update`).
    Update,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Start => "start",
            Operation::Kill => "kill",
            Operation::Delete { .. } => "delete",
            Operation::Pause => "pause",
            Operation::Resume => "resume",
            Operation::Update => "update",
        }
    }
}

/// A planned move: `from` is the status observed when the operation began (`None` when the
/// container does not exist yet), `through` the status reported while side effects run,
/// `to` the status committed when they succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub op: Operation,
    pub from: Option<Status>,
    pub through: Status,
    pub to: Status,
}

/// Why an operation is refused in the current status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IllegalTransition {
    pub op: Operation,
    pub current: Option<Status>,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.op, self.current) {
            (Operation::Create, Some(_)) => write!(f, "container already exists"),
            (_, None) => write!(f, "container does not exist"),
            (Operation::Delete { force: false }, Some(status)) => {
                write!(f, "cannot delete container that is not stopped: {status}")
            }
            (Operation::Start, Some(status)) => {
                write!(f, "cannot start a container that is {status} (only a created container can be started)")
            }
            (Operation::Kill, Some(status)) => {
                write!(f, "cannot kill a container that is {status}")
            }
            (Operation::Pause, Some(status)) => {
                write!(f, "cannot pause a container that is {status} (only a running container can be paused)")
            }
            (Operation::Resume, Some(status)) => {
                write!(
                    f,
                    "cannot resume a container that is {status} (it is not paused)"
                )
            }
            (Operation::Update, Some(status)) => {
                write!(f, "cannot update a container that is {status}")
            }
            (op, Some(status)) => write!(f, "cannot {} a container that is {status}", op.name()),
        }
    }
}

impl std::error::Error for IllegalTransition {}

/// The transition table. `current` is the status derived from the journal and the live
/// system (see [`crate::recovery::derive_status`]).
pub fn plan(op: Operation, current: Option<Status>) -> Result<Transition, IllegalTransition> {
    use Operation::*;
    use Status::*;
    let (through, to) = match (op, current) {
        (Create, None) => (Creating, Created),
        (Start, Some(Created)) => (Created, Running),
        // Kill does not move the container: its process dying does, and that is observed.
        (Kill, Some(s @ (Created | Running | Paused))) => (s, s),
        (Pause, Some(Running)) => (Running, Paused),
        (Resume, Some(Paused)) => (Paused, Running),
        // Limits change, the status does not.
        (Update, Some(s @ (Created | Running | Paused))) => (s, s),
        // runc deletes a created container without --force: nothing has run in it yet.
        (Delete { .. }, Some(Created | Stopped)) => (Stopped, Deleted),
        (Delete { force: true }, Some(_)) => (Stopped, Deleted),
        _ => return Err(IllegalTransition { op, current }),
    };
    Ok(Transition {
        op,
        from: current,
        through,
        to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_created_container_starts() {
        assert!(plan(Operation::Start, Some(Status::Created)).is_ok());
        for s in [Status::Creating, Status::Running, Status::Stopped] {
            assert!(plan(Operation::Start, Some(s)).is_err());
        }
        assert!(plan(Operation::Start, None).is_err());
    }

    #[test]
    fn running_needs_force_to_delete() {
        assert!(plan(Operation::Delete { force: false }, Some(Status::Running)).is_err());
        assert!(plan(Operation::Delete { force: true }, Some(Status::Running)).is_ok());
    }

    #[test]
    fn only_running_pauses_and_only_paused_resumes() {
        let pause = plan(Operation::Pause, Some(Status::Running)).unwrap();
        assert_eq!((pause.through, pause.to), (Status::Running, Status::Paused));
        let resume = plan(Operation::Resume, Some(Status::Paused)).unwrap();
        assert_eq!(
            (resume.through, resume.to),
            (Status::Paused, Status::Running)
        );
        for s in [
            Status::Creating,
            Status::Created,
            Status::Paused,
            Status::Stopped,
        ] {
            assert!(plan(Operation::Pause, Some(s)).is_err(), "pause from {s}");
        }
        for s in [
            Status::Creating,
            Status::Created,
            Status::Running,
            Status::Stopped,
        ] {
            assert!(plan(Operation::Resume, Some(s)).is_err(), "resume from {s}");
        }
        assert!(plan(Operation::Pause, None).is_err());
    }

    #[test]
    fn a_paused_container_can_be_killed_and_force_deleted_only() {
        assert!(plan(Operation::Kill, Some(Status::Paused)).is_ok());
        assert!(plan(Operation::Delete { force: true }, Some(Status::Paused)).is_ok());
        let refused = plan(Operation::Delete { force: false }, Some(Status::Paused)).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "cannot delete container that is not stopped: paused"
        );
        assert!(plan(Operation::Start, Some(Status::Paused)).is_err());
    }

    #[test]
    fn update_needs_a_live_container_and_keeps_its_status() {
        for s in [Status::Created, Status::Running, Status::Paused] {
            let t = plan(Operation::Update, Some(s)).unwrap();
            assert_eq!((t.through, t.to), (s, s));
        }
        let refused = plan(Operation::Update, Some(Status::Stopped)).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "cannot update a container that is stopped"
        );
        assert!(plan(Operation::Update, Some(Status::Creating)).is_err());
    }

    #[test]
    fn stopped_cannot_be_killed() {
        assert!(plan(Operation::Kill, Some(Status::Stopped)).is_err());
    }
}
