//! `ms_utils`: the facade (under construction).
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "ws", feature = "s3"))]
pub use communication_utils;
#[cfg(feature = "encoding")]
pub use ms_utils_encoding as encoding_utils;
#[cfg(feature = "logging")]
pub use logging_lib;
