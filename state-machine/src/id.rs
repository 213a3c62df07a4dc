use std::fmt;

/// A container id becomes a directory name under `--root`, so anything that could
/// escape it or collide with our own temporary names is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidId {
    pub id: String,
    pub reason: &'static str,
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid container id {:?}: {}", self.id, self.reason)
    }
}

impl std::error::Error for InvalidId {}

/// runc accepts `^[\w+-\.]+$` minus `.` and `..`; so do we, and we also refuse a leading
/// dot, which we keep for in-progress directories.
pub fn validate_id(id: &str) -> Result<(), InvalidId> {
    let bad = |reason| {
        Err(InvalidId {
            id: id.to_string(),
            reason,
        })
    };
    if id.is_empty() {
        return bad("it is empty");
    }
    if id.len() > 1024 {
        return bad("it is longer than 1024 bytes");
    }
    if id.starts_with('.') {
        return bad("it must not start with '.'");
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.');
    if !id.chars().all(allowed) {
        return bad("only letters, digits, '_', '+', '-' and '.' are allowed");
    }
    Ok(())
}
