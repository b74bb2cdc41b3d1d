"""Live sessions that outlive their sockets, and live sockets that break on purpose, over real
sockets (websocket-client and requests, not the SDK's live classes): ``noConnectionTimeout``
reconnection, ``disconnectOnStopRequest: false``, ``modify_request`` (PROTOCOL.md §6.2, §6.3),
and the websocket faults of the test controls, now and armed, on the streaming sender socket
and the telephony subscribe socket.

"Nothing more came" is proven with ``__PING__``: the emulator answers it in order, so every
frame caused by earlier messages arrives before ``__PONG__``.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket
from websocket import WebSocket, create_connection

from symbl._protocol.names import snake_case
from symbl.emulator import Emulator

from helpers import admin_http, wait_until

RATE = 16000
FRAME = 8192
SCRIPT = [
    {
        "speaker": {"name": "Ann"},
        "text": "Can you send the pricing report?",
        "start": 0.5,
        "end": 1.5,
    },
    {"speaker": {"name": "Bob"}, "text": "Yes, I will send it tomorrow.", "start": 3.0, "end": 4.0},
]
STOP = '{"type": "stop_request"}'
PSTN = {"operation": "start", "endpoint": {"type": "pstn", "phoneNumber": "+11234567890"}}
CLOSED = (
    websocket.WebSocketConnectionClosedException,
    ConnectionError,
    BrokenPipeError,
    OSError,
)


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def sockets() -> Iterator[list[WebSocket]]:
    """Sockets a test opened, closed at its end whatever happened."""
    opened: list[WebSocket] = []
    yield opened
    for ws in opened:
        with contextlib.suppress(*CLOSED):
            ws.close(timeout=0.2)
        ws.shutdown()


def connect(emu: Emulator, path: str, token: str, opened: list[WebSocket]) -> WebSocket:
    url = emu.base_url.replace("http://", "ws://") + path
    ws = create_connection(url, header={"x-api-key": token}, timeout=5)
    opened.append(ws)
    return ws


def kind(frame: dict[str, Any]) -> str:
    """``message/<type>`` for wrapped platform messages, else the top-level type."""
    if frame["type"] == "message":
        return "message/" + frame["message"]["type"]
    return str(frame["type"])


def receive(ws: WebSocket) -> Any:
    return json.loads(ws.recv())


def start(ws: WebSocket, **fields: Any) -> str:
    """Send a start_request, read the three lifecycle messages, return the conversation id."""
    request = {"type": "start_request", **fields}
    request.setdefault("config", {"speechRecognition": {"sampleRateHertz": RATE}})
    ws.send(json.dumps(request))
    frames = [receive(ws) for _ in range(3)]
    assert [kind(f) for f in frames] == [
        "message/conversation_created",
        "message/started_listening",
        "message/recognition_started",
    ]
    conversation_id = frames[0]["message"]["data"]["conversationId"]
    assert frames[2]["message"]["data"] == {"conversationId": conversation_id}
    return str(conversation_id)


def until_pong(ws: WebSocket) -> list[Any]:
    """Every frame the emulator sent before answering a ``__PING__`` sent now."""
    ws.send("__PING__")
    frames = []
    while (text := ws.recv()) != "__PONG__":
        frames.append(json.loads(text))
    return frames


def until_close(ws: WebSocket) -> tuple[list[Any], int, str]:
    """Every frame up to the server's close frame, and its code and reason."""
    frames = []
    while True:
        opcode, data = ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return frames, int.from_bytes(data[:2], "big"), data[2:].decode()
        frames.append(json.loads(data))


def answers_ping(ws: WebSocket, wait: float = 0.4) -> bool:
    """Whether a protocol-level ping sent now gets its pong within ``wait`` seconds (text
    frames that come first are skipped)."""
    ws.ping(b"are you there")
    ws.settimeout(wait)
    try:
        while True:
            opcode, frame = ws.recv_data_frame(True)
            if opcode == websocket.ABNF.OPCODE_PONG:
                assert frame.data == b"are you there"
                return True
    except websocket.WebSocketTimeoutException:
        return False
    finally:
        ws.settimeout(5)


def silent(ws: WebSocket, wait: float = 0.4) -> bool:
    """Whether nothing at all arrives within ``wait`` seconds."""
    ws.settimeout(wait)
    try:
        ws.recv_data_frame(True)
    except websocket.WebSocketTimeoutException:
        return True
    finally:
        ws.settimeout(5)
    return False


