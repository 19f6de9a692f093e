//! Examples for `ms_utils`. This package has no library code of its own: each
//! example is a standalone program that depends only on `ms_utils`, so it can be
//! copied into a new service as it is.
//!
//! Examples are listed in the README as they land.

// The repository README's code blocks are compiled as doctests here (this
// package is never published, so the README outside it may be included).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct RepositoryReadmeDoctests;
