"""What the benchmark scripts share: an emulator in a process of its own."""

from __future__ import annotations

import socket
import subprocess
import sys

#: The emulator's default app.
APP = {"app_id": "emulator-app-id", "app_secret": "emulator-app-secret"}


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m symbl.emulator`` on a free port; return the process and its base URL.

    A process of its own keeps the emulator from competing with the client under test for
    this interpreter.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "symbl.emulator", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()  # the banner: it is listening
    return process, f"http://127.0.0.1:{port}"
