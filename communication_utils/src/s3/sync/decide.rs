//! Whether one file is copied: pure, the facts of both sides in, the
//! verdict out (the content hashes, when compared, are computed before).

use std::time::{SystemTime, UNIX_EPOCH};

use super::{SyncCompare, SyncReason};

/// What is known of one side's copy of a file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts {
    pub(crate) size: u64,
    pub(crate) modified: Option<SystemTime>,
}

/// The direction, which decides how times compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Way {
    /// Local files to the bucket: copied when the local file is newer.
    Up,
    /// The bucket to local files: copied when the times differ (the local
    /// file is given the object's time once downloaded).
    Down,
}

/// Whether the content equals the destination's, when it was compared:
/// `None` when it was not or could not be (then times decide).
pub(crate) type SameContent = Option<bool>;

/// The verdict for a file the destination may have: `Unchanged` or the
/// reason to copy it.
pub(crate) fn decide(
    way: Way,
    compare: SyncCompare,
    source: Facts,
    dest: Option<Facts>,
    same_content: SameContent,
) -> SyncReason {
    let Some(dest) = dest else {
        return SyncReason::New;
    };
    if source.size != dest.size {
        return SyncReason::SizeDiffers;
    }
    match compare {
        SyncCompare::SizeOnly => return SyncReason::Unchanged,
        SyncCompare::SizeAndEtag => match same_content {
            Some(true) => return SyncReason::Unchanged,
            Some(false) => return SyncReason::ContentDiffers,
            None => {}
        },
        SyncCompare::SizeAndTime => {}
    }
    let (Some(src), Some(dst)) = (seconds(source.modified), seconds(dest.modified)) else {
        // No time to compare: copying is the safe side.
        return SyncReason::TimeDiffers;
    };
    let copy = match way {
        Way::Up => src > dst,
        Way::Down => src != dst,
    };
    if copy {
        SyncReason::TimeDiffers
    } else {
        SyncReason::Unchanged
    }
}

/// Whole seconds since the epoch (S3 keeps `LastModified` to the second);
/// `None` for a time before it (then the file is copied).
pub(crate) fn seconds(t: Option<SystemTime>) -> Option<u64> {
    t?.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64, millis: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
    }

    fn facts(size: u64, modified: Option<SystemTime>) -> Facts {
        Facts { size, modified }
    }

    #[test]
    fn up_copies_what_is_new_resized_or_newer() {
        let c = SyncCompare::SizeAndTime;
        let up = |s, d| decide(Way::Up, c, s, d, None);
        assert_eq!(up(facts(1, at(10, 0)), None), SyncReason::New);
        assert_eq!(
            up(facts(1, at(10, 0)), Some(facts(2, at(20, 0)))),
            SyncReason::SizeDiffers
        );
        assert_eq!(
            up(facts(1, at(30, 0)), Some(facts(1, at(20, 0)))),
            SyncReason::TimeDiffers
        );
        // Uploaded after it was written: the object is newer.
        assert_eq!(
            up(facts(1, at(10, 0)), Some(facts(1, at(20, 0)))),
            SyncReason::Unchanged
        );
        // Written and uploaded within one second: the same second.
        assert_eq!(
            up(facts(1, at(20, 700)), Some(facts(1, at(20, 0)))),
            SyncReason::Unchanged
        );
        assert_eq!(
            up(facts(1, None), Some(facts(1, at(20, 0)))),
            SyncReason::TimeDiffers
        );
    }

    #[test]
    fn down_copies_on_any_time_difference() {
        let c = SyncCompare::SizeAndTime;
        let down = |s, d| decide(Way::Down, c, s, d, None);
        assert_eq!(
            down(facts(1, at(20, 0)), Some(facts(1, at(20, 900)))),
            SyncReason::Unchanged
        );
        assert_eq!(
            down(facts(1, at(20, 0)), Some(facts(1, at(30, 0)))),
            SyncReason::TimeDiffers
        );
        assert_eq!(
            down(facts(1, at(30, 0)), Some(facts(1, at(20, 0)))),
            SyncReason::TimeDiffers
        );
    }

    #[test]
    fn size_only_and_content_compare() {
        let s = facts(5, at(100, 0));
        let d = Some(facts(5, at(1, 0)));
        assert_eq!(
            decide(Way::Up, SyncCompare::SizeOnly, s, d, None),
            SyncReason::Unchanged
        );
        assert_eq!(
            decide(Way::Up, SyncCompare::SizeAndEtag, s, d, Some(true)),
            SyncReason::Unchanged
        );
        assert_eq!(
            decide(Way::Up, SyncCompare::SizeAndEtag, s, d, Some(false)),
            SyncReason::ContentDiffers
        );
        // Not comparable: the times decide.
        assert_eq!(
            decide(Way::Up, SyncCompare::SizeAndEtag, s, d, None),
            SyncReason::TimeDiffers
        );
        assert_eq!(
            decide(
                Way::Up,
                SyncCompare::SizeAndEtag,
                facts(4, at(1, 0)),
                d,
                Some(true)
            ),
            SyncReason::SizeDiffers
        );
    }
}
