use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::*;

fn chunk(job: &str, index: impl Into<Value>, max: impl Into<Value>, piece: &[u8]) -> Value {
    json!({"jobId": job, "index": index.into(), "max_index": max.into(),
           "chunk": STANDARD.encode(piece)})
}

fn buffer_chunk(job: &str, index: u64, max: u64, piece: &[u8]) -> Value {
    json!({"jobId": job, "index": index, "max_index": max,
           "chunk": {"type": "Buffer", "data": piece}})
}

/// The serialized `value` cut into `n` nearly equal pieces.
fn pieces_of(value: &Value, n: usize) -> Vec<Vec<u8>> {
    let bytes = serde_json::to_vec(value).unwrap();
    let size = bytes.len().div_ceil(n);
    bytes.chunks(size).map(<[u8]>::to_vec).collect()
}

fn limits(ttl: u64, max_job_bytes: usize, max_pending_jobs: usize) -> ChunkLimits {
    ChunkLimits {
        ttl: Duration::from_secs(ttl),
        max_job_bytes,
        max_pending_jobs,
        max_total_bytes: usize::MAX,
    }
}

fn sample() -> Value {
    json!({"event": "ms-task", "data": {"text": "héllo wörld ✓", "n": [1, 2, 3], "pad": "x".repeat(300)}})
}

#[test]
fn base64_pieces_in_order_reassemble() {
    let value = sample();
    let pieces = pieces_of(&value, 4);
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let now = Instant::now();
    for (i, p) in pieces.iter().enumerate().take(3) {
        assert_eq!(a.push(chunk("j", i as u64, 4, p), now).unwrap(), None);
    }
    assert_eq!(a.pending_jobs(), 1);
    assert!(a.pending_bytes() > 0);
    assert_eq!(
        a.push(chunk("j", 3, 4, &pieces[3]), now).unwrap(),
        Some(value)
    );
    assert_eq!(a.pending_jobs(), 0);
    assert_eq!(a.pending_bytes(), 0);
    assert_eq!(a.next_expiry(), None);
}

#[test]
fn node_buffer_pieces_and_mixed_forms_reassemble() {
    let value = sample();
    let pieces = pieces_of(&value, 3);
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let now = Instant::now();
    assert_eq!(
        a.push(buffer_chunk("b", 0, 3, &pieces[0]), now).unwrap(),
        None
    );
    assert_eq!(a.push(chunk("b", 1, 3, &pieces[1]), now).unwrap(), None);
    let last = a.push(buffer_chunk("b", 2, 3, &pieces[2]), now).unwrap();
    assert_eq!(last, Some(value));
}

#[test]
fn index_and_max_index_may_be_numeric_strings_or_integral_floats() {
    let value = sample();
    let pieces = pieces_of(&value, 3);
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let now = Instant::now();
    assert_eq!(a.push(chunk("s", "0", "3", &pieces[0]), now).unwrap(), None);
    assert_eq!(a.push(chunk("s", 1.0, 3, &pieces[1]), now).unwrap(), None);
    assert_eq!(
        a.push(chunk("s", " 2 ", 3.0, &pieces[2]), now).unwrap(),
        Some(value)
    );
}

#[test]
fn numeric_job_id_is_accepted() {
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let msg = json!({"jobId": 42, "index": 0, "max_index": 1, "chunk": STANDARD.encode("[1]")});
    assert_eq!(a.push(msg, Instant::now()).unwrap(), Some(json!([1])));
}

