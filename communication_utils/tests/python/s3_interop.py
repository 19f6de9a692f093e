"""The Python half of communication_utils/tests/s3_python_interop.rs.

Drives the original msutils-lib S3BucketClient (boto3) against the S3 server
the Rust test started, and prints one JSON line with what it saw.

    python s3_interop.py upload   FILE KEY    # S3BucketClient.upload_file
    python s3_interop.py inspect  KEY DEST    # get_file_metadata + download_file

The endpoint, keys and bucket come from S3_ENDPOINT, S3_ACCESS_KEY_ID,
S3_SECRET_ACCESS_KEY (read by the original at import) and S3_BUCKET.
"""

import contextlib
import email.header
import hashlib
import io
import json
import os
import sys


def decode(value):
    # Non-ASCII metadata values travel as RFC 2047 words (=?UTF-8?B?...?=).
    return str(email.header.make_header(email.header.decode_header(value)))


def main():
    from ms_utils.communication_utils.s3bucket_client import S3BucketClient

    client = S3BucketClient("interop")
    bucket = os.environ["S3_BUCKET"]
    cmd = sys.argv[1]
    out = {}
    # The original prints a progress bar on stdout; keep stdout for our JSON.
    with contextlib.redirect_stdout(io.StringIO()):
        if cmd == "upload":
            path, key = sys.argv[2], sys.argv[3]
            out["ok"] = client.upload_file(path, bucket, key, metadata={"origin": "python"})
        elif cmd == "inspect":
            key, dest = sys.argv[2], sys.argv[3]
            meta = client.get_file_metadata(bucket, key)
            ok = client.download_file(bucket, key, save_to=dest)
            out["ok"] = meta is not None and ok is True
            out["metadata"] = meta
            out["decoded"] = {k: decode(v) for k, v in (meta or {}).items()}
            if ok is True:
                with open(dest, "rb") as f:
                    out["sha256"] = hashlib.sha256(f.read()).hexdigest()
        else:
            raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