def is_cut(ws: WebSocket) -> bool:
    """Whether the connection ends without a close frame."""
    try:
        opcode, _ = ws.recv_data()
    except CLOSED:
        return True
    return opcode != websocket.ABNF.OPCODE_CLOSE and is_cut(ws)


def audio(seconds: float, seed: int) -> bytes:
    """LINEAR16 bytes lasting ``seconds`` at 16 kHz, different for each seed."""
    return random.Random(seed).randbytes(2 * round(seconds * RATE))


def frames_of(data: bytes) -> list[bytes]:
    return [data[at : at + FRAME] for at in range(0, len(data), FRAME)]


def send_frames(ws: WebSocket, frames: list[bytes]) -> None:
    """Send audio frames, stopping quietly if the connection is gone."""
    for frame in frames:
        try:
            ws.send_binary(frame)
        except CLOSED:
            return


def stream_of(emu: Emulator, connection_id: str) -> dict[str, Any]:
    return next(s for s in reversed(emu.streams()) if s["connectionId"] == connection_id)


def finals(frames: list[Any]) -> list[str]:
    return [
        f["message"]["punctuated"]["transcript"]
        for f in frames
        if kind(f) == "message/recognition_result" and f["message"]["isFinal"]
    ]


def time_offsets(frames: list[Any]) -> list[int]:
    return [f["timeOffset"] for f in frames if kind(f) == "message/recognition_result"]


def admin(emu: Emulator, route: str, body: Any = None) -> requests.Response:
    return admin_http(emu).post(f"{emu.base_url}/_emulator/{route}", json=body, timeout=5)


def start_call(emu: Emulator, token: str) -> str:
    answer = requests.post(
        emu.base_url + "/v1/endpoint:connect", json=PSTN, headers={"x-api-key": token}, timeout=5
    )
    return str(answer.json()["connectionId"])


# --- noConnectionTimeout -----------------------------------------------------------------------


