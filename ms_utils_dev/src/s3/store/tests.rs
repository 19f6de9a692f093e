use super::*;

#[test]
fn only_plain_keys_are_handled_here() {
    assert_eq!(
        plain_relative_path("b", "dir/k.bin"),
        Some(PathBuf::from("b/dir/k.bin"))
    );
    for (bucket, key) in [
        ("b", ""),
        ("b", "../k"),
        ("b", "a/../k"),
        ("b", "./k"),
        ("b", "/k"),
        ("b", "dir/"),
        ("b", "k/."),
        ("b", "a/./k"),
        ("b", "a//k"),
        ("b", "a/.."),
        ("", "k"),
        ("a/b", "k"),
        ("..", "k"),
    ] {
        assert_eq!(plain_relative_path(bucket, key), None, "{bucket:?} {key:?}");
    }
}

#[test]
fn a_part_sent_twice_at_once_is_recorded_only_once_sent_alone() {
    let id = Uuid::new_v4();
    let key = (id, 1);
    let mut parts = Parts::default();
    parts.start(key);
    parts.finish(key, Some([1; 16]), None);
    assert_eq!(parts.md5.get(&key), Some(&[1; 16]));

    // Sent again: the old hash goes at once. Two at once: neither is
    // kept, whichever ends last.
    parts.start(key);
    assert_eq!(parts.md5.get(&key), None);
    parts.start(key);
    parts.finish(key, Some([2; 16]), None);
    parts.finish(key, Some([3; 16]), None);
    assert_eq!(parts.md5.get(&key), None);

    // A failed upload records nothing; one alone records again.
    parts.start(key);
    parts.finish(key, None, None);
    assert_eq!(parts.md5.get(&key), None);
    parts.start(key);
    parts.finish(key, Some([4; 16]), None);
    assert_eq!(parts.md5.get(&key), Some(&[4; 16]));

    parts.start((id, 2));
    parts.finish((id, 2), None, None);
    parts.forget(id);
    assert!(parts.md5.is_empty() && parts.running.is_empty() && parts.overlapped.is_empty());
}

#[test]
fn md5_hex_round_trips_and_refuses_other_text() {
    let md5 = Md5::checksum(b"abc");
    assert_eq!(hex(&md5), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(parse_md5(&hex(&md5)), Some(md5));
    assert_eq!(parse_md5("900150983cd24fb0d6963f7d28e17f7"), None);
    assert_eq!(parse_md5("zz0150983cd24fb0d6963f7d28e17f72"), None);
    assert_eq!(parse_md5("900150983cd24fb0d6963f7d28e17f72-2"), None);
    assert_eq!(parse_md5("+00150983cd24fb0d6963f7d28e17f72"), None);
}
