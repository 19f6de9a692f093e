//! The JSON the Python services write: [`PythonFormatter`] (what
//! `json.dumps` writes with its defaults) and the `ms-send-task` envelope
//! ([protocol: tasks](crate::protocol#tasks)), byte-for-byte.

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

use crate::ws::error::Error;

/// A serde_json [`Formatter`] that writes what Python's `json.dumps` writes with
/// its defaults: `", "` and `": "` separators, `\uXXXX` escapes for every
/// character outside printable ASCII (`ensure_ascii`, with surrogate pairs above
/// U+FFFF), and floats as Python's `repr` (`1e+16`, `1e-07`, `100.0`).
///
/// ```
/// use ms_utils_communication::ws::PythonFormatter;
/// let mut out = Vec::new();
/// let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
/// serde::Serialize::serialize(&serde_json::json!({"a": ["é", 1e16]}), &mut ser).unwrap();
/// assert_eq!(out, br#"{"a": ["\u00e9", 1e+16]}"#);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if (' '..='~').contains(&c) {
                continue;
            }
            w.write_all(&bytes[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(w, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        w.write_all(&bytes[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let s: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write!(w, "\\u{byte:04x}"),
        };
        w.write_all(s)
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(python_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        w.write_all(python_float_repr(f64::from(value)).as_bytes())
    }
}

/// Python's `repr(float)`: shortest round-trip digits, positional for decimal
/// exponents in [-4, 16), scientific (`d.ddde±XX`) otherwise.
fn python_float_repr(value: f64) -> String {
    if !value.is_finite() {
        // serde_json writes non-finite floats as null; so do we.
        return "null".to_owned();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_owned();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        if exp < 0 {
            let zeros = "0".repeat((-exp - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        } else if exp + 1 >= n {
            let zeros = "0".repeat((exp + 1 - n) as usize);
            format!("{sign}{digits}{zeros}.0")
        } else {
            let (int, frac) = digits.split_at((exp + 1) as usize);
            format!("{sign}{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let esign = if exp < 0 { '-' } else { '+' };
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        format!("{sign}{first}{dot}e{esign}{:02}", exp.abs())
    }
}

/// Serialize `value` as Python's `json.dumps(value)` would (see [`PythonFormatter`]).
///
/// # Errors
/// [`Error::Json`] when `value` cannot be serialized (e.g. a map with non-string keys).
///
/// ```
/// use ms_utils_communication::ws::to_python_json;
/// assert_eq!(to_python_json(&serde_json::json!({"a": 1, "b": [true, null]})).unwrap(),
///            r#"{"a": 1, "b": [true, null]}"#);
/// ```
pub fn to_python_json<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut ser)?;
    // The formatter writes ASCII only, from valid UTF-8 input.
    String::from_utf8(out).map_err(|_| Error::Chunking {
        reason: "formatter wrote invalid UTF-8".into(),
    })
}

/// The `ms-send-task` envelope of [protocol: tasks](crate::protocol#tasks), with the original's key order.
#[derive(Serialize)]
struct SendTask<'a, T: ?Sized> {
    event: &'static str,
    data: TaskData<'a, T>,
}

#[derive(Serialize)]
struct TaskData<'a, T: ?Sized> {
    to: &'a str,
    #[serde(rename = "workflowId")]
    workflow_id: &'a str,
    #[serde(rename = "referenceId")]
    reference_id: &'a str,
    #[serde(rename = "jobId")]
    job_id: &'a str,
    data: &'a T,
}

/// The text of an `ms-send-task` message ([protocol: tasks](crate::protocol#tasks)), byte-for-byte what
/// the Python original's `send_task_to_ms` sends.
///
/// # Errors
/// [`Error::Json`] when `data` cannot be serialized.
///
/// ```
/// use ms_utils_communication::ws::ms_send_task;
/// let text = ms_send_task("svc", "ref", "job", &serde_json::json!({"k": "v"})).unwrap();
/// assert_eq!(text, r#"{"event": "ms-send-task", "data": {"to": "svc", "workflowId": "ref", "referenceId": "ref", "jobId": "job", "data": {"k": "v"}}}"#);
/// ```
pub fn ms_send_task<T: Serialize + ?Sized>(
    ms: &str,
    reference_id: &str,
    job_id: &str,
    data: &T,
) -> Result<String, Error> {
    to_python_json(&SendTask {
        event: "ms-send-task",
        data: TaskData {
            to: ms,
            workflow_id: reference_id,
            reference_id,
            job_id,
            data,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Produced by `/work/pyenv/bin/python` (CPython 3.11) with
    /// `json.dumps({... the same dict ...})`.
    const PYTHON_BYTES: &str = r#"{"event": "ms-send-task", "data": {"to": "svc", "workflowId": "ref-1", "referenceId": "ref-1", "jobId": "job-1", "data": {"text": "h\u00e9llo w\u00f6rld \u20ac \ud83d\ude00", "n": 1, "f": 0.1, "big": 1e+16, "small": 1e-07, "neg": -2.5, "list": [1, 2.0, null, true, false, "a\"b\\c\n\t\r\b\f\u0001\u007f"], "empty": {}, "emptyl": []}}}"#;

    #[derive(Serialize)]
    struct Payload {
        text: &'static str,
        n: i64,
        f: f64,
        big: f64,
        small: f64,
        neg: f64,
        list: (i32, f64, Option<()>, bool, bool, &'static str),
        empty: serde_json::Map<String, Value>,
        emptyl: Vec<i32>,
    }

    #[test]
    fn send_task_matches_python_json_dumps_byte_for_byte() {
        let payload = Payload {
            text: "héllo wörld € 😀",
            n: 1,
            f: 0.1,
            big: 1e16,
            small: 1e-7,
            neg: -2.5,
            list: (
                1,
                2.0,
                None,
                true,
                false,
                "a\"b\\c\n\t\r\u{8}\u{c}\u{1}\u{7f}",
            ),
            empty: Default::default(),
            emptyl: vec![],
        };
        assert_eq!(
            ms_send_task("svc", "ref-1", "job-1", &payload).unwrap(),
            PYTHON_BYTES
        );
    }

    #[test]
    fn python_output_parses_back_to_the_same_value() {
        let v: Value = serde_json::from_str(PYTHON_BYTES).unwrap();
        assert_eq!(v["data"]["data"]["text"], "héllo wörld € 😀");
    }

    #[test]
    fn floats_follow_python_repr() {
        let cases = [
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (123456789012345.0, "123456789012345.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (1e22, "1e+22"),
            (3.25, "3.25"),
            (-0.00012, "-0.00012"),
        ];
        for (f, want) in cases {
            assert_eq!(python_float_repr(f), want, "{f}");
        }
    }
}
