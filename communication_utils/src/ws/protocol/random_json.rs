//! Random JSON texts for property tests against `serde_json::Value`: nested
//! objects and arrays, strings with every kind of escape and raw unicode,
//! numbers of every form (and out of range), duplicate and escaped keys,
//! whitespace, and mutated or cut texts that are no longer JSON.

use rand::Rng;
use rand::rngs::StdRng;

/// A generator of random texts, seeded from `MS_UTILS_PROP_SEED` when set
/// (to replay a failure), else at random; [`seed`](Self::seed) is what a
/// failing assertion prints.
pub(crate) struct Gen {
    rng: StdRng,
    seed: u64,
}

/// Keys drawn from a small pool, so that duplicates are frequent; some are
/// the envelope's, some are written with escapes.
const KEYS: &[&str] = &[
    "event",
    "data",
    "jobId",
    "from",
    "chunk",
    "index",
    "max_index",
    "a",
    "b",
    "ev\\u0065nt",
    "job\\u0049d",
    "fr\\u006fm",
    "\\\"q",
    "é",
    "",
];

/// Numbers of every form, some out of range, some not JSON at all.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "7",
    "-12",
    "1.5",
    "-0.25",
    "1e5",
    "1E-3",
    "2.5e+10",
    "0.0",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "1e308",
    "1e400",
    "-1e400",
    "1e-400",
    "01",
    "1.",
    ".5",
    "-",
    "1e",
    "+1",
];

/// Pieces of strings: plain text, escapes, raw unicode, and a few that are
/// not valid in JSON (a lone surrogate, a raw control character, a bad
/// escape).
const STRING_PARTS: &[&str] = &[
    "a",
    "xyz",
    " ",
    "ms-task",
    "é",
    "日本",
    "😀",
    "\\\"",
    "\\\\",
    "\\/",
    "\\n",
    "\\t",
    "\\b",
    "\\f",
    "\\r",
    "\\u0041",
    "\\u00e9",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\udc00x",
    "\u{1}",
    "\\x",
    "\\u12",
    "'",
];

const SPACES: &[&str] = &["", "", "", " ", "\n", "\t ", "\r\n  "];

impl Gen {
    /// A generator with a fresh seed (or `MS_UTILS_PROP_SEED`).
    pub(crate) fn new() -> Gen {
        let (rng, seed) = crate::prop_seed::rng();
        Gen { rng, seed }
    }

    /// The seed, to replay a run with `MS_UTILS_PROP_SEED`.
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// The underlying generator.
    pub(crate) fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// A random JSON-like text: most are JSON (mostly objects, as frames
    /// are), the rest mutated or cut.
    pub(crate) fn text(&mut self) -> String {
        let mut out = String::new();
        self.space(&mut out);
        if self.rng.random_bool(0.5) {
            self.envelope(&mut out);
        } else if self.rng.random_bool(0.6) {
            self.object(&mut out, 0);
        } else {
            self.value(&mut out, 0);
        }
        self.space(&mut out);
        if self.rng.random_bool(0.25) {
            self.mutate(&mut out);
        }
        out
    }

    /// Whitespace, often none.
    pub(crate) fn space(&mut self, out: &mut String) {
        out.push_str(self.pick(SPACES));
    }

    /// A JSON value, nesting at most a few levels (and now and then very
    /// deep, past `serde_json`'s limit of 128).
    pub(crate) fn value(&mut self, out: &mut String, depth: usize) {
        let nest = depth < 4;
        match self.rng.random_range(0..if nest { 10 } else { 7 }) {
            0 | 1 => self.string(out),
            2 => out.push_str(self.pick(NUMBERS)),
            3 => out.push_str(self.pick(&["true", "false", "null"])),
            4 | 5 => self.short_string(out),
            6 if self.rng.random_bool(0.02) => {
                let n = self.rng.random_range(120..140);
                out.push_str(&"[".repeat(n));
                out.push_str(&"]".repeat(n));
            }
            6 => out.push_str(self.pick(NUMBERS)),
            7 => self.array(out, depth + 1),
            _ => self.object(out, depth + 1),
        }
    }

