"""Batch benchmark: a 500-file archive through ``symbl.Batch`` against an emulator that enforces
the account's limit, timed against the ideal, with its peak memory.

The emulator runs in its own process with ``--max-jobs-in-progress LIMIT`` and jobs that take
``JOB`` seconds. The ideal time of N files is ``ceil(N / LIMIT) * JOB``: the limit's worth of
jobs, back to back, with no time lost between them. Each round runs the batch in a fresh child
process, twice over:

1. ``max_concurrency`` equal to the limit: the figure is the batch's time against the ideal.
2. ``max_concurrency`` twice the limit (the batch does not know the account's limit): the
   service answers 429 and the batch must find the limit itself; no input may fail.

Each child reports its wall time, the 429s it met, every input's status, and its peak RSS
(``ru_maxrss``) against the same child's RSS right after its imports (measured in a fork, so
that the parent's peak does not count). Rounds alternate the two cases; figures are medians.
Nothing may be submitted twice: the emulator's request log is checked after every run.

Usage: python bench/batch_bench.py [--files 500] [--limit 20] [--job 1.0] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections import Counter
from pathlib import Path

import requests

from benchlib import ADMIN_HEADERS, start_emulator

CHILD = r"""
import json, os, resource, sys, time

import symbl

folder, base_url, most = sys.argv[1], sys.argv[2], int(sys.argv[3])
child = os.fork()
if child:
    _, status = os.waitpid(child, 0)
    sys.exit(os.waitstatus_to_exitcode(status))

def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

before = rss_kib()
client = symbl.Client(
    credentials={"app_id": "emulator-app-id", "app_secret": "emulator-app-secret"},
    base_url=base_url, poll_interval=0.05, max_poll_interval=0.1, retry_backoff=0.05,
)
started = time.monotonic()
with symbl.Batch(None, max_concurrency=most, client=client) as batch:
    for name in sorted(os.listdir(folder)):
        batch.add_file(os.path.join(folder, name))
    statuses = [result.status for result in batch.run()]
elapsed = time.monotonic() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "statuses": statuses, "peak_kib": peak - before}))
"""


def write_files(folder: Path, count: int) -> None:
    """``count`` short, different WAV files (a tenth of a second of silence, each its length)."""
    for number in range(count):
        with wave.open(str(folder / f"call-{number:04d}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(b"\0\0" * (800 + number))


def run_child(folder: Path, base_url: str, most: int) -> dict[str, object]:
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), base_url, str(most)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return dict(json.loads(output.stdout))


def admin(base_url: str, method: str, path: str, **body: object) -> object:
    answer = requests.request(
        method, f"{base_url}/_emulator/{path}", json=body or None, headers=ADMIN_HEADERS, timeout=30
    )
    answer.raise_for_status()
    return answer.json() if answer.content else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--job", type=float, default=1.0, help="seconds a job takes")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ideal = math.ceil(args.files / args.limit) * args.job
    process, base_url = start_emulator("--max-jobs-in-progress", str(args.limit))
    figures: dict[str, list[dict[str, object]]] = {"known": [], "learned": []}
    try:
        with tempfile.TemporaryDirectory() as work:
            folder = Path(work)
            write_files(folder, args.files)
            for _ in range(args.rounds):
                for case, most in (("known", args.limit), ("learned", 2 * args.limit)):
                    admin(base_url, "POST", "reset")
                    admin(
                        base_url,
                        "PATCH",
                        "settings",
                        jobQueueSeconds=0.0,
                        jobProcessingSeconds=args.job,
                    )
                    result = run_child(folder, base_url, most)
                    log = admin(base_url, "GET", "requests?path=/v1/process/audio")
                    uploads = log["requests"]  # type: ignore[index]
                    accepted = [entry for entry in uploads if entry["status"] == 201]
                    assert len(accepted) == args.files, "an input was submitted twice or never"
                    assert set(result["statuses"]) == {"completed"}, Counter(result["statuses"])
                    result["refused"] = len(uploads) - len(accepted)
                    figures[case].append(result)
                    time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(10)

    print(f"{args.files} files, account limit {args.limit}, {args.job:g} s per job")
    print(f"ideal (ceil(files / limit) x job time): {ideal:.2f} s\n")
    for case, label in (
        ("known", "max_concurrency = limit"),
        ("learned", "max_concurrency = 2 x limit"),
    ):
        runs = figures[case]
        seconds = statistics.median(float(run["seconds"]) for run in runs)  # type: ignore[arg-type]
        refused = statistics.median(int(run["refused"]) for run in runs)  # type: ignore[call-overload]
        peak = statistics.median(int(run["peak_kib"]) for run in runs)  # type: ignore[call-overload]
        print(
            f"{label:28} {seconds:6.2f} s  = {seconds / ideal:.2f}x ideal   "
            f"429s met: {refused:4.0f}   peak memory over imports: {peak / 1024:.1f} MiB"
        )
    print(f"\nmedians of {args.rounds} interleaved rounds; every input completed, none twice")


if __name__ == "__main__":
    main()
