//! `download_data`: download, parse, delete, against the development S3 server.

use crate::support::{BUCKET, Servers, within};
use ms_utils_encoding::download_data;
use serde_json::{Value, json};

#[tokio::test]
async fn download_data_returns_the_parsed_object_and_deletes_it() {
    let servers = Servers::start().await;
    let doc = json!({"chunks": ["a", "b"], "n": 2, "nested": {"ok": true}});
    servers
        .s3
        .upload_bytes(
            serde_json::to_vec(&doc).unwrap(),
            BUCKET,
            "tmp/doc.json",
            Default::default(),
        )
        .await
        .unwrap();
    let got: Value = within(
        "download",
        download_data(&servers.s3, BUCKET, "tmp/doc.json"),
    )
    .await
    .unwrap();
    assert_eq!(got, doc);
    assert!(servers.keys("tmp/").await.is_empty());
}

#[tokio::test]
async fn download_data_parses_into_a_typed_value() {
    let servers = Servers::start().await;
    servers
        .s3
        .upload_bytes(
            b"[[1.5, 2.0]]".to_vec(),
            BUCKET,
            "tmp/v.json",
            Default::default(),
        )
        .await
        .unwrap();
    let got: Vec<Vec<f32>> = within("download", download_data(&servers.s3, BUCKET, "tmp/v.json"))
        .await
        .unwrap();
    assert_eq!(got, vec![vec![1.5, 2.0]]);
}

#[tokio::test]
async fn an_object_that_is_not_json_is_an_error_and_stays() {
    let servers = Servers::start().await;
    servers
        .s3
        .upload_bytes(
            b"<html>".to_vec(),
            BUCKET,
            "tmp/bad.json",
            Default::default(),
        )
        .await
        .unwrap();
    let err = within(
        "download",
        download_data::<Value>(&servers.s3, BUCKET, "tmp/bad.json"),
    )
    .await
    .unwrap_err();
    assert!(err.is_malformed(), "{err:?}");
    assert_eq!(servers.keys("tmp/").await, ["tmp/bad.json"]);
}

#[tokio::test]
async fn a_missing_object_is_reported_as_missing() {
    let servers = Servers::start().await;
    let err = within(
        "download",
        download_data::<Value>(&servers.s3, BUCKET, "tmp/none.json"),
    )
    .await
    .unwrap_err();
    assert!(err.is_result_missing(), "{err:?}");
}
