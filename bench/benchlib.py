"""What the benchmark scripts share: an emulator in a process of its own."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid

import aiohttp
import numpy as np

#: The emulator's default app.
APP = {"app_id": "emulator-app-id", "app_secret": "emulator-app-secret"}
#: The admin token of the emulators this process starts (handed over in their environment).
ADMIN_TOKEN = secrets.token_urlsafe(32)
#: The headers of a request to their admin API (``/_emulator/...``).
ADMIN_HEADERS = {"X-Emulator-Admin-Token": ADMIN_TOKEN}


#: What a benchmark's emulator limits unless it says otherwise: nothing, since the figures are
#: the client's, not the account's (``symbl emulator`` applies a paid plan's limits).
NO_LIMITS = ("--max-jobs-in-progress", "0", "--max-live-streams", "0")


def start_emulator(*options: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m symbl.emulator`` on a free port with ``options`` (by default
    :data:`NO_LIMITS`), its admin API behind :data:`ADMIN_TOKEN`; return the process and its
    base URL.

    A process of its own keeps the emulator from competing with the client under test for
    this interpreter.
    """
    chosen = options or NO_LIMITS
    process = subprocess.Popen(
        [sys.executable, "-m", "symbl.emulator", "--port", "0", "--json", "--quiet", *chosen],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "SYMBL_EMULATOR_ADMIN_TOKEN": ADMIN_TOKEN},
    )
    assert process.stdout is not None
    started = json.loads(process.stdout.readline())  # printed once it is listening
    assert started["adminToken"] == ADMIN_TOKEN
    return process, str(started["baseUrl"])


STEP_BYTES = 3200  # 100 ms of 16 kHz LINEAR16
TONE = (np.sin(np.arange(STEP_BYTES // 2) / 3.0) * 8000).astype("<i2").tobytes()
START = {
    "type": "start_request",
    "insightTypes": [],
    "config": {
        "confidenceThreshold": 0.5,
        "languageCode": "en-US",
        "speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": 16000},
    },
}


async def bare_connect(
    session: aiohttp.ClientSession, base_url: str, token: str
) -> aiohttp.ClientWebSocketResponse:
    """A bare websocket, started as the service expects (start_request, conversation_created)."""
    url = base_url.replace("http", "ws", 1) + f"/v1/streaming/{uuid.uuid4()}"
    socket = await session.ws_connect(url, headers={"x-api-key": token})
    await socket.send_str(json.dumps(START))
    while "conversation_created" not in (await socket.receive()).data:
        pass
    return socket


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
