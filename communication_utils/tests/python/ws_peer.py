"""Python side of ws_interop_python.rs: the ORIGINAL msutils-lib client.

Usage: ws_peer.py HOST USER PASSWORD RUST_SERVICE

Talks to the Rust service through the development gateway and prints one
line per check ("OK ..." or "FAIL ..."), then "DONE". Exits non-zero on failure.
"""

import asyncio
import hashlib
import sys

from ms_utils.communication_utils.microservice_ws import MicroServiceWs


STASH = {}


async def next_task(ms, job_id, timeout=20):
    """The ms-task message answering job_id; others are kept for later."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while job_id not in STASH:
        left = deadline - loop.time()
        if left <= 0:
            raise TimeoutError(f"no answer for {job_id}")
        msg = await asyncio.wait_for(ms.receive(), timeout=left)
        data = msg.get("data") or {}
        if msg.get("event") == "ms-task":
            STASH[data.get("jobId")] = data
        else:
            print(f"NOTE unexpected message {str(msg)[:200]}", flush=True)
    return STASH.pop(job_id)


async def main():
    host, user, password, rust = sys.argv[1:5]
    ms = MicroServiceWs(host, username=user, password=password, ssl=False)
    await ms.connect()
    print("OK connected", flush=True)

    # 1. A task to the Rust service; it answers with the same jobId.
    await ms.send_task_to_ms(rust, "wf-1", "py-1", {"n": 21, "text": "héllo €"})
    data = await next_task(ms, "py-1")
    answer = data["data"]
    if data.get("from") == rust and answer.get("doubled") == 42 and answer.get("echo") == "héllo €":
        print("OK request-reply", flush=True)
    else:
        print(f"FAIL request-reply {data}", flush=True)
        sys.exit(1)

    # 2. A large answer: the gateway cuts it into chunk messages, which the
    # original client reassembles.
    await ms.send_task_to_ms(rust, "wf-2", "py-big", {"want_bytes": 2 * 1024 * 1024})
    data = await next_task(ms, "py-big")
    blob = data["data"]["blob"]
    digest = hashlib.sha256(blob.encode()).hexdigest()
    if len(blob) == 2 * 1024 * 1024 and digest == data["data"]["sha256"]:
        print(f"OK chunked {len(blob)}", flush=True)
    else:
        print(f"FAIL chunked len={len(blob)}", flush=True)
        sys.exit(1)

    # 3. A task the Rust service started on its own (it sends one on connect).
    data = await next_task(ms, "rust-hello")
    if data["data"] == {"greeting": "bonjour ☃"}:
        print("OK rust-initiated", flush=True)
    else:
        print(f"FAIL rust-initiated {data}", flush=True)
        sys.exit(1)

    await ms.close()
    print("DONE", flush=True)


asyncio.run(main())
