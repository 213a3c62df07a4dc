//! CRC-32 (IEEE) for journal lines, so a torn or corrupted tail is detected.
//!
//! The reflected IEEE polynomial (as in zlib, PNG and Ethernet), computed with a table
//! built at compile time. A journal line is a few hundred bytes, so a byte-at-a-time
//! table is fast enough and keeps this free of dependencies.

/// The IEEE polynomial 0x04C11DB7, bit-reversed because the algorithm is reflected.
const POLYNOMIAL: u32 = 0xEDB8_8320;

/// The CRC of every byte value, so each input byte costs one lookup instead of 8 shifts.
const TABLE: [u32; 256] = build_table();

const fn build_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLYNOMIAL
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
}

pub fn crc32(bytes: &[u8]) -> u32 {
    let crc = bytes.iter().fold(!0u32, |crc, &byte| {
        TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8)
    });
    !crc
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn matches_the_standard_check_value() {
        // The check value every CRC-32/ISO-HDLC implementation publishes.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn known_vectors() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"a"), 0xE8B7_BE43);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn detects_every_single_byte_change() {
        let original = b"{\"record\":\"commit\",\"status\":\"running\"}".to_vec();
        let expected = crc32(&original);
        for position in 0..original.len() {
            for mask in 1..=255u8 {
                let mut corrupted = original.clone();
                corrupted[position] ^= mask;
                assert_ne!(crc32(&corrupted), expected, "at {position} with {mask:#x}");
            }
        }
    }
}
