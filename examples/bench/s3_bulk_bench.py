"""The boto3 side of examples/s3_bulk_bench.rs: a folder of small files up
and back down the way a Python service would do it, with boto3 in a thread
pool; then the same folder synced again, unchanged, both ways, by the rules
of `aws s3 sync` (awscli's SizeAndLastModifiedSync) written in boto3:
list the prefix, walk and stat the folder, transfer what is new, resized or
newer. Prints one JSON line per direction."""
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

    for op, fn in (("resync-up", sync_up), ("resync-down", sync_down)):
        if op == "resync-down":
            # First run: gives the files the objects' times, as aws s3 sync does.
            mirror = a.dest + "-mirror"
            sync_down(s3, a.bucket, a.prefix, mirror, a.threads)
        t0 = time.perf_counter()
        if op == "resync-up":
            moved = sync_up(s3, a.dir, a.bucket, a.prefix, a.threads)
        else:
            moved = sync_down(s3, a.bucket, a.prefix, mirror, a.threads)
        secs = time.perf_counter() - t0
        if moved:
            raise SystemExit(f"{op} moved {moved} files of an unchanged folder")
        print(json.dumps({"client": f"boto3-threads{a.threads}", "op": op, "files": len(files),
                          "seconds": secs}), flush=True)


def listing(s3, bucket, prefix):
    """Key (relative to the prefix) -> (size, LastModified as epoch seconds)."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for o in page.get("Contents", []):
            out[o["Key"][len(prefix) + 1:]] = (o["Size"], o["LastModified"].timestamp())
    return out


def local_files(root):
    """Relative path -> (size, mtime) of every file under root."""
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            st = os.stat(p)
            out[os.path.relpath(p, root).replace(os.sep, "/")] = (st.st_size, st.st_mtime)
    return out


def sync_up(s3, root, bucket, prefix, threads):
    """aws s3 sync DIR s3://bucket/prefix: upload when missing, resized, or
    the local file is newer than the object. Returns the files moved."""
    remote = listing(s3, bucket, prefix)
    todo = [rel for rel, (size, mtime) in local_files(root).items()
            if rel not in remote or remote[rel][0] != size or mtime > remote[rel][1]]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda rel: s3.upload_file(os.path.join(root, rel), bucket,
                                                 f"{prefix}/{rel}"), todo))
    return len(todo)


def sync_down(s3, bucket, prefix, root, threads):
    """aws s3 sync s3://bucket/prefix DIR: download when missing, resized, or
    the local file is newer than the object (awscli's default for
    downloads), then give the file the object's time. Returns the files moved."""
    local = local_files(root) if os.path.isdir(root) else {}
    remote = listing(s3, bucket, prefix)
    todo = [rel for rel, (size, mtime) in remote.items()
            if rel not in local or local[rel][0] != size or local[rel][1] > mtime]

    def get(rel):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        s3.download_file(bucket, f"{prefix}/{rel}", path)
        t = remote[rel][1]
        os.utime(path, (t, t))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(get, todo))
    return len(todo)


if __name__ == "__main__":
    main()
