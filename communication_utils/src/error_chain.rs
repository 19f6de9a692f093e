//! Walking an error's chain, for the two clients' error messages: the root
//! cause on one line ([`RootCause`]) and the first error of a given type
//! ([`find`]). `io::Error::source()` skips the error an `io::Error` wraps,
//! so the walk steps into it instead.

use std::error::Error as StdError;
use std::fmt;
use std::io;

/// Shows the innermost error of a chain, the one that says why (e.g.
/// `Connection refused (os error 111)` under the SDK's "dispatch failure"
/// or reqwest's "error sending request", and hyper's "client error
/// (Connect)"), on one line.
pub(crate) struct RootCause<'a>(pub(crate) &'a (dyn StdError + 'static));

impl fmt::Display for RootCause<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = root_cause(self.0).to_string();
        let mut previous: Option<&str> = None;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match previous {
                Some(p) if p.ends_with(':') => f.write_str(" ")?,
                Some(_) => f.write_str("; ")?,
                None => {}
            }
            f.write_str(line)?;
            previous = Some(line);
        }
        Ok(())
    }
}

/// The last error of `err`'s chain. `io::Error::source()` skips the error an
/// `io::Error` wraps, so the walk steps into it instead.
fn root_cause<'a>(err: &'a (dyn StdError + 'static)) -> &'a (dyn StdError + 'static) {
    let mut current = err;
    while let Some(next) = step(current) {
        current = next;
    }
    current
}

/// The first `E` in `err`'s chain (stepping into `io::Error`s as above).
pub(crate) fn find<'a, E: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    first(err, |e| e.downcast_ref::<E>())
}

/// Whether an error of `err`'s chain (stepping into `io::Error`s as above)
/// answers `test`.
#[cfg(feature = "ws")]
pub(crate) fn any(
    err: &(dyn StdError + 'static),
    test: impl Fn(&(dyn StdError + 'static)) -> bool,
) -> bool {
    first(err, |e| test(e).then_some(())).is_some()
}

/// The first answer `f` gives along `err`'s chain.
fn first<'a, T>(
    err: &'a (dyn StdError + 'static),
    f: impl Fn(&'a (dyn StdError + 'static)) -> Option<T>,
) -> Option<T> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = f(e) {
            return Some(found);
        }
        current = step(e);
    }
    None
}

fn step<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    match err.downcast_ref::<io::Error>() {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => err.source(),
    }
}
