"""An AsyncClient's lifetime: closing it stops what it still runs, a closed client refuses
work, and a client belongs to one event loop at a time."""

from __future__ import annotations

import asyncio
import json

import pytest
import requests

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


CONNECT = "/v1/endpoint:connect"


def stop_by_another_process(emu: Emulator, connection_id: str) -> None:
    """Stop a call as another program would: its own token, a plain HTTP request."""
    token = requests.post(
        emu.base_url + "/oauth2/token:generate",
        json={"type": "application", "appId": emu.app_id, "appSecret": emu.app_secret},
        timeout=5,
    ).json()["accessToken"]
    stopped = requests.post(
        emu.base_url + CONNECT,
        json={"operation": "stop", "connectionId": connection_id},
        headers={"x-api-key": token},
        timeout=5,
    )
    assert stopped.status_code == 200, stopped.text


def stop_statuses(emu: Emulator) -> list[int | None]:
    """The statuses of the stop requests the emulator received, in order."""
    return [r.status for r in emu.requests(CONNECT) if r.json.get("operation") == "stop"]


@pytest.mark.parametrize("ended_by", ["far-end", "another-process"])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["Client", "AsyncClient"])
def test_stopping_a_call_that_has_already_ended_is_quiet(
    emu: Emulator, asynchronous: bool, ended_by: str
) -> None:
    """The call ended on the service without this process knowing. Hung up by the far end, the
    call can still be stopped (the service answers with its summary links); stopped by another
    process, the stop is answered 404, which a stop takes as done."""

    def end_elsewhere(connection_id: str) -> None:
        if ended_by == "far-end":
            emu.end_call(connection_id)
        else:
            stop_by_another_process(emu, connection_id)

    async def scenario() -> symbl.AsyncConnection:
        async with make_client(emu) as client:
            connection = await client.Telephony.start_pstn(phone_number="+14155550100")
            end_elsewhere(connection.connectionId)
            await connection.stop()
            return await connection.stop()  # a second stop sends nothing

    if asynchronous:
        connection = run(scenario)
    else:
        with symbl.Client(emu.credentials, base_url=emu.base_url) as client:
            connection = client.Telephony.start_pstn(phone_number="+14155550100")
            end_elsewhere(connection.connectionId)
            connection.stop()
            connection = connection.stop()
    assert connection.state == "closed"
    if ended_by == "far-end":
        assert connection.summaryInfo
        assert stop_statuses(emu) == [200]
    else:
        assert connection.summaryInfo is None  # the service had nothing more to say
        assert stop_statuses(emu) == [200, 404]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["Client", "AsyncClient"])
def test_a_connection_stopped_by_id_takes_that_stops_answer(
    emu: Emulator, asynchronous: bool
) -> None:
    """After ``Telephony.stop(id)`` in this process, the call's connection sends no stop of its
    own and takes the summary links of the stop that was made."""

    async def scenario() -> tuple[symbl.AsyncConnection, symbl.AsyncConnection]:
        async with make_client(emu) as client:
            connection = await client.Telephony.start_pstn(phone_number="+14155550100")
            by_id = await client.Telephony.stop(connection.connectionId)
            return by_id, await connection.stop()

    if asynchronous:
        by_id, connection = run(scenario)
    else:
        with symbl.Client(emu.credentials, base_url=emu.base_url) as client:
            started = client.Telephony.start_pstn(phone_number="+14155550100")
            by_id = client.Telephony.stop(started.connectionId)
            connection = started.stop()
    assert connection.state == "closed"
    assert connection.summaryInfo and connection.summaryInfo == by_id.summaryInfo
    assert stop_statuses(emu) == [200]
