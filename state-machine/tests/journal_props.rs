//! The journal format under arbitrary content, truncation and corruption.

mod common;

use common::strategies::records;
use ocirun_state_machine::journal::{decode, decode_valid_prefix, encode};
use ocirun_state_machine::Record;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

fn encode_all(records: &[Record]) -> Vec<u8> {
    records.iter().flat_map(encode).collect()
}

/// How many whole lines lie in `bytes[..end]`, i.e. the index of the line holding byte
/// `end` of the journal.
fn lines_before(bytes: &[u8], end: usize) -> usize {
    bytes[..end].iter().filter(|&&b| b == b'\n').count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_record_round_trips(records in records()) {
        for record in &records {
            prop_assert_eq!(&decode(&encode(record)), std::slice::from_ref(record));
        }
        let bytes = encode_all(&records);
        prop_assert_eq!(decode_valid_prefix(&bytes), (records, bytes.len()));
    }

    #[test]
    fn a_line_is_one_checksummed_json_line(records in records()) {
        for record in &records {
            let line = encode(record);
            prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            prop_assert_eq!(line.last(), Some(&b'\n'));
            prop_assert!(line[..8].iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)));
            prop_assert_eq!(line[8], b' ');
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        let (decoded, valid_len) = decode_valid_prefix(&bytes);
        prop_assert!(valid_len <= bytes.len());
        // The valid prefix alone holds exactly the same records.
        prop_assert_eq!(decode(&bytes[..valid_len]), decoded);
    }

    #[test]
    fn garbage_after_a_journal_never_hides_it(
        records in records(),
        garbage in vec(any::<u8>(), 0..128),
    ) {
        let mut bytes = encode_all(&records);
        bytes.extend_from_slice(&garbage);
        let decoded = decode(&bytes);
        prop_assert!(decoded.len() >= records.len());
        prop_assert_eq!(&decoded[..records.len()], &records[..]);
    }

    #[test]
    fn a_torn_tail_loses_only_the_torn_record(records in records(), cut in any::<Index>()) {
        let bytes = encode_all(&records);
        let cut = cut.index(bytes.len() + 1);
        let whole_lines = lines_before(&bytes, cut);
        prop_assert_eq!(decode(&bytes[..cut]), &records[..whole_lines]);
    }

    #[test]
    fn a_flipped_byte_only_loses_records_from_its_line_on(
        records in records().prop_filter("something to corrupt", |r| !r.is_empty()),
        position in any::<Index>(),
        mask in 1..=255u8,
    ) {
        let mut bytes = encode_all(&records);
        let position = position.index(bytes.len());
        bytes[position] ^= mask;
        // Every record before the damaged line survives, and nothing that was not
        // written there ever appears.
        prop_assert_eq!(decode(&bytes), &records[..lines_before(&bytes, position)]);
    }
}
