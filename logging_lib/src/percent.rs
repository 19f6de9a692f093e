//! Python's printf-style (`%`) formatting of one value, as
//! `"%(key)-8s" % record.__dict__` formats it: flags, width, precision and
//! the conversion character. Pure functions; the template parser in
//! `template.rs` decides which value goes with which spec.

use std::fmt::{self, Write};

/// The part of a field after `%(key)`: `[flags][width][.precision]conversion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Spec {
    /// `-`: pad on the right.
    pub(crate) left: bool,
    /// `0`: pad numbers with zeros after the sign.
    pub(crate) zero: bool,
    /// `+`: a sign on positive numbers too.
    pub(crate) plus: bool,
    /// ` `: a space before positive numbers.
    pub(crate) space: bool,
    /// `#`: the alternate form (`0x`, `0o`, a kept decimal point).
    pub(crate) alternate: bool,
    /// Minimum width in characters.
    pub(crate) width: usize,
    /// Characters of a string, digits of an integer, decimals of a float.
    pub(crate) precision: Option<usize>,
    /// `s`, `r`, `a`, `d`, `x`, `f`, ... (`i` and `u` are stored as `d`).
    pub(crate) conversion: char,
}

impl Spec {
    /// A spec that writes its value as it is (`%(key)s` with nothing else),
    /// so that the caller may skip the padding buffer.
    pub(crate) fn is_plain(&self) -> bool {
        *self
            == Self {
                conversion: 's',
                ..Self::default()
            }
    }
}

/// A record value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
}

/// Which values a conversion character accepts.
pub(crate) fn accepts(conversion: char, value: Kind) -> bool {
    match conversion {
        's' | 'r' | 'a' => true,
        'd' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' => value != Kind::Str,
        'x' | 'X' | 'o' | 'c' => value == Kind::Int,
        _ => false,
    }
}

/// The type of a key's value, known when the format is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    Int,
    Float,
}

/// Writes `value` as Python's `%` operator does for `spec`. The caller has
/// checked with [`accepts`] that the conversion fits the value.
pub(crate) fn write_value<W: Write + ?Sized>(
    out: &mut W,
    spec: &Spec,
    value: Value<'_>,
) -> fmt::Result {
    match (spec.conversion, value) {
        ('s', Value::Str(s)) => pad_text(out, spec, s),
        ('r', Value::Str(s)) => pad_text(out, spec, &python_repr(s, false)),
        ('a', Value::Str(s)) => pad_text(out, spec, &python_repr(s, true)),
        ('s' | 'r' | 'a', Value::Int(n)) => pad_text(out, spec, &n.to_string()),
        ('s' | 'r' | 'a', Value::Float(x)) => pad_text(out, spec, &float_repr(x)),
        ('c', Value::Int(n)) => {
            let c = u32::try_from(n)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            let mut text = [0; 4];
            // Precision does not cut a `%c`.
            let spec = Spec {
                precision: None,
                ..*spec
            };
            pad_text(out, &spec, c.encode_utf8(&mut text))
        }
        ('d' | 'x' | 'X' | 'o', Value::Int(n)) => write_integer(out, spec, n),
        // `%d` of a float truncates it, as `int()` does.
        ('d', Value::Float(x)) if x.is_finite() => write_integer(out, spec, x.trunc() as i64),
        (_, Value::Int(n)) => write_float(out, spec, n as f64),
        (_, Value::Float(x)) => write_float(out, spec, x),
        // Refused when the format was parsed; written plainly if ever reached.
        (_, Value::Str(s)) => out.write_str(s),
    }
}

/// A string conversion: cut to the precision, then padded with spaces.
fn pad_text<W: Write + ?Sized>(out: &mut W, spec: &Spec, text: &str) -> fmt::Result {
    let text = match spec.precision {
        Some(max) => match text.char_indices().nth(max) {
            Some((end, _)) => &text[..end],
            None => text,
        },
        None => text,
    };
    let fill = spec.width.saturating_sub(text.chars().count());
    if spec.left {
        out.write_str(text)?;
        spaces(out, fill)
    } else {
        spaces(out, fill)?;
        out.write_str(text)
    }
}

fn spaces<W: Write + ?Sized>(out: &mut W, n: usize) -> fmt::Result {
    for _ in 0..n {
        out.write_char(' ')?;
    }
    Ok(())
}

