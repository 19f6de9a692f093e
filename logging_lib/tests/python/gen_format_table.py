"""Writes logging_lib/tests/python/format_table.json: what Python's `logging`
prints for a set of format strings and one fixed record, for the Rust
`LineTemplate` to match byte for byte (tests/it/python_format.rs).

Run from the workspace root with the Python whose behaviour the Rust
formatter should follow:

    python3 logging_lib/tests/python/gen_format_table.py \
        > logging_lib/tests/python/format_table.json

The ignored test `python_format::the_table_is_what_python_prints` (run with
MS_UTILS_PYTHON set) runs this script again and compares.

Every case formats the same record: logger `svc`, `/srv/app/handler.py`
line 42, function `handle`, process 4242, thread 140234 `MainThread`,
created 1795356187.123456 (2026-11-22 14:03:07.123456 UTC), in a time zone
of its own (`XYZ`, UTC+01:30) so that the output does not depend on the
machine's. A case gives its level and may give its message. A case whose
format Python refuses, when the formatter is made or when it formats the
record, has `error` (the exception's type) instead of `out`.

Left out on purpose, because the Rust side differs by design (see the
`LineTemplate` docs): `%Z` (chrono writes the offset, Python the zone's
name), `%f` and chrono's other fraction codes (Python leaves them as they
are), and the keys Rust cannot fill (`relativeCreated`, `processName`, ...).
"""

import json
import logging
import os
import time

os.environ["TZ"] = "XYZ-1:30"
time.tzset()

CREATED_NS = 1795356187123456000

TEXT = "[%(levelname)s] [%(asctime)s] (%(module)s:%(lineno)d) -> %(message)s"
TEXT_DATE = "%d-%m-%Y %H:%M:%S"

KEYS = (
    "%(name)s|%(levelname)s|%(levelno)s|%(pathname)s|%(filename)s|%(module)s|"
    "%(lineno)d|%(funcName)s|%(created)f|%(created)s|%(msecs)d|%(msecs)s|"
    "%(thread)d|%(threadName)s|%(process)d|%(message)s|%(asctime)s"
)

FLAGS = (
    "%(levelname)-8s|%(levelname)8s|%(levelname).3s|%(levelname)5.2s|"
    "%(levelname)-10.4s|%(levelname)r|%(levelname)a|%(name)r|%(lineno)05d|"
    "%(lineno)-5d|%(lineno)+d|%(lineno) d|%(lineno)+ d|%(lineno)-+6d|"
    "%(lineno).4d|%(lineno)05.3d|%(lineno)ld|%(lineno)i|%(lineno)u|"
    "%(lineno)#x|%(lineno)#06x|%(lineno)#o|%(lineno)X|%(lineno)-#8o|"
    "%(lineno)5c|%(lineno)r|%(lineno)e|%(lineno).e|%(lineno)g|%(lineno)#g|"
    "%(lineno)08.3f|%(lineno)#.0f|%(lineno)+08.2e|%(levelno)+.1E|"
    "%(msecs)03d|%(msecs).2f|%(msecs)G|%(msecs)-8s|%(created).3f|"
    "%(created)e|%(created)g|%(created).12g|%(process)08d|%(thread)x|"
    "%(threadName)-12s|%(funcName)10s|%(filename).7s|%(asctime)30s|"
    "%(asctime)-25s|%(asctime).10s"
)

DATE_CODES = (
    "%a %A %b %B %c %C %d %D %e %F %g %G %h %H %I %j %k %l %m %M %n %p %R "
    "%s %S %t %T %u %U %V %w %W %x %X %y %Y %z %%"
)

CASES = [
    # The fleet's line (Format::Text), at every level Python has.
    *[(TEXT, TEXT_DATE, level, None) for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")],
    # Logger.create_formatter() without a date format; logging.Formatter()'s
    # default; Logger.add_file_handler's default; the example.
    (TEXT, None, "INFO", None),
    ("%(message)s", None, "INFO", None),
    ("%(asctime)s - %(name)s - %(levelname)s - %(message)s", None, "WARNING", None),
    ("[%(levelname)s] %(asctime)s %(name)s %(funcName)s:%(lineno)d %(message)s", TEXT_DATE, "CRITICAL", None),
    # Every key, every level's number.
    *[(KEYS, None, level, None) for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")],
    # Flags, widths, precisions and conversions.
    (FLAGS, None, "WARNING", None),
    (FLAGS, TEXT_DATE, "CRITICAL", None),
    # repr/ascii and widths on text that is not plain ASCII.
    (
        "%(message)s|%(message)r|%(message)a|%(message)-30s|%(message).5s|%(message)40r",
        None,
        "ERROR",
        "l'\u00e9t\u00e9 \"chaud\"\n\t\\ \x01 \u20ac \U0001F600",
    ),
    ("%(message)r", None, "INFO", "it's"),
    ("%(message)r", None, "INFO", 'both \' and "'),
    ("%(message)-12s|", None, "INFO", "\u00e9t\u00e9"),
    # `%%` and text around the fields.
    ("100%% %(message)s %%(name)s %%", None, "INFO", None),
    # Date formats.
    ("%(asctime)s", DATE_CODES, "INFO", None),
    ("%(asctime)s", "%Y-%m-%dT%H:%M:%S%z", "INFO", None),
    ("%(asctime)s.%(msecs)03d", "%H:%M:%S", "INFO", None),
    ("%(asctime)s", "", "INFO", None),
    # What Python refuses, when the formatter is made or when it formats.
    *[
        (fmt, None, "INFO", None)
        for fmt in (
            "hello",
            "%%",
            "",
            "%(levelname)d",
            "%(name)f",
            "%(bogus)s",
            "%(levelname",
            "%(message)s %",
            "%(message)s %d",
            "%(message)s %s",
            "%(message)*s",
            "%(message)5.*s",
            "%(message)z",
            "%(message)%",
            "%(message)s %(",
            "%(msecs)x",
            "%(created)o",
            "%(levelname)c",
        )
    ],
]


def record(level, message):
    r = logging.LogRecord(
        "svc",
        getattr(logging, level),
        "/srv/app/handler.py",
        42,
        message,
        None,
        None,
        func="handle",
    )
    r.created = CREATED_NS / 1e9
    # As Python 3.12 computes it (3.11 goes through the float `created`;
    # the two agree for this time).
    r.msecs = (CREATED_NS % 1_000_000_000) // 1_000_000 + 0.0
    r.process = 4242
    r.thread = 140234
    r.threadName = "MainThread"
    return r


def main():
    rows = []
    for fmt, datefmt, level, message in CASES:
        message = "disk full" if message is None else message
        row = {"fmt": fmt, "datefmt": datefmt, "level": level, "message": message}
        try:
            row["out"] = logging.Formatter(fmt, datefmt).format(record(level, message))
        except Exception as e:  # noqa: BLE001 - the type is the answer
            row["error"] = type(e).__name__
        rows.append(json.dumps(row))
    print("[\n" + ",\n".join(rows) + "\n]")


main()
