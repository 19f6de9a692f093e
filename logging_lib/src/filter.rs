//! The level filter: a base level, then `RUST_LOG`, then the builder's (or,
//! at run time, the handle's) directives, each later one winning for the same
//! target, and a DEBUG cap on the targets that log secrets at TRACE.

use tracing::Level;
use tracing_subscriber::filter::{Directive, EnvFilter, LevelFilter};

use crate::error::{DirectiveOrigin, Error};

/// The environment variable read for directives.
pub(crate) const ENV_VAR: &str = "RUST_LOG";

/// Targets held at DEBUG when the default level is TRACE, unless a
/// directive names them: tungstenite logs the whole websocket handshake
/// request at TRACE, and the gateway's `?token=` is in its URI.
const CAPS: &str = "tungstenite=debug,tokio_tungstenite=debug";

/// Everything the filter is made of, kept so that the filter can be rebuilt
/// when one part changes at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterSpec {
    /// The level for targets no directive names.
    pub(crate) base: Level,
    /// The `RUST_LOG` directives read at setup, if any.
    pub(crate) env: Option<String>,
    /// The builder's directives, or the last ones given to the handle.
    pub(crate) directives: String,
    /// Which of the two `directives` came from, for errors.
    pub(crate) origin: DirectiveOrigin,
}

impl FilterSpec {
    /// The filter this spec describes.
    pub(crate) fn build(&self) -> Result<EnvFilter, Error> {
        build(
            self.base,
            self.env.as_deref(),
            &self.directives,
            self.origin,
        )
    }

    /// This spec with `level` as the default level for every target no
    /// directive names: the base level becomes `level`, and bare-level
    /// directives (`warn`), which would override it, are dropped. Directives
    /// naming targets are kept.
    pub(crate) fn with_level(&self, level: Level) -> Self {
        Self {
            base: level,
            env: self.env.as_deref().map(without_bare_levels),
            directives: without_bare_levels(&self.directives),
            origin: self.origin,
        }
    }

    /// Whether a directive names a span (`[ms_task]=debug`,
    /// `svc[req{id=7}]=trace`): only those make `EnvFilter` track spans. Every
    /// such directive has a `[`, and no target may, so the test errs only
    /// towards `true` (costing span calls a lock, never correctness).
    pub(crate) fn has_span_directives(&self) -> bool {
        self.env.as_deref().is_some_and(|env| env.contains('[')) || self.directives.contains('[')
    }

    /// This spec with `directives` in place of the builder's (or the previous
    /// handle call's), applied after `RUST_LOG` as at setup.
    pub(crate) fn with_directives(&self, directives: &str) -> Self {
        Self {
            directives: directives.to_owned(),
            origin: DirectiveOrigin::Handle,
            ..self.clone()
        }
    }
}

/// The filter for `base`, overridden by the `env` directives, overridden in
/// turn by the `directives` (which came from `origin`).
///
/// When the default level that results is TRACE, the [`CAPS`] directives are
/// added before the user's, so that a directive naming one of those targets
/// replaces the cap (later wins for the same target) and one naming a
/// module inside it wins there (more specific).
/// A cap rather than redacting lines: it costs nothing per line, and a
/// redactor could only guess at what a secret looks like.
pub(crate) fn build(
    base: Level,
    env: Option<&str>,
    directives: &str,
    origin: DirectiveOrigin,
) -> Result<EnvFilter, Error> {
    let mut filter = EnvFilter::default().add_directive(LevelFilter::from_level(base).into());
    let all = env.into_iter().chain([directives]).flat_map(pieces);
    // The last bare level (`trace`, `warn`, ...) is the default for every
    // target no directive names; an unparsable piece is reported below.
    let default = all
        .filter_map(|p| p.parse::<LevelFilter>().ok())
        .last()
        .unwrap_or(LevelFilter::from_level(base));
    if default > LevelFilter::DEBUG {
        // Fixed and valid: this cannot fail.
        filter = add_directives(filter, CAPS, DirectiveOrigin::Builder)?;
    }
    if let Some(env) = env {
        filter = add_directives(filter, env, DirectiveOrigin::Env)?;
    }
    add_directives(filter, directives, origin)
}

/// Adds each comma-separated directive in order, so that later ones replace
/// earlier ones for the same target.
fn add_directives(
    mut filter: EnvFilter,
    directives: &str,
    origin: DirectiveOrigin,
) -> Result<EnvFilter, Error> {
    for piece in pieces(directives) {
        let directive: Directive = piece.parse().map_err(|source| Error::InvalidDirective {
            directive: piece.to_owned(),
            origin,
            source: Box::new(source),
        })?;
        filter = filter.add_directive(directive);
    }
    Ok(filter)
}

