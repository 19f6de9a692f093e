//! The level filter: a base level, then `RUST_LOG`, then the builder's
//! directives, each later one winning for the same target, and a DEBUG cap
//! on the targets that log secrets at TRACE.

use tracing::Level;
use tracing_subscriber::filter::{Directive, EnvFilter, LevelFilter};

use crate::error::{DirectiveOrigin, Error};

/// The environment variable read for directives.
pub(crate) const ENV_VAR: &str = "RUST_LOG";

/// Targets held at DEBUG when the default level is TRACE, unless a
/// directive names them: tungstenite logs the whole websocket handshake
/// request at TRACE, and the gateway's `?token=` is in its URI.
const CAPS: &str = "tungstenite=debug,tokio_tungstenite=debug";

/// The filter for `base`, overridden by the `env` directives, overridden in
/// turn by the `builder` ones.
///
/// When the default level that results is TRACE, the [`CAPS`] directives are
/// added before the user's, so that a directive naming one of those targets
/// replaces the cap (later wins for the same target) and one naming a
/// module inside it wins there (more specific).
/// A cap rather than redacting lines: it costs nothing per line, and a
/// redactor could only guess at what a secret looks like.
pub(crate) fn build(base: Level, env: Option<&str>, builder: &str) -> Result<EnvFilter, Error> {
    let mut filter = EnvFilter::default().add_directive(LevelFilter::from_level(base).into());
    let pieces = env.into_iter().chain([builder]).flat_map(pieces);
    // The last bare level (`trace`, `warn`, ...) is the default for every
    // target no directive names; an unparsable piece is reported below.
    let default = pieces
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
    add_directives(filter, builder, DirectiveOrigin::Builder)
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
            source,
        })?;
        filter = filter.add_directive(directive);
    }
    Ok(filter)
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

    #[test]
    fn env_directives_are_applied_before_builder_ones() {
        let filter = build(Level::INFO, Some("warn,a=debug"), "a=error").unwrap();
        let text = filter.to_string();
        assert!(text.contains("a=error"), "{text}");
        assert!(!text.contains("a=debug"), "{text}");
        assert!(text.contains("warn"), "{text}");
    }

    #[test]
    fn an_invalid_piece_names_itself_and_its_origin() {
        let err = build(Level::INFO, Some("info,,x=loud"), "").unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidDirective { ref directive, origin: DirectiveOrigin::Env, .. } if directive == "x=loud"
        ));
    }

    #[test]
    fn at_trace_tungstenite_is_held_at_debug() {
        for text in [
            build(Level::TRACE, None, "").unwrap().to_string(),
            build(Level::INFO, Some("trace"), "").unwrap().to_string(),
            build(Level::INFO, None, "warn,trace").unwrap().to_string(),
        ] {
            assert!(text.contains("tungstenite=debug"), "{text}");
            assert!(text.contains("tokio_tungstenite=debug"), "{text}");
        }
    }

    #[test]
    fn below_trace_nothing_is_added() {
        for text in [
            build(Level::DEBUG, None, "").unwrap().to_string(),
            build(Level::TRACE, Some("info"), "").unwrap().to_string(),
            build(Level::TRACE, None, "trace,warn").unwrap().to_string(),
        ] {
            assert!(!text.contains("tungstenite"), "{text}");
        }
    }

    #[test]
    fn a_directive_naming_tungstenite_replaces_the_cap() {
        let text = build(Level::TRACE, Some("tungstenite=trace"), "")
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
        assert!(build(Level::INFO, Some(" , "), " info , a=debug ").is_ok());
    }
}
