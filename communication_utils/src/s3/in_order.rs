//! The MD5 of a single-PUT object (its ETag) when the object is fetched as
//! parallel ranges into a file.
//!
//! An MD5 cannot be combined from the ranges' own hashes: it must see the
//! bytes in order. The ranges write into the temporary file, each one
//! telling a [`Frontier`] how many of its bytes have landed (whole buffers,
//! after their `write` returned); one thread reads the file back
//! from the start, range after range, as far as the bytes have landed, and
//! hashes it. The bytes are read from the page cache a moment after they
//! were written, so the cost is the MD5 itself (about 1.5–2 ms of CPU per MiB,
//! measured), which overlaps the download, plus whatever the last ranges leave
//! to hash when the network is done (kept small by staggering the sizes of
//! the first ranges, see `download::staggered_ranges`). Memory: one read
//! buffer; nothing is held back from out-of-order ranges.
//!
//! Not chosen: hashing the frames in memory in order, holding back those of
//! ranges ahead of the frontier. The ranges in flight all progress at about
//! the same pace, so nearly the whole window (`download_concurrency` ×
//! `download_part_size`, 128 MiB with the defaults) would be held, or, with
//! a bound, the ranges ahead would stall. Nor a pass over the finished file
//! before the rename: the whole MD5 (0.4–0.5 s per 256 MiB) would come after
//! the download instead of during it.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use super::error::Error;
use super::verify::Md5Hasher;

/// Bytes read from the file per step.
const READ_STEP: usize = 256 * 1024;

/// How far each range of a download has landed in the file.
#[derive(Debug)]
pub(crate) struct Frontier {
    state: Mutex<State>,
    moved: Condvar,
}

#[derive(Debug)]
struct State {
    /// Bytes of range `i` written to the file, from its start.
    landed: Vec<u64>,
    /// The download ended (failed or dropped): the hasher stops.
    stopped: bool,
}

impl Frontier {
    /// `ranges` ranges, none landed yet.
    pub(crate) fn new(ranges: usize) -> Self {
        Self {
            state: Mutex::new(State {
                landed: vec![0; ranges],
                stopped: false,
            }),
            moved: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::lock::lock(&self.state)
    }

    /// Range `index` has its first `bytes` bytes in the file.
    pub(crate) fn landed(&self, index: usize, bytes: u64) {
        if let Some(l) = self.lock().landed.get_mut(index) {
            *l = bytes;
        }
        self.moved.notify_all();
    }

    /// Wakes the hasher for good: the download will not finish.
    pub(crate) fn stop(&self) {
        self.lock().stopped = true;
        self.moved.notify_all();
    }

    /// Blocks until range `index` has more than `past` bytes in the file and
    /// returns how many; `None` once stopped.
    fn wait_past(&self, index: usize, past: u64) -> Option<u64> {
        let mut state = self.lock();
        loop {
            if state.stopped {
                return None;
            }
            let landed = state.landed.get(index).copied().unwrap_or(0);
            if landed > past {
                return Some(landed);
            }
            state = self
                .moved
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Stops the frontier when dropped: the download returned (with an error)
/// or its future was dropped, and the hasher thread must not wait for bytes
/// that will never land.
#[derive(Debug)]
pub(crate) struct StopOnDrop(pub(crate) Arc<Frontier>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Runs [`hash_in_order`] on a thread of its own, not on the runtime's
/// blocking pool: the download's file writes need the pool, and with a pool
/// of one thread the hasher waiting for their bytes would hold them. The
/// digest comes back through the receiver (closed if the thread panicked).
pub(crate) fn spawn(
    path: PathBuf,
    ranges: Vec<(u64, u64)>,
    frontier: Arc<Frontier>,
) -> Result<oneshot::Receiver<io::Result<[u8; 16]>>, Error> {
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("ms-utils-md5-in-order".into())
        .spawn(move || {
            // The receiver is gone when the download was dropped.
            let _ = tx.send(hash_in_order(&path, &ranges, &frontier));
        })
        .map_err(|e| Error::Task { cause: Box::new(e) })?;
    Ok(rx)
}

/// The MD5 of the file at `path`, `ranges` (inclusive, in order, tiling the
/// object from 0) read back as they land. Blocking: run it on a thread of
/// its own ([`spawn`]). An error of kind `Interrupted` when the frontier was
/// stopped.
pub(crate) fn hash_in_order(
    path: &Path,
    ranges: &[(u64, u64)],
    frontier: &Frontier,
) -> io::Result<[u8; 16]> {
    let mut file = std::fs::File::open(path)?;
    let mut md5 = Md5Hasher::default();
    let mut buf = vec![0u8; READ_STEP];
    for (index, &(start, end)) in ranges.iter().enumerate() {
        let len = end - start + 1;
        file.seek(SeekFrom::Start(start))?;
        let mut done = 0u64;
        while done < len {
            let landed = frontier
                .wait_past(index, done)
                .ok_or_else(|| io::Error::new(io::ErrorKind::Interrupted, "download stopped"))?
                .min(len);
            while done < landed {
                let n = usize::try_from(landed - done)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                let step = &mut buf[..n];
                file.read_exact(step)?;
                md5.update(step);
                done += n as u64;
            }
        }
    }
    Ok(md5.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::verify::md5;

    /// Ranges landing out of order, in pieces, from other threads: the hash
    /// is the whole file's.
    #[test]
    fn hashes_ranges_in_order_as_they_land() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let step = 700_000u64;
        let size = data.len() as u64;
        let ranges: Vec<(u64, u64)> = (0..size)
            .step_by(step as usize)
            .map(|s| (s, (s + step).min(size) - 1))
            .collect();
        let frontier = Arc::new(Frontier::new(ranges.len()));
        let hasher = {
            let (path, ranges, frontier) = (path.clone(), ranges.clone(), Arc::clone(&frontier));
            std::thread::spawn(move || hash_in_order(&path, &ranges, &frontier))
        };
        // Last range first, each in two halves.
        for (index, &(start, end)) in ranges.iter().enumerate().rev() {
            let len = end - start + 1;
            frontier.landed(index, len / 2);
            frontier.landed(index, len);
        }
        assert_eq!(hasher.join().unwrap().unwrap(), md5(&data));
    }

    #[test]
    fn stopping_ends_the_hasher() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [1u8; 100]).unwrap();
        let frontier = Arc::new(Frontier::new(2));
        let hasher = {
            let (path, frontier) = (path.clone(), Arc::clone(&frontier));
            std::thread::spawn(move || hash_in_order(&path, &[(0, 49), (50, 99)], &frontier))
        };
        frontier.landed(0, 50);
        drop(StopOnDrop(Arc::clone(&frontier)));
        let err = hasher.join().unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Interrupted);
    }
}
