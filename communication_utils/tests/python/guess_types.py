"""The Python half of communication_utils/tests/s3_mime_python.rs.

Reads a JSON list of extra file names on stdin, adds names built from every
extension this Python's `mimetypes` knows after loading the system files
(the keys of `types_map`, `common_types`, `suffix_map`, `encodings_map`), and
prints one JSON object: the Python version, the `mime.types` files present,
and `[name, type]` for each name, `type` being
`mimetypes.guess_type(name)[0]` (what the original client stores as
`FileType`, `null` meaning `application/octet-stream`).
"""

import json
import mimetypes
import os
import platform
import sys


def main():
    extra = json.load(sys.stdin)
    mimetypes.init()
    keys = (
        list(mimetypes.types_map)
        + list(mimetypes.common_types)
        + list(mimetypes.suffix_map)
        + list(mimetypes.encodings_map)
    )
    names = []
    for key in keys:
        names += ["x" + key, "X" + key.upper(), "dir.d/x" + key.lower()]
    for enc in mimetypes.encodings_map:
        names += ["x.txt" + enc, "x.tar" + enc, "x" + enc.upper()]
    names += extra
    seen = set()
    results = []
    for name in names:
        if name not in seen:
            seen.add(name)
            results.append([name, mimetypes.guess_type(name)[0]])
    json.dump(
        {
            "python": platform.python_version(),
            "files": [f for f in mimetypes.knownfiles if os.path.isfile(f)],
            "extensions": len(set(keys)),
            "results": results,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
