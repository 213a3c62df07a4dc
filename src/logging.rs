//! Logging as runc does it: `--log FILE` (stderr by default), `--log-format text|json`,
//! one line per event. Engines parse the JSON lines (`level`, `msg`, `time`) to report a
//! runtime's errors. A small hand-written subscriber keeps start-up cheap.

use crate::util::time::now_rfc3339_nanos;
use std::fmt::Write as _;
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

static LOG_FD: AtomicI32 = AtomicI32::new(-1);

/// The `--log` file's descriptor, which the container's init keeps (until exec) so it
/// can log its setup too.
pub fn log_fd() -> Option<RawFd> {
    let fd = LOG_FD.load(Ordering::Relaxed);
    (fd >= 0).then_some(fd)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

struct LineLogger {
    out: Mutex<Box<dyn Write + Send>>,
    format: Format,
    max_level: Level,
}

/// Installs the logger. Without `--log`, only warnings and errors (or everything with
/// `--debug`) go to stderr.
pub fn init(log: Option<&Path>, format: Format, debug: bool) -> std::io::Result<()> {
    let out: Box<dyn Write + Send> = match log {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            LOG_FD.store(file.as_raw_fd(), Ordering::Relaxed);
            Box::new(file)
        }
        None => Box::new(std::io::stderr()),
    };
    let max_level = if debug {
        Level::DEBUG
    } else if log.is_some() {
        Level::INFO
    } else {
        Level::WARN
    };
    let logger = LineLogger {
        out: Mutex::new(out),
        format,
        max_level,
    };
    let _ = tracing::subscriber::set_global_default(logger);
    Ok(())
}

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for LineLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max_level
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        let message = format!("{}{}", visitor.message, visitor.fields);
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        let time = now_rfc3339_nanos();
        let line = match self.format {
            Format::Json => {
                let record = serde_json::json!({ "level": level, "msg": message, "time": time });
                format!("{record}\n")
            }
            Format::Text => format!("time=\"{time}\" level={level} msg={message:?}\n"),
        };
        if let Ok(mut out) = self.out.lock() {
            let _ = out.write_all(line.as_bytes());
        }
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}
