"""Writes communication_utils/src/s3/mime/table.rs: the built-in tables of the
running Python's `mimetypes` module, as Rust statics.

Run from the workspace root with the Python whose behaviour the Rust client
should follow:

    python3 communication_utils/tests/python/gen_mime_table.py \
        > communication_utils/src/s3/mime/table.rs

The output is already laid out as rustfmt would lay it out. Only the module's
built-in defaults are written (`_types_map_default`, `_suffix_map_default`,
`_encodings_map_default`): the system `mime.types` files are read by the Rust
code at run time, as Python does. `_common_types_default` is left out, since
it only counts for `guess_type(..., strict=False)` and the original client
calls `guess_type` with the default, strict=True.
"""

import mimetypes
import platform
import sys


def rust_str(s):
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append("\\u{%x}" % ord(ch))
    return '"' + "".join(out) + '"'


def table(name, doc, entries):
    lines = ["/// " + line if line else "///" for line in doc]
    lines.append("pub(super) static %s: &[(&str, &str)] = &[" % name)
    for key, value in entries:
        lines.append("    (%s, %s)," % (rust_str(key), rust_str(value)))
    lines.append("];")
    return "\n".join(lines)


def main():
    version = platform.python_version()
    types = sorted(mimetypes._types_map_default.items())
    suffixes = sorted(mimetypes._suffix_map_default.items())
    encodings = sorted(mimetypes._encodings_map_default.items())
    header = f"""\
//! The built-in tables of Python's `mimetypes` module. Generated, do not edit.
//!
//! Generated from {platform.python_implementation()} {version}'s `mimetypes` module defaults
//! (`_types_map_default`, `_suffix_map_default`, `_encodings_map_default`) by
//! `communication_utils/tests/python/gen_mime_table.py`. To regenerate with
//! another Python, from the workspace root:
//!
//! ```text
//! python3 communication_utils/tests/python/gen_mime_table.py \\
//!     > communication_utils/src/s3/mime/table.rs
//! ```
//!
//! then update the Python version named in the docs of
//! `metadata::guess_content_type`. The test `tests/s3_mime_python.rs`
//! compares the result with the Python on the machine."""
    parts = [
        header,
        table(
            "TYPES",
            [
                f"`mimetypes._types_map_default` ({len(types)} entries): extension, dot",
                "included, to type; what strict `guess_type` starts from before the",
                "system files. Sorted by extension.",
            ],
            types,
        ),
        table(
            "SUFFIXES",
            [
                f"`mimetypes._suffix_map_default` ({len(suffixes)} entries): a suffix and the",
                "suffixes it stands for (`.tgz` is `.tar.gz`).",
            ],
            suffixes,
        ),
        table(
            "ENCODINGS",
            [
                f"`mimetypes._encodings_map_default` ({len(encodings)} entries): compression",
                "suffix (compared with case) to encoding.",
            ],
            encodings,
        ),
    ]
    sys.stdout.write("\n\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
