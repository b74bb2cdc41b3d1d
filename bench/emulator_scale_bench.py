"""Emulator scale benchmark: the insight engine must cost the same per line however long a live
session runs, and a long conversation's first getter must stay fast. Interleaved rounds,
medians reported (these machines are shared and noisy), through an in-process emulator.

1. Live transcript: streaming sessions of 250 and 2,000 scripted lines, one line per 100 ms of
   audio; each step sends 100 ms over a raw websocket and times the arrival of that line's
   ``message_response`` (the line's insights, topics and trackers are computed in between).
   Reported: the median over each session's last 250 lines. Baseline: the 250-line session,
   measured in the same rounds; the ratio must be about 1 (it grew with the session before:
   7.8 ms per line at 250 lines, 56 ms at 2,000).
2. First getter: ``GET /v1/conversations/{id}/messages`` on conversations of 250, 1,000 and
   4,000 messages (several speakers, overlaps, silences), submitted as Text API jobs and read
   once their job completed; target under 0.5 s at 4,000. Baseline: the same request again,
   served from the cached analysis (HTTP and JSON only). While the job runs it is polled
   every 10 ms: the slowest poll shows whether a request waits behind the analysis.

Usage: python bench/emulator_scale_bench.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone

import requests
import websocket

from symbl.emulator import Emulator

START = {
    "type": "start_request",
    "insightTypes": ["question", "action_item", "follow_up"],
    "config": {"speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": 16000}},
    "trackers": [{"name": "Pricing", "vocabulary": ["pricing plan", "discount", "budget"]}],
}
STEP = bytes(range(256)) * 12 + bytes(128)  # 100 ms of 16 kHz LINEAR16, not silent
PEOPLE = [("Natalia", "natalia@example.com"), ("Mike Jones", "mike@acme.com"), ("Priya", "")]
SENTENCES = [
    "Can you send me the {a} by Friday?",
    "I will email Mike about the {a} and the {b} tomorrow.",
    "What do you think about the {a}?",
    "The {a} costs $69.99 per user, but the {b} has problems.",
    "Okay.",
    "Let's review the {a} next week with Dr. Smith.",
    "We have 25 users on the {a} and forty on the {b}.",
]
TOPICS = [
    "pricing plan", "contract", "onboarding", "enterprise plan", "security review", "budget",
    "roadmap", "renewal", "invoice", "pilot program", "sales team", "support tickets",
    "dashboard", "integration", "migration", "training session", "discount", "license",
]  # fmt: skip


def sentences(rng: random.Random) -> str:
    return " ".join(
        rng.choice(SENTENCES).format(a=rng.choice(TOPICS), b=rng.choice(TOPICS))
        for _ in range(rng.choice([1, 1, 2]))
    )


def live_script(count: int) -> list[dict[str, object]]:
    rng = random.Random(count)
    return [
        {
            "speaker": dict(zip(("name", "userId"), rng.choice(PEOPLE))),
            "text": sentences(rng),
            "start": index * 0.1 + 0.01,
            "end": index * 0.1 + 0.06,
        }
        for index in range(count)
    ]


def text_messages(count: int) -> list[dict[str, object]]:
    rng = random.Random(count)
    clock = datetime(2021, 6, 1, 16, 0, tzinfo=timezone.utc)
    messages = []
    for _ in range(count):
        name, user_id = rng.choice(PEOPLE)
        text = sentences(rng)
        start = clock + timedelta(seconds=rng.choice([0.3, 0.5, -1.0, 0.0, 6.0]))
        clock = start + timedelta(seconds=0.35 * len(text.split()))
        messages.append(
            {
                "payload": {"content": text},
                "from": {"name": name, "userId": user_id},
                "duration": {"startTime": _iso(start), "endTime": _iso(clock)},
            }
        )
    return messages


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def token_of(emu: Emulator) -> str:
    answer = requests.post(
        emu.base_url + "/oauth2/token:generate",
        json={"type": "application", "appId": emu.app_id, "appSecret": emu.app_secret},
        timeout=5,
    )
    return str(answer.json()["accessToken"])


def live_line_costs(emu: Emulator, token: str, lines: int) -> list[float]:
    """Send a session's audio step by step; return each line's seconds to its messages."""
    emu.set_live_transcript(live_script(lines))
    ws = websocket.create_connection(
        f"{emu.base_url.replace('http', 'ws')}/v1/streaming/{uuid.uuid4()}",
        header=[f"x-api-key: {token}"],
        timeout=30,
    )
    ws.send(json.dumps(START))
    while "conversation_created" not in ws.recv():
        pass
    costs = []
    for _ in range(lines):
        started = time.perf_counter()
        ws.send_binary(STEP)
        while '"message_response"' not in ws.recv():
            pass
        costs.append(time.perf_counter() - started)
    ws.send(json.dumps({"type": "stop_request"}))
    ws.close()
    return costs


def first_getter(emu: Emulator, token: str, count: int) -> tuple[float, float, float]:
    """Submit ``count`` messages as a Text API job and follow it, then read its messages twice.

    Returns the seconds of the first and of the second getter, and of the slowest job poll
    while the job ran (its analysis included: other requests must not wait behind it).
    """
    headers = {"x-api-key": token}
    answer = requests.post(
        f"{emu.base_url}/v1/process/text",
        json={"messages": text_messages(count)},
        headers=headers,
        timeout=120,
    )
    answer.raise_for_status()
    job = f"{emu.base_url}/v1/job/{answer.json()['jobId']}"
    slowest = 0.0
    while True:
        started = time.perf_counter()
        status = requests.get(job, headers=headers, timeout=120).json()["status"]
        slowest = max(slowest, time.perf_counter() - started)
        if status in ("completed", "failed"):
            break
        time.sleep(0.01)
    url = f"{emu.base_url}/v1/conversations/{answer.json()['conversationId']}/messages"
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        requests.get(url, headers=headers, timeout=120).raise_for_status()
        timings.append(time.perf_counter() - started)
    return timings[0], timings[1], slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    live_sizes, getter_sizes = (250, 2000), (250, 1000, 4000)
    per_line: dict[int, list[float]] = {size: [] for size in live_sizes}
    first: dict[int, list[float]] = {size: [] for size in getter_sizes}
    cached: dict[int, list[float]] = {size: [] for size in getter_sizes}
    polls: dict[int, list[float]] = {size: [] for size in getter_sizes}
    with Emulator() as emu:
        token = token_of(emu)
        live_line_costs(emu, token, 20)  # warm up: imports, sockets
        for _ in range(args.rounds):
            for size in live_sizes:
                per_line[size].append(statistics.median(live_line_costs(emu, token, size)[-250:]))
            for size in getter_sizes:
                seconds, again, slowest = first_getter(emu, token, size)
                first[size].append(seconds)
                cached[size].append(again)
                polls[size].append(slowest)
    base = statistics.median(per_line[250])
    for size in live_sizes:
        cost = statistics.median(per_line[size])
        print(
            f"live transcript, {size:>5} lines: {cost * 1000:.2f} ms per line at the end "
            f"(median of {args.rounds} rounds), {cost / base:.2f}x the 250-line session"
        )
    smallest = statistics.median(first[250]) / 250
    for size in getter_sizes:
        seconds, again = statistics.median(first[size]), statistics.median(cached[size])
        print(
            f"first getter, {size:>5} messages: {seconds:.3f} s ({seconds / size * 1e6:.0f} us "
            f"per message, {seconds / size / smallest:.2f}x the 250-message rate); the same "
            f"getter cached: {again:.3f} s, ratio {seconds / again:.1f}x"
            + (f" (target < 0.5 s: {'met' if seconds < 0.5 else 'MISSED'})" if size == 4000 else "")
        )
        print(
            f"  slowest job poll while its {size} messages were analysed: "
            f"{statistics.median(polls[size]) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
