"""Live sessions under cuts: recovery time and audio lost, against a baseline measured in the
same run.

The emulator runs in its own process. A stream sends 100 ms LINEAR16 frames of a counting
signal (16 kHz, paced at real time by default) while the emulator cuts its socket every few
seconds (no close frame, as a dropped network does). For each cut it reports the time from the
cut to the ``reconnected`` event; at the end it compares what the emulator accepted with what
``send_audio`` accepted: every sample must be there, in order (samples read by the service
but not yet confirmed when the socket was cut are sent again, so a few may come twice).

Baseline: the time a bare websocket-client connection takes to open a socket and send a
start_request on the same emulator (what any reconnection must at least cost), measured in
the same run, interleaved with the cuts.

Usage: python bench/reconnect_bench.py [--cuts 10] [--every 1.0]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

import numpy as np
import requests
import websocket

import symbl

from benchlib import ADMIN_HEADERS, APP, start_emulator

FRAME_SAMPLES = 1600  # 100 ms at 16 kHz


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def bare_reconnect(base_url: str, token: str, connection_id: str) -> float:
    """Open a socket on the stream's id and send a start_request, as a reconnection must."""
    started = time.perf_counter()
    ws = websocket.create_connection(
        base_url.replace("http", "ws", 1) + f"/v1/streaming/{connection_id}-bare",
        header=[f"x-api-key: {token}"],
        timeout=10,
    )
    ws.send(json.dumps({"type": "start_request", "config": {}}))
    while json.loads(ws.recv()).get("message", {}).get("type") != "conversation_created":
        pass
    elapsed = time.perf_counter() - started
    ws.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuts", type=int, default=10)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between cuts")
    args = parser.parse_args()
    process, base_url = start_emulator()
    try:
        run(base_url, args.cuts, args.every)
    finally:
        process.terminate()
        process.wait(10)


def run(base_url: str, cuts: int, every: float) -> None:
    client = symbl.Client(APP, base_url=base_url)
    reconnected = threading.Event()
    connection = client.Streaming.start_connection()
    connection.subscribe({"reconnected": lambda event: reconnected.set()})
    sending = threading.Event()
    sending.set()
    sent_samples = 0

    def send() -> None:
        nonlocal sent_samples
        started = time.monotonic()
        while sending.is_set():
            frame = (np.arange(FRAME_SAMPLES) + sent_samples) % 32768
            connection.send_audio(frame.astype("<i2").tobytes())
            sent_samples += FRAME_SAMPLES
            due = started + sent_samples / 16000
            time.sleep(max(0.0, due - time.monotonic()))

    sender = threading.Thread(target=send)
    sender.start()
    recovery: list[float] = []
    baseline: list[float] = []
    token = client.access_token()
    for _ in range(cuts):
        time.sleep(every)
        reconnected.clear()
        cut_at = time.perf_counter()
        requests.post(
            base_url + "/_emulator/websockets:drop",
            json={"path": "/v1/streaming/"},
            headers=ADMIN_HEADERS,
            timeout=5,
        ).raise_for_status()
        if not reconnected.wait(30):
            raise SystemExit("no reconnection within 30 s")
        recovery.append(time.perf_counter() - cut_at)
        baseline.append(bare_reconnect(base_url, token, connection.connectionId))
    time.sleep(0.5)
    sending.clear()
    sender.join()
    connection.stop()
    audio = requests.get(
        f"{base_url}/_emulator/streams/{connection.connectionId}/audio",
        headers=ADMIN_HEADERS,
        timeout=30,
    ).content
    received = np.frombuffer(audio, dtype="<i2").astype(np.int64)
    # The counter wraps at 32768; replays step back far less than half of that: unwrap it.
    steps = np.diff(received)
    steps[steps < -16384] += 32768
    steps[steps > 16384] -= 32768
    absolute = np.concatenate(([received[0]], received[0] + np.cumsum(steps)))
    missing = sent_samples - len(np.unique(absolute[(absolute >= 0) & (absolute < sent_samples)]))
    seams = int(np.count_nonzero(steps != 1))
    repeated = len(received) - sent_samples
    print(
        f"{cuts} cuts of a paced 16 kHz stream, one every {every:g} s "
        f"({sent_samples / 16000:.1f} s of audio sent):"
    )
    print(
        f"  recovery, cut to 'reconnected': p50 {statistics.median(recovery) * 1000:.0f} ms, "
        f"p99 {percentile(recovery, 0.99) * 1000:.0f} ms"
    )
    print(
        f"  baseline, a bare socket + start_request: p50 "
        f"{statistics.median(baseline) * 1000:.1f} ms; recovery p50 / baseline p50 = "
        f"{statistics.median(recovery) / statistics.median(baseline):.1f}x (the rest is "
        "noticing the cut and the first backoff, 50-100 ms)"
    )
    print(
        f"  audio lost: {missing} samples (target 0: {'met' if missing == 0 else 'MISSED'}); "
        f"sent again: {max(0, repeated)} samples ({max(0, repeated) / 16000 * 1000:.0f} ms) at "
        f"{seams} replay seam(s)"
    )


if __name__ == "__main__":
    main()
