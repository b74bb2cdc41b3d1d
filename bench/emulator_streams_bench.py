"""Emulator streams benchmark: event latency with 25, 50 and 100 concurrent streams; the p99 at
100 must stay within 2x of the p99 at 25.

The emulator runs in its own process (``python -m symbl.emulator``, no limits), so that the
clients do not compete with it for one interpreter. Every stream is a bare aiohttp websocket
(what is measured is the emulator, not a client): it opens, sends ``start_request``, then sends
``STEPS`` blocks of 100 ms of audio in real time (one every 100 ms, as a live stream does,
each stream starting at a random moment of the first 100 ms), timing each block's
``message_response`` (the emulator recognises one scripted line per block). All streams of a
case run at once on one event loop: 100 streams are 1,000 blocks a second. The three cases
alternate in interleaved rounds; figures are medians over the rounds of each case's p50 and
p99, and the ratios are against the 25-stream case measured in the same rounds.

Usage: python bench/emulator_streams_bench.py [--steps 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time

import aiohttp
import requests

from benchlib import ADMIN_HEADERS, APP, TONE, bare_connect, percentile, start_emulator

CASES = (25, 50, 100)
BLOCK_SECONDS = 0.1


async def paced_streams(
    session: aiohttp.ClientSession, base_url: str, token: str, streams: int, steps: int
) -> list[float]:
    """``streams`` live streams at once, each sending a block every 100 ms; the latency of
    every block's ``message_response``."""
    sockets = await asyncio.gather(
        *(bare_connect(session, base_url, token) for _ in range(streams))
    )
    rng = random.Random(streams)

    async def one(socket: aiohttp.ClientWebSocketResponse) -> list[float]:
        latencies = []
        loop = asyncio.get_running_loop()
        start = loop.time() + rng.uniform(0, BLOCK_SECONDS)
        for step in range(steps):
            await asyncio.sleep(max(0.0, start + step * BLOCK_SECONDS - loop.time()))
            sent = time.perf_counter()
            await socket.send_bytes(TONE)
            while '"message_response"' not in (await socket.receive()).data:
                pass
            latencies.append(time.perf_counter() - sent)
        await socket.send_str(json.dumps({"type": "stop_request"}))
        await socket.close()
        return latencies

    results = await asyncio.gather(*(one(socket) for socket in sockets))
    return [value for latencies in results for value in latencies]


def token_for(base_url: str) -> str:
    answer = requests.post(
        base_url + "/oauth2/token:generate",
        json={"type": "application", "appId": APP["app_id"], "appSecret": APP["app_secret"]},
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["accessToken"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    process, base_url = start_emulator()
    script = [
        {"text": f"Line number {index}.", "start": index * 0.1 + 0.01, "end": index * 0.1 + 0.06}
        for index in range(args.steps)
    ]
    requests.put(
        base_url + "/_emulator/live-transcript",
        json={"transcript": script},
        headers=ADMIN_HEADERS,
        timeout=5,
    ).raise_for_status()
    token = token_for(base_url)

    async def run() -> dict[int, dict[str, list[float]]]:
        figures: dict[int, dict[str, list[float]]] = {
            count: {"p50": [], "p99": []} for count in CASES
        }
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(args.rounds):
                for count in CASES:
                    latencies = await paced_streams(session, base_url, token, count, args.steps)
                    figures[count]["p50"].append(percentile(latencies, 0.5))
                    figures[count]["p99"].append(percentile(latencies, 0.99))
                    await asyncio.sleep(0.5)
        return figures

    try:
        figures = asyncio.run(run())
    finally:
        process.terminate()
        process.wait(10)
    base = {key: statistics.median(figures[CASES[0]][key]) for key in ("p50", "p99")}
    print(f"event latency per 100 ms block of audio, {args.steps} blocks per stream")
    for count in CASES:
        p50 = statistics.median(figures[count]["p50"])
        p99 = statistics.median(figures[count]["p99"])
        print(
            f"{count:4d} streams: p50 {p50 * 1000:7.2f} ms ({p50 / base['p50']:.2f}x)   "
            f"p99 {p99 * 1000:7.2f} ms ({p99 / base['p99']:.2f}x of 25 streams)"
        )
    print(f"medians of {args.rounds} interleaved rounds")


if __name__ == "__main__":
    main()
