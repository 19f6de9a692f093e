"""Python baselines for `cargo run --release --example s3_bench`.

Run by the Rust benchmark (one process per client and direction, so each peak
RSS is that operation's own); prints one JSON line per run:
{"client": ..., "op": "upload"|"download", "seconds": ..., "cpu_seconds": ...,
 "peak_rss_mib": ...}

    python s3_bench.py --client boto3|original --op upload|download \
        --endpoint URL --access-key AK --secret-key SK --bucket B \
        --file SRC --dest DEST --runs N

`boto3` is boto3's default managed transfer (multipart above 8 MB, 10
threads); `original` is msutils-lib's S3BucketClient (single-threaded
TransferConfig, progress printed to stdout, which is silenced here).
"""

import argparse
import contextlib
import io
import json
import os
import sys
import time


def reset_peak_rss():
    # Writing 5 to clear_refs resets VmHWM (Linux >= 4.0).
    with contextlib.suppress(OSError):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--client", choices=["boto3", "original"], required=True)
    p.add_argument("--op", choices=["upload", "download"], required=True)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--region", default="fr-par")
    p.add_argument("--bucket", required=True)
    p.add_argument("--key", default="py-bench.bin")
    p.add_argument("--file", required=True)
    p.add_argument("--dest", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-upload", action="store_true",
                   help="download an object that is already there (no untimed upload first)")
    a = p.parse_args()

    if a.client == "boto3":
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=a.endpoint,
            aws_access_key_id=a.access_key,
            aws_secret_access_key=a.secret_key,
            region_name=a.region,
        )
        up = lambda: s3.upload_file(a.file, a.bucket, a.key)
        down = lambda: s3.download_file(a.bucket, a.key, a.dest)
    else:
        # The original reads its configuration from the environment at import.
        os.environ["S3_ENDPOINT"] = a.endpoint
        os.environ["S3_ACCESS_KEY_ID"] = a.access_key
        os.environ["S3_SECRET_ACCESS_KEY"] = a.secret_key
        from ms_utils.communication_utils.s3bucket_client import S3BucketClient

        c = S3BucketClient("bench", endpoint_url=a.endpoint, aws_access_key_id=a.access_key,
                           aws_secret_access_key=a.secret_key)

        def up():
            assert c.upload_file(a.file, a.bucket, a.key), "original upload failed"

        def down():
            assert c.download_file(a.bucket, a.key, save_to=a.dest) is True, "original download failed"

    if a.op == "download" and not a.no_upload:
        # The object to download comes from an untimed upload first.
        with contextlib.redirect_stdout(io.StringIO()):
            up()

    real_stdout = sys.stdout
    for _ in range(a.runs):
        reset_peak_rss()
        cpu0, t0 = time.process_time(), time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            (up if a.op == "upload" else down)()
        t1, cpu1 = time.perf_counter(), time.process_time()
        print(json.dumps({"client": a.client, "op": a.op, "seconds": t1 - t0,
                          "cpu_seconds": cpu1 - cpu0, "peak_rss_mib": peak_rss_mib()}),
              file=real_stdout, flush=True)
        if a.op == "download":
            os.remove(a.dest)


if __name__ == "__main__":
    main()
