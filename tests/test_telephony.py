"""The Telephony API: exact endpoint:connect bodies, live events over the subscribe socket,
stop ending the call on the service, speaker events, and the lifecycle guarantees."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import symbl
from symbl.emulator import Emulator

from helpers import LIVE_SCRIPT, sdk_threads, wait_until

CONNECT = "/v1/endpoint:connect"
EMAIL_ACTION = {
    "invokeOn": "stop",
    "name": "sendSummaryEmail",
    "parameters": {"emails": ["john@example.com"]},
}


@pytest.fixture
def calls(emu_env: Emulator) -> Emulator:
    """Calls play a short script, twenty times faster than real time."""
    emu_env.set_live_transcript(LIVE_SCRIPT)
    emu_env.configure(telephony_speed=20.0, telephony_answer_seconds=0.1)
    return emu_env


def connect_bodies(emu: Emulator) -> list[Any]:
    return [entry.json for entry in emu.requests(CONNECT)]


def test_start_pstn_minimal_body(emu_env: Emulator) -> None:
    connection = symbl.Telephony.start_pstn(phone_number="+1 (415) 555-0100")
    assert connect_bodies(emu_env) == [
        {
            "operation": "start",
            "endpoint": {"type": "pstn", "phoneNumber": "+14155550100"},
            "actions": [],
        }
    ]
    (entry,) = emu_env.requests(CONNECT)
    assert entry.headers["content-type"] == "application/json"
    assert entry.headers["authorization"] == "Bearer " + entry.headers["x-api-key"]
    assert connection.connectionId and connection.conversationId
    assert connection.eventUrl == f"{emu_env.base_url}/v1/event/{connection.connectionId}"
    assert connection.resultWebSocketUrl.startswith("ws://")
    assert connection.conversation.get_conversation_id() == connection.conversationId


def test_start_pstn_full_body(emu_env: Emulator) -> None:
    symbl.Telephony.start_pstn(
        phone_number="+16465588656",
        dtmf=",,8931167232#,,447891#",
        actions=[EMAIL_ACTION],
        data={"session": {"name": "My Meeting"}},
        languages=["en-US"],
        timezone="US/Pacific",
    )
    assert connect_bodies(emu_env) == [
        {
            "operation": "start",
            "endpoint": {
                "type": "pstn",
                "phoneNumber": "+16465588656",
                "dtmf": ",,8931167232#,,447891#",
            },
            "actions": [EMAIL_ACTION],
            "data": {"session": {"name": "My Meeting"}},
            "languages": ["en-US"],
            "timezone": "US/Pacific",
        }
    ]


def test_start_sip_body(emu_env: Emulator) -> None:
    symbl.Telephony.start_sip(
        uri="sip:8002@sip.example.com",
        audio_config={"sampleRate": 48000, "encoding": "OPUS", "sampleSize": 16},
    )
    assert connect_bodies(emu_env) == [
        {
            "operation": "start",
            "endpoint": {
                "type": "sip",
                "uri": "sip:8002@sip.example.com",
                "audioConfig": {"sampleRate": 48000, "encoding": "OPUS", "sampleSize": 16},
            },
            "actions": [],
        }
    ]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: symbl.Telephony.start_pstn(phone_number=""), "phone_number"),
        (lambda: symbl.Telephony.start_pstn(phone_number="call me"), "phone_number"),
        (lambda: symbl.Telephony.start_pstn(phone_number="+14155550100", dtmf="12;3"), "dtmf"),
        (lambda: symbl.Telephony.start_sip(uri="http://example.com"), "SIP URI"),
        (
            lambda: symbl.Telephony.start_sip(uri="sip:1@x", audio_config={"bitrate": 1}),
            "audio_config",
        ),
        (lambda: symbl.Telephony.start_pstn("+14155550100", actions={}), "list of actions"),
        (
            lambda: symbl.Telephony.start_pstn(
                "+14155550100", actions=[{"invokeOn": "later", "name": "sendSummaryEmail"}]
            ),
            "invokeOn",
        ),
        (
            lambda: symbl.Telephony.start_pstn(
                "+14155550100",
                actions=[
                    {
                        "invokeOn": "stop",
                        "name": "sendSummaryEmail",
                        "parameters": {"emails": ["nope"]},
                    }
                ],
            ),
            "email",
        ),
        (lambda: symbl.Telephony.start_pstn("+14155550100", languages="en-US"), "languages"),
        (lambda: symbl.Telephony.start_pstn("+14155550100", languages=["xx-YY"]), "languages"),
        (lambda: symbl.Telephony.start_pstn("+14155550100", timezone="Nowhere/Land"), "IANA"),
        (lambda: symbl.Telephony.start_pstn("+14155550100", data=["session"]), "data"),
        (lambda: symbl.Telephony.stop(""), "connection_id"),
    ],
)
def test_bad_input_is_refused_before_any_request(emu_env: Emulator, call: Any, match: str) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match=match):
        call()
    assert emu_env.requests(CONNECT) == []


def test_subscribe_delivers_live_events_until_the_call_ends(calls: Emulator) -> None:
    events: list[Any] = []
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100")
    connection.subscribe(
        dict.fromkeys(
            (
                "transcript_response",
                "message_response",
                "insight_response",
                "topic_response",
                "message",
            ),
            events.append,
        )
    )
    assert wait_until(lambda: not sdk_threads(), timeout=10), "the reader ends with the call"
    kinds = [event["type"] for event in events]
    assert kinds[0] == "transcript_response"
    assert {"transcript_response", "message_response", "insight_response"} <= set(kinds)
    assert isinstance(events[0], dict) and events[0].payload.content
    finals = [m.payload.content for e in events if e.type == "message_response" for m in e.messages]
    assert finals == [line["text"] for line in LIVE_SCRIPT]
    interim = [e for e in events if e.type == "transcript_response" and not e.isFinal]
    assert interim, "partial transcripts come first"
    assert kinds[-1] == "message" and events[-1].message.type == "conversation_completed"


def test_stop_ends_the_call_on_the_service(calls: Emulator) -> None:
    calls.set_live_transcript([])  # a silent call: only stop ends it
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100", actions=[EMAIL_ACTION])
    connection.subscribe({"message": lambda event: None})
    assert connection.stop() is connection
    assert connect_bodies(calls)[-1] == {
        "operation": "stop",
        "connectionId": connection.connectionId,
    }
    (call,) = calls.calls()
    assert call["state"] == "ended"
    assert (
        connection.summaryInfo and connection.summaryInfo[0]["user"]["userId"] == "john@example.com"
    )
    assert [mail["to"] for mail in calls.outbox()] == [["john@example.com"]]
    connection.stop()  # idempotent: no second request
    assert len(calls.requests(CONNECT)) == 2
    assert wait_until(lambda: not sdk_threads(), timeout=3), sdk_threads()


def test_stop_from_inside_a_callback(calls: Emulator) -> None:
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100")
    stopped = threading.Event()

    def on_first(event: Any) -> None:
        connection.stop()
        stopped.set()

    connection.subscribe({"transcript_response": on_first})
    assert stopped.wait(10)
    assert wait_until(lambda: not sdk_threads(), timeout=5), sdk_threads()
    assert calls.calls()[0]["state"] == "ended"


def test_telephony_stop_by_id_returns_an_updated_connection(calls: Emulator) -> None:
    calls.set_live_transcript([])
    started = symbl.Telephony.start_sip(uri="sip:8002@sip.example.com")
    stopped = symbl.Telephony.stop(started.connectionId, data={"session": {"name": "x"}})
    assert isinstance(stopped, symbl.Connection)
    assert stopped.conversationId == started.conversationId
    assert stopped.summaryInfo
    assert connect_bodies(calls)[-1] == {
        "operation": "stop",
        "connectionId": started.connectionId,
        "data": {"session": {"name": "x"}},
    }


def test_push_speaker_event(calls: Emulator) -> None:
    calls.set_live_transcript([])
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100")
    connection.push_speaker_event(
        "started_speaking",
        {"userId": "john@example.com", "name": "John"},
        timestamp="2021-02-04T20:34:59.029Z",
    )
    (entry,) = calls.requests(f"/v1/event/{connection.connectionId}")
    assert entry.method == "POST"
    assert entry.json == {
        "topic": "speaker",
        "type": "started_speaking",
        "user": {"userId": "john@example.com", "name": "John"},
        "timestamp": "2021-02-04T20:34:59.029Z",
    }
    connection.push_speaker_event(
        "stopped_speaking", {"userId": "john@example.com", "name": "John"}
    )
    assert (
        calls.requests(f"/v1/event/{connection.connectionId}")[-1].json["timestamp"].endswith("Z")
    )
    with pytest.raises(symbl.InvalidArgumentError):
        connection.push_speaker_event("shouted", {"userId": "a", "name": "b"})
    assert len(calls.calls()[0]["speaker_events"]) == 2
    connection.stop()


def test_events_are_refused_when_unknown(calls: Emulator) -> None:
    calls.set_live_transcript([])
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100")
    with pytest.raises(symbl.InvalidArgumentError, match="do not emit 'speech'"):
        connection.subscribe({"speech": print})
    assert calls.requests("/session/subscribe/") == []
    connection.stop()


def test_connection_prints_its_ids(calls: Emulator) -> None:
    calls.set_live_transcript([])
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100")
    text = repr(connection)
    assert text.startswith("Connection(connectionId=")
    assert connection.conversationId in text and connection.eventUrl in text
    assert connection.to_dict()["connectionId"] == connection.connection_id
    connection.stop()


def test_dropped_subscribe_socket_reports_a_streaming_error(calls: Emulator) -> None:
    calls.set_live_transcript([])
    errors: list[BaseException] = []
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100", reconnect=False)
    connection.subscribe({"error": errors.append})
    calls.drop_websockets("/session/subscribe/")
    assert wait_until(lambda: errors, timeout=5)
    assert isinstance(errors[0], symbl.StreamingError)
    assert wait_until(lambda: not sdk_threads(), timeout=3)
    connection.stop()


def test_a_failed_stop_can_be_retried(calls: Emulator) -> None:
    calls.set_live_transcript([])
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100")
    connection.subscribe({"message": lambda event: None})
    calls.add_fault(path=CONNECT, status=500, body={"message": "try again"}, times=3)
    with pytest.raises(symbl.InternalServerError):  # every attempt failed (1 + 2 retries)
        connection.stop()
    assert calls.calls()[0]["state"] != "ended"
    connection.stop()
    assert calls.calls()[0]["state"] == "ended"
    assert wait_until(lambda: not sdk_threads(), timeout=3)


def test_subscribing_again_after_a_drop_resumes_events(calls: Emulator) -> None:
    calls.set_live_transcript([])
    errors: list[BaseException] = []
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100", reconnect=False)
    connection.subscribe({"error": errors.append})
    calls.drop_websockets("/session/subscribe/")
    assert wait_until(lambda: errors, timeout=5)
    events: list[Any] = []
    connection.subscribe({"message": events.append})
    assert wait_until(lambda: calls.calls()[0]["subscribers"] == 1, timeout=5)
    connection.stop()
    assert events and events[-1]["message"]["type"] == "conversation_completed"


def test_wait_from_inside_a_callback_is_a_clear_error(calls: Emulator) -> None:
    errors: list[BaseException] = []
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100")
    connection.subscribe(
        {"transcript_response": lambda event: connection.wait(), "error": errors.append}
    )
    assert connection.wait(timeout=10)
    assert errors and "called from a callback" in str(errors[0].__cause__)


def test_a_bad_handle_signals_is_refused_before_the_call_is_placed(emu_env: Emulator) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match="handle_signals"):
        symbl.Telephony.start_pstn("+14155550100", handle_signals="no")  # type: ignore[arg-type]
    assert emu_env.requests(CONNECT) == []
    assert emu_env.calls() == []


def test_a_stop_that_meets_a_server_error_is_sent_again(calls: Emulator) -> None:
    calls.set_live_transcript([])
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100")
    calls.add_fault(path=CONNECT, status=502, body={"message": "bad gateway"}, times=1)
    connection.stop()  # a call left running is billed: the stop is retried
    assert [entry.status for entry in calls.requests(CONNECT)][-2:] == [502, 200]
    assert calls.calls()[0]["state"] == "ended"
