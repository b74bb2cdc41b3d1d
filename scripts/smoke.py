"""Smoke check run by CI on the oldest and newest Python: import, then one real round trip."""

from __future__ import annotations

import asyncio
import sys

import symbl
from symbl.emulator import Emulator

with Emulator() as emulator:
    client = symbl.Client(emulator.credentials, base_url=emulator.base_url)
    assert client.access_token(), "no token from the emulator"
    try:
        client.request("GET", "/v1/conversations/1")
    except symbl.NotFoundError:
        pass
    else:
        raise AssertionError("an unknown conversation must raise NotFoundError")


async def asynchronous(emulator: Emulator) -> None:
    """The asyncio client: a text job, a getter and a websocket handshake."""
    async with symbl.AsyncClient(emulator.credentials, base_url=emulator.base_url) as client:
        payload = {"messages": [{"payload": {"content": "Can we meet tomorrow?"}}]}
        conversation = await client.Text.process(payload=payload)
        questions = await conversation.get_questions()
        assert questions["questions"], "the question was not found"
        socket = await client.open_websocket("/v1/streaming/smoke")
        await socket.close()


with Emulator() as emulator:
    asyncio.run(asynchronous(emulator))
print(f"symbl {symbl.__version__} works on Python {sys.version.split()[0]} ({symbl.__file__})")