/// `d`, `x`, `X`, `o`: at least `precision` digits, then the sign and
/// prefix, then padding.
fn write_integer<W: Write + ?Sized>(out: &mut W, spec: &Spec, n: i64) -> fmt::Result {
    let magnitude = n.unsigned_abs();
    let (digits, prefix) = match spec.conversion {
        'x' => (format!("{magnitude:x}"), "0x"),
        'X' => (format!("{magnitude:X}"), "0X"),
        'o' => (format!("{magnitude:o}"), "0o"),
        _ => (magnitude.to_string(), ""),
    };
    let mut body = String::with_capacity(digits.len() + 4);
    if spec.alternate {
        body.push_str(prefix);
    }
    let min_digits = spec.precision.unwrap_or(0);
    for _ in digits.len()..min_digits {
        body.push('0');
    }
    body.push_str(&digits);
    pad_number(
        out,
        spec,
        sign(spec, n < 0),
        &body,
        spec.alternate && !prefix.is_empty(),
    )
}

/// `e`, `E`, `f`, `F`, `g`, `G`, precision 6 unless given.
fn write_float<W: Write + ?Sized>(out: &mut W, spec: &Spec, x: f64) -> fmt::Result {
    let precision = spec.precision.unwrap_or(6);
    let upper = spec.conversion.is_ascii_uppercase();
    let mut body = if !x.is_finite() {
        if x.is_nan() {
            "nan".to_owned()
        } else {
            "inf".to_owned()
        }
    } else {
        let magnitude = x.abs();
        match spec.conversion.to_ascii_lowercase() {
            'e' => exponent_form(magnitude, precision, spec.alternate),
            'g' => general_form(magnitude, precision, spec.alternate),
            _ => {
                let mut s = format!("{magnitude:.precision$}");
                if spec.alternate && precision == 0 {
                    s.push('.');
                }
                s
            }
        }
    };
    if upper {
        body.make_ascii_uppercase();
    }
    let negative = x.is_sign_negative() && !x.is_nan();
    // Python pads inf and nan with spaces even under `0`.
    let spec = Spec {
        zero: spec.zero && x.is_finite(),
        ..*spec
    };
    pad_number(out, &spec, sign(&spec, negative), &body, false)
}

/// `d.ddde+XX`: Rust's `{:e}` with the exponent written as C writes it.
fn exponent_form(magnitude: f64, precision: usize, alternate: bool) -> String {
    let rust = format!("{magnitude:.precision$e}");
    let (mantissa, exponent) = rust.split_once('e').unwrap_or((rust.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let dot = if alternate && precision == 0 { "." } else { "" };
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}{dot}e{sign}{:02}", exponent.unsigned_abs())
}

/// `%g`: fixed or exponent form by the exponent after rounding to
/// `precision` significant digits, then trailing zeros dropped (unless `#`).
fn general_form(magnitude: f64, precision: usize, alternate: bool) -> String {
    let significant = precision.max(1);
    let rounded = format!("{magnitude:.*e}", significant - 1);
    let exponent: i64 = rounded
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    let significant_i = i64::try_from(significant).unwrap_or(i64::MAX);
    let mut text = if (-4..significant_i).contains(&exponent) {
        let decimals = usize::try_from(significant_i - 1 - exponent).unwrap_or(0);
        let mut s = format!("{magnitude:.decimals$}");
        if alternate && decimals == 0 {
            s.push('.');
        }
        s
    } else {
        exponent_form(magnitude, significant - 1, alternate)
    };
    if !alternate {
        let (number, exponent_part) = match text.find('e') {
            Some(i) => text.split_at(i),
            None => (text.as_str(), ""),
        };
        if number.contains('.') {
            let trimmed = number.trim_end_matches('0').trim_end_matches('.');
            text = format!("{trimmed}{exponent_part}");
        }
    }
    text
}

fn sign(spec: &Spec, negative: bool) -> &'static str {
    if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

/// Sign, then `body`, padded to the width: spaces on the right with `-`,
/// zeros between the sign (and a `0x` prefix) and the digits with `0`,
/// spaces on the left otherwise.
fn pad_number<W: Write + ?Sized>(
    out: &mut W,
    spec: &Spec,
    sign: &str,
    body: &str,
    has_prefix: bool,
) -> fmt::Result {
    let fill = spec.width.saturating_sub(sign.len() + body.len());
    if spec.left {
        out.write_str(sign)?;
        out.write_str(body)?;
        spaces(out, fill)
    } else if spec.zero {
        out.write_str(sign)?;
        let (prefix, digits) = body.split_at(if has_prefix { 2 } else { 0 });
        out.write_str(prefix)?;
        for _ in 0..fill {
            out.write_char('0')?;
        }
        out.write_str(digits)
    } else {
        spaces(out, fill)?;
        out.write_str(sign)?;
        out.write_str(body)
    }
}

/// `repr(x)` of a Python float: the shortest digits that read back as `x`,
/// with `.0` on whole numbers, in exponent form below 1e-4 and from 1e16.
pub(crate) fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    let magnitude = x.abs();
    if magnitude != 0.0 && !(1e-4..1e16).contains(&magnitude) {
        let rust = format!("{x:e}");
        let (mantissa, exponent) = rust.split_once('e').unwrap_or((rust.as_str(), "0"));
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs());
    }
    let mut s = format!("{x}");
    if !s.contains('.') {
        s.push_str(".0");
    }
    s
}