#[test]
fn unpadded_base64_is_accepted() {
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let msg = json!({"jobId": "p", "index": 0, "max_index": 1,
                     "chunk": STANDARD_NO_PAD.encode(br#"{"a":"bc"}"#)});
    assert_eq!(
        a.push(msg, Instant::now()).unwrap(),
        Some(json!({"a": "bc"}))
    );
}

#[test]
fn out_of_order_pieces_reassemble_in_index_order() {
    let value = sample();
    let pieces = pieces_of(&value, 7);
    let n = pieces.len() as u64;
    // A fixed shuffle that leaves gaps at several places.
    let order = [3usize, 6, 0, 5, 1, 4, 2];
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let now = Instant::now();
    let mut out = None;
    for (k, &i) in order.iter().enumerate() {
        out = a.push(chunk("o", i as u64, n, &pieces[i]), now).unwrap();
        assert_eq!(out.is_some(), k == order.len() - 1);
    }
    assert_eq!(out, Some(value));
    assert_eq!(a.pending_bytes(), 0);
}

#[test]
fn duplicates_are_ignored_and_do_not_complete_the_job_early() {
    let value = sample();
    let pieces = pieces_of(&value, 3);
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let now = Instant::now();
    a.push(chunk("d", 0, 3, &pieces[0]), now).unwrap();
    // The original counted this and would have "completed" after 3 messages.
    let dup = a.push(chunk("d", 0, 3, b"garbage"), now).unwrap_err();
    assert!(dup.is_duplicate());
    assert!(!dup.kills_job());
    assert_eq!(dup.job_id(), Some("d"));
    a.push(chunk("d", 2, 3, &pieces[2]), now).unwrap();
    let dup = a.push(chunk("d", 2, 3, &pieces[2]), now).unwrap_err();
    assert!(matches!(dup, ChunkDrop::Duplicate { index: 2, .. }));
    assert_eq!(a.pending_jobs(), 1);
    assert_eq!(
        a.push(chunk("d", 1, 3, &pieces[1]), now).unwrap(),
        Some(value)
    );
}

#[test]
fn index_at_or_past_max_index_drops_the_job() {
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let now = Instant::now();
    a.push(chunk("r", 0, 3, b"[1,"), now).unwrap();
    let err = a.push(chunk("r", 3, 3, b"2]"), now).unwrap_err();
    assert!(matches!(
        err,
        ChunkDrop::IndexOutOfRange {
            index: 3,
            max_index: 3,
            ..
        }
    ));
    assert!(err.kills_job());
    assert_eq!(a.pending_jobs(), 0);
    assert_eq!(a.pending_bytes(), 0);
    // A later chunk of that id starts afresh rather than completing the old job.
    assert_eq!(a.push(chunk("r", 1, 3, b"2,"), now).unwrap(), None);
}

#[test]
fn max_index_zero_is_out_of_range() {
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let err = a.push(chunk("z", 0, 0, b"1"), Instant::now()).unwrap_err();
    assert!(matches!(err, ChunkDrop::IndexOutOfRange { .. }));
}

#[test]
fn changed_max_index_drops_the_job() {
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let now = Instant::now();
    a.push(chunk("m", 0, 3, b"[1,"), now).unwrap();
    let err = a.push(chunk("m", 1, 2, b"2]"), now).unwrap_err();
    assert!(matches!(
        err,
        ChunkDrop::MaxIndexChanged { was: 3, now: 2, .. }
    ));
    assert!(err.kills_job());
    assert_eq!(a.pending_jobs(), 0);
    assert_eq!(a.pending_bytes(), 0);
}

#[test]
fn partial_jobs_expire_after_the_ttl() {
    let mut a = ChunkAssembler::new(limits(10, 1 << 20, 16));
    let t0 = Instant::now();
    a.push(chunk("old", 0, 2, b"[1"), t0).unwrap();
    a.push(chunk("new", 0, 2, b"[2"), t0 + Duration::from_secs(5))
        .unwrap();
    assert_eq!(a.next_expiry(), Some(t0 + Duration::from_secs(10)));
    assert!(a.expire(t0 + Duration::from_secs(9)).is_empty());
    assert_eq!(
        a.expire(t0 + Duration::from_secs(10)),
        vec!["old".to_string()]
    );
    assert_eq!(a.pending_jobs(), 1);
    assert_eq!(a.next_expiry(), Some(t0 + Duration::from_secs(15)));
    // A straggler of an expired job arriving before `expire` ran is refused too.
    let err = a
        .push(chunk("new", 1, 2, b"]"), t0 + Duration::from_secs(15))
        .unwrap_err();
    assert!(err.is_expired());
    assert!(err.kills_job());
    assert_eq!(a.pending_jobs(), 0);
    assert_eq!(a.pending_bytes(), 0);
}

#[test]
fn the_ttl_counts_from_the_first_chunk_not_the_latest() {
    let mut a = ChunkAssembler::new(limits(10, 1 << 20, 16));
    let t0 = Instant::now();
    a.push(chunk("j", 0, 3, b"[1,"), t0).unwrap();
    a.push(chunk("j", 1, 3, b"2,"), t0 + Duration::from_secs(8))
        .unwrap();
    assert_eq!(
        a.expire(t0 + Duration::from_secs(11)),
        vec!["j".to_string()]
    );
}

#[test]
fn a_job_over_the_byte_limit_is_dropped() {
    let mut a = ChunkAssembler::new(limits(60, 100, 16));
    let now = Instant::now();
    a.push(chunk("big", 0, 3, &[b' '; 60]), now).unwrap();
    let err = a.push(chunk("big", 1, 3, &[b' '; 41]), now).unwrap_err();
    assert!(matches!(err, ChunkDrop::TooManyBytes { limit: 100, .. }));
    assert!(err.kills_job());
    assert_eq!(a.pending_jobs(), 0);
    assert_eq!(a.pending_bytes(), 0);

    // Exactly at the limit is fine.
    let first = [b"\"".as_slice(), &[b'a'; 59]].concat();
    let second = [[b'a'; 39].as_slice(), b"\""].concat();
    a.push(chunk("fit", 0, 2, &first), now).unwrap();
    let out = a.push(chunk("fit", 1, 2, &second), now).unwrap();
    assert_eq!(out, Some(json!("a".repeat(98))));
}

#[test]
fn an_oversized_first_piece_or_buffer_is_refused_before_it_is_stored() {
    let mut a = ChunkAssembler::new(limits(60, 100, 16));
    let now = Instant::now();
    let err = a.push(chunk("b64", 0, 2, &[b' '; 1000]), now).unwrap_err();
    assert!(matches!(err, ChunkDrop::TooManyBytes { .. }));
    let err = a
        .push(buffer_chunk("buf", 1, 2, &[b' '; 1000]), now)
        .unwrap_err();
    assert!(matches!(err, ChunkDrop::TooManyBytes { .. }));
    assert_eq!(a.pending_jobs(), 0);
    assert_eq!(a.pending_bytes(), 0);
}

#[test]
fn early_pieces_count_against_the_byte_limit() {
    let mut a = ChunkAssembler::new(limits(60, 400, 16));
    let now = Instant::now();
    a.push(chunk("e", 2, 4, &[b' '; 100]), now).unwrap();
    a.push(chunk("e", 3, 4, &[b' '; 100]), now).unwrap();
    let err = a.push(chunk("e", 1, 4, &[b' '; 100]), now).unwrap_err();
    assert!(matches!(err, ChunkDrop::TooManyBytes { .. }));
    assert_eq!(a.pending_bytes(), 0);
}

#[test]
fn a_new_job_over_the_job_count_evicts_the_oldest_and_is_never_refused() {
    let mut a = ChunkAssembler::new(limits(60, 1 << 20, 2));
    let now = Instant::now();
    a.push(chunk("a", 0, 3, b"[1"), now).unwrap();
    a.push(chunk("b", 0, 2, b"[2"), now).unwrap();
    // "a" was touched last, but age is its first chunk's.
    a.push(chunk("a", 1, 3, b","), now).unwrap();
    a.push(chunk("c", 0, 3, b"[3"), now).unwrap();
    let evicted = a.take_evicted();
    assert!(
        matches!(&evicted[..], [ChunkDrop::Evicted { job_id, cause: Eviction::PendingJobs { limit: 2 }, held: 3 }] if job_id == "a"),
        "{evicted:?}"
    );
    assert!(evicted[0].kills_job());
    assert_eq!(
        evicted[0].reason(),
        ChunkDropReason::Evicted(Eviction::PendingJobs { limit: 2 })
    );
    assert!(a.take_evicted().is_empty(), "taken once");
    assert_eq!(a.pending_jobs(), 2);
    // A one-piece message never waits, so it evicts nothing.
    assert_eq!(a.push(chunk("d", 0, 1, b"4"), now).unwrap(), Some(json!(4)));
    assert!(a.take_evicted().is_empty());
    // The evicted job's next piece starts it afresh (as index 1 of 2: it waits).
    assert_eq!(
        a.push(chunk("b", 1, 2, b"]"), now).unwrap(),
        Some(json!([2]))
    );
    assert_eq!(a.push(chunk("c", 1, 3, b","), now).unwrap(), None);
    assert_eq!(
        a.push(chunk("c", 2, 3, b"3]"), now).unwrap(),
        Some(json!([3, 3]))
    );
}

#[test]
fn a_job_count_of_zero_lets_only_one_piece_messages_through() {
    let mut a = ChunkAssembler::new(limits(60, 1 << 20, 0));
    let now = Instant::now();
    let err = a.push(chunk("a", 0, 2, b"[1"), now).unwrap_err();
    assert!(matches!(err, ChunkDrop::Evicted { held: 0, .. }));
    assert_eq!(a.pending_jobs(), 0);
    assert_eq!(a.push(chunk("d", 0, 1, b"4"), now).unwrap(), Some(json!(4)));
}

#[test]
fn bytes_over_the_total_evict_the_oldest_jobs_until_the_rest_fit() {
    let mut a = ChunkAssembler::new(limits(60, 1000, 16).with_max_total_bytes(250));
    let now = Instant::now();
    for job in ["a", "b", "c"] {
        a.push(chunk(job, 0, 3, &[b' '; 80]), now).unwrap();
    }
    assert_eq!(a.pending_bytes(), 240);
    assert!(a.take_evicted().is_empty());
    // 100 more bytes for "c": 340 > 250, so "a" (80) then "b" (80) go.
    assert_eq!(a.push(chunk("c", 1, 3, &[b' '; 100]), now).unwrap(), None);
    let evicted: Vec<_> = a
        .take_evicted()
        .iter()
        .map(|d| d.job_id().unwrap().to_owned())
        .collect();
    assert_eq!(evicted, ["a", "b"]);
    assert_eq!(a.pending_bytes(), 180);
    assert_eq!(a.pending_jobs(), 1);
    // A new job's first piece may evict the job that is now the oldest.
    a.push(chunk("d", 0, 2, &[b' '; 100]), now).unwrap();
    let evicted = a.take_evicted();
    assert!(
        matches!(&evicted[..], [ChunkDrop::Evicted { job_id, held: 180, cause: Eviction::PendingBytes { limit: 250 } }] if job_id == "c")
    );
    assert_eq!(a.pending_bytes(), 100);
}

#[test]
fn the_oldest_job_goes_even_when_the_chunk_is_its_own() {
    let mut a = ChunkAssembler::new(limits(60, 1000, 16).with_max_total_bytes(250));
    let now = Instant::now();
    a.push(chunk("a", 0, 3, &[b' '; 100]), now).unwrap();
    a.push(chunk("b", 0, 3, &[b' '; 100]), now).unwrap();
    let err = a.push(chunk("a", 1, 3, &[b' '; 100]), now).unwrap_err();
    assert!(matches!(err, ChunkDrop::Evicted { ref job_id, held: 200, .. } if job_id == "a"));
    assert!(a.take_evicted().is_empty());
    assert_eq!(a.pending_jobs(), 1);
    assert_eq!(a.pending_bytes(), 100);
}

#[test]
fn eviction_records_are_bounded_when_nobody_takes_them() {
    let mut a = ChunkAssembler::new(limits(60, 1000, 1));
    let now = Instant::now();
    for i in 0..(MAX_EVICTION_RECORDS + 10) {
        a.push(chunk(&format!("j{i}"), 0, 2, b"["), now).unwrap();
    }
    let evicted = a.take_evicted();
    assert_eq!(evicted.len(), MAX_EVICTION_RECORDS);
    assert_eq!(
        evicted[0].job_id(),
        Some("j9"),
        "the oldest records went first"
    );
}

#[test]
fn a_huge_max_index_bomb_stays_bounded() {
    let mut a = ChunkAssembler::new(limits(60, 64 * 1024, 4));
    let now = Instant::now();
    let huge = u64::MAX / 2;
    // Nothing is sized by max_index: this must neither allocate nor panic.
    assert_eq!(
        a.push(chunk("bomb", huge - 1, huge, b"x"), now).unwrap(),
        None
    );
    assert!(a.pending_bytes() < 1024);
    // Empty pieces in order cost nothing to hold (only a counter moves)...
    for i in 0..10_000u64 {
        assert_eq!(a.push(chunk("bomb", i, huge, b""), now).unwrap(), None);
    }
    assert!(a.pending_bytes() < 1024);
    // ...while empty pieces ahead of a gap are charged their bookkeeping.
    let mut dropped = None;
    for i in 0..10_000u64 {
        if let Err(e) = a.push(chunk("bomb", 20_000 + 2 * i, huge, b""), now) {
            dropped = Some(e);
            break;
        }
    }
    assert!(matches!(dropped, Some(ChunkDrop::TooManyBytes { .. })));
    assert_eq!(a.pending_jobs(), 0);
    assert_eq!(a.pending_bytes(), 0);
}

#[test]
fn bad_base64_drops_the_job_and_leaves_nothing_behind() {
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let now = Instant::now();
    a.push(chunk("x", 0, 3, b"[1,"), now).unwrap();
    let bad = json!({"jobId": "x", "index": 1, "max_index": 3, "chunk": "!!not base64!!"});
    let err = a.push(bad, now).unwrap_err();
    assert!(matches!(
        err,
        ChunkDrop::BadPiece {
            index: 1,
            source: Some(_),
            ..
        }
    ));
    assert!(err.kills_job());
    assert_eq!(a.pending_jobs(), 0);
    assert_eq!(a.pending_bytes(), 0);
}

#[test]
fn bad_buffers_and_piece_types_are_bad_pieces() {
    let now = Instant::now();
    for piece in [
        json!({"type": "Buffer", "data": [1, 256]}),
        json!({"type": "Buffer", "data": [-1]}),
        json!({"type": "Buffer", "data": "AAAA"}),
        json!({"type": "Buffer"}),
        json!(17),
        json!([1, 2]),
        json!(true),
    ] {
        let mut a = ChunkAssembler::new(ChunkLimits::default());
        let msg = json!({"jobId": "x", "index": 0, "max_index": 2, "chunk": piece});
        let err = a.push(msg, now).unwrap_err();
        assert!(
            matches!(err, ChunkDrop::BadPiece { source: None, .. }),
            "{piece}"
        );
        assert_eq!(a.pending_jobs(), 0);
    }
}

#[test]
fn reassembled_bytes_that_are_not_utf8_are_reported() {
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let now = Instant::now();
    a.push(chunk("u", 0, 2, b"\"\xff"), now).unwrap();
    let err = a.push(chunk("u", 1, 2, b"\""), now).unwrap_err();
    assert!(matches!(err, ChunkDrop::NotUtf8 { .. }));
    assert_eq!(err.job_id(), Some("u"));
    assert_eq!(a.pending_jobs(), 0);
}

#[test]
fn a_utf8_character_split_across_pieces_is_fine() {
    let text = "✓".as_bytes();
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let now = Instant::now();
    a.push(chunk("s", 0, 3, &[b"\"", &text[..1]].concat()), now)
        .unwrap();
    a.push(chunk("s", 1, 3, &text[1..2]), now).unwrap();
    let out = a
        .push(chunk("s", 2, 3, &[&text[2..], b"\""].concat()), now)
        .unwrap();
    assert_eq!(out, Some(json!("✓")));
}

#[test]
fn reassembled_text_that_is_not_json_is_reported() {
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let now = Instant::now();
    a.push(chunk("n", 0, 2, b"{\"a\":"), now).unwrap();
    let err = a.push(chunk("n", 1, 2, b"oops"), now).unwrap_err();
    assert!(matches!(err, ChunkDrop::NotJson { .. }));
    assert_eq!(a.pending_jobs(), 0);
}

#[test]
fn missing_or_bad_fields_drop_only_the_message() {
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    let now = Instant::now();
    a.push(chunk("k", 0, 2, b"[1"), now).unwrap();
    let cases = [
        (
            json!({"index": 1, "max_index": 2, "chunk": "AA=="}),
            "jobId",
        ),
        (
            json!({"jobId": null, "index": 1, "max_index": 2, "chunk": "AA=="}),
            "jobId",
        ),
        (
            json!({"jobId": "k", "max_index": 2, "chunk": "AA=="}),
            "index",
        ),
        (
            json!({"jobId": "k", "index": -1, "max_index": 2, "chunk": "AA=="}),
            "index",
        ),
        (
            json!({"jobId": "k", "index": 0.5, "max_index": 2, "chunk": "AA=="}),
            "index",
        ),
        (
            json!({"jobId": "k", "index": "one", "max_index": 2, "chunk": "AA=="}),
            "index",
        ),
        (
            json!({"jobId": "k", "index": 1, "chunk": "AA=="}),
            "max_index",
        ),
        (
            json!({"jobId": "k", "index": 1, "max_index": [2], "chunk": "AA=="}),
            "max_index",
        ),
    ];
    for (msg, want) in cases {
        match a.push(msg, now) {
            Err(ChunkDrop::BadFields { field, .. }) => assert_eq!(field, want),
            other => panic!("{want}: {other:?}"),
        }
    }
    assert_eq!(a.pending_jobs(), 1);
    assert_eq!(
        a.push(chunk("k", 1, 2, b"]"), now).unwrap(),
        Some(json!([1]))
    );
}

#[test]
fn is_chunk_follows_the_original_test() {
    assert!(ChunkAssembler::is_chunk(&json!({"chunk": "x"})));
    assert!(ChunkAssembler::is_chunk(
        &json!({"chunk": {"type": "Buffer", "data": []}})
    ));
    assert!(ChunkAssembler::is_chunk(&json!({"chunk": 0})));
    assert!(!ChunkAssembler::is_chunk(&json!({"chunk": null})));
    assert!(!ChunkAssembler::is_chunk(&json!({"event": "ms-task"})));
    assert!(!ChunkAssembler::is_chunk(&json!("chunk")));
}

#[test]
fn chunk_messages_round_trip_for_many_sizes() {
    let now = Instant::now();
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    for len in [
        0usize, 1, 2, 3, 4, 5, 63, 64, 65, 1000, 4095, 4096, 4097, 100_000,
    ] {
        let value = json!({"event": "x", "blob": "é".repeat(len / 2) + &"a".repeat(len % 2)});
        let serialized_len = serde_json::to_vec(&value).unwrap().len();
        for piece in [1usize, 2, 3, 7, 1024, 65_536, 1 << 20] {
            if serialized_len / piece > 2000 {
                continue;
            }
            let msgs = chunk_messages("rt", &value, piece).unwrap();
            assert_eq!(msgs.len(), serialized_len.div_ceil(piece));
            let texts = chunk_texts("rt", &serde_json::to_vec(&value).unwrap(), piece).unwrap();
            assert_eq!(texts.len(), msgs.len());
            for (m, t) in msgs.iter().zip(&texts) {
                assert_eq!(&serde_json::from_str::<Value>(t).unwrap(), m);
            }
            let mut out = None;
            // Reverse order exercises the early-piece path as well.
            for (k, m) in msgs.into_iter().rev().enumerate() {
                assert!(ChunkAssembler::is_chunk(&m));
                out = a.push(m, now).unwrap();
                assert_eq!(
                    out.is_some(),
                    k == texts.len() - 1,
                    "len {len} piece {piece}"
                );
            }
            assert_eq!(out.as_ref(), Some(&value), "len {len} piece {piece}");
            assert_eq!(a.pending_bytes(), 0);
        }
    }
}

#[test]
fn chunk_texts_escape_the_job_id() {
    let texts = chunk_texts("a\"b", b"1", 10).unwrap();
    let v: Value = serde_json::from_str(&texts[0]).unwrap();
    assert_eq!(v["jobId"], "a\"b");
    assert_eq!(v["max_index"], 1);
}

#[test]
fn zero_piece_size_is_an_error() {
    assert!(matches!(
        chunk_messages("j", &json!(1), 0),
        Err(ChunkError::ZeroPieceSize)
    ));
    assert!(matches!(
        chunk_texts("j", b"1", 0),
        Err(ChunkError::ZeroPieceSize)
    ));
}

#[test]
fn debug_shows_totals_not_bytes() {
    let mut a = ChunkAssembler::new(ChunkLimits::default());
    a.push(chunk("secret-ish", 0, 2, b"\"SENSITIVE"), Instant::now())
        .unwrap();
    let dbg = format!("{a:?}");
    assert!(dbg.contains("pending_jobs: 1"), "{dbg}");
    assert!(!dbg.contains("SENSITIVE"));
}
