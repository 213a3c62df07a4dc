//! The append-only journal file. Each line is `<crc32 as 8 lowercase hex> <record JSON>\n`.
//! A line is written with one `write`. A reader stops at the first line that is
//! incomplete, fails its checksum or does not parse: that is a tail torn by a crash, and
//! everything before it is trusted.
//!
//! Durability: what the journal guards against is a runtime killed at any instant. A
//! completed `write` is in the page cache, which outlives the process, and is seen by
//! every later reader, so no fsync is needed for that. A power loss is different, and
//! fsync would not help there either: it destroys every process, cgroup and mount the
//! journal describes, and after the reboot `delete --force` clears whatever directory is
//! left (a torn tail is ignored, a reused pid is told apart by its start time). runc and
//! crun do not sync their state either; on a disk-backed `--root` each fsync cost a disk
//! flush per record (see docs/benchmarks.md).

use crate::crc::crc32;
use crate::record::Record;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

pub const JOURNAL_FILE: &str = "journal";

/// Width of the checksum field: 8 hex digits, then one space.
const CHECKSUM_DIGITS: usize = 8;

/// Encodes one record as a journal line (with its trailing newline).
///
/// # Panics
///
/// When the record cannot be represented as JSON, which only happens for a path that is
/// not UTF-8. Use [`try_encode`] where such paths can occur.
pub fn encode(record: &Record) -> Vec<u8> {
    match try_encode(record) {
        Ok(line) => line,
        Err(error) => panic!("journal record cannot be encoded: {error}"),
    }
}

/// Encodes one record as a journal line, or explains why it has no JSON form (a path that
/// is not UTF-8).
pub fn try_encode(record: &Record) -> Result<Vec<u8>, serde_json::Error> {
    // Compact JSON escapes control characters inside strings, so the only newline in the
    // line is the terminator.
    let json = serde_json::to_vec(record)?;
    let mut line = Vec::with_capacity(CHECKSUM_DIGITS + 1 + json.len() + 1);
    line.extend_from_slice(format!("{:08x} ", crc32(&json)).as_bytes());
    line.extend_from_slice(&json);
    line.push(b'\n');
    Ok(line)
}

/// Decodes as many whole, valid records as the bytes hold; never panics on any input.
pub fn decode(bytes: &[u8]) -> Vec<Record> {
    decode_valid_prefix(bytes).0
}

/// Like [`decode`], and also returns how many leading bytes those records span. A writer
/// truncates the journal to that length before appending, so its records are not hidden
/// behind a torn line that every reader stops at.
pub fn decode_valid_prefix(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut valid_len = 0;
    let mut rest = bytes;
    while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
        let Some(record) = decode_line(&rest[..newline]) else {
            break;
        };
        records.push(record);
        valid_len += newline + 1;
        rest = &rest[newline + 1..];
    }
    (records, valid_len)
}

/// One line without its newline; `None` when it is torn or corrupt.
fn decode_line(line: &[u8]) -> Option<Record> {
    if line.len() <= CHECKSUM_DIGITS || line[CHECKSUM_DIGITS] != b' ' {
        return None;
    }
    let (checksum, json) = (&line[..CHECKSUM_DIGITS], &line[CHECKSUM_DIGITS + 1..]);
    if parse_lowercase_hex(checksum)? != crc32(json) {
        return None;
    }
    serde_json::from_slice(json).ok()
}

/// Only the exact form the writer produces is accepted (no sign, no uppercase), so a
/// corrupted checksum field is never read as a different valid one.
fn parse_lowercase_hex(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &digit| {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        Some((value << 4) | u32::from(nibble))
    })
}

/// Appends one record with a single write. The file is opened with O_APPEND.
pub fn append(file: &mut File, record: &Record) -> io::Result<()> {
    append_all(file, std::slice::from_ref(record))
}

/// Appends several records with one write (each line still checksummed on its own, so a
/// torn write loses only a tail of them).
pub fn append_all(file: &mut File, records: &[Record]) -> io::Result<()> {
    let mut lines = Vec::new();
    for record in records {
        let line = try_encode(record)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        lines.extend_from_slice(&line);
    }
    // One write: with O_APPEND it lands at the end in one piece, and a crash can only
    // tear it, which decode detects.
    file.write_all(&lines)
}

