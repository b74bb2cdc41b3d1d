"""Credential-source benchmark: conversation getters on the default resolution path, with the
credentials in each documented place, against a bare ``requests.Session`` (measured in the same
run: these machines are noisy, so ratios matter more than seconds).

The emulator runs in its own process so the client under test has the interpreter to itself.
Each variant makes ``--calls`` sequential ``get_messages`` calls for one conversation:

- bare: a ``requests.Session`` doing the same GET with the same token (the baseline);
- symbl.conf: ``symbl.conversations.get_messages(id)``, credentials and base URL in a
  ``symbl.conf`` in the working directory (the documented default);
- environment: the same call, with ``SYMBL_APP_ID`` / ``SYMBL_APP_SECRET`` / ``SYMBL_BASE_URL``;
- explicit Client: ``symbl.Client(credentials, base_url=...).Conversations.get_messages(id)``.

Rounds are interleaved, every variant once per round in a rotating order, so drift on the
machine hits all alike; the figure of a variant is the median over the rounds of its mean time
per call in the round. HOME points at an empty folder for the run, so no symbl.conf of yours
takes part. About 15 s.

Usage: python bench/credentials_bench.py [--calls 100] [--rounds 21]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

import symbl

from benchlib import ADMIN_HEADERS, APP, start_emulator

DATA = Path(symbl.__file__).parent / "data"
MEETING = json.loads((DATA / "meeting.json").read_text(encoding="utf-8"))
TARGET = 1.1
ENV_NAMES = ("SYMBL_APP_ID", "SYMBL_APP_SECRET", "SYMBL_BASE_URL")


@contextmanager
def working_directory(folder: Path, env: dict[str, str]) -> Iterator[None]:
    """Run in ``folder`` with the SYMBL_ variables set to exactly ``env``."""
    previous = Path.cwd()
    os.chdir(folder)
    for name in ENV_NAMES:
        os.environ.pop(name, None)
    os.environ.update(env)
    try:
        yield
    finally:
        for name in ENV_NAMES:
            os.environ.pop(name, None)
        os.chdir(previous)


def per_call(call: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per variant and round")
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    process, base_url = start_emulator()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            home, conf_dir, empty_dir = root / "home", root / "conf", root / "empty"
            for folder in (home, conf_dir, empty_dir):
                folder.mkdir()
            conf = conf_dir / "symbl.conf"
            conf.write_text(
                f"[credentials]\napp_id={APP['app_id']}\napp_secret={APP['app_secret']}\n\n"
                f"[api]\nbase_url={base_url}\n",
                encoding="utf-8",
            )
            # Dated a minute back, like a symbl.conf written before the program started: one
            # modified in the last 2 s is also re-read (not re-parsed) on each call.
            written = time.time() - 60
            os.utime(conf, (written, written))
            os.environ["HOME"] = str(home)
            for name in ENV_NAMES:
                os.environ.pop(name, None)
            run(base_url, conf_dir, empty_dir, args.calls, args.rounds)
    finally:
        process.terminate()
        process.wait(10)


def run(base_url: str, conf_dir: Path, empty_dir: Path, calls: int, rounds: int) -> None:
    requests.patch(
        base_url + "/_emulator/settings",
        json={"jobQueueSeconds": 0.0, "jobProcessingSeconds": 0.0},
        headers=ADMIN_HEADERS,
        timeout=5,
    ).raise_for_status()
    client = symbl.Client(APP, base_url=base_url)
    cid = client.Text.process(payload=MEETING).get_conversation_id()
    token = client.access_token()
    session = requests.Session()
    headers = {"x-api-key": token, "Authorization": f"Bearer {token}"}
    url = f"{base_url}/v1/conversations/{cid}/messages"
    env = {
        "SYMBL_APP_ID": APP["app_id"],
        "SYMBL_APP_SECRET": APP["app_secret"],
        "SYMBL_BASE_URL": base_url,
    }
    bound = client.Conversations

    def bare() -> object:
        return session.get(url, headers=headers, timeout=10).json()

    def default_path() -> object:
        return symbl.conversations.get_messages(cid)

    def explicit() -> object:
        return bound.get_messages(cid)

    variants: list[tuple[str, Callable[[], object], Path, dict[str, str]]] = [
        ("bare requests.Session", bare, empty_dir, {}),
        ("symbl.conf in the working directory", default_path, conf_dir, {}),
        ("SYMBL_ environment variables", default_path, empty_dir, env),
        ("explicit symbl.Client", explicit, empty_dir, {}),
    ]
    times: dict[str, list[float]] = {name: [] for name, *_ in variants}
    for round_number in range(rounds + 1):  # round 0 warms up (token, connections) and is dropped
        shift = round_number % len(variants)
        for name, call, folder, variables in variants[shift:] + variants[:shift]:
            with working_directory(folder, variables):
                seconds = per_call(call, calls)
            if round_number:
                times[name].append(seconds)
    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = medians[variants[0][0]]
    print(
        f"get_messages, {calls} calls x {rounds} interleaved rounds per variant; "
        "median per-call time, ratio to the bare session:"
    )
    for name, *_ in variants:
        ratio = medians[name] / baseline
        verdict = "" if name == variants[0][0] else f"  (target <= {TARGET}x: "
        if verdict:
            verdict += "met)" if ratio <= TARGET else "MISSED)"
        print(f"  {name:<38} {medians[name] * 1e6:8.0f} us  {ratio:6.3f}x{verdict}")


if __name__ == "__main__":
    main()
