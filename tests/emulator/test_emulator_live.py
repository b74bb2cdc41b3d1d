"""The emulator's live side as a server, driven by raw clients (websocket-client, requests):
the Streaming API websocket (PROTOCOL.md §6), the Telephony API (§5) and their test controls.

Waits are bounded by socket timeouts; "nothing more came" is proven with ``__PING__``: the
emulator answers it in order, so every frame caused by earlier messages arrives before
``__PONG__``.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket
from websocket import WebSocket, create_connection

from symbl.emulator import Emulator

from helpers import OLD_CLIENT_PSTN, OLD_CLIENT_SIP, OLD_CLIENT_START, admin_http, wait_until

RATE = 16000
SCRIPT = [
    {
        "speaker": {"name": "Ann", "userId": "ann@example.com"},
        "text": "Can you send the pricing report by Friday?",
        "start": 0.5,
        "end": 1.5,
    },
    {
        "speaker": {"name": "Bob", "userId": "bob@example.com"},
        "text": "Yes, I will send it tomorrow. The discount is ready.",
        "start": 3.0,
        "end": 4.0,
    },
]
REPR_STOP = "{'type': 'stop_request'}"
JSON_STOP = '{"type": "stop_request"}'
PSTN_START = {
    "operation": "start",
    "endpoint": {"type": "pstn", "phoneNumber": "+11234567890", "dtmf": ",,123#,,456#"},
    "actions": [
        {"invokeOn": "start", "name": "sendSummaryEmail", "parameters": {"emails": ["a@x.io"]}},
        {
            "invokeOn": "stop",
            "name": "sendSummaryEmail",
            "parameters": {"emails": ["john.doe@example.com", "mary@example.com"]},
        },
    ],
    "data": {"session": {"name": "Weekly sync"}},
    "languages": ["en-US"],
    "timezone": "US/Pacific",
    "pushSpeakerEvents": True,
}


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def sockets() -> Iterator[list[WebSocket]]:
    """Sockets a test opened, closed at its end whatever happened."""
    opened: list[WebSocket] = []
    yield opened
    for ws in opened:
        ws.close(timeout=0.5)
        ws.shutdown()  # close() leaves the socket open when the server closed first


def connect(
    emu: Emulator, path: str, token: str | None, opened: list[WebSocket], **options: Any
) -> WebSocket:
    headers = {"x-api-key": token} if token else {}
    url = emu.base_url.replace("http://", "ws://") + path
    ws = create_connection(url, header=headers, timeout=5, **options)
    opened.append(ws)
    return ws


def post(emu: Emulator, token: str, path: str, body: Any) -> requests.Response:
    return requests.post(emu.base_url + path, json=body, headers={"x-api-key": token}, timeout=5)


def receive(ws: WebSocket) -> Any:
    return json.loads(ws.recv())


def until_pong(ws: WebSocket) -> list[Any]:
    """Every frame the emulator sent before answering a ping sent now."""
    ws.send("__PING__")
    frames = []
    while True:
        text = ws.recv()
        if text == "__PONG__":
            return frames
        frames.append(json.loads(text))


def until_close(ws: WebSocket) -> tuple[list[Any], int]:
    """Every frame up to the server's close frame, and its close code."""
    frames = []
    while True:
        opcode, data = ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return frames, int.from_bytes(data[:2], "big")
        frames.append(json.loads(data))


def kind(frame: dict[str, Any]) -> str:
    """``message/<type>`` for wrapped platform messages, else the top-level type."""
    if frame["type"] == "message":
        return "message/" + frame["message"]["type"]
    return str(frame["type"])


def start(ws: WebSocket, **fields: Any) -> str:
    """Send a start_request and read the three lifecycle messages; return the conversation id."""
    request = {"type": "start_request", **fields}
    request.setdefault("config", {"speechRecognition": {"sampleRateHertz": RATE}})
    ws.send(json.dumps(request))
    created, listening, started = receive(ws), receive(ws), receive(ws)
    assert (kind(created), kind(listening), kind(started)) == (
        "message/conversation_created",
        "message/started_listening",
        "message/recognition_started",
    )
    conversation_id = created["message"]["data"]["conversationId"]
    assert started["message"]["data"] == {"conversationId": conversation_id}
    return str(conversation_id)


