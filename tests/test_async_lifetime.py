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


def test_live_sockets_do_not_take_places_in_the_rest_pool(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu, max_connections=2) as client:
            connections = [await client.Streaming.start_connection() for _ in range(5)]
            # The pool still serves REST calls while five sockets are open.
            await asyncio.wait_for(client.Text.process(payload=TEXT), 10)
            await asyncio.gather(*(connection.stop() for connection in connections))

    run(scenario)
    assert len(emu.streams()) == 5
    assert all(stream["state"] == "completed" for stream in emu.streams())


def test_closing_the_client_from_its_own_callbacks(emu: Emulator) -> None:
    emu.set_live_transcript([{"text": "Hello there.", "start": 0.0, "end": 1.0}])

    async def scenario() -> None:
        client = make_client(emu)
        closed = asyncio.Event()

        async def close_from_callback(_: object) -> None:
            await client.close()
            closed.set()

        conversation = await client.Text.process(payload=TEXT, wait=False)
        conversation.on_complete(close_from_callback)
        await asyncio.wait_for(closed.wait(), 10)
        await client.close()  # the closing begun in the callback, finished

        client = make_client(emu)
        connection = await client.Streaming.start_connection()
        closed.clear()
        connection.subscribe({"message_response": close_from_callback})
        await connection.send_audio(b"\0" * 64000)
        await asyncio.wait_for(closed.wait(), 10)
        await client.close()
        assert connection.state == "closed"

    run(scenario)
    assert wait_until(lambda: open_sockets(emu) == 0)


def test_request_sends_the_json_when_given_a_body_too(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(symbl.NotFoundError):
                await client.request(
                    "PUT", "/v1/conversations/1/members/2", json={"name": "Ann"}, body=b"other"
                )

    run(scenario)
    [sent] = emu.requests("/v1/conversations/1/members/2")
    assert sent.json == {"name": "Ann"}


@pytest.mark.parametrize("asynchronous", [False, True], ids=["Client", "AsyncClient"])
def test_stopping_a_call_that_has_already_ended_is_quiet(emu: Emulator, asynchronous: bool) -> None:
    async def scenario() -> symbl.AsyncConnection:
        async with make_client(emu) as client:
            connection = await client.Telephony.start_pstn(phone_number="+14155550100")
            # Stopped already, as by a stop whose answer was lost: the service forgot the call.
            await client.Telephony.stop(connection.connectionId)
            return await connection.stop()

    if asynchronous:
        connection = run(scenario)
    else:
        with symbl.Client(emu.credentials, base_url=emu.base_url) as client:
            connection = client.Telephony.start_pstn(phone_number="+14155550100")
            client.Telephony.stop(connection.connectionId)
            connection = connection.stop()
    assert connection.state == "closed"
    assert connection.summaryInfo is None  # the service had nothing more to say
