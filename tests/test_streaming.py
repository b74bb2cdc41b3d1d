"""The Streaming API over a real websocket to the emulator: connection, start_request, audio,
events, stop, and the lifecycle guarantees (one callback thread, isolation, no leaked threads)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import numpy as np
import pytest

import symbl
from symbl.emulator import Emulator

from helpers import DATA, sample_transcript, sdk_threads, wait_until

SAMPLE = DATA / "meeting.wav"


@pytest.fixture
def live(emu_env: Emulator) -> Emulator:
    """The emulator, scripted with the sample recording's words."""
    emu_env.set_live_transcript(sample_transcript())
    return emu_env


@pytest.fixture
def connections() -> Any:
    """Connections a test opens; all stopped at the end, whatever happened."""
    opened: list[symbl.StreamingConnection] = []
    yield opened
    for connection in opened:
        connection.stop(timeout=2)


def start(connections: list[symbl.StreamingConnection], **kwargs: Any) -> symbl.StreamingConnection:
    connection = symbl.Streaming.start_connection(**kwargs)
    connections.append(connection)
    return connection


def test_start_connection_is_connected_and_sent_start_request(
    emu_env: Emulator, connections
) -> None:
    connection = start(connections)
    assert connection.state == "open"
    assert connection.conversation is not None
    (stream,) = emu_env.streams()
    assert stream["connectionId"] == connection.connectionId
    assert stream["conversationId"] == connection.conversation.get_conversation_id()
    assert stream["start_request"] == {
        "type": "start_request",
        "insightTypes": [],
        "config": {
            "confidenceThreshold": 0.5,
            "languageCode": "en-US",
            "speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": 16000},
        },
        # The conversation survives a dropped socket for a minute: time to reconnect.
        "noConnectionTimeout": 60,
    }
    (handshake,) = emu_env.requests(f"/v1/streaming/{connection.connectionId}")
    assert handshake.websocket
    assert handshake.query_string == "source=python_sdk"
    assert handshake.headers["x-api-key"]
    assert "access_token" not in handshake.query_string


def test_start_request_with_every_option(emu_env: Emulator, connections) -> None:
    start(
        connections,
        speaker={"name": "Jane", "email": "jane@example.com"},
        insight_types=["question", "action_item"],
        config={
            "meetingTitle": "Standup",
            "confidenceThreshold": 0.7,
            "speechRecognition": {"sampleRateHertz": 8000},
        },
        languages=["en-GB"],
        timezone="UTC",
        trackers=[{"name": "Budget", "vocabulary": ["budget", "cost"]}],
        no_connection_timeout=300,
        disconnect_on_stop_request=True,
        disconnect_on_stop_request_timeout=30,
        custom_vocabulary=("Symbl", "standup"),
    )
    (stream,) = emu_env.streams()
    assert stream["start_request"] == {
        "type": "start_request",
        "insightTypes": ["question", "action_item"],
        "config": {
            "confidenceThreshold": 0.7,
            "languageCode": "en-GB",
            "meetingTitle": "Standup",
            "speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": 8000},
            "timezoneOffset": 0,
        },
        "speaker": {"userId": "jane@example.com", "name": "Jane"},
        "trackers": [{"name": "Budget", "vocabulary": ["budget", "cost"]}],
        "noConnectionTimeout": 300,
        "disconnectOnStopRequest": True,
        "disconnectOnStopRequestTimeout": 30,
        "customVocabulary": ["Symbl", "standup"],
    }


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"insight_types": ["gossip"]}, "insight_types"),
        ({"insight_types": "question"}, "insight_types"),
        ({"config": {"volume": float("nan")}}, "config.volume"),
        ({"config": {"speechRecognition": {"encoding": "MP3"}}}, "encoding"),
        ({"config": {"speechRecognition": {"sampleRateHertz": 1000}}}, "8000 to 48000"),
        ({"config": {"confidenceThreshold": 3}}, "confidenceThreshold"),
        ({"languages": ["en-US", "fr-FR"]}, "one supported language"),
        ({"languages": ["en-US"], "config": {"languageCode": "fr-FR"}}, "disagree"),
        ({"timezone": "Mars/Olympus"}, "IANA"),
        ({"speaker": {"name": 5}}, "speaker"),
        ({"trackers": [{"name": "x"}]}, "trackers"),
        ({"credentials": {"app_id": "only"}}, "app_secret"),
    ],
)
def test_bad_arguments_are_refused_before_connecting(
    emu_env: Emulator, kwargs: dict, match: str
) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match=match):
        symbl.Streaming.start_connection(**kwargs)
    assert emu_env.streams() == []


