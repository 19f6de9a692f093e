"""Baseline for examples/ws_bench.rs: the Python original's MicroServiceWs
(PyPI msutils-lib 1.0.7) running the same bench scenarios (communication_utils/src/protocol.md, "Development gateway")
against the same gateway. Prints one JSON line in ws_bench's format.

Run by ws_bench when --python PATH is given (or MS_UTILS_PYTHON is set);
by hand:

    python examples/bench/ws_bench.py --host 127.0.0.1:PORT --user U \
        --password P --scenario flood --count 200000 --size 200

The original logs to ./logs/combined.log and stderr: run it from a
scratch directory (ws_bench does).

The soak scenario (ws_bench --scenario soak, whose parent closes this
client's connections and counts what the gateway read) sends --count
messages {"event": "soak", "data": {"seq": N}} at --rate a second (0: full
speed), waits for the original's send queue to drain (at most 5 minutes:
it keeps unsent messages across reconnects, and its close() drops what is
still queued), then calls close(); it reports the reconnects it made.

The tasks scenario (ws_bench --scenario tasks) runs this as the service
under test: logged in as --user, it receives with the original's receive()
and hands each ms-task to a handler in its own asyncio task (the
`handle_data` pattern of the services built on it), which answers
{"n", "text"} with {"n", "chars"} through send_task_to_ms. It prints
"ready" once connected, serves until its stdin closes, then prints
{"served", "cpu_secs", "peak_rss_mb"} (cpu_secs: its CPU time from
"ready" to the end of stdin).
"""

import argparse
import asyncio
import json
import os
import resource
import sys
import time

from ms_utils.communication_utils.microservice_ws import MicroServiceWs


# The soak scenario waits at most this long for the send queue to drain.
SOAK_DRAIN_TIMEOUT = 300.0


class CountingWs(MicroServiceWs):
    """The original, counting its connections (it reports no statistics)."""

    connections = 0

    async def _perform_connection(self):
        await super()._perform_connection()
        self.connections += 1


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


async def flood(ms: MicroServiceWs, count: int, size: int) -> dict:
    start = time.perf_counter()
    await ms.send({"event": "bench-flood", "data": {"count": count, "size": size}})
    received = 0
    while True:
        msg = await ms.receive()
        event = msg.get("event")
        if event == "bench":
            received += 1
        elif event == "bench-end":
            break
    secs = time.perf_counter() - start
    return {
        "count": received,
        "size": size,
        "secs": secs,
        "msgs_per_s": received / secs,
        "mb_per_s": received * size / secs / 1e6,
    }


async def chunked(ms: MicroServiceWs, nbytes: int, chunk: int) -> dict:
    start = time.perf_counter()
    await ms.send({"event": "bench-chunked", "data": {"bytes": nbytes, "chunk": chunk}})
    while True:
        msg = await ms.receive()
        if msg.get("event") == "bench-payload":
            break
    secs = time.perf_counter() - start
    blob = msg["data"]["blob"]
    if len(blob) != nbytes:
        raise SystemExit(f"blob of {len(blob)} bytes, expected {nbytes}")
    return {
        "bytes": nbytes,
        "chunk": chunk,
        "secs": secs,
        "mb_per_s": nbytes / secs / 1e6,
    }


async def soak(ms: CountingWs, count: int, rate: float) -> dict:
    start = time.perf_counter()
    for seq in range(count):
        if rate > 0:
            delay = start + seq / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await ms.send({"event": "soak", "data": {"seq": seq}})
    send_secs = time.perf_counter() - start
    deadline = time.perf_counter() + SOAK_DRAIN_TIMEOUT
    while ms.response_queue.qsize() > 0 and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    queued = ms.response_queue.qsize()
    await ms.close()
    secs = time.perf_counter() - start
    return {
        "count": count,
        "close_result": "ok" if queued == 0 else f"dropped {queued} still queued",
        "undelivered": queued,
        "reconnects": max(ms.connections - 1, 0),
        "resent": None,
        "possibly_lost": None,
        "send_secs": round(send_secs, 3),
        "secs": round(secs, 3),
    }


async def serve_tasks(ms: MicroServiceWs) -> dict:
    served = 0
    running = set()

    async def handle(msg: dict) -> None:
        nonlocal served
        task = msg["data"]
        payload = task["data"]
        answer = {"n": payload["n"], "chars": len(payload["text"])}
        await ms.send_task_to_ms(task["from"], task["referenceId"], task["jobId"], answer)
        served += 1

    async def handle_data() -> None:
        while True:
            msg = await ms.receive()
            if msg.get("event") == "ms-task":
                t = asyncio.create_task(handle(msg))
                running.add(t)
                t.add_done_callback(running.discard)

    receiving = asyncio.create_task(handle_data())
    cpu = time.process_time()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    cpu = time.process_time() - cpu
    receiving.cancel()
    return {"served": served, "cpu_secs": cpu, "peak_rss_mb": round(peak_rss_mb(), 3)}


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--scenario", choices=["flood", "chunked", "soak", "tasks"], required=True)
    p.add_argument("--count", type=int, default=200_000)
    p.add_argument("--size", type=int, default=200)
    p.add_argument("--bytes", type=int, default=64 * 1024 * 1024)
    p.add_argument("--chunk", type=int, default=512 * 1024)
    p.add_argument("--rate", type=float, default=0.0)
    args = p.parse_args()

    ms = CountingWs(args.host, args.user, args.password, ssl=False)
    await ms.connect()
    if args.scenario == "tasks":
        print(json.dumps(await serve_tasks(ms)), flush=True)
        os._exit(0)
    if args.scenario == "soak":
        result = await soak(ms, args.count, args.rate)
        line = {"client": "python", "scenario": "soak", **result,
                "peak_rss_mb": round(peak_rss_mb(), 3)}
        print(json.dumps(line), flush=True)
        os._exit(0)
    if args.scenario == "flood":
        result = await flood(ms, args.count, args.size)
    else:
        result = await chunked(ms, args.bytes, args.chunk)
    line = {"client": "python", "scenario": args.scenario, **result,
            "peak_rss_mb": peak_rss_mb()}
    print(json.dumps(line), flush=True)
    await ms.close()
    # The original's reconnection manager never stops after close().
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
