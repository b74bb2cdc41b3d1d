"""The asyncio Telephony API (``symbl.AsyncClient``) against the emulator: the twins of the
telephony tests of test_telephony.py, test_reconnect.py and test_live_core.py (the same bodies
on the wire as the threaded client's, live events, stop, speaker events, reconnection), plus
coroutine callbacks, ``async for`` and cancellation. Every scenario runs in asyncio's debug
mode and must leave no task, no thread and no open websocket behind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_telephony import CONNECT, EMAIL_ACTION

import symbl
from symbl.emulator import Emulator

from async_helpers import run_live
from async_rest_helpers import until
from helpers import LIVE_SCRIPT

SUBSCRIBE = "/session/subscribe/"
PHONE = "+14155550100"


@pytest.fixture
def calls(emu: Emulator) -> Emulator:
    """Calls play a short script, twenty times faster than real time."""
    emu.set_live_transcript(LIVE_SCRIPT)
    emu.configure(telephony_speed=20.0, telephony_answer_seconds=0.1)
    return emu


@pytest.fixture
def silent(calls: Emulator) -> Emulator:
    """Silent calls: only a stop or a hang-up ends them."""
    calls.set_live_transcript([])
    return calls


def sync_client(emu: Emulator) -> symbl.Client:
    return symbl.Client(emu.credentials, base_url=emu.base_url, retry_backoff=0.01)


def bodies(emu: Emulator) -> list[Any]:
    return [entry.json for entry in emu.requests(CONNECT)]


def subscribers(emu: Emulator) -> int:
    return emu.calls()[-1]["subscribers"]


STARTS = [
    ("start_pstn", {"phone_number": "+1 (415) 555-0100"}),
    (
        "start_pstn",
        {
            "phone_number": "+16465588656",
            "dtmf": ",,8931167232#,,447891#",
            "actions": [EMAIL_ACTION],
            "data": {"session": {"name": "My Meeting"}},
            "languages": ["en-US"],
            "timezone": "US/Pacific",
        },
    ),
    (
        "start_sip",
        {
            "uri": "sip:8002@sip.example.com",
            "audio_config": {"sampleRate": 48000, "encoding": "OPUS", "sampleSize": 16},
        },
    ),
]


@pytest.mark.parametrize(("method", "kwargs"), STARTS, ids=["pstn", "pstn-full", "sip"])
def test_a_start_sends_what_the_threaded_client_sends(
    silent: Emulator, method: str, kwargs: dict[str, Any]
) -> None:
    threaded = getattr(sync_client(silent).Telephony, method)(**kwargs)

    async def scenario(client: symbl.AsyncClient) -> None:
        connection = await getattr(client.Telephony, method)(**kwargs)
        assert isinstance(connection, symbl.Connection)
        assert connection.connectionId != threaded.connectionId
        assert connection.eventUrl == f"{silent.base_url}/v1/event/{connection.connectionId}"
        assert isinstance(connection.conversation, symbl.AsyncConversation)
        assert connection.conversation.get_conversation_id() == connection.conversationId
        assert connection.to_dict()["connectionId"] == connection.connection_id
        assert repr(connection).startswith("Connection(connectionId=")
        await connection.stop()

    run_live(silent, scenario)
    threaded.stop()
    start_threaded, start_awaited = bodies(silent)[:2]
    assert start_awaited == start_threaded
    entry = silent.requests(CONNECT)[1]
    assert entry.headers["authorization"] == "Bearer " + entry.headers["x-api-key"]


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("start_pstn", {"phone_number": "call me"}),
        ("start_pstn", {"phone_number": PHONE, "dtmf": "12;3"}),
        ("start_sip", {"uri": "http://example.com"}),
        ("start_pstn", {"phone_number": PHONE, "actions": {}}),
        ("start_pstn", {"phone_number": PHONE, "languages": ["xx-YY"]}),
        ("start_pstn", {"phone_number": PHONE, "timezone": "Nowhere/Land"}),
        ("start_pstn", {"phone_number": PHONE, "handle_signals": "no"}),
        ("stop", {"connection_id": ""}),
    ],
)
def test_bad_input_is_refused_as_the_threaded_client_refuses_it(
    emu: Emulator, method: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(symbl.InvalidArgumentError) as threaded:
        getattr(sync_client(emu).Telephony, method)(**kwargs)

    async def scenario(client: symbl.AsyncClient) -> None:
        with pytest.raises(symbl.InvalidArgumentError) as awaited:
            await getattr(client.Telephony, method)(**kwargs)
        assert str(awaited.value) == str(threaded.value)

    run_live(emu, scenario)
    assert emu.requests(CONNECT) == [] and emu.calls() == []


def test_callbacks_get_the_live_events_until_the_call_ends(calls: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        events: list[Any] = []
        awaited: list[Any] = []

        async def coroutine(event: Any) -> None:
            await asyncio.sleep(0)
            awaited.append(event)

        connection = await client.Telephony.start_pstn(phone_number=PHONE)
        names = ("transcript_response", "message_response", "insight_response", "message")
        connection.subscribe(dict.fromkeys(names, events.append))
        connection.subscribe({"message_response": coroutine})
        assert await connection.wait(timeout=10), "the live events end with the call"
        kinds = [event["type"] for event in events]
        assert kinds[0] == "transcript_response"
        assert {"transcript_response", "message_response", "insight_response"} <= set(kinds)
        finals = [m.payload.content for e in awaited for m in e.messages]
        assert finals == [line["text"] for line in LIVE_SCRIPT]
        assert any(e.type == "transcript_response" and not e.isFinal for e in events)
        assert events[-1].message.type == "conversation_completed"
        assert connection.error is None

    run_live(calls, scenario)


def test_async_for_opens_the_socket_and_ends_with_the_call(calls: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        connection = await client.Telephony.start_pstn(phone_number=PHONE)
        events = [event async for event in connection]
        finals = [
            m.payload.content for e in events if e.type == "message_response" for m in e.messages
        ]
        assert finals == [line["text"] for line in LIVE_SCRIPT]
        assert events[-1].message.type == "conversation_completed"
        assert calls.requests(SUBSCRIBE)[0].status == 101

    run_live(calls, scenario)


def test_stop_ends_the_call_once_and_returns_its_summary(silent: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        connection = await client.Telephony.start_pstn(phone_number=PHONE, actions=[EMAIL_ACTION])
        connection.subscribe({"message": lambda event: None})
        assert await until(lambda: subscribers(silent) == 1)
        stopped = await asyncio.gather(connection.stop(), connection.stop())
        assert connection in stopped
        assert connection.summaryInfo[0]["user"]["userId"] == "john@example.com"
        await connection.stop()  # idempotent: no second request
        assert await connection.wait(timeout=1)

    run_live(silent, scenario)
    assert bodies(silent)[1:] == [
        {"operation": "stop", "connectionId": silent.calls()[0]["connectionId"]}
    ]
    assert silent.calls()[0]["state"] == "ended"
    assert [mail["to"] for mail in silent.outbox()] == [["john@example.com"]]


def test_stop_from_inside_a_coroutine_callback(calls: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        errors: list[BaseException] = []
        connection = await client.Telephony.start_pstn(phone_number=PHONE)

        async def on_first(event: Any) -> None:
            await connection.stop()
            await connection.stop()  # again, in the reader task: nothing more happens

        connection.subscribe({"transcript_response": on_first, "error": errors.append})
        assert await connection.wait(timeout=10)
        await connection.stop()  # and once more from this task
        assert errors == []

    run_live(calls, scenario)
    assert [body["operation"] for body in bodies(calls)] == ["start", "stop"]
    assert calls.calls()[0]["state"] == "ended"


def test_telephony_stop_by_id_returns_an_updated_connection(silent: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        started = await client.Telephony.start_sip(uri="sip:8002@sip.example.com")
        stopped = await client.Telephony.stop(started.connectionId, data={"session": {"name": "x"}})
        assert isinstance(stopped, symbl.Connection)
        assert stopped.conversationId == started.conversationId and stopped.summaryInfo

    run_live(silent, scenario)
    assert bodies(silent)[-1] == {
        "operation": "stop",
        "connectionId": silent.calls()[0]["connectionId"],
        "data": {"session": {"name": "x"}},
    }


def test_push_speaker_event(silent: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> str:
        connection = await client.Telephony.start_pstn(phone_number=PHONE)
        john = {"userId": "john@example.com", "name": "John"}
        await connection.push_speaker_event("started_speaking", john, "2021-02-04T20:34:59.029Z")
        await connection.push_speaker_event("stopped_speaking", john)
        with pytest.raises(symbl.InvalidArgumentError):
            await connection.push_speaker_event("shouted", {"userId": "a", "name": "b"})
        await connection.stop()
        return connection.connectionId

    connection_id = run_live(silent, scenario)
    first, second = silent.requests(f"/v1/event/{connection_id}")
    assert first.method == "POST"
    assert first.json == {
        "topic": "speaker",
        "type": "started_speaking",
        "user": {"userId": "john@example.com", "name": "John"},
        "timestamp": "2021-02-04T20:34:59.029Z",
    }
    assert second.json["timestamp"].endswith("Z")
    assert len(silent.calls()[0]["speaker_events"]) == 2


def test_subscribe_refusals(silent: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        connection = await client.Telephony.start_pstn(phone_number=PHONE)
        with pytest.raises(symbl.InvalidArgumentError, match="do not emit 'speech'"):
            connection.subscribe({"speech": print})
        assert silent.requests(SUBSCRIBE) == []
        await connection.stop()
        with pytest.raises(symbl.StreamingError, match="stopped"):
            connection.subscribe({"message": lambda event: None})

    run_live(silent, scenario)
    assert silent.requests(SUBSCRIBE) == []


def test_a_stop_that_fails_can_be_retried_and_a_5xx_is_sent_again(silent: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        connection = await client.Telephony.start_pstn(phone_number=PHONE)
        connection.subscribe({"message": lambda event: None})
        silent.add_fault(path=CONNECT, status=500, body={"message": "try again"}, times=3)
        with pytest.raises(symbl.InternalServerError):  # every attempt failed (1 + 2 retries)
            await connection.stop()
        assert silent.calls()[0]["state"] != "ended" and connection.state == "open"
        silent.add_fault(path=CONNECT, status=502, body={"message": "bad gateway"}, times=1)
        await connection.stop()  # a call left running is billed: the stop is sent again

    run_live(silent, scenario)
    assert [entry.status for entry in silent.requests(CONNECT)][-5:] == [500, 500, 500, 502, 200]
    assert silent.calls()[0]["state"] == "ended"


def test_a_dropped_socket_reconnects_and_events_resume(silent: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        seen: list[tuple[str, Any]] = []
        names = ("reconnecting", "reconnected", "error", "message")
        connection = await client.Telephony.start_pstn(phone_number=PHONE)
        connection.subscribe(
            {name: (lambda e, name=name: seen.append((name, e))) for name in names}
        )
        assert await until(lambda: subscribers(silent) == 1)
        assert silent.drop_websockets(SUBSCRIBE) == 1
        assert await until(lambda: "reconnected" in [name for name, _ in seen])
        assert await until(lambda: subscribers(silent) == 1)
        reconnecting = next(event for name, event in seen if name == "reconnecting")
        assert reconnecting["attempt"] == 1 and "closed unexpectedly" in reconnecting["cause"]
        assert connection.error is None and connection.state == "open"
        silent.end_call(connection.connectionId)  # the other side hangs up: events still come
        assert await connection.wait(timeout=5)
        assert seen[-1][1].message.type == "conversation_completed"
        assert "error" not in [name for name, _ in seen]
        await connection.stop()

    run_live(silent, scenario)


def test_without_reconnect_a_drop_is_an_error_and_subscribing_again_resumes(
    silent: Emulator,
) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        errors: list[BaseException] = []
        connection = await client.Telephony.start_pstn(phone_number=PHONE, reconnect=False)
        connection.subscribe({"error": errors.append})
        assert await until(lambda: subscribers(silent) == 1)
        silent.drop_websockets(SUBSCRIBE)
        assert await connection.wait(timeout=5)
        assert isinstance(connection.error, symbl.StreamingError) and errors == [connection.error]
        events: list[Any] = []
        connection.subscribe({"message": events.append})
        assert await until(lambda: subscribers(silent) == 1)
        assert connection.error is None
        await connection.stop()
        assert events and events[-1].message.type == "conversation_completed"

    run_live(silent, scenario)


def test_a_refused_socket_is_reported_to_the_error_subscribers(silent: Emulator) -> None:
    silent.add_fault(path=SUBSCRIBE + "*", status=404, body={"message": "no such call"})

    async def scenario(client: symbl.AsyncClient) -> None:
        errors: list[BaseException] = []
        connection = await client.Telephony.start_pstn(phone_number=PHONE)
        connection.subscribe({"error": errors.append})
        assert await connection.wait(timeout=5)
        assert errors == [connection.error] and connection.error.status_code == 404
        with pytest.raises(symbl.StreamingError, match="404"):
            async for _ in connection:
                pass
        silent.clear_faults()
        await connection.stop()

    run_live(silent, scenario)


def test_wait_from_inside_a_callback_is_a_clear_error(calls: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        errors: list[BaseException] = []
        connection = await client.Telephony.start_pstn(phone_number=PHONE)

        async def waits(event: Any) -> None:
            await connection.wait()

        connection.subscribe({"transcript_response": waits, "error": errors.append})
        assert await connection.wait(timeout=10)
        assert errors and "called from a callback" in str(errors[0].__cause__)

    run_live(calls, scenario)


# --- cancellation --------------------------------------------------------------------------------


def test_timeouts_around_wait_and_stop_leave_the_call_usable(silent: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        connection = await client.Telephony.start_pstn(phone_number=PHONE)
        connection.subscribe({"message": lambda event: None})
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(connection.wait(), 0.2)
        assert connection.state == "open"
        silent.add_fault(path=CONNECT, delay=1.0, times=1)  # a slow stop
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(connection.stop(), 0.2)
        await connection.stop()  # the cancelled stop may be tried again

    run_live(silent, scenario)
    assert silent.calls()[0]["state"] == "ended"


def test_a_call_stopped_during_the_handshake_has_no_socket(silent: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        connection = await client.Telephony.start_pstn(phone_number=PHONE)
        silent.add_fault(path=SUBSCRIBE + "*", delay=0.5, times=1)  # a slow handshake
        connection.subscribe({"message": lambda event: None})
        assert await until(lambda: connection.state == "connecting")
        await connection.stop()
        assert connection.state == "closed" and connection.error is None

    run_live(silent, scenario)


@pytest.mark.parametrize("handle_signals", [True, False])
def test_the_end_of_asyncio_run_stops_a_call_left_subscribed(
    silent: Emulator, handle_signals: bool
) -> None:
    import gc
    import warnings

    from async_helpers import open_sockets
    from helpers import wait_until

    async def main() -> None:
        client = symbl.AsyncClient(silent.credentials, base_url=silent.base_url)
        connection = await client.Telephony.start_pstn(PHONE, handle_signals=handle_signals)
        connection.subscribe({"message": lambda event: None})
        assert await until(lambda: subscribers(silent) == 1)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the client's session, never closed
        asyncio.run(main(), debug=True)
        gc.collect()
    assert wait_until(lambda: open_sockets(silent) == 0)
    assert (silent.calls()[0]["state"] == "ended") is handle_signals
