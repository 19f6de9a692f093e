"""The boto3 side of examples/s3_bulk_bench.rs: a folder of small files up
and back down the way a Python service would do it, with boto3 in a thread
pool. Prints one JSON line per direction."""
import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import boto3


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--bucket", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--dest", required=True)
    p.add_argument("--threads", type=int, default=10)
    a = p.parse_args()
    s3 = boto3.client("s3", endpoint_url=a.endpoint, aws_access_key_id=a.access_key,
                      aws_secret_access_key=a.secret_key, region_name="fr-par")
    files = sorted(os.listdir(a.dir))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(a.threads) as pool:
        list(pool.map(lambda f: s3.upload_file(os.path.join(a.dir, f), a.bucket,
                                               f"{a.prefix}/{f}"), files))
    up = time.perf_counter() - t0
    print(json.dumps({"client": f"boto3-threads{a.threads}", "op": "upload", "files": len(files),
                      "seconds": up}), flush=True)

    os.makedirs(a.dest, exist_ok=True)
    t0 = time.perf_counter()
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=a.bucket, Prefix=a.prefix + "/"):
        keys += [o["Key"] for o in page.get("Contents", [])]
    with ThreadPoolExecutor(a.threads) as pool:
        list(pool.map(lambda k: s3.download_file(a.bucket, k, os.path.join(a.dest, os.path.basename(k))),
                      keys))
    down = time.perf_counter() - t0
    print(json.dumps({"client": f"boto3-threads{a.threads}", "op": "download", "files": len(keys),
                      "seconds": down}), flush=True)


if __name__ == "__main__":
    main()
