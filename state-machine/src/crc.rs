//! CRC-32 (IEEE) for journal lines, so a torn or corrupted tail is detected.

pub fn crc32(bytes: &[u8]) -> u32 {
    todo!("{}", bytes.len())
}
