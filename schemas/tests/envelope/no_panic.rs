//! `decode` runs on untrusted bytes inside the pipeline, where a panic would
//! stop a worker and replay the same record forever: no input may panic it.

use proptest::prelude::*;

use crate::samples::{MAX, NOW, decode, envelopes};

/// Every sample's wire form, the seeds the mutations start from.
fn seeds() -> Vec<Vec<u8>> {
    envelopes().iter().map(|e| e.encode().unwrap()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes, NOW, MAX);
    }

    /// Random bytes rarely get past the JSON parser; edits of valid messages
    /// reach the header and payload checks.
    #[test]
    fn edited_messages_never_panic(
        seed in 0usize..11,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = seeds()[seed % 11].clone();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        let _ = decode(&bytes, NOW, MAX);
    }

    /// Well-formed JSON with arbitrary values in the header and payload fields.
    #[test]
    fn arbitrary_field_values_never_panic(
        seed in 0usize..11,
        field in "[a-z_]{1,16}",
        value in prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".{0,40}".prop_map(serde_json::Value::from),
        ],
        in_payload in any::<bool>(),
    ) {
        let mut v: serde_json::Value = serde_json::from_slice(&seeds()[seed % 11]).unwrap();
        let target = if in_payload { &mut v["payload"] } else { &mut v };
        target[field.as_str()] = value;
        let _ = decode(&serde_json::to_vec(&v).unwrap(), NOW, MAX);
    }
}

#[test]
fn pathological_inputs_are_rejected_quickly() {
    let deep = "[".repeat(1_000_000);
    assert_eq!(
        decode(deep.as_bytes(), NOW, usize::MAX).unwrap_err().kind,
        "malformed_json"
    );
    // Unknown fields are walked (for repeated keys inside them), so depth
    // there is refused at 128 levels like anywhere else, without recursing
    // further.
    let valid = envelopes()[4].encode().unwrap();
    let ignored = [
        b"{\"x\":".as_slice(),
        &b"[".repeat(100_000),
        &b"]".repeat(100_000),
        b",",
        &valid[1..],
    ]
    .concat();
    assert_eq!(
        decode(&ignored, NOW, usize::MAX).unwrap_err().kind,
        "too_deeply_nested"
    );
    let known = [
        b"{\"area\":".as_slice(),
        &b"[".repeat(100_000),
        &b"]".repeat(100_000),
        b",",
        &valid[1..],
    ]
    .concat();
    assert_eq!(
        decode(&known, NOW, usize::MAX).unwrap_err().kind,
        "too_deeply_nested"
    );
    let long_number = format!("{{\"x\":1{}", "0".repeat(1_000_000));
    assert!(decode(long_number.as_bytes(), NOW, usize::MAX).is_err());
}
