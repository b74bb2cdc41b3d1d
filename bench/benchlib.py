"""What the benchmark scripts share: an emulator in a process of its own."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

#: The emulator's default app.
APP = {"app_id": "emulator-app-id", "app_secret": "emulator-app-secret"}
#: The admin token of the emulators this process starts (handed over in their environment).
ADMIN_TOKEN = secrets.token_urlsafe(32)
#: The headers of a request to their admin API (``/_emulator/...``).
ADMIN_HEADERS = {"X-Emulator-Admin-Token": ADMIN_TOKEN}


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m symbl.emulator`` on a free port, its admin API behind
    :data:`ADMIN_TOKEN`; return the process and its base URL.

    A process of its own keeps the emulator from competing with the client under test for
    this interpreter.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "symbl.emulator", "--port", "0", "--json", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "SYMBL_EMULATOR_ADMIN_TOKEN": ADMIN_TOKEN},
    )
    assert process.stdout is not None
    started = json.loads(process.stdout.readline())  # printed once it is listening
    assert started["adminToken"] == ADMIN_TOKEN
    return process, str(started["baseUrl"])