def pcm(seconds: float, rate: int = RATE) -> bytes:
    """Recognisable LINEAR16 bytes lasting ``seconds``."""
    size = 2 * round(seconds * rate)
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def send_audio(ws: WebSocket, audio: bytes, frame: int = 8192) -> None:
    for at in range(0, len(audio), frame):
        ws.send_binary(audio[at : at + frame])


def results(frames: list[Any]) -> list[tuple[bool, str]]:
    return [
        (f["message"]["isFinal"], f["message"]["punctuated"]["transcript"])
        for f in frames
        if kind(f) == "message/recognition_result"
    ]


def _id(call: dict[str, Any]) -> dict[str, str]:
    return {"connectionId": call["connectionId"]}


def stream_of(emu: Emulator, connection_id: str) -> dict[str, Any]:
    return next(s for s in reversed(emu.streams()) if s["connectionId"] == connection_id)


# --- streaming ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/v1/streaming/s1", "/v1/realtime/insights/s1", "/v1/subscribe/s1"]
)
@pytest.mark.parametrize("presented", [None, "not-a-token"])
def test_upgrade_without_a_valid_token_is_refused_with_401(
    emu: Emulator, path: str, presented: str | None
) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        create_connection(
            emu.base_url.replace("http://", "ws://") + path,
            header={"x-api-key": presented} if presented else {},
            timeout=5,
        )
    assert refused.value.status_code == 401
    assert emu.streams() == []


