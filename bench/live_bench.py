"""Live connection benchmark: streaming start latency, event delivery latency and audio send
throughput, each against a bare websocket-client baseline measured in the same run.

The emulator runs in its own process, so the client under test has the interpreter to itself.

1. ``start_connection``: until the connection is usable (handshake, start_request sent,
   conversation_created received). Baseline: the same three steps with websocket-client.
   The old client slept a full second here.
2. Event delivery: the emulator's live transcript has one short line per 100 ms of audio;
   each step sends 100 ms and times the arrival of that line's ``message_response`` at the
   subscribed callback (p50, p99). Baseline: the same with a blocking recv loop.
3. Throughput: a 10-minute 16 kHz WAV sent as fast as allowed, with ``send_audio_from_file``
   (reading and converting the file included) and ``send_audio`` (bytes already in memory),
   both in 8192-byte frames. Baseline: websocket-client sending 8192-byte frames in a loop.

Usage: python bench/live_bench.py [--runs 30] [--events 200] [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
import wave
from pathlib import Path

import numpy as np
import requests
import websocket

import symbl

from benchlib import ADMIN_HEADERS, APP, START, TONE, start_emulator


def raw_connect(base_url: str, token: str) -> websocket.WebSocket:
    ws = websocket.create_connection(
        f"{base_url.replace('http', 'ws')}/v1/streaming/{uuid.uuid4()}",
        header=[f"x-api-key: {token}"],
    )
    ws.send(json.dumps(START))
    while "conversation_created" not in ws.recv():
        pass
    return ws


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_start(client: symbl.Client, base_url: str, runs: int) -> None:
    sdk, raw = [], []
    token = client.access_token()
    for _ in range(runs):
        started = time.perf_counter()
        connection = client.Streaming.start_connection()
        sdk.append(time.perf_counter() - started)
        connection.stop()
        started = time.perf_counter()
        ws = raw_connect(base_url, token)
        raw.append(time.perf_counter() - started)
        ws.close()
    print(
        f"start_connection: SDK median {statistics.median(sdk) * 1000:.1f} ms "
        f"(p95 {percentile(sdk, 0.95) * 1000:.1f}), bare websocket-client "
        f"{statistics.median(raw) * 1000:.1f} ms, ratio "
        f"{statistics.median(sdk) / statistics.median(raw):.2f}x (target < 50 ms: "
        f"{'met' if statistics.median(sdk) < 0.05 else 'MISSED'}; the old client slept 1 s)"
    )


def bench_events(client: symbl.Client, base_url: str, count: int) -> None:
    script = [
        {"text": f"Line number {index}.", "start": index * 0.1 + 0.01, "end": index * 0.1 + 0.06}
        for index in range(count)
    ]
    requests.put(
        base_url + "/_emulator/live-transcript",
        json={"transcript": script},
        headers=ADMIN_HEADERS,
        timeout=5,
    )
    arrived = threading.Semaphore(0)
    sdk = []
    connection = client.Streaming.start_connection()
    connection.subscribe({"message_response": lambda event: arrived.release()})
    for _ in range(count):
        started = time.perf_counter()
        connection.send_audio(TONE)
        arrived.acquire(timeout=5)
        sdk.append(time.perf_counter() - started)
    connection.stop()
    raw = []
    ws = raw_connect(base_url, client.access_token())
    for _ in range(count):
        started = time.perf_counter()
        ws.send_binary(TONE)
        while '"message_response"' not in ws.recv():
            pass
        raw.append(time.perf_counter() - started)
    ws.close()
    print(
        f"event delivery ({count} events, send to callback): SDK p50 "
        f"{percentile(sdk, 0.5) * 1000:.2f} ms, p99 {percentile(sdk, 0.99) * 1000:.2f} ms; bare "
        f"recv loop p50 {percentile(raw, 0.5) * 1000:.2f} ms, "
        f"p99 {percentile(raw, 0.99) * 1000:.2f} ms; "
        f"p50 ratio {percentile(sdk, 0.5) / percentile(raw, 0.5):.2f}x"
    )


def bench_throughput(client: symbl.Client, base_url: str, minutes: float) -> None:
    requests.delete(base_url + "/_emulator/live-transcript", headers=ADMIN_HEADERS, timeout=5)
    seconds = minutes * 60
    audio = (np.random.default_rng(0).normal(0, 3000, int(seconds * 16000))).astype("<i2")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.wav"
        with wave.open(str(path), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(16000)
            writer.writeframes(audio.tobytes())
        results = {}
        connection = client.Streaming.start_connection()
        started = time.perf_counter()
        connection.send_audio_from_file(path, realtime=False)
        results["send_audio_from_file (8192-byte frames)"] = time.perf_counter() - started
        connection.stop()
        connection = client.Streaming.start_connection()
        started = time.perf_counter()
        connection.send_audio(audio.tobytes())
        results["send_audio (8192-byte frames)"] = time.perf_counter() - started
        connection.stop()
    payload = audio.tobytes()
    ws = raw_connect(base_url, client.access_token())
    started = time.perf_counter()
    for offset in range(0, len(payload), 8192):
        ws.send_binary(payload[offset : offset + 8192])
    raw = time.perf_counter() - started
    ws.close()
    megabytes = len(payload) / 1e6
    for name, elapsed in results.items():
        print(
            f"throughput, {minutes:g}-minute WAV ({megabytes:.1f} MB), {name}: {elapsed:.2f} s = "
            f"{megabytes / elapsed:.1f} MB/s, {seconds / elapsed:.0f}x real time, "
            f"{elapsed / raw:.2f}x the bare loop ({raw:.2f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    process, base_url = start_emulator()
    try:
        client = symbl.Client(APP, base_url=base_url)
        client.Streaming.start_connection().stop()  # warm up: token, pools, imports
        bench_start(client, base_url, args.runs)
        bench_events(client, base_url, args.events)
        bench_throughput(client, base_url, args.minutes)
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