def test_send_audio_accepts_bytes_and_numpy_and_splits_frames(
    emu_env: Emulator, connections
) -> None:
    connection = start(connections)
    raw = bytes(range(256)) * 100  # 25600 bytes: split into frames of at most 8192
    floats = np.linspace(-1.0, 1.0, 5, dtype=np.float32)
    ints = np.array([1, -2, 32767], dtype=np.int16)
    connection.send_audio(raw)
    connection.send_audio(floats)
    connection.send_audio(ints.reshape(-1, 1))
    connection.stop()
    expected = (
        raw
        + (np.array([-32767, -16384, 0, 16384, 32767], "<i2")).tobytes()
        + ints.astype("<i2").tobytes()
    )
    assert emu_env.stream_audio(connection.connectionId) == expected
    (stream,) = emu_env.streams()
    assert stream["largest_frame"] <= 8192
    assert stream["audio_frames"] == 6


def test_send_audio_refuses_bad_audio(emu_env: Emulator, connections) -> None:
    connection = start(connections)
    with pytest.raises(symbl.InvalidArgumentError, match="mono"):
        connection.send_audio(np.zeros((10, 2), dtype=np.int16))
    with pytest.raises(symbl.InvalidArgumentError, match="int16 or float"):
        connection.send_audio(np.zeros(10, dtype=np.int32))
    with pytest.raises(symbl.InvalidArgumentError, match="odd"):
        connection.send_audio(b"\x00\x01\x02")
    with pytest.raises(symbl.InvalidArgumentError, match="bytes or a numpy array"):
        connection.send_audio("hello")  # type: ignore[arg-type]


def test_streaming_a_wav_gives_transcript_events_and_a_conversation(
    live: Emulator, connections
) -> None:
    events: dict[str, list[Any]] = {
        "message_response": [],
        "insight_response": [],
        "message": [],
        "topic_response": [],
    }
    threads: set[str] = set()

    def record(name: str) -> Any:
        def callback(event: Any) -> None:
            threads.add(threading.current_thread().name)
            events[name].append(event)

        return callback

    connection = start(connections, insight_types=["question", "action_item"])
    connection.subscribe({name: record(name) for name in events})
    connection.send_audio_from_file(SAMPLE, realtime=False)
    connection.stop()
    texts = [m["payload"]["content"] for e in events["message_response"] for m in e["messages"]]
    assert texts[0] == "Hi Mike, thanks for joining the call today."
    assert "I will send you the updated contract by Friday." in texts
    kinds = {insight["type"] for e in events["insight_response"] for insight in e["insights"]}
    assert kinds == {"question", "action_item"}
    lifecycle = [e["message"]["type"] for e in events["message"]]
    assert lifecycle[:3] == ["conversation_created", "started_listening", "recognition_started"]
    assert "recognition_result" in lifecycle
    assert lifecycle[-2:] == ["recognition_stopped", "conversation_completed"]
    assert len(threads) == 1 and next(iter(threads)).startswith("symbl-streaming-")
    assert connection.summary_url and connection.summary_url.startswith("https://")
    stored = connection.conversation.get_messages().messages
    assert [m.text for m in stored] == texts
    assert connection.state == "closed"


def test_events_before_subscribe_are_replayed_in_order(live: Emulator, connections) -> None:
    connection = start(connections)
    connection.send_audio_from_file(SAMPLE, realtime=False)
    time.sleep(0.3)  # results arrive while nobody is subscribed
    seen: list[str] = []
    connection.subscribe({"message": lambda event: seen.append(event["message"]["type"])})
    assert wait_until(lambda: "recognition_result" in seen)
    assert seen[:3] == ["conversation_created", "started_listening", "recognition_started"]


def test_a_raising_callback_is_isolated_and_reported(live: Emulator, connections) -> None:
    errors: list[BaseException] = []
    finals: list[Any] = []
    connection = start(connections)
    connection.subscribe({"message_response": lambda event: 1 / 0, "error": errors.append})
    connection.subscribe({"message_response": finals.append})
    connection.send_audio_from_file(SAMPLE, realtime=False)
    connection.stop()
    assert finals, "the second callback still ran after the first raised"
    assert errors and isinstance(errors[0], symbl.SymblError)
    assert isinstance(errors[0].__cause__, ZeroDivisionError)


def test_subscribe_refuses_unknown_events_and_non_callables(emu_env: Emulator, connections) -> None:
    connection = start(connections)
    with pytest.raises(symbl.InvalidArgumentError, match="transcript_response"):
        connection.subscribe({"transcript_response": print})
    with pytest.raises(symbl.InvalidArgumentError, match="callable"):
        connection.subscribe({"message_response": "print"})
    with pytest.raises(symbl.InvalidArgumentError, match="dict"):
        connection.subscribe([("message", print)])  # type: ignore[arg-type]


