//! The user metadata an upload stores: the original's four keys and formats,
//! the caller's own keys, non-ASCII values, and the Content-Type.

use std::collections::HashMap;

use super::support::{MIB, TestS3, data};
use ms_utils_communication::s3::UploadOptions;
use ms_utils_communication::s3::metadata::decode_value;

/// `2024-05-01T12:34:56` or `2024-05-01T12:34:56.123456`, what Python's
/// `datetime.isoformat()` prints.
fn is_python_isoformat(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|x| x.iter().all(u8::is_ascii_digit))
    };
    let base = b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    base && (b.len() == 19 || (b.len() == 26 && b[19] == b'.' && digits(20..26)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_upload_stores_the_original_keys_and_the_callers() {
    let t = TestS3::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("report.json");
    std::fs::write(&src, data(MIB + MIB / 4, 1)).unwrap();
    let mut mine = HashMap::new();
    mine.insert("Owner".to_owned(), "team-a".to_owned());
    mine.insert("FileSize".to_owned(), "overridden?".to_owned());
    let before = mine.clone();

    t.client
        .upload_file(
            &src,
            &t.bucket,
            Some("docs/r.json"),
            UploadOptions::new().metadata(mine.clone()),
        )
        .await
        .unwrap();
    assert_eq!(mine, before, "the caller's map is not modified");

    let meta = t
        .client
        .get_file_metadata(&t.bucket, "docs/r.json")
        .await
        .unwrap();
    assert_eq!(meta.get("FileName"), Some("report.json"));
    assert_eq!(
        meta.get("FileSize"),
        Some("1.25 MB"),
        "the standard keys win, as in the original"
    );
    assert_eq!(meta.get("FileType"), Some("application/json"));
    assert_eq!(
        meta.content_type.as_deref(),
        Some("application/json"),
        "Content-Type = FileType"
    );
    assert_eq!(meta.get("Owner"), Some("team-a"));
    let created = meta.get("CreationTime").unwrap();
    assert!(is_python_isoformat(created), "{created}");
    assert!(
        meta.user.keys().all(|k| k == &k.to_ascii_lowercase()),
        "keys come back lower-case: {:?}",
        meta.user
    );
    assert_eq!(meta.content_length, (MIB + MIB / 4) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_ascii_names_and_values_are_encoded_not_rejected() {
    let t = TestS3::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("café.txt");
    std::fs::write(&src, b"au lait").unwrap();
    let mut mine = HashMap::new();
    mine.insert("author".to_owned(), "Zoë Ångström".to_owned());
    let up = t
        .client
        .upload_file(&src, &t.bucket, None, UploadOptions::new().metadata(mine))
        .await
        .unwrap();
    assert_eq!(up.key, "café.txt");

    let meta = t
        .client
        .get_file_metadata(&t.bucket, "café.txt")
        .await
        .unwrap();
    assert_eq!(meta.get("FileName"), Some("café.txt"));
    assert_eq!(meta.get("author"), Some("Zoë Ångström"));
    assert_eq!(meta.get("FileType"), Some("text/plain"));

    // What other clients see on the wire: an RFC 2047 word.
    let raw = t
        .client
        .sdk()
        .head_object()
        .bucket(&t.bucket)
        .key("café.txt")
        .send()
        .await
        .unwrap();
    let raw_name = &raw.metadata().unwrap()["filename"];
    assert!(raw_name.starts_with("=?UTF-8?B?"), "{raw_name}");
    assert_eq!(decode_value(raw_name), "café.txt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_upload_stores_size_type_and_time_without_a_name() {
    let t = TestS3::start().await;
    t.client
        .upload_bytes(vec![0u8; 2048], &t.bucket, "raw", UploadOptions::new())
        .await
        .unwrap();
    let meta = t.client.get_file_metadata(&t.bucket, "raw").await.unwrap();
    assert_eq!(
        meta.get("FileName"),
        None,
        "like a BytesIO upload in the original"
    );
    assert_eq!(meta.get("FileSize"), Some("0.00 MB"));
    assert_eq!(meta.get("FileType"), Some("application/octet-stream"));
    assert!(is_python_isoformat(meta.get("CreationTime").unwrap()));

    t.client
        .upload_bytes(
            b"a,b\n".to_vec(),
            &t.bucket,
            "t.csv",
            UploadOptions::new().content_type("text/csv"),
        )
        .await
        .unwrap();
    let meta = t
        .client
        .get_file_metadata(&t.bucket, "t.csv")
        .await
        .unwrap();
    assert_eq!(meta.get("FileType"), Some("text/csv"));
    assert_eq!(meta.content_type.as_deref(), Some("text/csv"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_uploads_keep_metadata_too() {
    let t = TestS3::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("movie.mp4");
    std::fs::write(&src, data(9 * MIB, 2)).unwrap();
    let up = t
        .client
        .upload_file(&src, &t.bucket, None, UploadOptions::new())
        .await
        .unwrap();
    assert!(up.parts > 1);
    let meta = t
        .client
        .get_file_metadata(&t.bucket, "movie.mp4")
        .await
        .unwrap();
    assert_eq!(meta.get("FileType"), Some("video/mp4"));
    assert_eq!(meta.get("FileSize"), Some("9.00 MB"));
    assert_eq!(meta.content_type.as_deref(), Some("video/mp4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_upload_stores_the_real_size_below_and_above_the_threshold() {
    let t = TestS3::start().await;
    let mut mine = HashMap::new();
    mine.insert("Owner".to_owned(), "team-b".to_owned());
    // (length, size hint): no hint below and above the 8 MiB threshold, and a
    // wrong hint above it; the stored FileSize is the real one in every case.
    let cases = [
        (3 * MIB, None, "3.00 MB"),
        (17 * MIB + MIB / 2, None, "17.50 MB"),
        (9 * MIB, Some(1u64), "9.00 MB"),
    ];
    for (i, (len, hint, expected)) in cases.into_iter().enumerate() {
        let bytes = data(len, 40 + i as u64);
        let key = format!("stream-{i}.csv");
        let up = t
            .client
            .upload_reader(
                std::io::Cursor::new(bytes.clone()),
                &t.bucket,
                &key,
                hint,
                UploadOptions::new()
                    .metadata(mine.clone())
                    .content_type("text/csv"),
            )
            .await
            .unwrap();
        assert_eq!(up.size, len as u64);
        assert_eq!(up.parts > 0, len >= 8 * MIB, "{len} bytes");
        let meta = t.client.get_file_metadata(&t.bucket, &key).await.unwrap();
        assert_eq!(
            meta.get("FileSize"),
            Some(expected),
            "{len} bytes, hint {hint:?}"
        );
        assert_eq!(meta.get("FileType"), Some("text/csv"));
        assert_eq!(meta.content_type.as_deref(), Some("text/csv"));
        assert_eq!(
            meta.get("Owner"),
            Some("team-b"),
            "caller's keys kept by the rewrite"
        );
        assert!(is_python_isoformat(meta.get("CreationTime").unwrap()));
        assert_eq!(meta.content_length, len as u64);
        let got = t
            .client
            .download_bytes(&t.bucket, &key, Default::default())
            .await
            .unwrap();
        assert!(got.as_ref() == bytes.as_slice(), "{len} bytes intact");
    }
    assert_eq!(t.open_multipart_uploads().await, 0);
}
