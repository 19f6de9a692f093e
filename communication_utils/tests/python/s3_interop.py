"""The Python half of communication_utils/tests/s3_python_interop.rs.

Drives the original msutils-lib S3BucketClient (boto3) against the S3 server
the Rust test started, and prints one JSON line with what it saw.

    python s3_interop.py upload   FILE KEY    # S3BucketClient.upload_file
    python s3_interop.py inspect  KEY DEST    # get_file_metadata + download_file
    python s3_interop.py head     KEY         # boto3 itself: headers, class,
                                              # encryption, tags, ACL grants

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


def head(bucket, key):
    """What boto3 (not the original's wrapper) reads of an object's options."""
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["S3_SECRET_ACCESS_KEY"],
        region_name=os.environ.get("S3_REGION", "fr-par"),  # the original's default
    )
    h = s3.head_object(Bucket=bucket, Key=key)
    fields = ["ContentType", "CacheControl", "ContentDisposition", "ContentEncoding",
              "ContentLanguage", "StorageClass", "ServerSideEncryption", "SSEKMSKeyId"]
    out = {f: h.get(f) for f in fields}
    expires = h.get("Expires")
    out["Expires"] = expires.isoformat() if expires is not None else h.get("ExpiresString")
    out["Metadata"] = h.get("Metadata")
    tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    out["Tags"] = {t["Key"]: t["Value"] for t in tags}
    grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    out["PublicRead"] = any(
        g["Grantee"].get("URI") == "http://acs.amazonaws.com/groups/global/AllUsers"
        and g["Permission"] == "READ"
        for g in grants
    )
    out["ok"] = True
    return out


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
        elif cmd == "head":
            out.update(head(bucket, sys.argv[2]))
        else:
            raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