def test_stop_is_idempotent_thread_safe_and_leaves_no_threads(emu_env: Emulator) -> None:
    connection = symbl.Streaming.start_connection()
    stoppers = [threading.Thread(target=connection.stop) for _ in range(4)]
    for stopper in stoppers:
        stopper.start()
    connection.stop()
    for stopper in stoppers:
        stopper.join(10)
    connection.stop()
    (stream,) = emu_env.streams()
    assert len(stream["stop_requests"]) == 1
    assert json.loads(stream["stop_requests"][0]) == {"type": "stop_request"}
    assert connection.state == "closed"
    assert wait_until(lambda: not sdk_threads(), timeout=3), sdk_threads()


def test_stop_from_inside_a_callback(live: Emulator) -> None:
    connection = symbl.Streaming.start_connection()
    stopped = threading.Event()

    def on_first_message(event: Any) -> None:
        connection.stop()
        stopped.set()

    connection.subscribe({"message_response": on_first_message})
    connection.send_audio_from_file(SAMPLE, realtime=False)
    assert stopped.wait(10)
    assert wait_until(lambda: connection.state == "closed", timeout=10)
    assert wait_until(lambda: not sdk_threads(), timeout=3), sdk_threads()


def test_context_manager_stops(emu_env: Emulator) -> None:
    with symbl.Streaming.start_connection() as connection:
        connection.send_audio(b"\x00\x00" * 1600)
    assert connection.state == "closed"
    assert len(emu_env.streams()[0]["stop_requests"]) == 1


def test_a_dropped_socket_is_a_streaming_error_not_a_hang(emu_env: Emulator) -> None:
    errors: list[BaseException] = []
    connection = symbl.Streaming.start_connection(reconnect=False)
    connection.subscribe({"error": errors.append})
    emu_env.drop_websockets("/v1/streaming/")
    assert wait_until(lambda: connection.state == "closed", timeout=5)
    assert errors and isinstance(errors[0], symbl.StreamingError)
    assert isinstance(connection.error, symbl.StreamingError)
    with pytest.raises(symbl.StreamingError):
        connection.send_audio(b"\x00\x00")
    started = time.monotonic()
    connection.stop()
    assert time.monotonic() - started < 1.0
    assert wait_until(lambda: not sdk_threads(), timeout=3)


def test_dropped_socket_while_streaming_a_file_raises(emu_env: Emulator) -> None:
    connection = symbl.Streaming.start_connection(reconnect=False)
    threading.Timer(0.3, emu_env.drop_websockets, args=("/v1/streaming/",)).start()
    with pytest.raises(symbl.StreamingError):
        connection.send_audio_from_file(SAMPLE, realtime=True)
    connection.stop()


def test_refused_handshake_is_a_streaming_error(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in emu.environ().items():
        monkeypatch.setenv(name, value)
    emu.add_fault(path="/v1/streaming/*", status=503, body={"message": "maintenance"})
    with pytest.raises(symbl.StreamingError, match="503") as caught:
        symbl.Streaming.start_connection()
    assert caught.value.status_code == 503
    assert "maintenance" in str(caught.value)


def test_a_revoked_token_is_refreshed_for_the_handshake(emu_env: Emulator, connections) -> None:
    client = symbl.Client()
    client.access_token()
    emu_env.revoke_tokens()
    connection = client.Streaming.start_connection()
    connections.append(connection)
    assert connection.conversation is not None
    handshakes = emu_env.requests("/v1/streaming/")
    assert [entry.status for entry in handshakes] == [401, 101]


def test_arguments_that_json_cannot_carry_are_refused_before_connecting(emu_env: Emulator) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match="not JSON"):
        symbl.Streaming.start_connection(config={"meetingTitle": "x", "detectEntities": object()})
    with pytest.raises(symbl.InvalidArgumentError, match="timezoneOffset"):
        symbl.Streaming.start_connection(config={"timezoneOffset": float("nan")})
    assert emu_env.streams() == []


def test_trackers_and_insight_types_may_be_any_collections(emu_env: Emulator) -> None:
    from types import MappingProxyType

    tracker = MappingProxyType({"name": "Budget", "vocabulary": ["budget"]})
    connection = symbl.Streaming.start_connection(insight_types={"question"}, trackers=(tracker,))
    connection.stop()
    start = emu_env.streams()[0]["start_request"]
    assert start["trackers"] == [{"name": "Budget", "vocabulary": ["budget"]}]
    assert start["insightTypes"] == ["question"]