/// `directives` without its bare levels (`warn`, `3`, `off`).
fn without_bare_levels(directives: &str) -> String {
    pieces(directives)
        .filter(|p| p.parse::<LevelFilter>().is_err())
        .collect::<Vec<_>>()
        .join(",")
}

/// The comma-separated pieces of a directive string, trimmed, blanks skipped.
fn pieces(directives: &str) -> impl Iterator<Item = &str> {
    directives
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    const B: DirectiveOrigin = DirectiveOrigin::Builder;

    #[test]
    fn env_directives_are_applied_before_builder_ones() {
        let filter = build(Level::INFO, Some("warn,a=debug"), "a=error", B).unwrap();
        let text = filter.to_string();
        assert!(text.contains("a=error"), "{text}");
        assert!(!text.contains("a=debug"), "{text}");
        assert!(text.contains("warn"), "{text}");
    }

    #[test]
    fn an_invalid_piece_names_itself_and_its_origin() {
        let err = build(Level::INFO, Some("info,,x=loud"), "", B).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidDirective { ref directive, origin: DirectiveOrigin::Env, .. } if directive == "x=loud"
        ));
    }

    #[test]
    fn at_trace_tungstenite_is_held_at_debug() {
        for text in [
            build(Level::TRACE, None, "", B).unwrap().to_string(),
            build(Level::INFO, Some("trace"), "", B)
                .unwrap()
                .to_string(),
            build(Level::INFO, None, "warn,trace", B)
                .unwrap()
                .to_string(),
        ] {
            assert!(text.contains("tungstenite=debug"), "{text}");
            assert!(text.contains("tokio_tungstenite=debug"), "{text}");
        }
    }

    #[test]
    fn below_trace_nothing_is_added() {
        for text in [
            build(Level::DEBUG, None, "", B).unwrap().to_string(),
            build(Level::TRACE, Some("info"), "", B)
                .unwrap()
                .to_string(),
            build(Level::TRACE, None, "trace,warn", B)
                .unwrap()
                .to_string(),
        ] {
            assert!(!text.contains("tungstenite"), "{text}");
        }
    }

    #[test]
    fn a_directive_naming_tungstenite_replaces_the_cap() {
        let text = build(Level::TRACE, Some("tungstenite=trace"), "", B)
            .unwrap()
            .to_string();
        assert!(text.contains("tungstenite=trace"), "{text}");
        assert!(!text.contains(",tungstenite=debug"), "{text}");
        assert!(!text.starts_with("tungstenite=debug"), "{text}");
        // The other capped target keeps its cap.
        assert!(text.contains("tokio_tungstenite=debug"), "{text}");
    }

    #[test]
    fn blank_pieces_and_spaces_are_ignored() {
        assert!(build(Level::INFO, Some(" , "), " info , a=debug ", B).is_ok());
    }

    fn spec(env: Option<&str>, directives: &str) -> FilterSpec {
        FilterSpec {
            base: Level::INFO,
            env: env.map(str::to_owned),
            directives: directives.to_owned(),
            origin: B,
        }
    }

    #[test]
    fn with_level_drops_bare_levels_and_keeps_targets() {
        let spec = spec(Some("warn,a=debug"), "error, b=trace ,3").with_level(Level::DEBUG);
        assert_eq!(spec.base, Level::DEBUG);
        assert_eq!(spec.env.as_deref(), Some("a=debug"));
        assert_eq!(spec.directives, "b=trace");
        let text = spec.build().unwrap().to_string();
        assert!(text.contains("debug"), "{text}");
        assert!(!text.contains("warn") && !text.contains("error"), "{text}");
    }

    #[test]
    fn with_level_trace_keeps_the_tungstenite_cap() {
        let text = spec(None, "")
            .with_level(Level::TRACE)
            .build()
            .unwrap()
            .to_string();
        assert!(text.contains("tungstenite=debug"), "{text}");
    }

    #[test]
    fn span_directives_are_told_from_target_ones() {
        assert!(!spec(Some("a=debug"), "info,b::c=warn").has_span_directives());
        assert!(spec(Some("[req]=debug"), "").has_span_directives());
        assert!(spec(None, "svc[req{id=7}]=trace").has_span_directives());
        assert!(
            spec(None, "warn")
                .with_directives("[ms_task]")
                .has_span_directives()
        );
    }

    #[test]
    fn with_directives_replaces_the_builders_and_reports_as_the_handle() {
        let spec = spec(Some("a=debug"), "b=warn").with_directives("c=loud");
        assert_eq!(spec.directives, "c=loud");
        assert_eq!(spec.env.as_deref(), Some("a=debug"));
        assert!(matches!(
            spec.build().unwrap_err(),
            Error::InvalidDirective { ref directive, origin: DirectiveOrigin::Handle, .. } if directive == "c=loud"
        ));
    }
}
