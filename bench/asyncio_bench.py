"""AsyncClient benchmark: concurrency on one event loop, with baselines measured in the same
run, in interleaved rounds, medians reported (these machines are shared and noisy).

The emulator runs in its own process so the client under test has the interpreter to itself.

1. Getters: 1,000 concurrent ``get_messages`` calls on one loop through ``AsyncClient``,
   against bare aiohttp making the same requests with the same token and connection limit
   (target: within 1.2x).
2. Pending jobs: 500 ``wait=False`` text jobs followed until they complete, in a child process
   each: threads created and the memory (RSS) held while they are pending, ``AsyncClient``
   against ``symbl.Client``.
3. Streams: 100 concurrent streaming connections on one loop, each sending audio and timing
   its events (send to callback, p50 and p99), against bare aiohttp websockets doing the same
   exchange; and the Python memory (tracemalloc) of an open stream, against a bare socket.

Usage: python bench/asyncio_bench.py [--getters 1000] [--jobs 500] [--streams 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import aiohttp
import requests

import symbl

from benchlib import ADMIN_HEADERS, APP, TONE, bare_connect, percentile, start_emulator

DATA = Path(symbl.__file__).parent / "data"
MEETING = json.loads((DATA / "meeting.json").read_text(encoding="utf-8"))


async def sdk_getters(client: symbl.AsyncClient, conversation_id: str, count: int) -> float:
    started = time.perf_counter()
    await asyncio.gather(
        *(client.Conversations.get_messages(conversation_id) for _ in range(count))
    )
    return time.perf_counter() - started


async def bare_getters(session: aiohttp.ClientSession, url: str, token: str, count: int) -> float:
    headers = {"x-api-key": token, "Authorization": f"Bearer {token}"}

    async def one() -> object:
        async with session.get(url, headers=headers) as response:
            response.raise_for_status()
            return await response.json()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return time.perf_counter() - started


def getters(base_url: str, count: int, rounds: int) -> dict[str, float]:
    async def run() -> dict[str, float]:
        async with symbl.AsyncClient(APP, base_url=base_url) as client:
            conversation = await client.Text.process(payload=MEETING)
            conversation_id = conversation.get_conversation_id()
            await conversation.get_messages()  # the emulator analyses it once, here
            token = await client.access_token()
            connector = aiohttp.TCPConnector(limit=client.max_connections)
            url = f"{base_url}/v1/conversations/{conversation_id}/messages"
            async with aiohttp.ClientSession(connector=connector) as session:
                sdk, bare = [], []
                for _ in range(rounds):
                    sdk.append(await sdk_getters(client, conversation_id, count))
                    bare.append(await bare_getters(session, url, token, count))
        return {
            "sdk_s": statistics.median(sdk),
            "bare_s": statistics.median(bare),
            "ratio": statistics.median(s / b for s, b in zip(sdk, bare)),
        }

    return asyncio.run(run())


PENDING_JOBS = textwrap.dedent(
    """
    import asyncio, json, resource, sys, threading, time
    import symbl
    def rss():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    base_url, kind, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    payload = {"messages": [{"payload": {"content": "Can we meet tomorrow?"}}]}
    before = threading.active_count()
    most = before
    held = 0.0
    started = time.perf_counter()
    if kind == "async":
        async def main():
            global most, held
            async with symbl.AsyncClient(%(app)r, base_url=base_url) as client:
                await client.access_token()
                baseline = rss()
                conversations = await asyncio.gather(
                    *(client.Text.process(payload=payload, wait=False) for _ in range(count))
                )
                most = max(most, threading.active_count())
                held = rss() - baseline
                await asyncio.gather(*(c.wait() for c in conversations))
        asyncio.run(main())
    else:
        with symbl.Client(%(app)r, base_url=base_url, max_connections=64) as client:
            client.access_token()
            baseline = rss()
            conversations = [client.Text.process(payload=payload, wait=False) for _ in range(count)]
            most = max(most, threading.active_count())
            held = rss() - baseline
            for conversation in conversations:
                conversation.wait()
    print(json.dumps({
        "seconds": time.perf_counter() - started,
        "threads_created": most - before,
        "held_mib": held,
    }))
    """
) % {"app": APP}


def pending_jobs(base_url: str, count: int, rounds: int) -> dict[str, dict[str, float]]:
    requests.patch(
        base_url + "/_emulator/settings",
        json={"jobQueueSeconds": 0.0, "jobProcessingSeconds": 2.0},
        headers=ADMIN_HEADERS,
        timeout=5,
    ).raise_for_status()
    results: dict[str, list[dict[str, float]]] = {"async": [], "sync": []}
    for _ in range(rounds):
        for kind in ("async", "sync"):
            out = subprocess.run(
                [sys.executable, "-c", PENDING_JOBS, base_url, kind, str(count)],
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            ).stdout
            results[kind].append(json.loads(out))
    return {
        kind: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        for kind, runs in results.items()
    }


async def stream_memory(
    client: symbl.AsyncClient, session: aiohttp.ClientSession, base_url: str, token: str, count: int
) -> tuple[float, float]:
    """Python memory per open stream (tracemalloc), AsyncClient then bare aiohttp."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        connections = await asyncio.gather(
            *(client.Streaming.start_connection() for _ in range(count))
        )
        sdk = (tracemalloc.get_traced_memory()[0] - before) / count
        await asyncio.gather(*(connection.stop() for connection in connections))
        del connections
        before = tracemalloc.get_traced_memory()[0]
        sockets = await asyncio.gather(
            *(bare_connect(session, base_url, token) for _ in range(count))
        )
        bare = (tracemalloc.get_traced_memory()[0] - before) / count
        await asyncio.gather(*(socket.close() for socket in sockets))
    finally:
        tracemalloc.stop()
    return sdk, bare