    /// A string value of a few random parts.
    pub(crate) fn string(&mut self, out: &mut String) {
        out.push('"');
        for _ in 0..self.rng.random_range(0..6) {
            // Mostly valid parts: an invalid one now and then.
            let part = if self.rng.random_bool(0.9) {
                STRING_PARTS[self.rng.random_range(0..18)]
            } else {
                self.pick(STRING_PARTS)
            };
            out.push_str(part);
        }
        out.push('"');
    }

    /// A plain string, such as an envelope field holds.
    fn short_string(&mut self, out: &mut String) {
        out.push('"');
        out.push_str(self.pick(&["ms-task", "j1", "svc", "", "AA==", "3"]));
        out.push('"');
    }

    /// An object shaped like a message: envelope keys (repeated now and
    /// then), their values mostly plain strings, `data` mostly an object
    /// with a `jobId` and a `from`.
    pub(crate) fn envelope(&mut self, out: &mut String) {
        const TOP: &[&str] = &[
            "event",
            "data",
            "data",
            "jobId",
            "chunk",
            "index",
            "max_index",
            "from",
            "a",
            "ev\\u0065nt",
        ];
        const DATA: &[&str] = &["jobId", "jobId", "from", "from", "x", "j\\u006fbId"];
        out.push('{');
        for i in 0..self.rng.random_range(0..6) {
            if i > 0 {
                out.push(',');
            }
            self.space(out);
            let key = self.pick(TOP);
            self.named_key(out, key);
            if key == "data" && self.rng.random_bool(0.8) {
                out.push('{');
                for i in 0..self.rng.random_range(0..4) {
                    if i > 0 {
                        out.push(',');
                    }
                    let key = self.pick(DATA);
                    self.named_key(out, key);
                    self.field_value(out);
                }
                out.push('}');
            } else {
                self.field_value(out);
            }
            self.space(out);
        }
        out.push('}');
    }

    /// What an envelope field mostly holds: a plain string, else `null`, a
    /// number or any value.
    fn field_value(&mut self, out: &mut String) {
        match self.rng.random_range(0..10) {
            0..6 => self.short_string(out),
            6 => out.push_str("null"),
            7 => out.push_str(self.pick(NUMBERS)),
            _ => self.value(out, 2),
        }
    }

    /// An array of a few values.
    pub(crate) fn array(&mut self, out: &mut String, depth: usize) {
        out.push('[');
        for i in 0..self.rng.random_range(0..5) {
            if i > 0 {
                out.push(',');
            }
            self.space(out);
            self.value(out, depth);
            self.space(out);
        }
        out.push(']');
    }

    /// An object of a few entries, keys from a small pool.
    pub(crate) fn object(&mut self, out: &mut String, depth: usize) {
        out.push('{');
        for i in 0..self.rng.random_range(0..7) {
            if i > 0 {
                out.push(',');
            }
            self.space(out);
            self.key(out);
            self.value(out, depth);
            self.space(out);
        }
        out.push('}');
    }

    /// An object key from the pool and its colon.
    pub(crate) fn key(&mut self, out: &mut String) {
        let key = self.pick(KEYS);
        self.named_key(out, key);
    }

    /// The key `key` (as written in JSON) and its colon.
    pub(crate) fn named_key(&mut self, out: &mut String, key: &str) {
        out.push('"');
        out.push_str(key);
        out.push('"');
        self.space(out);
        out.push(':');
        self.space(out);
    }

    /// A key of the pool (as written in JSON).
    pub(crate) fn key_name(&mut self) -> &'static str {
        self.pick(KEYS)
    }

    /// One of `from`.
    pub(crate) fn pick(&mut self, from: &[&'static str]) -> &'static str {
        from[self.rng.random_range(0..from.len())]
    }

    /// Breaks `out` one way or another: cut short, a character dropped, or
    /// one inserted (the result is sometimes still JSON).
    pub(crate) fn mutate(&mut self, out: &mut String) {
        let bounds: Vec<usize> = (0..=out.len())
            .filter(|&i| out.is_char_boundary(i))
            .collect();
        let at = bounds[self.rng.random_range(0..bounds.len())];
        match self.rng.random_range(0..3) {
            0 => out.truncate(at),
            1 => {
                if let Some(c) = out[at..].chars().next() {
                    out.replace_range(at..at + c.len_utf8(), "");
                }
            }
            _ => {
                let c = self.pick(&["{", "}", "[", "]", "\"", ",", ":", "\\", " ", "0", "a", "-"]);
                out.insert_str(at, c);
            }
        }
    }
}
