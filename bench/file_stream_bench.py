"""File streaming benchmark: peak memory and throughput of ``send_audio_from_file`` for an hour
of audio, 16 kHz mono and 44.1 kHz stereo, each against a baseline measured in the same run.

The emulator runs in its own process; every measurement runs in a fresh child process of its
own, which streams one file once, unpaced, and reports:

1. Peak memory: the child's peak RSS (``ru_maxrss``) while streaming, minus its import-only
   baseline (``symbl``, ``numpy`` and ``websocket`` imported, nothing else done). Linux carries
   a parent's peak into ``ru_maxrss`` across exec, so the child measures in a fork of itself,
   whose ``ru_maxrss`` starts from what the child holds after its imports.
2. Throughput: the time ``send_audio_from_file(path, realtime=False)`` takes (reading the WAV,
   mixing down and resampling included), against a bare websocket-client loop that reads the
   same LINEAR16 bytes (already converted, from a raw file) and sends them in 8192-byte frames.

The SDK and the bare loop alternate in interleaved rounds; the figures are medians. Every run's
audio is checked at the emulator (bytes received), which is reset between runs.

Usage: python bench/file_stream_bench.py [--rounds 3] [--minutes 60]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
import requests

from symbl._live.audio import WavFile

from benchlib import ADMIN_HEADERS, APP, start_emulator

RATE = 16000
CASES = {"16 kHz mono": (16000, 1), "44.1 kHz stereo": (44100, 2)}

CHILD = r"""
import json, os, resource, sys, time, uuid

import numpy  # the file's conversion uses it
import websocket

import symbl

mode, path, base_url, app_id, app_secret = sys.argv[1:6]
child = os.fork()
if child:
    _, status = os.waitpid(child, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


baseline = peak()
client = symbl.Client({"app_id": app_id, "app_secret": app_secret}, base_url=base_url)
if mode == "sdk":
    connection = client.Streaming.start_connection(handle_signals=False)
    started = time.perf_counter()
    connection.send_audio_from_file(path, realtime=False)
    seconds = time.perf_counter() - started
    connection_id = connection.connectionId
    connection.stop()
else:
    connection_id = str(uuid.uuid4())
    ws = websocket.create_connection(
        f"{base_url.replace('http', 'ws')}/v1/streaming/{connection_id}",
        header=[f"x-api-key: {client.access_token()}"],
    )
    ws.send(json.dumps({
        "type": "start_request",
        "insightTypes": [],
        "config": {
            "confidenceThreshold": 0.5,
            "languageCode": "en-US",
            "speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": 16000},
        },
    }))
    while "conversation_created" not in ws.recv():
        pass
    started = time.perf_counter()
    with open(path, "rb") as audio:
        while frame := audio.read(8192):
            ws.send_binary(frame)
    seconds = time.perf_counter() - started
    ws.send(json.dumps({"type": "stop_request"}))
    ws.close()
print(json.dumps({
    "connection_id": connection_id, "seconds": seconds, "baseline_kib": baseline,
    "peak_kib": peak(),
}), flush=True)
os._exit(0)
"""


def write_wav(path: Path, rate: int, channels: int, seconds: float) -> None:
    """Speech-level noise, ten seconds at a time."""
    rng = np.random.default_rng(rate + channels)
    total, block = int(rate * seconds), rate * 10
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        for start in range(0, total, block):
            count = min(block, total - start) * channels
            writer.writeframes(rng.integers(-6000, 6000, count, dtype="<i2").tobytes())


def write_converted(wav: Path, raw: Path) -> int:
    """The LINEAR16 bytes the SDK sends for ``wav``, for the bare loop to send; their size."""
    size = 0
    with WavFile(wav, RATE) as reader, raw.open("wb") as out:
        for block in reader.blocks():
            out.write(block)
            size += len(block)
    return size


def run(mode: str, path: Path, base_url: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path), base_url, APP["app_id"], APP["app_secret"]],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if result.returncode:
        raise RuntimeError(f"the {mode} run failed:\n{result.stderr}")
    report: dict[str, float] = json.loads(result.stdout.splitlines()[-1])
    return report


def received(base_url: str, connection_id: str) -> int:
    answer = requests.get(base_url + "/_emulator/streams", headers=ADMIN_HEADERS, timeout=10)
    (stream,) = [s for s in answer.json()["streams"] if s["connectionId"] == connection_id]
    return int(stream["audio_bytes"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    seconds = args.minutes * 60
    process, base_url = start_emulator()
    try:
        with tempfile.TemporaryDirectory() as folder:
            files = {}
            for name, (rate, channels) in CASES.items():
                wav, raw = Path(folder) / f"{rate}-{channels}.wav", Path(folder) / f"{rate}.raw"
                started = time.perf_counter()
                write_wav(wav, rate, channels, seconds)
                size = write_converted(wav, raw)
                files[name] = (wav, raw, size)
                print(
                    f"{name}: {wav.stat().st_size / 1e6:.0f} MB WAV, {size / 1e6:.0f} MB sent "
                    f"(written in {time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
            results: dict[tuple[str, str], list[dict[str, float]]] = {}
            for round_number in range(args.rounds):
                for name, (wav, raw, size) in files.items():
                    modes = [("sdk", wav), ("bare", raw)]
                    for mode, path in modes if round_number % 2 == 0 else modes[::-1]:
                        report = run(mode, path, base_url)
                        got = received(base_url, str(report["connection_id"]))
                        if got != size:
                            raise RuntimeError(f"{name} {mode}: {got} bytes arrived, not {size}")
                        results.setdefault((name, mode), []).append(report)
                        requests.post(
                            base_url + "/_emulator/reset", headers=ADMIN_HEADERS, timeout=30
                        )
        print(f"\n{args.minutes:g} minutes of audio, {args.rounds} interleaved rounds, medians:")
        for name, (_, _, size) in files.items():
            sdk, bare = results[(name, "sdk")], results[(name, "bare")]
            growth = statistics.median((r["peak_kib"] - r["baseline_kib"]) / 1024 for r in sdk)
            bare_growth = statistics.median(
                (r["peak_kib"] - r["baseline_kib"]) / 1024 for r in bare
            )
            baseline = statistics.median(r["baseline_kib"] / 1024 for r in sdk)
            sdk_time = statistics.median(r["seconds"] for r in sdk)
            bare_time = statistics.median(r["seconds"] for r in bare)
            megabytes = size / 1e6
            print(
                f"{name}: peak RSS +{growth:.1f} MiB over the import-only baseline of "
                f"{baseline:.1f} MiB (target <= 20 MiB: {'met' if growth <= 20 else 'MISSED'}; "
                f"the bare loop: +{bare_growth:.1f} MiB)"
            )
            print(
                f"{name}: send_audio_from_file {sdk_time:.2f} s = {megabytes / sdk_time:.0f} MB/s, "
                f"{seconds / sdk_time:.0f}x real time; bare websocket-client loop "
                f"{bare_time:.2f} s ({megabytes / bare_time:.0f} MB/s); "
                f"ratio {sdk_time / bare_time:.2f}x"
            )
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
