"""An AsyncClient's lifetime: closing it stops what it still runs, a closed client refuses
work, and a client belongs to one event loop at a time."""

from __future__ import annotations

import asyncio
import json

import pytest

import symbl
from symbl.emulator import Emulator

from async_helpers import open_sockets
from async_rest_helpers import make_client, run
from helpers import sample_transcript, wait_until

TEXT = {"messages": [{"payload": {"content": "Can we meet tomorrow?"}}]}


def test_leaving_the_client_stops_the_streams_it_still_runs(emu: Emulator) -> None:
    emu.set_live_transcript(sample_transcript())

    async def scenario() -> symbl.AsyncStreamingConnection:
        async with make_client(emu) as client:
            connection = await client.Streaming.start_connection()
            await connection.send_audio(b"\0" * 3200)
        return connection

    connection = run(scenario)
    assert connection.state == "closed"
    [stream] = emu.streams()
    assert [json.loads(sent) for sent in stream["stop_requests"]] == [{"type": "stop_request"}]
    assert wait_until(lambda: open_sockets(emu) == 0)


def test_a_closed_client_refuses_work(emu: Emulator) -> None:
    async def scenario() -> None:
        client = make_client(emu)
        await client.Text.process(payload=TEXT)
        await client.close()
        with pytest.raises(symbl.SymblError, match="was closed"):
            await client.Conversations.get_messages("1")

    run(scenario)


def test_a_client_belongs_to_one_running_loop(emu: Emulator) -> None:
    client = make_client(emu)
    first = asyncio.new_event_loop()
    try:
        first.run_until_complete(client.Text.process(payload=TEXT))

        async def elsewhere() -> None:
            with pytest.raises(symbl.SymblError, match="another event loop"):
                await client.Conversations.get_messages("1")

        asyncio.run(elsewhere())
        first.run_until_complete(client.close())
    finally:
        first.close()


def test_after_its_loop_ended_a_client_carries_on_in_the_next(emu: Emulator) -> None:
    client = make_client(emu)
    conversation = asyncio.run(client.Text.process(payload=TEXT))

    async def next_loop() -> str:
        messages = await client.Conversations.get_messages(conversation.get_conversation_id())
        await client.close()
        return str(messages["messages"][0]["text"])

    assert asyncio.run(next_loop()) == "Can we meet tomorrow?"
