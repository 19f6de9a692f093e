//! Delimited listings ("folders"): the objects directly under a prefix and
//! the common prefixes one level below it, as boto3's
//! `list_objects_v2(Prefix=..., Delimiter="/")` returns them.

use std::fmt;

use super::client::S3BucketClient;
use super::error::Error;
use super::listing::{ObjectInfo, Pager, objects_of};

/// One page of a delimited listing, or all of them gathered by
/// [`S3BucketClient::list_folder`].
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// let listing = c.list_folder("bucket", "photos/", "/").await?;
/// for sub in &listing.prefixes { println!("{sub}"); }       // photos/2023/, photos/2024/
/// for obj in &listing.objects { println!("{}", obj.key); }  // photos/cover.jpg
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FolderListing {
    /// The common prefixes: each distinct key start up to and including the
    /// first delimiter after the prefix (`photos/2024/`), in key order.
    pub prefixes: Vec<String>,
    /// The objects whose key has no delimiter after the prefix, in key order.
    pub objects: Vec<ObjectInfo>,
}

/// A delimited listing read page by page (up to 1,000 entries, objects and
/// prefixes together, each), following continuation tokens. Made by
/// [`S3BucketClient::list_folder_pages`].
pub struct FolderPages {
    pager: Pager,
}

impl fmt::Debug for FolderPages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FolderPages")
            .field("bucket", &self.pager.bucket)
            .finish_non_exhaustive()
    }
}

impl FolderPages {
    /// The next page, `None` after the last one.
    ///
    /// # Cancellation safety
    /// Cancel-safe between pages: dropping the future before it completes
    /// loses at most the page being fetched, which the next call fetches again.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let mut pages = c.list_folder_pages("bucket", "", "/");
    /// while let Some(page) = pages.next_page().await {
    ///     let page = page?;
    ///     println!("{} folders, {} objects", page.prefixes.len(), page.objects.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next_page(&mut self) -> Option<Result<FolderListing, Error>> {
        let out = match self.pager.next().await? {
            Ok(out) => out,
            Err(e) => return Some(Err(e)),
        };
        let prefixes = out
            .common_prefixes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.prefix)
            .collect();
        Some(Ok(FolderListing {
            prefixes,
            objects: objects_of(out.contents),
        }))
    }
}

impl S3BucketClient {
    /// What is directly "in the folder" `prefix`: the objects whose key
    /// continues past `prefix` without `delimiter`, and the common prefixes
    /// (sub-folders) that lead further, following continuation tokens to the
    /// end. `prefix` is taken literally, as S3 does: `"photos/"` lists inside
    /// the folder `photos`, `"photos"` lists the folder `photos/` itself as a
    /// prefix (and `photos.txt`, `photos-old/`, ...); `""` lists the top level.
    /// An empty `delimiter` gives a flat listing (no prefixes).
    ///
    /// # Errors
    /// [`Error::NotFound`] for a missing bucket.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let top = c.list_folder("bucket", "", "/").await?;
    /// println!("top-level folders: {:?}", top.prefixes);
    /// # Ok(()) }
    /// ```
    pub async fn list_folder(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: &str,
    ) -> Result<FolderListing, Error> {
        let mut pages = self.list_folder_pages(bucket, prefix, delimiter);
        let mut all = FolderListing::default();
        while let Some(page) = pages.next_page().await {
            let page = page?;
            all.prefixes.extend(page.prefixes);
            all.objects.extend(page.objects);
        }
        Ok(all)
    }

    /// [`list_folder`](Self::list_folder) page by page, for folders too large
    /// to hold in memory.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let mut pages = c.list_folder_pages("bucket", "logs/", "/");
    /// while let Some(page) = pages.next_page().await {
    ///     for day in page?.prefixes { println!("{day}"); }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_folder_pages(&self, bucket: &str, prefix: &str, delimiter: &str) -> FolderPages {
        FolderPages {
            pager: Pager::new(
                self,
                bucket,
                Some(prefix).filter(|p| !p.is_empty()),
                Some(delimiter).filter(|d| !d.is_empty()),
            ),
        }
    }
}
