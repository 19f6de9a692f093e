"""Runs the Python original's `send_encoding_job` (msutils-lib) against a
gateway and an S3 server named by the environment, with the application
handler the original expects (it fills the `active_task` dict from the
worker's `ms-task-result` answer). Prints one JSON line:
{"vectors": [...], "consumption": ...}.

Env: GATEWAY_HOST, GATEWAY_USER, GATEWAY_PASSWORD, S3_ENDPOINT,
S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_BUCKET, TEXTS (a JSON array).
"""

import asyncio
import json
import os
import sys

from ms_utils.communication_utils import MicroServiceWs, S3BucketClient
from ms_utils.encoding_utils.utils import send_encoding_job


async def main():
    ws = MicroServiceWs(
        os.environ["GATEWAY_HOST"],
        os.environ["GATEWAY_USER"],
        os.environ["GATEWAY_PASSWORD"],
        ssl=False,
    )
    await ws.connect()
    s3 = S3BucketClient("interop")
    active_task = {"type": "running", "response": None, "consumption": None}

    async def handle_messages():
        while True:
            msg = await ws.receive()
            inner = (msg.get("data") or {}).get("data") or {}
            if msg.get("event") == "ms-task" and isinstance(inner, dict) and inner.get("event") == "ms-task-result":
                result = inner["data"]
                active_task["consumption"] = result.get("consumption")
                active_task["response"] = result.get("response")
                active_task["type"] = result.get("type")

    handler = asyncio.create_task(handle_messages())
    texts = json.loads(os.environ["TEXTS"])
    vectors, consumption = await send_encoding_job(
        texts,
        ws,
        s3,
        os.environ["S3_BUCKET"],
        "ref-py",
        "job-py",
        user_id="u-py",
        active_task=active_task,
        normalize=True,
    )
    handler.cancel()
    print(json.dumps({"vectors": vectors, "consumption": consumption}))
    sys.stdout.flush()


if __name__ == "__main__":
    try:
        asyncio.run(asyncio.wait_for(main(), 30))
    except Exception as e:  # noqa: BLE001 - report anything, exit non-zero
        print(f"failed: {e!r}", file=sys.stderr)
        sys.stderr.flush()
        os._exit(1)
    # The original's reconnection manager never ends; leave without waiting for it.
    os._exit(0)