async def sdk_streams(client: symbl.AsyncClient, streams: int, steps: int) -> list[float]:
    """``streams`` connections at once, each sending ``steps`` blocks of 100 ms and timing
    each block's ``message_response``; returns the latencies."""
    connections = await asyncio.gather(
        *(client.Streaming.start_connection() for _ in range(streams))
    )

    async def one(connection: object) -> list[float]:
        arrived: asyncio.Queue[None] = asyncio.Queue()
        connection.subscribe({"message_response": lambda event: arrived.put_nowait(None)})  # type: ignore[attr-defined]
        latencies = []
        for _ in range(steps):
            started = time.perf_counter()
            await connection.send_audio(TONE)  # type: ignore[attr-defined]
            await asyncio.wait_for(arrived.get(), 10)
            latencies.append(time.perf_counter() - started)
        await connection.stop()  # type: ignore[attr-defined]
        return latencies

    results = await asyncio.gather(*(one(connection) for connection in connections))
    return [value for latencies in results for value in latencies]


async def bare_streams(
    session: aiohttp.ClientSession, base_url: str, token: str, streams: int, steps: int
) -> list[float]:
    """The same exchange over bare aiohttp websockets."""
    sockets = await asyncio.gather(
        *(bare_connect(session, base_url, token) for _ in range(streams))
    )

    async def one(socket: aiohttp.ClientWebSocketResponse) -> list[float]:
        latencies = []
        for _ in range(steps):
            started = time.perf_counter()
            await socket.send_bytes(TONE)
            while '"message_response"' not in (await socket.receive()).data:
                pass
            latencies.append(time.perf_counter() - started)
        await socket.send_str(json.dumps({"type": "stop_request"}))
        await socket.close()
        return latencies

    results = await asyncio.gather(*(one(socket) for socket in sockets))
    return [value for latencies in results for value in latencies]


def streams(base_url: str, count: int, steps: int, rounds: int) -> dict[str, float]:
    script = [
        {"text": f"Line number {index}.", "start": index * 0.1 + 0.01, "end": index * 0.1 + 0.06}
        for index in range(steps)
    ]
    requests.put(
        base_url + "/_emulator/live-transcript",
        json={"transcript": script},
        headers=ADMIN_HEADERS,
        timeout=5,
    )

    async def run() -> dict[str, list[float]]:
        figures: dict[str, list[float]] = {
            key: [] for key in ("sdk50", "sdk99", "bare50", "bare99", "sdk_kib", "bare_kib")
        }
        async with symbl.AsyncClient(APP, base_url=base_url, max_connections=count) as client:
            token = await client.access_token()
            async with aiohttp.ClientSession() as session:
                sdk, bare = await stream_memory(client, session, base_url, token, count)
                figures["sdk_kib"].append(sdk / 1024)
                figures["bare_kib"].append(bare / 1024)
                for _ in range(rounds):
                    latencies = await sdk_streams(client, count, steps)
                    figures["sdk50"].append(percentile(latencies, 0.5))
                    figures["sdk99"].append(percentile(latencies, 0.99))
                    latencies = await bare_streams(session, base_url, token, count, steps)
                    figures["bare50"].append(percentile(latencies, 0.5))
                    figures["bare99"].append(percentile(latencies, 0.99))
        return figures

    return {key: statistics.median(values) for key, values in asyncio.run(run()).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--getters", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20, help="100 ms blocks per stream")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    process, base_url = start_emulator()
    try:
        print(f"1. {args.getters} concurrent get_messages on one loop ({args.rounds} rounds)")
        figures = getters(base_url, args.getters, args.rounds)
        print(
            f"   AsyncClient {figures['sdk_s']:.3f} s, bare aiohttp {figures['bare_s']:.3f} s: "
            f"{figures['ratio']:.2f}x (target <= 1.2x)"
        )
        print(f"2. {args.jobs} wait=False text jobs, followed to the end (child processes)")
        jobs = pending_jobs(base_url, args.jobs, max(1, args.rounds // 2))
        for kind, name in (("async", "AsyncClient"), ("sync", "Client")):
            row = jobs[kind]
            print(
                f"   {name:<11} threads created {row['threads_created']:.0f}, memory held while "
                f"pending {row['held_mib']:.1f} MiB, all done in {row['seconds']:.2f} s"
            )
        print(
            "   memory ratio async/sync: "
            f"{jobs['async']['held_mib'] / jobs['sync']['held_mib']:.2f}x"
        )
        print(
            f"3. {args.streams} concurrent streams on one loop, 100 ms steps ({args.rounds} rounds)"
        )
        live = streams(base_url, args.streams, args.steps, args.rounds)
        print(
            f"   event latency p50 {live['sdk50'] * 1000:.2f} ms, "
            f"p99 {live['sdk99'] * 1000:.2f} ms; bare aiohttp p50 {live['bare50'] * 1000:.2f} ms, "
            f"p99 {live['bare99'] * 1000:.2f} ms; "
            f"p50 ratio {live['sdk50'] / live['bare50']:.2f}x, p99 ratio "
            f"{live['sdk99'] / live['bare99']:.2f}x"
        )
        print(
            f"   Python memory per open stream: AsyncClient {live['sdk_kib']:.0f} KiB, "
            f"bare aiohttp {live['bare_kib']:.0f} KiB"
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
