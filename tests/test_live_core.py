"""The live-connection core that streaming and telephony connections (and listeners of a stream)
share, over real sockets to the emulator: close codes, the one websocket entry point (token
refresh), the state machine, stopping once, the opt-out from Ctrl+C handling, and the event
names ``subscribe`` takes."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import symbl
from symbl._live import interrupts
from symbl._live.connection import LiveConnection
from symbl._protocol import events, streaming, telephony
from symbl._transport.websocket import Lifecycle, State
from symbl.emulator import Emulator

from helpers import LIVE_SCRIPT, admin_http, make_wav, sdk_threads, wait_until

STREAMING = "/v1/streaming/"
SUBSCRIBE = "/session/subscribe/"
PHONE = "+14155550100"


@pytest.fixture
def calls(emu_env: Emulator) -> Emulator:
    """Silent calls (only a stop or a hang-up ends them), answered at once."""
    emu_env.set_live_transcript([])
    emu_env.configure(telephony_speed=20.0, telephony_answer_seconds=0.1)
    return emu_env


def handshake_statuses(emu: Emulator, path: str) -> list[int | None]:
    return [entry.status for entry in emu.requests(path)]


def subscribed_call(
    emu: Emulator, events: dict[str, Any], reconnect: bool = True
) -> symbl.Connection:
    """A call with its live socket open (and known to the emulator's test controls, which
    it is from the moment the emulator logs the upgrade)."""
    connection = symbl.Telephony.start_pstn(phone_number=PHONE, reconnect=reconnect)
    connection.subscribe(events)
    assert wait_until(lambda: handshake_statuses(emu, SUBSCRIBE) == [101])
    return connection


def token_requests(emu: Emulator) -> int:
    return len(emu.requests("/oauth2/token:generate"))


# --- close codes -------------------------------------------------------------------------------


def test_a_stream_closed_with_1011_reports_the_code(emu_env: Emulator) -> None:
    errors: list[BaseException] = []
    connection = symbl.Streaming.start_connection(reconnect=False)
    connection.subscribe({"error": errors.append})
    assert emu_env.close_websockets(STREAMING, code=1011, reason="recognizer crashed") == 1
    assert wait_until(lambda: errors, timeout=5)
    assert isinstance(connection.error, symbl.StreamingError)
    assert "1011" in str(connection.error) and "recognizer crashed" in str(connection.error)
    assert errors == [connection.error]
    assert connection.state == "closed"
    with pytest.raises(symbl.StreamingError, match="1011"):
        connection.send_audio(b"\x00\x00")
    connection.stop(timeout=1)
    assert errors == [connection.error], "stopping a broken stream reports nothing more"
    assert wait_until(lambda: not sdk_threads(), timeout=3), sdk_threads()


def test_a_call_socket_closed_with_1011_reports_the_code(calls: Emulator) -> None:
    errors: list[BaseException] = []
    connection = subscribed_call(calls, {"error": errors.append}, reconnect=False)
    assert calls.close_websockets(SUBSCRIBE, code=1011) == 1
    assert wait_until(lambda: errors, timeout=5)
    assert isinstance(errors[0], symbl.StreamingError) and "1011" in str(errors[0])
    assert connection.error is errors[0]
    assert connection.wait(timeout=5)
    connection.stop()
    assert calls.calls()[0]["state"] == "ended"
    assert wait_until(lambda: not sdk_threads(), timeout=3), sdk_threads()


def test_a_normal_close_by_the_service_is_not_an_error(emu_env: Emulator) -> None:
    errors: list[BaseException] = []
    connection = symbl.Streaming.start_connection()
    connection.subscribe({"error": errors.append})
    assert emu_env.close_websockets(STREAMING, code=1000) == 1
    assert wait_until(lambda: connection.state == "closed", timeout=5)
    connection.stop(timeout=1)  # also waits for the reader: every callback has run
    assert errors == [] and connection.error is None


def test_a_call_that_ends_is_not_an_error(calls: Emulator) -> None:
    errors: list[BaseException] = []
    messages: list[Any] = []
    connection = subscribed_call(calls, {"error": errors.append, "message": messages.append})
    calls.end_call(connection.connectionId)
    assert connection.wait(timeout=5)
    assert messages and messages[-1]["message"]["type"] == "conversation_completed"
    assert errors == [] and connection.error is None


@pytest.mark.parametrize("kind", ["streaming", "telephony"])
def test_our_own_stop_is_not_an_error(calls: Emulator, kind: str) -> None:
    errors: list[BaseException] = []
    if kind == "streaming":
        connection: Any = symbl.Streaming.start_connection()
        connection.subscribe({"error": errors.append})
    else:
        connection = subscribed_call(calls, {"error": errors.append})
    connection.stop()
    assert wait_until(lambda: not sdk_threads(), timeout=3), sdk_threads()
    assert errors == [] and connection.error is None


def test_the_emulator_closes_sockets_with_a_code_over_http(calls: Emulator) -> None:
    errors: list[BaseException] = []
    subscribed_call(calls, {"error": errors.append})
    url = calls.base_url + "/_emulator/websockets:close"
    http = admin_http(calls)
    assert http.post(url, json={"path": STREAMING}, timeout=5).json() == {"closed": 0}
    for bad in ({"code": 1006}, {"code": "1011"}, {"code": 999}, {"reason": 3}, {"x": 1}):
        answer = http.post(url, json=bad, timeout=5)
        assert answer.status_code == 400, bad
    closed = http.post(url, json={"path": SUBSCRIBE, "code": 4000, "reason": "bye"}, timeout=5)
    assert closed.json() == {"closed": 1}
    assert wait_until(lambda: errors, timeout=5)
    assert "4000" in str(errors[0]) and "bye" in str(errors[0])
    with pytest.raises(ValueError, match="1005"):
        calls.close_websockets(code=1005)


# --- the one websocket entry point: token refresh ------------------------------------------------


def test_a_revoked_token_is_refreshed_once_for_the_call_socket(calls: Emulator) -> None:
    client = symbl.Client()
    connection = client.Telephony.start_pstn(phone_number=PHONE)
    generated = token_requests(calls)
    calls.revoke_tokens()
    connection.subscribe({"message": lambda event: None})
    assert wait_until(lambda: handshake_statuses(calls, SUBSCRIBE) == [401, 101])
    assert token_requests(calls) == generated + 1
    (handshake,) = [entry for entry in calls.requests(SUBSCRIBE) if entry.status == 101]
    assert handshake.headers["x-api-key"] and "access_token" not in handshake.query_string
    connection.stop()


@pytest.mark.parametrize("kind", ["streaming", "telephony"])
def test_a_second_401_on_the_handshake_is_raised_not_retried(calls: Emulator, kind: str) -> None:
    path = STREAMING if kind == "streaming" else SUBSCRIBE
    client = symbl.Client()
    connection = None if kind == "streaming" else client.Telephony.start_pstn(phone_number=PHONE)
    client.access_token()
    generated = token_requests(calls)
    calls.add_fault(path=path + "*", status=401, body={"message": "Unauthorized"})

    def open_socket() -> None:
        if connection is None:
            client.Streaming.start_connection()
        else:
            connection.subscribe({"message": lambda event: None})

    with pytest.raises(symbl.StreamingError, match="401") as caught:
        open_socket()
    assert caught.value.status_code == 401
    assert handshake_statuses(calls, path) == [401, 401]
    assert token_requests(calls) == generated + 1
    assert not sdk_threads()
    if connection is not None:
        connection.stop()


# --- the state machine and stopping ------------------------------------------------------------


def test_the_lifecycle_allows_only_its_transitions() -> None:
    assert [state.value for state in State] == [
        "new",
        "connecting",
        "open",
        "reconnecting",
        "closing",
        "closed",
    ]
    lifecycle = Lifecycle()
    with pytest.raises(symbl.StreamingError, match="a new connection cannot become open"):
        lifecycle.move(State.OPEN)
    assert lifecycle.try_move(State.CLOSING) is None
    assert lifecycle.move(State.CONNECTING) is State.NEW
    assert lifecycle.try_move(State.CLOSED, only_from=(State.NEW,)) is None
    assert lifecycle.move(State.OPEN) is State.CONNECTING
    with pytest.raises(symbl.StreamingError):
        lifecycle.move(State.CONNECTING)
    assert lifecycle.move(State.CLOSING) is State.OPEN
    with pytest.raises(symbl.StreamingError):
        lifecycle.move(State.OPEN)
    assert lifecycle.move(State.CLOSED) is State.CLOSING
    for state in State:  # closed is final
        assert lifecycle.try_move(state) is None
        with pytest.raises(symbl.StreamingError):
            lifecycle.move(state)


def test_only_one_thread_wins_a_transition() -> None:
    lifecycle = Lifecycle()
    barrier = threading.Barrier(8)
    winners: list[State] = []

    def race() -> None:
        barrier.wait()
        left = lifecycle.try_move(State.CONNECTING)
        if left is not None:
            winners.append(left)

    racers = [threading.Thread(target=race) for _ in range(8)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(5)
    assert winners == [State.NEW] and lifecycle.state is State.CONNECTING


def test_a_stopped_call_cannot_be_subscribed_again(calls: Emulator) -> None:
    connection = symbl.Telephony.start_pstn(phone_number=PHONE)
    connection.stop()
    assert connection._live.state is State.CLOSED
    with pytest.raises(symbl.StreamingError, match="stopped"):
        connection.subscribe({"message": lambda event: None})
    assert calls.requests(SUBSCRIBE) == []


def test_a_close_during_the_handshake_makes_it_give_up(emu: Emulator) -> None:
    client = symbl.Client(emu.credentials, base_url=emu.base_url)
    live = LiveConnection(
        client,
        streaming.streaming_path("handshake-race"),
        events=streaming.STREAMING_EVENTS,
        kind="streaming connection",
        name="symbl-test-core",
        on_interrupt=lambda deadline: None,
    )
    emu.add_fault(path=STREAMING + "*", delay=0.5, times=1)  # a slow handshake
    failures: list[BaseException] = []

    def open_socket() -> None:
        try:
            live.open()
        except symbl.StreamingError as exc:
            failures.append(exc)

    opener = threading.Thread(target=open_socket)
    opener.start()
    assert wait_until(lambda: emu.requests(STREAMING))  # the server holds the handshake
    assert live.state is State.CONNECTING
    live.close()
    assert live.state is State.CLOSED
    opener.join(5)
    assert failures and "closed while it was opening" in str(failures[0])
    # The server did accept it (it logs that just after sending its answer).
    assert wait_until(lambda: handshake_statuses(emu, STREAMING) == [101])
    assert live.state is State.CLOSED and live.error is None
    assert wait_until(lambda: not sdk_threads(), timeout=3), sdk_threads()


def test_a_call_stopped_during_the_handshake_has_no_socket(calls: Emulator) -> None:
    connection = symbl.Telephony.start_pstn(phone_number=PHONE)
    calls.add_fault(path=SUBSCRIBE + "*", delay=0.5, times=1)  # a slow handshake
    failures: list[BaseException] = []

    def subscribe() -> None:
        try:
            connection.subscribe({"message": lambda event: None})
        except symbl.StreamingError as exc:
            failures.append(exc)

    subscriber = threading.Thread(target=subscribe)
    subscriber.start()
    assert wait_until(lambda: connection._live.state is State.CONNECTING)
    connection.stop()
    subscriber.join(5)
    assert failures, "subscribe raised instead of opening a socket for a stopped call"
    assert connection._live.state is State.CLOSED
    assert wait_until(lambda: not sdk_threads(), timeout=3), sdk_threads()


@pytest.mark.parametrize("kind", ["streaming", "telephony"])
def test_stop_inside_a_callback_is_idempotent(kind: str, calls: Emulator, tmp_path: Path) -> None:
    calls.set_live_transcript(LIVE_SCRIPT)
    stopped = threading.Event()
    errors: list[BaseException] = []
    connection: Any = None

    def on_event(event: Any) -> None:
        connection.stop()
        connection.stop()  # again, still on the reader thread: nothing more happens
        stopped.set()

    if kind == "streaming":
        connection = symbl.Streaming.start_connection()
        connection.subscribe({"message_response": on_event, "error": errors.append})
        # Ends quietly when the callback's stop lands while it is sending.
        connection.send_audio_from_file(make_wav(tmp_path / "call.wav", 5.0), realtime=False)
    else:
        connection = symbl.Telephony.start_pstn(phone_number=PHONE)
        connection.subscribe({"transcript_response": on_event, "error": errors.append})
    assert stopped.wait(10)
    connection.stop()  # and once more from this thread
    assert wait_until(lambda: not sdk_threads(), timeout=5), sdk_threads()
    assert errors == []
    if kind == "streaming":
        assert connection.state == "closed"
        assert len(calls.streams()[0]["stop_requests"]) == 1
    else:
        assert [body["operation"] for body in (e.json for e in calls.requests("/v1/endpoint"))] == [
            "start",
            "stop",
        ]


# --- Ctrl+C handling -----------------------------------------------------------------------------


def test_handle_signals_false_leaves_ctrl_c_and_exit_to_the_program(calls: Emulator) -> None:
    stream = symbl.Streaming.start_connection()
    assert stream.handle_signals is True
    assert stream._live in set(interrupts._live), "followed for Ctrl+C and exit by default"
    stream.handle_signals = False
    assert stream._live not in set(interrupts._live)
    call = symbl.Telephony.start_pstn(phone_number=PHONE)
    call.handle_signals = False
    call.subscribe({"message": lambda event: None})
    assert call._live.state is State.OPEN
    assert call._live not in set(interrupts._live)
    with pytest.raises(symbl.InvalidArgumentError, match="handle_signals"):
        call.handle_signals = "no"  # type: ignore[assignment]
    call.handle_signals = True
    assert call._live in set(interrupts._live)
    call.stop()
    stream.stop()
    assert not {stream._live, call._live} & set(interrupts._live)


def test_a_listener_is_stopped_on_ctrl_c_unless_it_opts_out(emu_env: Emulator) -> None:
    listener = symbl.Streaming.subscribe_to_stream("a-stream")
    assert listener._live in set(interrupts._live), "followed for Ctrl+C and exit by default"
    listener.interrupt(deadline=time.monotonic() + 1.0)  # what Ctrl+C calls
    assert (listener.state, listener.error) == ("closed", None)
    assert listener._live not in set(interrupts._live)
    quiet = symbl.Streaming.subscribe_to_stream("a-stream", handle_signals=False)
    assert quiet._live not in set(interrupts._live)
    quiet.stop()


# --- event names ---------------------------------------------------------------------------------


def test_event_names_are_stated_once_in_the_enum() -> None:
    assert streaming.STREAMING_EVENTS is events.STREAMING_EVENTS
    assert telephony.TELEPHONY_EVENTS is events.TELEPHONY_EVENTS
    assert {symbl.Event(name) for name in events.STREAMING_EVENTS + events.TELEPHONY_EVENTS}
    assert symbl.Event.MESSAGE_RESPONSE == "message_response"
    assert f"{symbl.Event.BOOKMARK_RESPONSE}" == str(symbl.Event.BOOKMARK_RESPONSE)
    assert str(symbl.Event.BOOKMARK_RESPONSE) == "bookmark_response"


def test_subscribe_takes_event_members_next_to_names(calls: Emulator) -> None:
    stream_messages: list[str] = []
    stream = symbl.Streaming.start_connection()
    stream.subscribe(
        {
            symbl.Event.MESSAGE: lambda event: stream_messages.append(event["message"]["type"]),
            "bookmark_response": print,
            symbl.Event.ERROR: print,
        }
    )
    stream.stop()
    assert stream_messages == [
        "conversation_created",
        "started_listening",
        "recognition_started",
        "recognition_stopped",
        "conversation_completed",
    ]
    call_messages: list[Any] = []
    call = subscribed_call(calls, {symbl.Event.MESSAGE: call_messages.append})
    call.subscribe({symbl.Event.TRANSCRIPT_RESPONSE: print})
    calls.end_call(call.connectionId)
    assert call.wait(timeout=5)
    assert call_messages[-1]["message"]["type"] == "conversation_completed"


@pytest.mark.parametrize("name", ["speech", symbl.Event.TRANSCRIPT_RESPONSE, 7])
def test_an_unknown_event_name_is_refused_naming_the_valid_ones(
    emu_env: Emulator, name: Any
) -> None:
    stream = symbl.Streaming.start_connection()
    listener = symbl.Streaming.subscribe_to_stream(stream.connectionId)
    try:
        for connection in (stream, listener):
            with pytest.raises(symbl.InvalidArgumentError) as refused:
                connection.subscribe({name: print})
            message = str(refused.value)
            assert "Event." not in message
            assert "subscribe to one of: message_response, insight_response" in message
            assert "bookmark_response, conversation_changed, reconnecting, reconnected, error" in (
                message
            )
    finally:
        listener.stop()
        stream.stop()
