"""Running the asyncio REST scenarios (test_async_jobs, test_async_conversations,
test_async_client) against the emulator: debug mode on, and nothing left behind.

pytest-asyncio is not used: a test calls :func:`run` with a coroutine function taking no
argument. The scenario runs in ``asyncio.run(..., debug=True)``; afterwards no task but the
scenario's own may be left, no thread may have been started while it ran (the emulator's own
threads excepted: it serves from them and may start workers at any time), and the loop may have
reported nothing (an unclosed aiohttp session, a task destroyed while pending, an exception
never retrieved).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Awaitable
from typing import Any, Callable, TypeVar

import symbl
from symbl.emulator import Emulator

T = TypeVar("T")


def started_threads(before: set[threading.Thread]) -> list[str]:
    """Names of the live threads not in ``before``, but the emulator's."""
    return sorted(
        thread.name
        for thread in set(threading.enumerate()) - before
        if not thread.name.startswith("symbl-emulator")
    )


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario()`` on a new event loop in debug mode and check it left nothing behind."""
    reported: list[dict[str, Any]] = []

    async def checked() -> T:
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, context: reported.append(context)
        )
        before = set(threading.enumerate())
        result = await scenario()
        current = asyncio.current_task()
        leftover = [task for task in asyncio.all_tasks() if task is not current]
        assert leftover == [], f"tasks left running: {leftover}"
        assert started_threads(before) == [], "the asyncio client started a thread"
        return result

    result = asyncio.run(checked(), debug=True)
    gc.collect()  # an unclosed session or a pending task reports itself when collected
    assert reported == [], [context.get("message") for context in reported]
    return result


def make_client(emu: Emulator, **settings: Any) -> symbl.AsyncClient:
    """An asyncio client of the emulator with fast retries (settings override)."""
    settings.setdefault("retry_backoff", 0.01)
    return symbl.AsyncClient(emu.credentials, base_url=emu.base_url, **settings)


async def until(predicate: Callable[[], object], timeout: float = 5.0) -> bool:
    """Yield to the loop until ``predicate()`` is true or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return bool(predicate())
        await asyncio.sleep(0.01)
    return True
