"""Helpers for tests that start child processes or wait for threads."""

from __future__ import annotations

import os
import sys
import threading
import time

from symbl.emulator import Emulator

PYTHON = sys.executable


def subprocess_env(emu: Emulator, **extra: str) -> dict[str, str]:
    """Environment for a child Python process talking to ``emu`` (and nothing else)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SYMBL_")}
    env.update(emu.environ())
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return bool(predicate())
        time.sleep(interval)


def sdk_threads() -> list[threading.Thread]:
    """Live threads other than the main thread and the session emulator's."""
    return [
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and thread.name != "symbl-emulator"
    ]
