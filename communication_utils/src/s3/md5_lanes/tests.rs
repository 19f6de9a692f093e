use bytes::Bytes;
use md5::{Digest, Md5};

use super::LaneHasher;

/// Deterministic bytes, different per stream.
fn content(stream: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(stream as u32) as u8
        })
        .collect()
}

/// Feeds the streams in interleaved pieces of varying sizes (so that
/// blocks straddle pieces) and checks every digest against `md-5`.
async fn check(lens: &[usize], piece: usize) {
    let hasher = LaneHasher::spawn().unwrap();
    let data: Vec<Vec<u8>> = lens
        .iter()
        .enumerate()
        .map(|(s, &n)| content(s, n))
        .collect();
    let mut lanes: Vec<_> = (0..lens.len()).map(|s| hasher.lane(s)).collect();
    let mut at = vec![0usize; lens.len()];
    let mut round = 0usize;
    while at.iter().zip(lens).any(|(a, n)| a < n) {
        for (s, lane) in lanes.iter_mut().enumerate() {
            let size = (piece + 37 * (round + s)) % (2 * piece + 1);
            let end = (at[s] + size).min(lens[s]);
            if end > at[s] {
                lane.update(Bytes::copy_from_slice(&data[s][at[s]..end]))
                    .await
                    .unwrap();
                at[s] = end;
            }
        }
        round += 1;
    }
    for (s, lane) in lanes.into_iter().enumerate() {
        let want: [u8; 16] = Md5::digest(&data[s]).into();
        assert_eq!(
            lane.finish().await.unwrap(),
            want,
            "stream {s} of {} bytes",
            lens[s]
        );
    }
}

#[tokio::test]
async fn short_streams_and_padding_edges() {
    check(&[0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128], 7).await;
}

#[tokio::test]
async fn more_streams_than_lanes_in_small_pieces() {
    check(&[5000, 4096, 3001, 64 * 50, 1, 777, 9000, 2048, 4095], 100).await;
}

#[tokio::test]
async fn streams_past_a_batch_in_large_pieces() {
    check(&[3 << 20, (2 << 20) + 13, 1 << 20, 100], 200_000).await;
}

#[tokio::test]
async fn a_stream_finished_before_the_others_start() {
    let hasher = LaneHasher::spawn().unwrap();
    let mut a = hasher.lane(0);
    a.update(Bytes::from_static(b"abc")).await.unwrap();
    let digest = a.finish().await.unwrap();
    assert_eq!(digest, <[u8; 16]>::from(Md5::digest(b"abc")));
    // An id never fed is the MD5 of nothing.
    let empty = hasher.lane(1).finish().await.unwrap();
    assert_eq!(empty, <[u8; 16]>::from(Md5::digest(b"")));
}
