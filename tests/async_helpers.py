"""Running the asyncio live scenarios (test_async_streaming, test_async_telephony) against the
emulator: :func:`async_rest_helpers.run`'s checks (debug mode, no task or thread left, nothing
reported by the loop), and no websocket left open on the emulator."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Callable, TypeVar

import symbl
from symbl.emulator import Emulator

from async_rest_helpers import make_client, run
from helpers import wait_until

T = TypeVar("T")


def open_sockets(emu: Emulator) -> int:
    """How many websockets are open on the emulator now."""
    return emu.call(emu.state.sockets.count)


def run_live(
    emu: Emulator,
    scenario: Callable[[symbl.AsyncClient], Awaitable[T]],
    *,
    sockets_left: int = 0,
    **settings: Any,
) -> T:
    """Run ``scenario(client)`` with a client of ``emu`` (``make_client`` with ``settings``)
    as :func:`async_rest_helpers.run` does; then assert that no websocket is open on the
    emulator (but ``sockets_left``: frozen ones the test cuts itself)."""

    async def with_client() -> T:
        async with make_client(emu, **settings) as client:
            return await scenario(client)

    result = run(with_client)
    assert wait_until(lambda: open_sockets(emu) <= sockets_left, timeout=5), open_sockets(emu)
    return result
