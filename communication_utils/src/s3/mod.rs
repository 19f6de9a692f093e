//! The S3 bucket client (under construction).