/// Reads every valid record of the journal in `dir`. A missing file is `NotFound`.
pub fn read(dir: &Path) -> io::Result<Vec<Record>> {
    let bytes = std::fs::read(dir.join(JOURNAL_FILE))?;
    Ok(decode(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    fn commit(status: Status) -> Record {
        Record::Commit { status }
    }

    #[test]
    fn a_line_is_checksum_space_json_newline() {
        let line = encode(&commit(Status::Running));
        let json = br#"{"record":"commit","status":"running"}"#;
        let expected = format!(
            "{:08x} {}\n",
            crc32(json),
            std::str::from_utf8(json).unwrap()
        );
        assert_eq!(line, expected.as_bytes());
    }

    #[test]
    fn decodes_consecutive_lines() {
        let records = [commit(Status::Created), commit(Status::Running)];
        let bytes: Vec<u8> = records.iter().flat_map(encode).collect();
        assert_eq!(decode(&bytes), records);
        assert_eq!(decode_valid_prefix(&bytes).1, bytes.len());
    }

    #[test]
    fn stops_at_a_line_without_newline() {
        let mut bytes = encode(&commit(Status::Created));
        let first_len = bytes.len();
        let second = encode(&commit(Status::Running));
        bytes.extend_from_slice(&second[..second.len() - 1]);
        assert_eq!(decode(&bytes), [commit(Status::Created)]);
        assert_eq!(decode_valid_prefix(&bytes).1, first_len);
    }

    #[test]
    fn stops_at_a_bad_checksum_even_when_later_lines_are_good() {
        let mut bad = encode(&commit(Status::Created));
        bad[0] = if bad[0] == b'0' { b'1' } else { b'0' };
        let mut bytes = bad;
        bytes.extend(encode(&commit(Status::Running)));
        assert!(decode(&bytes).is_empty());
    }

    #[test]
    fn refuses_uppercase_checksums() {
        // A reason whose checksum has a hex letter in it, so uppercase differs.
        let (json, checksum) = (0..)
            .map(|n| format!(r#"{{"record":"abort","reason":"{n}"}}"#))
            .map(|json| {
                let checksum = crc32(json.as_bytes());
                (json, checksum)
            })
            .find(|(_, checksum)| {
                format!("{checksum:08x}").contains(|c: char| c.is_ascii_lowercase())
            })
            .unwrap();
        let lowercase = format!("{checksum:08x} {json}\n");
        let uppercase = format!("{checksum:08X} {json}\n");
        assert_eq!(decode(lowercase.as_bytes()).len(), 1);
        assert!(decode(uppercase.as_bytes()).is_empty());
    }

    #[test]
    fn garbage_is_not_a_record() {
        for bytes in [
            &b""[..],
            b"\n",
            b"00000000 \n",
            b"00000000 {}\n",
            b"\xff\xfe\xfd\n",
            b"zzzzzzzz {\"record\":\"abort\",\"reason\":\"\"}\n",
        ] {
            assert!(decode(bytes).is_empty(), "{bytes:?}");
        }
    }

    #[test]
    fn a_valid_checksum_over_invalid_utf8_is_not_a_record() {
        let json = b"{\"record\":\"abort\",\"reason\":\"\xff\"}";
        let mut line = format!("{:08x} ", crc32(json)).into_bytes();
        line.extend_from_slice(json);
        line.push(b'\n');
        assert!(decode(&line).is_empty());
    }

    #[test]
    fn append_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join(JOURNAL_FILE))
            .unwrap();
        append(&mut file, &commit(Status::Created)).unwrap();
        append_all(
            &mut file,
            &[commit(Status::Running), commit(Status::Stopped)],
        )
        .unwrap();
        assert_eq!(
            read(dir.path()).unwrap(),
            [
                commit(Status::Created),
                commit(Status::Running),
                commit(Status::Stopped)
            ]
        );
    }

    #[test]
    fn reading_a_missing_journal_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read(dir.path()).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_non_utf8_path_cannot_be_appended() {
        use crate::record::Resource;
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join(JOURNAL_FILE))
            .unwrap();
        let record = Record::Acquired {
            resource: Resource::File {
                path: OsStr::from_bytes(b"/tmp/\xff").into(),
            },
        };
        let error = append(&mut file, &record).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            std::fs::metadata(dir.path().join(JOURNAL_FILE))
                .unwrap()
                .len(),
            0
        );
    }
}
