#!/usr/bin/env python3
"""Python baseline for examples/log_bench.rs.

Python's `logging` set up as ms_utils' `Logger.setup_logger` sets it up: the
same format and date format, a FileHandler (mode "a+") and a StreamHandler,
here pointed at os.devnull so the terminal is not flooded. Writes N lines and
prints one JSON line with the same keys as the Rust side.

Usage: log_bench.py [N] [OUT_DIR]
"""

import json
import logging
import os
import sys
import tempfile
import time

SAMPLE_EVERY = 64


def percentile(sorted_values, p):
    if not sorted_values:
        return 0
    index = min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))
    return sorted_values[index]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    out_dir = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="log_bench_py-")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "combined.log")

    formatter = logging.Formatter(
        fmt="[%(levelname)s] [%(asctime)s] (%(module)s:%(lineno)d) -> %(message)s",
        datefmt="%d-%m-%Y %H:%M:%S",
    )
    logger = logging.getLogger("log_bench")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    file_handler = logging.FileHandler(path, mode="a+")
    file_handler.setFormatter(formatter)
    devnull = open(os.devnull, "w")
    stream_handler = logging.StreamHandler(devnull)
    stream_handler.setFormatter(formatter)
    logger.addHandler(file_handler)
    logger.addHandler(stream_handler)

    clock = time.perf_counter_ns
    samples = []
    start = clock()
    for i in range(n):
        if i % SAMPLE_EVERY == 0:
            t = clock()
            logger.info("bench line n=%d", i)
            samples.append(clock() - t)
        else:
            logger.info("bench line n=%d", i)
    caller_ns = clock() - start
    for handler in (file_handler, stream_handler):
        handler.flush()
        handler.close()
        logger.removeHandler(handler)
    devnull.close()
    total_ns = clock() - start

    with open(path, "rb") as f:
        written = sum(1 for _ in f)
    samples.sort()
    print(
        json.dumps(
            {
                "bench": "log",
                "impl": "python",
                "python": sys.version.split()[0],
                "lines": n,
                "lines_written": written,
                "seconds": total_ns / 1e9,
                "lines_per_s": n / (total_ns / 1e9),
                "caller_lines_per_s": n / (caller_ns / 1e9),
                "caller_ns_p50": percentile(samples, 50),
                "caller_ns_p99": percentile(samples, 99),
                "caller_ns_max": samples[-1] if samples else 0,
            }
        )
    )


if __name__ == "__main__":
    main()