def test_a_reconnect_within_no_connection_timeout_continues_the_conversation(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    emu.set_live_transcript(SCRIPT)
    first_audio, second_audio = audio(2.0, seed=1), audio(2.5, seed=2)
    first = connect(emu, "/v1/streaming/rc1", token, sockets)
    conversation_id = start(first, noConnectionTimeout=30)
    send_frames(first, frames_of(first_audio))
    assert finals(until_pong(first)) == [SCRIPT[0]["text"]]

    assert emu.drop_websockets("/v1/streaming/rc1") == 1
    assert wait_until(lambda: stream_of(emu, "rc1")["sockets"] == 0)
    waiting = stream_of(emu, "rc1")
    assert (waiting["state"], waiting["reconnects"]) == ("listening", 0)

    second = connect(emu, "/v1/realtime/insights/rc1", token, sockets)
    assert start(second, noConnectionTimeout=30) == conversation_id
    send_frames(second, frames_of(second_audio))
    later = until_pong(second)
    assert finals(later) == [SCRIPT[1]["text"]]  # the clock went on from 2.0 s, not from 0
    assert min(time_offsets(later)) > 3000

    stream = stream_of(emu, "rc1")
    assert stream["reconnects"] == 1
    assert emu.stream_audio("rc1") == first_audio + second_audio
    assert stream["audio_seconds"] == pytest.approx(4.5)
    assert [
        (s["path"], s["open"], s["reconnect"], s["audio_bytes"], s["bytes_received"])
        for s in stream["senders"]
    ] == [
        ("/v1/streaming/rc1", False, False, len(first_audio), len(first_audio)),
        ("/v1/realtime/insights/rc1", True, True, len(second_audio), len(second_audio)),
    ]

    second.send(STOP)
    frames, code, _ = until_close(second)
    completed = next(f for f in frames if kind(f) == "message/conversation_completed")
    assert (completed["message"]["conversationId"], code) == (conversation_id, 1000)
    stored = emu.call(emu.state.conversations.get, emu.app_id, conversation_id)
    assert [line.text for line in stored.lines] == [SCRIPT[0]["text"], SCRIPT[1]["text"]]


def test_after_no_connection_timeout_the_conversation_ends_and_a_new_one_starts(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    sender = connect(emu, "/v1/streaming/rc2", token, sockets)
    old_conversation = start(sender, noConnectionTimeout=0.3)
    listener = connect(emu, "/v1/subscribe/rc2", token, sockets)
    assert kind(receive(listener)) == "message/conversation_created"
    cut_at = time.monotonic()
    emu.drop_websockets("/v1/streaming/")
    frames, code, _ = until_close(listener)
    assert time.monotonic() - cut_at >= 0.29
    assert [kind(f) for f in frames] == [
        "message/recognition_stopped",
        "message/conversation_completed",
    ]
    assert code == 1000
    assert stream_of(emu, "rc2")["state"] == "completed"

    again = connect(emu, "/v1/streaming/rc2", token, sockets)
    assert start(again) != old_conversation
    assert [s["state"] for s in emu.streams()] == ["completed", "listening"]
    assert emu.streams()[1]["reconnects"] == 0


def test_without_no_connection_timeout_a_cut_ends_the_conversation_at_once(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    sender = connect(emu, "/v1/streaming/rc3", token, sockets)
    conversation_id = start(sender)
    emu.drop_websockets("/v1/streaming/")
    assert wait_until(lambda: stream_of(emu, "rc3")["state"] == "completed", timeout=1)
    assert start(connect(emu, "/v1/streaming/rc3", token, sockets)) != conversation_id


def test_a_socket_that_replaces_a_frozen_one_is_a_reconnect(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    emu.set_live_transcript(SCRIPT)
    first = connect(emu, "/v1/streaming/rc4", token, sockets)
    conversation_id = start(first, noConnectionTimeout=30)
    send_frames(first, frames_of(audio(2.0, seed=3)))
    until_pong(first)
    assert emu.freeze_websockets("/v1/streaming/rc4") == 1
    second = connect(emu, "/v1/streaming/rc4", token, sockets)
    assert start(second) == conversation_id
    send_frames(second, frames_of(audio(2.5, seed=4)))
    assert finals(until_pong(second)) == [SCRIPT[1]["text"]]
    stream = stream_of(emu, "rc4")
    assert stream["reconnects"] == 1
    assert [(s["open"], s["frozen"]) for s in stream["senders"]] == [(True, True), (True, False)]


def test_an_armed_cut_then_a_replay_leaves_the_audio_contiguous(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    sent = frames_of(audio(1.5, seed=5))  # 6 frames
    emu.add_fault(path="/v1/streaming/*", websocket="cut", after_bytes=2 * FRAME, times=1)
    first = connect(emu, "/v1/streaming/rc5", token, sockets)
    conversation_id = start(first, noConnectionTimeout=30)
    send_frames(first, sent)
    assert is_cut(first)
    assert wait_until(lambda: stream_of(emu, "rc5")["sockets"] == 0)
    accepted = stream_of(emu, "rc5")["senders"][0]["audio_bytes"]
    assert accepted == 2 * FRAME  # the frames after the cut were never read

    second = connect(emu, "/v1/streaming/rc5", token, sockets)
    assert start(second) == conversation_id
    send_frames(second, sent[accepted // FRAME :])
    until_pong(second)
    assert emu.stream_audio("rc5") == b"".join(sent)
    assert stream_of(emu, "rc5")["reconnects"] == 1


# --- disconnectOnStopRequest -------------------------------------------------------------------


def test_disconnect_on_stop_request_false_pauses_and_a_start_resumes(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    emu.set_live_transcript(SCRIPT)
    ws = connect(emu, "/v1/streaming/p1", token, sockets)
    options = {"disconnectOnStopRequest": False, "disconnectOnStopRequestTimeout": 30}
    conversation_id = start(ws, **options)
    before = audio(2.0, seed=6)
    send_frames(ws, frames_of(before))
    assert finals(until_pong(ws)) == [SCRIPT[0]["text"]]

    ws.send(STOP)
    assert [kind(f) for f in until_pong(ws)] == [
        "message/recognition_stopped",
        "message/conversation_completed",
    ]
    assert stream_of(emu, "p1")["state"] == "paused"
    paused = frames_of(audio(3.0, seed=7))
    send_frames(ws, paused)  # not recognised while paused
    assert until_pong(ws) == []
    assert stream_of(emu, "p1")["audio_before_start"] == len(paused)

    assert start(ws, **options) == conversation_id
    after = audio(2.5, seed=8)
    send_frames(ws, frames_of(after))
    assert finals(until_pong(ws)) == [SCRIPT[1]["text"]]
    stream = stream_of(emu, "p1")
    assert (stream["state"], stream["reconnects"]) == ("listening", 0)
    assert emu.stream_audio("p1") == before + after


@pytest.mark.parametrize("timeout", [0.3, 0])
def test_a_paused_socket_is_closed_after_disconnect_on_stop_request_timeout(
    emu: Emulator, token: str, sockets: list[WebSocket], timeout: float
) -> None:
    ws = connect(emu, "/v1/streaming/p2", token, sockets)
    start(ws, disconnectOnStopRequest=False, disconnectOnStopRequestTimeout=timeout)
    stopped_at = time.monotonic()
    ws.send(STOP)
    frames, code, _ = until_close(ws)
    assert time.monotonic() - stopped_at >= timeout * 0.95
    assert [kind(f) for f in frames] == [
        "message/recognition_stopped",
        "message/conversation_completed",
    ]
    assert (code, stream_of(emu, "p2")["state"]) == (1000, "completed")


# --- modify_request ----------------------------------------------------------------------------


def test_modify_request_answers_session_modified_and_applies_to_the_following_audio(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    ws = connect(emu, "/v1/streaming/m1", token, sockets)
    start(ws)
    send_frames(ws, frames_of(bytes(16000)))  # 0.5 s at 16 kHz
    web_sdk_form = {"type": "modify_request", "speechRecognition": {"sampleRateHertz": 8000}}
    ws.send(json.dumps(web_sdk_form))
    send_frames(ws, [bytes(8000)])  # 0.5 s at 8 kHz
    ws.send(json.dumps({"type": "modify_request", "speechRecognition": {"encoding": "MULAW"}}))
    send_frames(ws, [bytes(4000)])  # 0.5 s of MULAW at 8 kHz
    ws.send(json.dumps({"type": "modify_request", "speechRecognition": {"sampleRateHertz": 4}}))
    frames = until_pong(ws)
    assert [f["message"].get("data") for f in frames] == [
        {"sampleRateHertz": 8000, "encoding": "LINEAR16"},
        {"sampleRateHertz": 8000, "encoding": "MULAW"},
        None,
    ]
    assert [kind(f) for f in frames] == ["message/session_modified"] * 2 + ["message/error"]
    send_frames(ws, [bytes(4000)])  # the refused change changed nothing: 0.5 s more
    until_pong(ws)
    stream = stream_of(emu, "m1")
    assert stream["audio_seconds"] == pytest.approx(2.0)
    assert stream["modify_requests"][0] == web_sdk_form
    assert len(stream["modify_requests"]) == 3


def test_modify_request_keeps_the_encoding_it_leaves_out(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    ws = connect(emu, "/v1/streaming/m2", token, sockets)
    start(ws, config={"speechRecognition": {"encoding": "Opus", "sampleRateHertz": 48000}})
    ws.send(json.dumps({"type": "modify_request", "speechRecognition": {"sampleRateHertz": 16000}}))
    (modified,) = until_pong(ws)
    assert modified["message"]["data"] == {"sampleRateHertz": 16000, "encoding": "Opus"}


# --- faults now --------------------------------------------------------------------------------


def test_a_frozen_socket_answers_no_ping_until_unfrozen(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    ws = connect(emu, "/v1/streaming/f1", token, sockets)
    start(ws)
    assert answers_ping(ws)
    assert emu.freeze_websockets("/v1/streaming/") == 1
    assert not answers_ping(ws)
    ws.send("__PING__")
    send_frames(ws, [bytes(FRAME)])
    assert silent(ws)
    stream = stream_of(emu, "f1")
    assert stream["senders"][0]["frozen"]
    assert stream["audio_frames"] == 0  # nothing is read while frozen
    assert emu.unfreeze_websockets() == 1
    assert ws.recv() == "__PONG__"  # what waited goes on in order
    assert answers_ping(ws)
    assert wait_until(lambda: stream_of(emu, "f1")["audio_frames"] == 1)


def test_a_freeze_for_some_seconds_ends_by_itself(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    call = start_call(emu, token)
    ws = connect(emu, "/session/subscribe/" + call, token, sockets)
    began = time.monotonic()
    assert admin(emu, "websockets:freeze", {"path": "/session/", "seconds": 0.5}).json() == {
        "frozen": 1
    }
    assert not answers_ping(ws, wait=0.2)
    assert answers_ping(ws, wait=2)
    assert time.monotonic() - began >= 0.45


def test_a_frozen_subscriber_gets_the_end_of_the_call_when_unfrozen(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    call = start_call(emu, token)
    ws = connect(emu, "/session/subscribe/" + call, token, sockets)
    assert emu.freeze_websockets("/session/subscribe/") == 1
    emu.end_call(call)
    assert silent(ws)
    assert admin(emu, "websockets:unfreeze", {"path": "/session/"}).json() == {"unfrozen": 1}
    frames, code, _ = until_close(ws)
    assert ([kind(f) for f in frames], code) == (["message/conversation_completed"], 1000)


@pytest.mark.parametrize("path", ["/v1/streaming/n1", "/session/subscribe/"])
@pytest.mark.parametrize("action", ["cut", "freeze", "close"])
def test_faults_now_on_both_live_sockets(
    emu: Emulator, token: str, sockets: list[WebSocket], path: str, action: str
) -> None:
    if path.startswith("/session/"):
        path += start_call(emu, token)
    ws = connect(emu, path, token, sockets)
    other = connect(emu, "/v1/streaming/bystander", token, sockets)
    if action == "cut":
        assert emu.drop_websockets(path) == 1
        assert is_cut(ws)
    elif action == "freeze":
        assert emu.freeze_websockets(path) == 1
        assert not answers_ping(ws)
    else:
        assert emu.close_websockets(path, code=4002, reason="now") == 1
        assert until_close(ws)[1:] == (4002, "now")
    assert answers_ping(other)  # other paths untouched


def test_reset_cuts_frozen_sockets(emu: Emulator, token: str, sockets: list[WebSocket]) -> None:
    ws = connect(emu, "/v1/streaming/f2", token, sockets)
    emu.freeze_websockets()
    emu.reset()
    assert is_cut(ws)


# --- faults armed ------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["cut", "freeze", "close"])
def test_a_fault_armed_at_n_bytes_strikes_the_sender_after_exactly_those(
    emu: Emulator, token: str, sockets: list[WebSocket], action: str
) -> None:
    extra = {"code": 4001, "reason": "armed"} if action == "close" else {}
    emu.add_fault(path="/v1/streaming/*", websocket=action, after_bytes=2 * FRAME, **extra)
    sent = frames_of(audio(1.0, seed=9))  # 4 frames
    ws = connect(emu, "/v1/streaming/a1", token, sockets)
    start(ws, noConnectionTimeout=30)
    send_frames(ws, sent)
    if action == "cut":
        assert is_cut(ws)
    elif action == "close":
        assert until_close(ws)[1:] == (4001, "armed")
    else:
        assert not answers_ping(ws)
    assert wait_until(lambda: stream_of(emu, "a1")["audio_frames"] == 2)
    assert emu.stream_audio("a1") == b"".join(sent[:2])
    if action == "freeze":  # TCP delivers late: what waited is read once unfrozen
        emu.unfreeze_websockets()
        assert answers_ping(ws)
        assert emu.stream_audio("a1") == b"".join(sent)
    assert emu.state.faults.rules()[0].websocket == action  # no times: it stays armed


@pytest.mark.parametrize("action", ["cut", "freeze", "close"])
def test_a_fault_armed_at_n_frames_counts_text_frames_too(
    emu: Emulator, token: str, sockets: list[WebSocket], action: str
) -> None:
    emu.add_fault(path="/v1/streaming/*", websocket=action, after_frames=3, times=1)
    ws = connect(emu, "/v1/streaming/a2", token, sockets)
    start(ws)  # frame 1
    send_frames(ws, [bytes(FRAME)] * 3)  # frames 2, 3 (then the fault), 4
    if action == "cut":
        assert is_cut(ws)
    elif action == "close":
        assert until_close(ws)[1] == 1011  # the default code
    else:
        assert not answers_ping(ws)
    assert wait_until(lambda: stream_of(emu, "a2")["audio_frames"] == 2)
    assert emu.state.faults.rules() == []  # times=1 used up


@pytest.mark.parametrize("action", ["cut", "freeze", "close"])
def test_a_fault_armed_at_n_seconds_strikes_the_sender_then(
    emu: Emulator, token: str, sockets: list[WebSocket], action: str
) -> None:
    extra = {"code": 4003} if action == "close" else {}
    emu.add_fault(path="/v1/streaming/*", websocket=action, after_seconds=0.4, **extra)
    ws = connect(emu, "/v1/streaming/a3", token, sockets)
    opened = time.monotonic()
    start(ws)
    assert answers_ping(ws, wait=0.2)
    if action == "cut":
        assert is_cut(ws)
    elif action == "close":
        assert until_close(ws)[1] == 4003
    else:
        time.sleep(0.4)
        assert not answers_ping(ws)
    assert time.monotonic() - opened >= 0.39


@pytest.mark.parametrize("action", ["cut", "freeze", "close"])
def test_a_fault_armed_at_n_frames_sent_strikes_the_telephony_subscriber(
    emu: Emulator, token: str, sockets: list[WebSocket], action: str
) -> None:
    emu.configure(telephony_speed=20.0, telephony_answer_seconds=0.2)
    emu.set_live_transcript(SCRIPT)
    extra = {"code": 4004, "reason": "two is enough"} if action == "close" else {}
    emu.add_fault(path="/session/subscribe/*", websocket=action, after_frames_sent=2, **extra)
    call = start_call(emu, token)
    ws = connect(emu, "/session/subscribe/" + call, token, sockets)
    received = []
    try:
        while True:
            opcode, data = ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                assert action == "close"
                assert (int.from_bytes(data[:2], "big"), data[2:]) == (4004, b"two is enough")
                break
            received.append(json.loads(data))
            if action == "freeze" and len(received) == 2:
                assert silent(ws, wait=0.5)  # the call goes on, the socket carries nothing
                break
    except CLOSED:
        assert action == "cut"
    assert len(received) <= 2 if action == "cut" else len(received) == 2
    assert [kind(f) for f in received] == ["transcript_response"] * len(received)


@pytest.mark.parametrize("action", ["cut", "freeze", "close"])
def test_a_fault_armed_at_n_seconds_strikes_the_telephony_subscriber(
    emu: Emulator, token: str, sockets: list[WebSocket], action: str
) -> None:
    answer = admin(
        emu,
        "faults",
        {"path": "/session/subscribe/*", "websocket": action, "afterSeconds": 0.3, "times": 1},
    )
    assert answer.status_code == 201
    call = start_call(emu, token)
    ws = connect(emu, "/session/subscribe/" + call, token, sockets)
    opened = time.monotonic()
    if action == "cut":
        assert is_cut(ws)
    elif action == "close":
        assert until_close(ws)[1] == 1011
    else:
        time.sleep(0.35)
        assert not answers_ping(ws)
    assert time.monotonic() - opened >= 0.29
    assert emu.calls()[0]["state"] != "ended"  # only the socket broke


def test_a_socket_rule_arms_on_open_sockets_counting_from_then(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    sent = frames_of(audio(1.5, seed=10))  # 6 frames
    ws = connect(emu, "/v1/streaming/o1", token, sockets)
    start(ws, noConnectionTimeout=30)
    send_frames(ws, sent[:1])
    until_pong(ws)
    emu.add_fault(path="/v1/streaming/*", websocket="cut", after_bytes=2 * FRAME, times=1)
    assert emu.state.faults.rules() == []  # its one time went to the open socket
    send_frames(ws, sent[1:])
    assert is_cut(ws)
    assert wait_until(lambda: not stream_of(emu, "o1")["senders"][0]["open"])
    assert emu.stream_audio("o1") == b"".join(sent[:3])


def test_a_socket_rule_without_a_moment_strikes_open_sockets_at_once(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    call = start_call(emu, token)
    listener = connect(emu, "/session/subscribe/" + call, token, sockets)
    sender = connect(emu, "/v1/streaming/o2", token, sockets)
    rule = {"path": "/session/subscribe/*", "websocket": "close", "code": 4005, "times": 2}
    assert admin(emu, "faults", rule).status_code == 201
    assert until_close(listener)[1] == 4005
    assert answers_ping(sender)
    assert emu.state.faults.rules()[0].times == 1  # one left, for the next listener
    again = connect(emu, "/session/subscribe/" + call, token, sockets)
    assert until_close(again)[1] == 4005
    assert emu.state.faults.rules() == []


def test_a_socket_rule_after_seconds_counts_from_when_it_was_added(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    ws = connect(emu, "/v1/streaming/o3", token, sockets)
    time.sleep(0.3)
    added = time.monotonic()
    emu.add_fault(path="/v1/streaming/*", websocket="close", after_seconds=0.3, code=4006)
    assert until_close(ws)[1] == 4006
    assert time.monotonic() - added >= 0.29


def test_a_telephony_subscriber_that_reconnects_hears_the_rest_of_the_call(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    emu.configure(telephony_speed=10.0, telephony_answer_seconds=0.1)
    emu.set_live_transcript(SCRIPT)
    emu.add_fault(path="/session/subscribe/*", websocket="cut", after_frames_sent=1, times=1)
    call = start_call(emu, token)
    first = connect(emu, "/session/subscribe/" + call, token, sockets)
    assert is_cut(first)
    second = connect(emu, "/session/subscribe/" + call, token, sockets)
    frames, code, _ = until_close(second)  # the script ends: the far end hangs up
    assert code == 1000
    assert kind(frames[-1]) == "message/conversation_completed"
    heard = [f["payload"]["content"] for f in frames if f.get("isFinal")]
    assert heard[-1] == SCRIPT[1]["text"]
    assert emu.calls()[0]["ended_by"] == "hangup"


# --- the rules themselves ----------------------------------------------------------------------


def test_socket_rules_over_the_admin_api(emu: Emulator) -> None:
    rule = {
        "path": "/v1/streaming/*",
        "websocket": "freeze",
        "afterBytes": 65536,
        "freezeSeconds": 2,
        "times": 1,
    }
    created = admin(emu, "faults", rule).json()
    assert {key: created[key] for key in rule} == rule
    assert "status" not in created
    listed = admin_http(emu).get(emu.base_url + "/_emulator/faults", timeout=5).json()["faults"]
    assert listed == [created]
    request_rule = admin(emu, "faults", {"path": "/v1/job/*", "status": 503}).json()
    assert "websocket" not in request_rule
    assert "afterBytes" not in request_rule


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        ({"websocket": "explode"}, "websocket must be one of cut, freeze, close"),
        ({"websocket": "cut", "status": 503}, "takes none of status"),
        ({"websocket": "cut", "drop": True}, "takes none of drop"),
        ({"websocket": "cut", "afterBytes": 10, "afterSeconds": 1}, "at most one of"),
        ({"websocket": "cut", "afterBytes": 0}, "after_bytes must be a whole number"),
        ({"websocket": "cut", "afterFrames": 1.5}, "after_frames must be a whole number"),
        ({"websocket": "cut", "afterSeconds": -1}, "after_seconds must be a number"),
        ({"websocket": "cut", "code": 4000}, 'belong to websocket="close"'),
        ({"websocket": "close", "code": 1005}, "not a close code a server may send"),
        ({"websocket": "close", "reason": "é" * 62}, "at most 123 bytes"),
        ({"websocket": "close", "freezeSeconds": 1}, 'belongs to websocket="freeze"'),
        ({"afterBytes": 10}, "only socket rules"),
        ({"status": 503, "code": 4000}, "only socket rules"),
    ],
)
def test_invalid_socket_rules_are_refused(
    emu: Emulator, rule: dict[str, Any], complaint: str
) -> None:
    answer = admin(emu, "faults", rule)
    assert answer.status_code == 400
    assert complaint in answer.json()["message"]
    with pytest.raises(ValueError, match=re.escape(complaint)):
        emu.add_fault(**{snake_case(key): value for key, value in rule.items()})
    assert emu.state.faults.rules() == []


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("websockets:freeze", {"seconds": -1}),
        ("websockets:freeze", {"seconds": "soon"}),
        ("websockets:freeze", {"path": 3}),
        ("websockets:freeze", {"paths": "/"}),
        ("websockets:unfreeze", {"seconds": 1}),
        ("websockets:unfreeze", ["/"]),
    ],
)
def test_invalid_freeze_bodies_are_refused(emu: Emulator, route: str, body: Any) -> None:
    assert admin(emu, route, body).status_code == 400


def test_freeze_websockets_checks_its_seconds(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="seconds"):
        emu.freeze_websockets(seconds=-1)
    assert emu.freeze_websockets() == 0
    assert emu.unfreeze_websockets() == 0
