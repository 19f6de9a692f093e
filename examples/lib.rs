//! Examples for `ms_utils`. This package has no library code of its own: each
//! example is a standalone program that depends only on `ms_utils`, so it can be
//! copied into a new service as it is.
//!
//! Examples are listed in the README as they land.