def test_start_sequence_with_the_token_as_subprotocol(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    ws = connect(emu, "/v1/streaming/s2", None, sockets, subprotocols=[token])
    # Echoed exactly, or the JS client aborts the handshake.
    assert ws.getheaders()["sec-websocket-protocol"] == token
    conversation_id = start(ws)
    assert [entry.status for entry in emu.requests("/v1/streaming/s2")] == [101]
    assert re.fullmatch(r"\d{16}", conversation_id)
    answer = requests.get(
        f"{emu.base_url}/v1/conversations/{conversation_id}",
        headers={"x-api-key": token},
        timeout=5,
    )
    assert answer.status_code == 200
    assert stream_of(emu, "s2")["state"] == "listening"


def test_recognition_follows_the_audio_received(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    emu.set_live_transcript(SCRIPT)
    ws = connect(emu, "/v1/realtime/insights/s3?source=python_sdk", token, sockets)
    conversation_id = start(ws, speaker=None)
    send_audio(ws, pcm(2.0))  # past the first line, short of the second
    first = until_pong(ws)
    heard = results(first)
    assert heard[-1] == (True, SCRIPT[0]["text"])
    interims = [text for final, text in heard if not final]
    assert interims and interims[0] == "Can"
    assert all(len(a) < len(b) for a, b in zip(interims, interims[1:]))  # words only grow
    assert kind(first[len(heard)]) == "message_response"
    assert not any("Bob" in json.dumps(frame) for frame in first)

    send_audio(ws, pcm(2.5))
    second = results(until_pong(ws))
    assert second[0] == (False, "Yes,")
    assert second[-1] == (True, SCRIPT[1]["text"])
    result = next(f for f in first if kind(f) == "message/recognition_result")
    assert result["message"]["user"]["name"] == "Ann"
    assert result["message"]["payload"]["raw"]["alternatives"][0]["words"][0]["startTime"] == {
        "seconds": "0",
        "nanos": "500000000",
    }
    messages = requests.get(
        f"{emu.base_url}/v1/conversations/{conversation_id}/messages",
        headers={"x-api-key": token},
        timeout=5,
    ).json()["messages"]
    assert [m["text"] for m in messages] == [
        SCRIPT[0]["text"],
        "Yes, I will send it tomorrow.",
        "The discount is ready.",
    ]


def test_insight_topic_and_tracker_frames(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    emu.set_live_transcript(SCRIPT)
    ws = connect(emu, "/v1/streaming/s4", token, sockets)
    start(
        ws,
        insightTypes=["question"],
        speaker={"userId": "jane@example.com", "name": "Jane"},
        trackers=[{"name": "Pricing", "vocabulary": ["discount"]}],
    )
    send_audio(ws, pcm(4.5))
    frames = until_pong(ws)
    kinds = [kind(f) for f in frames if not kind(f).startswith("message/")]
    assert kinds == [
        "message_response",
        "insight_response",
        "topic_response",
        "message_response",
        "topic_response",
        "tracker_response",
    ]
    messages = [f for f in frames if kind(f) == "message_response"]
    assert [len(m["messages"]) for m in messages] == [1, 2]  # one message per sentence
    assert {m["from"]["name"] for f in messages for m in f["messages"]} == {"Jane"}
    (question,) = next(f for f in frames if kind(f) == "insight_response")["insights"]
    assert question["type"] == "question"  # the action item was not asked for
    assert question["text"] == question["payload"]["content"] == SCRIPT[0]["text"]
    assert question["from"]["userId"] == "jane@example.com"
    topics = [t["phrases"] for f in frames if kind(f) == "topic_response" for t in f["topics"]]
    assert "pricing report" in topics
    assert "discount" in topics
    (tracker,) = next(f for f in frames if kind(f) == "tracker_response")["trackers"]
    assert tracker["name"] == "Pricing"
    assert tracker["matches"][0]["messageRefs"][0]["text"] == "The discount is ready."


def test_exact_audio_and_frame_statistics_are_recorded(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    ws = connect(emu, "/v1/streaming/s5", token, sockets)
    ws.send_binary(b"ignored before start")
    ws.send('{"type": "modify_request", "speechRecognition": {"sampleRateHertz": 8000}}')
    (refused,) = until_pong(ws)
    assert refused["message"]["details"] == "send start_request first"
    start(ws)
    audio = pcm(1.3)
    send_audio(ws, audio, frame=3000)
    until_pong(ws)
    stream = stream_of(emu, "s5")
    assert emu.stream_audio("s5") == audio
    assert stream["audio_bytes"] == len(audio)
    assert stream["audio_frames"] == -(-len(audio) // 3000)
    assert stream["largest_frame"] == 3000
    assert stream["audio_before_start"] == 1
    assert stream["audio_seconds"] == pytest.approx(1.3)
    over_http = admin_http(emu).get(emu.base_url + "/_emulator/streams/s5/audio", timeout=5)
    assert over_http.content == audio


@pytest.mark.parametrize("text", [JSON_STOP, REPR_STOP])
@pytest.mark.parametrize("order", ["recognition_stopped_first", "conversation_completed_first"])
def test_stop_request_ends_with_both_messages_and_close_1000(
    emu: Emulator, token: str, sockets: list[WebSocket], text: str, order: str
) -> None:
    emu.configure(stop_order=order)
    ws = connect(emu, "/v1/streaming/s6", token, sockets)
    conversation_id = start(ws)
    ws.send(text)
    frames, code = until_close(ws)
    expected = ["message/recognition_stopped", "message/conversation_completed"]
    assert [kind(f) for f in frames] == (
        expected if order == "recognition_stopped_first" else expected[::-1]
    )
    completed = next(f for f in frames if kind(f) == "message/conversation_completed")["message"]
    assert completed["conversationId"] == conversation_id
    assert completed["data"] == {"conversationId": conversation_id}
    assert completed["summaryUrl"].startswith("https://meetinginsights.symbl.ai/meeting/#/")
    assert code == 1000
    stream = stream_of(emu, "s6")
    assert (stream["state"], stream["stop_requests"]) == ("completed", [text])


def test_disconnect_on_stop_request_false_keeps_the_socket_and_resumes(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    ws = connect(emu, "/v1/streaming/s7", token, sockets)
    conversation_id = start(ws, disconnectOnStopRequest=False)
    ws.send(JSON_STOP)
    assert [kind(f) for f in until_pong(ws)] == [
        "message/recognition_stopped",
        "message/conversation_completed",
    ]
    assert stream_of(emu, "s7")["state"] == "paused"
    send_audio(ws, pcm(0.5))  # ignored while paused
    assert start(ws) == conversation_id
    assert stream_of(emu, "s7")["audio_before_start"] == 2


def test_both_paths_and_subscribers_share_one_session(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    emu.set_live_transcript(SCRIPT[:1])
    first = connect(emu, f"/v1/streaming/s8?access_token={token}", None, sockets)
    conversation_id = start(first)
    listener = connect(emu, "/v1/subscribe/s8", token, sockets)
    created = receive(listener)
    assert created["message"]["data"]["conversationId"] == conversation_id
    second = connect(emu, "/v1/realtime/insights/s8", token, sockets)
    assert start(second) == conversation_id
    send_audio(first, pcm(2.0))
    sent = until_pong(first)
    assert results(sent)[-1] == (True, SCRIPT[0]["text"])
    assert until_pong(second) == sent
    assert until_pong(listener) == sent
    assert stream_of(emu, "s8")["sockets"] == 3
    second.send(REPR_STOP)
    for ws in (first, second, listener):
        frames, code = until_close(ws)
        assert (kind(frames[-1]), code) == ("message/conversation_completed", 1000)
    # A listener of an id with no live stream waits for one (PROTOCOL.md §11.7), then is closed.
    emu.configure(listener_wait_seconds=0.2)
    late = connect(emu, "/v1/subscribe/s8", token, sockets)
    assert until_close(late) == ([], 1000)


def test_errors_keep_the_socket_open(emu: Emulator, token: str, sockets: list[WebSocket]) -> None:
    ws = connect(emu, "/v1/streaming/s9", token, sockets)
    start(ws)
    ws.send_binary(bytes(8193))
    ws.send("not json")
    ws.send('{"type": "dance_request"}')
    ws.send('{"type": "modify_request", "speechRecognition": {"sampleRateHertz": 8000}}')
    errors = until_pong(ws)  # still open: it answers the ping
    assert [f["message"]["type"] for f in errors] == ["error"] * 3 + ["session_modified"]
    assert "8192" in errors[0]["message"]["details"]
    assert set(errors[0]["message"]) == {"type", "message", "details"}
    assert errors[3]["message"]["data"] == {"sampleRateHertz": 8000, "encoding": "LINEAR16"}
    send_audio(ws, pcm(0.5))  # 16000 bytes at 8000 Hz last a second
    until_pong(ws)
    stream = stream_of(emu, "s9")
    assert (stream["oversize_frames"], stream["audio_frames"]) == (1, 2)
    assert stream["audio_seconds"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "change",
    [
        {"insightTypes": ["summary"]},
        {"config": {"confidenceThreshold": 1.5}},
        {"config": {"speechRecognition": {"encoding": "MP3", "sampleRateHertz": 16000}}},
        {"config": {"speechRecognition": {"sampleRateHertz": "16000"}}},
        {"speaker": "Jane"},
        {"trackers": [{"name": "Pricing"}]},
        # A field it does not know passes; a known one beside it is still checked.
        {"insight_types": ["question"], "customVocabulary": "pricing"},
        {"noConnectionTimeout": -1},
    ],
)
def test_invalid_start_request_is_an_error_and_close_1008(
    emu: Emulator, token: str, sockets: list[WebSocket], change: dict[str, Any]
) -> None:
    ws = connect(emu, "/v1/streaming/s10", token, sockets)
    ws.send(json.dumps({**OLD_CLIENT_START, **change}))
    frames, code = until_close(ws)
    assert [kind(f) for f in frames] == ["message/error"]
    assert code == 1008
    assert emu.streams()[0]["state"] == "rejected"
    assert emu.state.conversations.all() == []


def test_unknown_start_request_fields_are_accepted_as_given(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    """PROTOCOL.md §11.8 "Pass-through": fields it does not know, at the top, in ``config`` and
    in ``config.redaction``, start the stream like any other."""
    unknown = {
        "insight_types": ["question"],
        "config": {
            "speechRecognition": {"sampleRateHertz": RATE},
            "colour": "red",
            "redaction": {"identifyContent": True, "maskStyle": "stars"},
        },
    }
    ws = connect(emu, "/v1/streaming/s10b", token, sockets)
    start(ws, **unknown)
    assert until_pong(ws) == []
    stream = stream_of(emu, "s10b")
    assert (stream["state"], stream["start_request"]) == (
        "listening",
        {"type": "start_request", **unknown},
    )


def test_the_old_clients_start_request_and_mic_frames(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    emu.set_live_transcript(SCRIPT[:1])
    ws = connect(emu, "/v1/realtime/insights/UElPUFFMWDFEVkZI?source=python_sdk", token, sockets)
    ws.send(json.dumps(OLD_CLIENT_START))
    assert kind(receive(ws)) == "message/conversation_created"
    send_audio(ws, pcm(1.6, rate=44100))  # 44.1 kHz as the old client declares
    assert results(until_pong(ws))[-1] == (True, SCRIPT[0]["text"])
    stream = stream_of(emu, "UElPUFFMWDFEVkZI")
    assert stream["largest_frame"] == 8192
    assert stream["start_request"] == OLD_CLIENT_START


def test_silence_ends_the_stream(emu: Emulator, token: str, sockets: list[WebSocket]) -> None:
    emu.configure(stream_idle_seconds=0.3)
    ws = connect(emu, "/v1/streaming/s11", token, sockets)
    began = time.monotonic()
    start(ws)
    frames, code = until_close(ws)
    assert time.monotonic() - began >= 0.29
    assert [kind(f) for f in frames] == [
        "message/recognition_stopped",
        "message/conversation_completed",
    ]
    assert code == 1000


def test_the_last_sender_leaving_finalises_the_conversation(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    emu.set_live_transcript(SCRIPT[:1])
    ws = connect(emu, "/v1/streaming/s12", token, sockets)
    start(ws)
    listener = connect(emu, "/v1/subscribe/s12", token, sockets)
    receive(listener)
    send_audio(ws, pcm(2.0))
    until_pong(ws)
    ws.close()
    frames, code = until_close(listener)
    assert kind(frames[-1]) == "message/conversation_completed"
    assert code == 1000
    assert stream_of(emu, "s12")["state"] == "completed"


# --- telephony ---------------------------------------------------------------------------------


def test_start_answers_the_connection_on_this_emulator(emu: Emulator, token: str) -> None:
    answer = post(emu, token, "/v1/endpoint:connect", PSTN_START)
    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == {"eventUrl", "resultWebSocketUrl", "conversationId", "connectionId"}
    connection_id = body["connectionId"]
    assert str(uuid.UUID(connection_id)) == connection_id
    assert body["eventUrl"] == f"{emu.base_url}/v1/event/{connection_id}"
    ws_base = emu.base_url.replace("http://", "ws://")
    assert body["resultWebSocketUrl"] == f"{ws_base}/events/{connection_id}"
    assert re.fullmatch(r"\d{16}", body["conversationId"])
    (call,) = emu.calls()
    assert (call["state"], call["start"], call["stop"]) == ("ringing", PSTN_START, None)
    assert [mail["invokeOn"] for mail in emu.outbox()] == ["start"]


@pytest.mark.parametrize("body", [OLD_CLIENT_PSTN, OLD_CLIENT_SIP])
def test_the_old_clients_start_bodies_are_accepted(
    emu: Emulator, token: str, body: dict[str, Any]
) -> None:
    assert post(emu, token, "/v1/endpoint:connect", body).status_code == 201


def _changed(path: str, value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(PSTN_START))
    *parents, last = path.split(".")
    target = body
    for name in parents:
        target = target[name]
    target[last] = value
    return body


@pytest.mark.parametrize(
    "body",
    [
        _changed("operation", "dial"),
        _changed("callMe", True),
        _changed("endpoint.type", "webrtc"),
        _changed("endpoint.phoneNumber", "call me"),
        _changed("endpoint.phoneNumber", "+1234"),
        _changed("endpoint.dtmf", "12x"),
        _changed("endpoint.uri", "sip:x@y"),
        _changed("actions", [{"invokeOn": "later", "name": "sendSummaryEmail"}]),
        _changed("actions", {"invokeOn": "stop"}),
        _changed("languages", ["xx-XX"]),
        _changed("data", "session"),
        _changed("pushSpeakerEvents", "yes"),
        {**OLD_CLIENT_SIP, "endpoint": {"type": "sip", "uri": "tel:8002"}},
        {
            **OLD_CLIENT_SIP,
            "endpoint": {**OLD_CLIENT_SIP["endpoint"], "audioConfig": {"sampleSize": "x"}},
        },
        [PSTN_START],
    ],
)
def test_invalid_start_bodies_are_400(emu: Emulator, token: str, body: Any) -> None:
    answer = post(emu, token, "/v1/endpoint:connect", body)
    assert answer.status_code == 400
    assert answer.json()["message"]
    assert emu.calls() == []


def test_a_call_plays_the_script_and_the_remote_party_hangs_up(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    emu.configure(telephony_speed=20.0)  # rings 0.5 s: time enough to subscribe
    emu.set_live_transcript(SCRIPT)
    call = post(emu, token, "/v1/endpoint:connect", OLD_CLIENT_PSTN).json()
    ws = connect(emu, "/session/subscribe/" + call["connectionId"], token, sockets)
    frames, code = until_close(ws)
    assert code == 1000
    kinds = [kind(f) for f in frames]
    first_final = kinds.index("transcript_response") + [
        f.get("isFinal") for f in frames if kind(f) == "transcript_response"
    ].index(True)
    assert kinds[:first_final] == ["transcript_response"] * first_final  # interims first
    assert frames[0] == {
        "type": "transcript_response",
        "isFinal": False,
        "payload": {"content": "Can", "contentType": "text/plain"},
    }
    assert frames[first_final]["payload"]["content"] == SCRIPT[0]["text"]
    assert kinds[first_final + 1 : first_final + 4] == [
        "message_response",
        "insight_response",
        "topic_response",
    ]
    insights = [i for f in frames if kind(f) == "insight_response" for i in f["insights"]]
    assert {i["type"] for i in insights} == {"question", "action_item"}
    for insight in insights:
        assert insight["text"] == insight["payload"]["content"]
        assert {"confidence", "from", "hints", "tags"} <= set(insight)
    assert frames[-1] == {
        "type": "message",
        "message": {
            "type": "conversation_completed",
            "conversationId": call["conversationId"],
            "summaryUrl": frames[-1]["message"]["summaryUrl"],
        },
    }
    (state,) = emu.calls()
    assert (state["state"], state["ended_by"]) == ("ended", "hangup")
    messages = requests.get(
        f"{emu.base_url}/v1/conversations/{call['conversationId']}/messages",
        headers={"x-api-key": token},
        timeout=5,
    ).json()["messages"]
    assert len(messages) == 3
    # Ended by itself, it still takes one stop (to get the conversation id).
    stopped = post(emu, token, "/v1/endpoint:connect", {"operation": "stop", **_id(call)})
    assert stopped.status_code == 200


def test_stop_ends_the_call_and_fills_the_outbox(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    call = post(emu, token, "/v1/endpoint:connect", PSTN_START).json()
    ws = connect(emu, "/session/subscribe/" + call["connectionId"], token, sockets)
    assert wait_until(lambda: emu.calls()[0]["state"] == "active", timeout=3)
    stop = {"operation": "stop", **_id(call), "actions": [], "data": {}}
    answer = post(emu, token, "/v1/endpoint:connect", stop)
    assert answer.status_code == 200
    body = answer.json()
    assert body == {**call, "summaryInfo": body["summaryInfo"]}
    users = [info["user"] for info in body["summaryInfo"]]
    assert [(u["userId"], u["name"], u["role"]) for u in users] == [
        ("john.doe@example.com", "John Doe", "organizer"),
        ("mary@example.com", "Mary", "organizer"),
    ]
    assert all(
        info["url"].startswith("https://meetinginsights.symbl.ai/") for info in body["summaryInfo"]
    )
    frames, code = until_close(ws)
    assert ([kind(f) for f in frames], code) == (["message/conversation_completed"], 1000)
    outbox = emu.outbox()
    assert [(m["invokeOn"], m["to"]) for m in outbox] == [
        ("start", ["a@x.io"]),
        ("stop", ["john.doe@example.com", "mary@example.com"]),
    ]
    assert outbox[1]["subject"] == "Summary of Weekly sync"
    assert outbox[1]["conversationId"] == call["conversationId"]
    assert emu.calls()[0]["stop"] == stop
    again = post(emu, token, "/v1/endpoint:connect", stop)
    assert again.status_code == 404
    assert again.json()["message"]
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(emu, "/session/subscribe/" + call["connectionId"], token, sockets)
    assert refused.value.status_code == 404


def test_stop_without_summary_email_still_names_a_user(emu: Emulator, token: str) -> None:
    call = post(emu, token, "/v1/endpoint:connect", OLD_CLIENT_PSTN).json()
    body = post(emu, token, "/v1/endpoint:connect", {"operation": "stop", **_id(call)}).json()
    (info,) = body["summaryInfo"]
    assert info["user"]["name"] and info["user"]["userId"]
    assert emu.outbox() == []
    unknown = post(emu, token, "/v1/endpoint:connect", {"operation": "stop", "connectionId": "x"})
    assert unknown.status_code == 404


def test_speaker_events_over_rest_and_websocket(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    call = post(emu, token, "/v1/endpoint:connect", OLD_CLIENT_PSTN).json()
    event = {
        "topic": "speaker",
        "type": "started_speaking",
        "user": {"userId": "j@x.io", "name": "J"},
    }
    assert requests.post(call["eventUrl"], json=event, headers={"x-api-key": token}, timeout=5).ok
    bad = requests.post(
        call["eventUrl"], json={**event, "type": "sneezed"}, headers={"x-api-key": token}, timeout=5
    )
    assert bad.status_code == 400
    assert post(emu, token, "/v1/event/unknown", event).status_code == 404
    ws = create_connection(
        call["resultWebSocketUrl"] + "?source=js_sdk", header={"x-api-key": token}, timeout=5
    )
    sockets.append(ws)
    stamped = {**event, "type": "stopped_speaking", "timestamp": "2021-02-04T20:34:59.029Z"}
    ws.send(json.dumps(stamped))
    ws.send(
        json.dumps({"topic": "speaker", "type": "stopped", "timestamp": "2021-02-04T20:35:00Z"})
    )
    ws.send(json.dumps({"topic": "speaker", "type": "joined"}))
    (error,) = until_pong(ws)
    assert kind(error) == "message/error"
    events = emu.calls()[0]["speaker_events"]
    assert [e["type"] for e in events] == ["started_speaking", "stopped_speaking", "stopped"]
    assert events[0]["timestamp"].endswith("Z")  # filled in
    assert events[1] == stamped


def test_a_subscribers_stop_message_closes_only_its_socket(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    call = post(emu, token, "/v1/endpoint:connect", OLD_CLIENT_PSTN).json()
    leaving = connect(emu, "/session/subscribe/" + call["connectionId"], token, sockets)
    staying = connect(emu, "/session/subscribe/" + call["connectionId"], token, sockets)
    leaving.send(REPR_STOP)
    assert until_close(leaving) == ([], 1000)
    assert until_pong(staying) == []
    assert wait_until(lambda: emu.calls()[0]["subscribers"] == 1)
    assert emu.calls()[0]["state"] != "ended"
    emu.end_call(call["connectionId"])
    frames, code = until_close(staying)
    assert (kind(frames[0]), code) == ("message/conversation_completed", 1000)
    assert emu.calls()[0]["ended_by"] == "hangup"


# --- test controls -----------------------------------------------------------------------------


def test_drop_websockets_cuts_sockets_without_a_close_frame(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    streaming = connect(emu, "/v1/streaming/d1", token, sockets)
    start(streaming)
    call = post(emu, token, "/v1/endpoint:connect", OLD_CLIENT_PSTN).json()
    subscriber = connect(emu, "/session/subscribe/" + call["connectionId"], token, sockets)
    assert emu.drop_websockets("/v1/streaming/") == 1
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        streaming.recv()
    assert wait_until(lambda: stream_of(emu, "d1")["state"] == "completed")
    assert until_pong(subscriber) == []  # other paths untouched
    dropped = admin_http(emu).post(emu.base_url + "/_emulator/websockets:drop", timeout=5).json()
    assert dropped == {"dropped": 1}
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        subscriber.recv()


def test_reset_ends_everything_and_closes_every_socket(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    emu.set_live_transcript(SCRIPT)
    streaming = connect(emu, "/v1/streaming/r1", token, sockets)
    start(streaming)
    call = post(emu, token, "/v1/endpoint:connect", OLD_CLIENT_PSTN).json()
    subscriber = connect(emu, "/session/subscribe/" + call["connectionId"], token, sockets)
    emu.reset()
    # A normal close: clients end their connections rather than reconnect into the next test.
    assert until_close(streaming)[1] == 1000
    assert until_close(subscriber)[1] == 1000
    assert (emu.streams(), emu.calls(), emu.outbox()) == ([], [], [])
    assert emu.state.live_transcript == ()


def test_admin_http_controls(emu: Emulator, token: str, sockets: list[WebSocket]) -> None:
    admin = emu.base_url + "/_emulator"
    http = admin_http(emu)
    assert http.put(admin + "/live-transcript", json={"transcript": SCRIPT}, timeout=5).ok
    assert len(http.get(admin + "/live-transcript", timeout=5).json()["transcript"]) == 2
    bad = http.put(admin + "/live-transcript", json={"transcript": [{"text": ""}]}, timeout=5)
    assert bad.status_code == 400
    settings = {
        "streamIdleSeconds": 5.0,
        "telephonySpeed": 50.0,
        "stopOrder": "conversation_completed_first",
    }
    assert (
        http.patch(admin + "/settings", json=settings, timeout=5).json()["telephonySpeed"] == 50.0
    )
    for wrong in ({"stopOrder": "whenever"}, {"telephonySpeed": 0}):
        assert http.patch(admin + "/settings", json=wrong, timeout=5).status_code == 400
    call = post(emu, token, "/v1/endpoint:connect", PSTN_START).json()
    hangup = http.post(f"{admin}/calls/{call['connectionId']}:hangup", timeout=5)
    assert hangup.json() == {"connectionId": call["connectionId"], "state": "ended"}
    assert http.post(f"{admin}/calls/nope:hangup", timeout=5).status_code == 404
    (listed,) = http.get(admin + "/calls", timeout=5).json()["calls"]
    assert (listed["state"], listed["ended_by"]) == ("ended", "hangup")
    outbox = http.get(admin + "/outbox", timeout=5).json()["outbox"]
    assert [m["invokeOn"] for m in outbox] == ["start", "stop"]  # hang-up runs the stop actions
    ws = connect(emu, "/v1/streaming/a1", token, sockets)
    start(ws)
    (stream,) = http.get(admin + "/streams", timeout=5).json()["streams"]
    assert (stream["connectionId"], stream["sockets"]) == ("a1", 1)
    assert http.delete(admin + "/live-transcript", timeout=5).json() == {"lines": 0}


def test_stopping_the_emulator_closes_live_sockets_promptly() -> None:
    with Emulator() as own:
        own_token = requests.post(
            own.base_url + "/oauth2/token:generate",
            json={"type": "application", "appId": own.app_id, "appSecret": own.app_secret},
            timeout=5,
        ).json()["accessToken"]
        opened: list[WebSocket] = []
        streaming = connect(own, "/v1/streaming/x", own_token, opened)
        start(streaming)
        call = post(own, own_token, "/v1/endpoint:connect", OLD_CLIENT_PSTN).json()
        subscriber = connect(own, "/session/subscribe/" + call["connectionId"], own_token, opened)
        began = time.monotonic()
        own.stop()
        assert time.monotonic() - began < 2.0
        assert until_close(streaming)[1] == 1001
        assert until_close(subscriber)[1] == 1001
        for ws in opened:
            ws.shutdown()
