//! Integration tests of the development servers, in one binary: the gateway
//! driven by bare clients, the S3 server's options, the `ms-utils-dev` binary.

#[cfg(all(feature = "gateway", feature = "s3", unix))]
mod dev_binary;
#[cfg(feature = "gateway")]
mod gateway;
#[cfg(feature = "s3")]
mod s3_server;