/// `repr(s)` of a Python string (`ascii(s)` with `ascii_only`): in single
/// quotes, or double ones when the text has a `'` and no `"`; backslash,
/// the quote, `\t \n \r` and other non-printable characters escaped.
///
/// Printable follows Python for control, separator, format and
/// private-use characters; unassigned code points (which Python escapes)
/// are kept, as Rust's standard library has no table of them.
pub(crate) fn python_repr(s: &str, ascii_only: bool) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c if !ascii_only && c > '~' && printable(c) => out.push(c),
            c => {
                let n = u32::from(c);
                // Writing into a String cannot fail.
                let _ = if n <= 0xff {
                    write!(out, "\\x{n:02x}")
                } else if n <= 0xffff {
                    write!(out, "\\u{n:04x}")
                } else {
                    write!(out, "\\U{n:08x}")
                };
            }
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable()` for one non-ASCII character, as far as the
/// standard library can tell.
fn printable(c: char) -> bool {
    let format_or_private = matches!(
        u32::from(c),
        0xad | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x890..=0x891
            | 0x8e2
            | 0x180e
            | 0x200b..=0x200f
            | 0x202a..=0x202e
            | 0x2060..=0x2064
            | 0x2066..=0x206f
            | 0xe000..=0xf8ff
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0x110bd
            | 0x110cd
            | 0x13430..=0x1343f
            | 0x1bca0..=0x1bca3
            | 0x1d173..=0x1d17a
            | 0xe0001
            | 0xe0020..=0xe007f
            | 0xf0000..=0xffffd
            | 0x100000..=0x10fffd
    );
    !(c.is_control() || c.is_whitespace() || format_or_private)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Spec {
        let mut spec = Spec::default();
        let mut chars = text.chars().peekable();
        while let Some(&c) = chars.peek() {
            match c {
                '-' => spec.left = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alternate = true,
                _ => break,
            }
            chars.next();
        }
        let rest: String = chars.collect();
        let (numbers, conversion) = rest.split_at(rest.len() - 1);
        let (width, precision) = match numbers.split_once('.') {
            Some((w, p)) => (w, Some(p.parse().unwrap_or(0))),
            None => (numbers, None),
        };
        spec.width = width.parse().unwrap_or(0);
        spec.precision = precision;
        spec.conversion = conversion.chars().next().unwrap();
        spec
    }

    fn fmt(spec_text: &str, value: Value<'_>) -> String {
        let mut out = String::new();
        write_value(&mut out, &spec(spec_text), value).unwrap();
        out
    }

    // Expected values: what CPython 3.11 prints for `"%(a)<spec>" % {"a": value}`.

    #[test]
    fn strings_are_cut_then_padded() {
        let s = Value::Str("WARNING");
        assert_eq!(fmt("-9s", s), "WARNING  ");
        assert_eq!(fmt("9s", s), "  WARNING");
        assert_eq!(fmt(".3s", s), "WAR");
        assert_eq!(fmt("5.2s", s), "   WA");
        assert_eq!(fmt("05s", Value::Str("ab")), "   ab");
        assert_eq!(fmt("4s", Value::Str("été")), " été");
    }

    #[test]
    fn integers_take_flags_width_and_precision() {
        let n = Value::Int(42);
        assert_eq!(fmt("05d", n), "00042");
        assert_eq!(fmt("-5d", n), "42   ");
        assert_eq!(fmt("+d", n), "+42");
        assert_eq!(fmt(" d", n), " 42");
        assert_eq!(fmt("+ d", n), "+42");
        assert_eq!(fmt("-+6d", n), "+42   ");
        assert_eq!(fmt(".4d", n), "0042");
        assert_eq!(fmt("05.3d", n), "00042");
        assert_eq!(fmt("#x", n), "0x2a");
        assert_eq!(fmt("#5X", n), " 0X2A");
        assert_eq!(fmt("#06x", n), "0x002a");
        assert_eq!(fmt("-#8o", n), "0o52    ");
        assert_eq!(fmt("05d", Value::Int(-42)), "-0042");
        assert_eq!(fmt("s", n), "42");
        assert_eq!(fmt("r", n), "42");
        assert_eq!(fmt("5c", n), "    *");
    }

    #[test]
    fn floats_follow_c_and_python() {
        assert_eq!(fmt("s", Value::Float(123.0)), "123.0");
        assert_eq!(fmt("d", Value::Float(123.9)), "123");
        assert_eq!(fmt("03d", Value::Float(7.0)), "007");
        assert_eq!(fmt(".2f", Value::Float(123.0)), "123.00");
        assert_eq!(fmt("f", Value::Int(42)), "42.000000");
        assert_eq!(fmt("08.3f", Value::Int(42)), "0042.000");
        assert_eq!(fmt("#.0f", Value::Int(42)), "42.");
        assert_eq!(fmt("e", Value::Int(42)), "4.200000e+01");
        assert_eq!(fmt(".e", Value::Int(42)), "4e+01");
        assert_eq!(fmt("+08.2e", Value::Int(42)), "+4.20e+01");
        assert_eq!(fmt(".2e", Value::Float(123.456)), "1.23e+02");
        assert_eq!(fmt("g", Value::Int(42)), "42");
        assert_eq!(fmt("#g", Value::Int(42)), "42.0000");
        assert_eq!(fmt("g", Value::Float(123.456)), "123.456");
        assert_eq!(fmt("g", Value::Float(1e-5)), "1e-05");
        assert_eq!(fmt(".10g", Value::Float(1e-5)), "1e-05");
        assert_eq!(fmt("G", Value::Float(1.5e20)), "1.5E+20");
        assert_eq!(
            fmt("f", Value::Float(1_795_356_187.123_456)),
            "1795356187.123456"
        );
    }

    #[test]
    fn float_repr_is_pythons() {
        assert_eq!(float_repr(123.0), "123.0");
        assert_eq!(float_repr(0.1), "0.1");
        assert_eq!(float_repr(-0.0), "-0.0");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1.5e-5), "1.5e-05");
        assert_eq!(float_repr(1_795_356_187.123_456), "1795356187.123456");
    }

    #[test]
    fn repr_and_ascii_quote_and_escape_as_python() {
        let s = "l'été \"x\"\n\x01\u{200b}\u{1F600}";
        assert_eq!(
            python_repr(s, false),
            "'l\\'été \"x\"\\n\\x01\\u200b\u{1F600}'"
        );
        assert_eq!(
            python_repr(s, true),
            "'l\\'\\xe9t\\xe9 \"x\"\\n\\x01\\u200b\\U0001f600'"
        );
        assert_eq!(python_repr("it's", false), "\"it's\"");
        assert_eq!(python_repr("a\\b", false), "'a\\\\b'");
    }

    #[test]
    fn conversions_accept_the_values_python_accepts() {
        assert!(accepts('s', Kind::Str) && accepts('r', Kind::Int) && accepts('a', Kind::Float));
        assert!(!accepts('d', Kind::Str) && accepts('d', Kind::Float));
        assert!(!accepts('x', Kind::Float) && accepts('x', Kind::Int));
        assert!(!accepts('c', Kind::Str) && !accepts('f', Kind::Str));
        assert!(!accepts('z', Kind::Int));
    }
}
