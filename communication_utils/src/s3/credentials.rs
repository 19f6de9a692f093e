//! The credentials of a client given no keys: the standard AWS chain
//! (environment, profile files, web identity, container, instance
//! metadata), with its failure said in one line that names what was read,
//! and aws-config's own log lines of the search kept at `DEBUG` (a missing
//! credential is the error's to say, not a `WARN` block before it).

use std::fmt;
use std::sync::{Arc, Mutex};

use aws_config::Region;
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use tracing::instrument::WithSubscriber as _;

use crate::lock::lock;

/// The default chain, its failures naming the sources read.
#[derive(Debug)]
pub(crate) struct ChainNamingSources {
    chain: DefaultCredentialsChain,
    /// Whether `S3_ACCESS_KEY_ID` / `S3_SECRET_ACCESS_KEY` were read first
    /// (`from_env`) and not both set.
    s3_variables_read: bool,
}

impl ChainNamingSources {
    pub(crate) async fn new(
        region: Region,
        http: SharedHttpClient,
        s3_variables_read: bool,
    ) -> Self {
        let conf = ProviderConfig::default()
            .with_region(Some(region.clone()))
            .with_http_client(http);
        // The region given, not the default region chain (which asks the
        // instance metadata, and warns at length where there is none).
        let said = Arc::new(Mutex::new(Vec::new()));
        let chain = DefaultCredentialsChain::builder()
            .region(region)
            .configure(conf)
            .build()
            .with_subscriber(Collect(Arc::clone(&said)))
            .await;
        relog(&said);
        ChainNamingSources {
            chain,
            s3_variables_read,
        }
    }

    async fn credentials(&self) -> aws_credential_types::provider::Result {
        let said = Arc::new(Mutex::new(Vec::new()));
        let result = self
            .chain
            .provide_credentials()
            .with_subscriber(Collect(Arc::clone(&said)))
            .await;
        relog(&said);
        match result {
            Err(CredentialsError::CredentialsNotLoaded(_)) => Err(CredentialsError::not_loaded(
                NoCredentials::read_now(self.s3_variables_read),
            )),
            other => other,
        }
    }
}

impl ProvideCredentials for ChainNamingSources {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}

/// No source of the chain had credentials: what was read, in the chain's
/// order, with the values that say where (no secret among them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoCredentials {
    pub(crate) text: String,
}

impl NoCredentials {
    pub(crate) fn read_now(s3_variables_read: bool) -> Self {
        Self::from_env(s3_variables_read, |k| std::env::var(k).ok())
    }

    pub(crate) fn from_env(s3_variables_read: bool, var: impl Fn(&str) -> Option<String>) -> Self {
        let set = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        let mut read = Vec::new();
        if s3_variables_read {
            read.push("S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY".to_owned());
        }
        read.push("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY".to_owned());
        let profile = set("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
        let credentials_file =
            set("AWS_SHARED_CREDENTIALS_FILE").unwrap_or_else(|| "~/.aws/credentials".to_owned());
        let config_file = set("AWS_CONFIG_FILE").unwrap_or_else(|| "~/.aws/config".to_owned());
        read.push(format!(
            "the profile `{profile}` (AWS_PROFILE) in {credentials_file} \
             (AWS_SHARED_CREDENTIALS_FILE) and {config_file} (AWS_CONFIG_FILE)"
        ));
        read.push("web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)".to_owned());
        read.push(
            "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI)".to_owned(),
        );
        let imds_off =
            set("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        read.push(if imds_off {
            "EC2 instance metadata (off: AWS_EC2_METADATA_DISABLED)".to_owned()
        } else {
            "EC2 instance metadata".to_owned()
        });
        NoCredentials {
            text: format!(
                "no credentials found; read: {}. Set S3_ACCESS_KEY_ID and \
                 S3_SECRET_ACCESS_KEY (or S3ConfigBuilder::credentials), or one of these",
                read.join(", ")
            ),
        }
    }
}

impl fmt::Display for NoCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for NoCredentials {}

/// What the chain said, logged again at `DEBUG`.
fn relog(said: &Mutex<Vec<String>>) {
    let said = std::mem::take(&mut *lock(said));
    for line in &said {
        tracing::debug!(target: "ms_utils_communication::s3", "credential chain: {line}");
    }
}

/// A subscriber for the chain's search alone: keeps the text of its events
/// (aws-config's `WARN` lines among them), to be logged again at `DEBUG`.
struct Collect(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Collect {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::INFO
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = format!(
            "{} {}:",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Fields(&mut text));
        lock(&self.0).push(text);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        use fmt::Write as _;
        let _ = if field.name() == "message" {
            write!(self.0, " {value:?}")
        } else {
            write!(self.0, " {}={value:?}", field.name())
        };
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        use fmt::Write as _;
        let _ = if field.name() == "message" {
            write!(self.0, " {value}")
        } else {
            write!(self.0, " {}={value}", field.name())
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sources_read_are_named() {
        let env = |k: &str| match k {
            "AWS_PROFILE" => Some("ci".to_owned()),
            "AWS_EC2_METADATA_DISABLED" => Some("true".to_owned()),
            _ => None,
        };
        let text = NoCredentials::from_env(true, env).to_string();
        for part in [
            "S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
            "the profile `ci` (AWS_PROFILE) in ~/.aws/credentials",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "(off: AWS_EC2_METADATA_DISABLED)",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        let text = NoCredentials::from_env(false, |_| None).to_string();
        assert!(!text.contains("read: S3_ACCESS_KEY_ID"), "{text}");
        assert!(text.contains("the profile `default`"), "{text}");
    }
}
