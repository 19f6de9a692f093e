//! The level filter: a base level, then `RUST_LOG`, then the builder's
//! directives, each later one winning for the same target.

use tracing::Level;
use tracing_subscriber::filter::{Directive, EnvFilter, LevelFilter};

use crate::error::{DirectiveOrigin, Error};

/// The environment variable read for directives.
pub(crate) const ENV_VAR: &str = "RUST_LOG";

/// The filter for `base`, overridden by the `env` directives, overridden in
/// turn by the `builder` ones.
pub(crate) fn build(base: Level, env: Option<&str>, builder: &str) -> Result<EnvFilter, Error> {
    let mut filter = EnvFilter::default().add_directive(LevelFilter::from_level(base).into());
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
    for piece in directives
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let directive: Directive = piece.parse().map_err(|source| Error::InvalidDirective {
            directive: piece.to_owned(),
            origin,
            source,
        })?;
        filter = filter.add_directive(directive);
    }
    Ok(filter)
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
    fn blank_pieces_and_spaces_are_ignored() {
        assert!(build(Level::INFO, Some(" , "), " info , a=debug ").is_ok());
    }
}
