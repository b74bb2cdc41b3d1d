"""Live connections that survive the network, over real sockets to the emulator: reconnection
with the same connection id, the replay of unconfirmed audio, the events that tell the user,
typed errors when audio cannot be delivered, and a stop that tells the truth."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

import symbl
from symbl.emulator import Emulator

from helpers import sdk_threads, wait_until

STREAMING = "/v1/streaming/"
SUBSCRIBE = "/session/subscribe/"
PHONE = "+14155550100"
# 0.1 s of LINEAR16 audio at 16 kHz.
TENTH = b"\x01\x00" * 1600


@pytest.fixture
def calls(emu_env: Emulator) -> Emulator:
    """Silent calls (only a stop or a hang-up ends them), answered at once."""
    emu_env.set_live_transcript([])
    emu_env.configure(telephony_speed=20.0, telephony_answer_seconds=0.1)
    return emu_env


def recorder(streaming: bool = False) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []
    names = ("reconnecting", "reconnected", "error", "message")
    names += ("conversation_changed",) if streaming else ()
    return {name: (lambda event, name=name: seen.append((name, event))) for name in names}, seen


def kinds(seen: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in seen if name != "message"]


def test_a_dropped_call_socket_reconnects_and_events_resume(calls: Emulator) -> None:
    handlers, seen = recorder()
    connection = symbl.Telephony.start_pstn(phone_number=PHONE)
    connection.subscribe(handlers)
    assert wait_until(lambda: calls.calls()[0]["subscribers"] == 1, timeout=5)
    assert calls.drop_websockets(SUBSCRIBE) == 1
    assert wait_until(lambda: "reconnected" in kinds(seen), timeout=5), seen
    assert wait_until(lambda: calls.calls()[0]["subscribers"] == 1, timeout=5)
    assert kinds(seen)[:2] == ["reconnecting", "reconnected"]
    reconnecting = next(event for name, event in seen if name == "reconnecting")
    assert reconnecting["attempt"] == 1 and reconnecting["delay"] >= 0
    assert "closed unexpectedly" in reconnecting["cause"]
    assert connection.error is None and connection.state == "open"
    calls.end_call(connection.connectionId)  # the other side hangs up: events still arrive
    assert connection.wait(timeout=5)
    assert any(
        name == "message" and event["message"]["type"] == "conversation_completed"
        for name, event in seen
    )
    assert "error" not in kinds(seen)
    connection.stop()
    assert wait_until(lambda: not sdk_threads(), timeout=3), sdk_threads()


def test_a_call_closed_with_1011_reconnects(calls: Emulator) -> None:
    handlers, seen = recorder()
    connection = symbl.Telephony.start_pstn(phone_number=PHONE)
    connection.subscribe(handlers)
    assert wait_until(lambda: calls.calls()[0]["subscribers"] == 1, timeout=5)
    assert calls.close_websockets(SUBSCRIBE, code=1011) == 1
    assert wait_until(lambda: "reconnected" in kinds(seen), timeout=5), seen
    assert "1011" in next(event for name, event in seen if name == "reconnecting")["cause"]
    assert connection.error is None
    connection.stop()
    assert calls.calls()[0]["state"] == "ended"
    assert kinds(seen) == ["reconnecting", "reconnected"]


def test_a_close_that_is_not_worth_rejoining_ends_the_call_socket(calls: Emulator) -> None:
    handlers, seen = recorder()
    connection = symbl.Telephony.start_pstn(phone_number=PHONE)
    connection.subscribe(handlers)
    assert wait_until(lambda: calls.calls()[0]["subscribers"] == 1, timeout=5)
    assert calls.close_websockets(SUBSCRIBE, code=1008) == 1  # policy violation: final
    assert wait_until(lambda: "error" in kinds(seen), timeout=5)
    assert kinds(seen) == ["error"] and "1008" in str(connection.error)
    connection.stop()


def test_a_call_whose_socket_is_refused_for_good_stops_trying(calls: Emulator) -> None:
    handlers, seen = recorder()
    connection = symbl.Telephony.start_pstn(phone_number=PHONE)
    connection.subscribe(handlers)
    assert wait_until(lambda: calls.calls()[0]["subscribers"] == 1, timeout=5)
    calls.add_fault(path=SUBSCRIBE + "*", status=404, body={"message": "no such call"})
    calls.drop_websockets(SUBSCRIBE)
    assert wait_until(lambda: "error" in kinds(seen), timeout=5), seen
    assert kinds(seen) == ["reconnecting", "error"]
    assert "gave up" in str(connection.error) and "404" in str(connection.error)
    assert connection.wait(timeout=1)
    calls.clear_faults()
    connection.stop()


def test_audio_accepted_while_reconnecting_is_refused_when_the_buffer_is_full(
    emu_env: Emulator,
) -> None:
    handlers, seen = recorder(streaming=True)
    connection = symbl.Streaming.start_connection(replay_buffer_seconds=0.5)
    connection.subscribe(handlers)
    emu_env.add_fault(path=STREAMING + "*", status=503, body={"message": "restarting"})
    emu_env.drop_websockets(STREAMING)
    assert wait_until(lambda: connection.state == "reconnecting", timeout=5)
    for _ in range(5):
        connection.send_audio(TENTH)  # held for the replay: 0.5 s fits
    with pytest.raises(symbl.AudioNotDeliveredError) as caught:
        connection.send_audio(TENTH)
    assert caught.value.undelivered_bytes == len(TENTH)
    assert caught.value.undelivered_seconds == pytest.approx(0.1)
    assert "has not confirmed" in str(caught.value)
    emu_env.clear_faults()  # the service is back: the held audio goes, then the stop
    assert wait_until(lambda: connection.state == "open", timeout=10), seen
    connection.stop()
    assert kinds(seen)[-1] == "reconnected" and "error" not in kinds(seen)


def test_giving_up_says_how_much_audio_was_not_delivered(emu_env: Emulator) -> None:
    handlers, seen = recorder(streaming=True)
    connection = symbl.Streaming.start_connection(no_connection_timeout=1)
    connection.subscribe(handlers)
    emu_env.add_fault(path=STREAMING + "*", status=503, body={"message": "restarting"})
    emu_env.drop_websockets(STREAMING)
    assert wait_until(lambda: connection.state == "reconnecting", timeout=5)
    for _ in range(3):
        connection.send_audio(TENTH)
    assert wait_until(lambda: "error" in kinds(seen), timeout=5), seen
    error = connection.error
    assert isinstance(error, symbl.AudioNotDeliveredError)
    assert error.undelivered_bytes >= 3 * len(TENTH)
    assert "gave up" in str(error) and "503" in str(error)
    assert kinds(seen)[-1] == "error" and set(kinds(seen)[:-1]) == {"reconnecting"}
    with pytest.raises(symbl.AudioNotDeliveredError):
        connection.send_audio(TENTH)
    emu_env.clear_faults()
    connection.stop(timeout=1)  # it had already ended: nothing more to report
    assert wait_until(lambda: not sdk_threads(), timeout=3), sdk_threads()


def counting_audio(frames: int, samples: int = 500) -> list[bytes]:
    """Frames of 16-bit samples that count up (below 32768): any loss, repeat or swap shows."""
    counter = np.arange(frames * samples, dtype="<i2")
    return [counter[i * samples : (i + 1) * samples].tobytes() for i in range(frames)]


def test_a_stream_cut_mid_way_continues_the_conversation_and_loses_no_audio(
    emu_env: Emulator,
) -> None:
    handlers, seen = recorder(streaming=True)
    connection = symbl.Streaming.start_connection()
    connection.subscribe(handlers)
    assert connection.conversation is not None
    conversation_id = connection.conversation.get_conversation_id()
    emu_env.add_fault(path=STREAMING + "*", websocket="cut", after_bytes=20_000, times=1)
    frames = counting_audio(60)
    for frame in frames:
        connection.send_audio(frame)
        time.sleep(0.005)
    assert wait_until(lambda: "reconnected" in kinds(seen), timeout=10), seen
    connection.stop()
    assert kinds(seen) == ["reconnecting", "reconnected"]
    assert connection.conversation.get_conversation_id() == conversation_id
    sent = b"".join(frames)
    received = emu_env.stream_audio(connection.connectionId)
    # Everything arrives, in order; frames the service read but had not yet confirmed when the
    # socket was cut come again (at most the fifth of a second between confirmations).
    assert received.endswith(sent[-1000:])
    samples = np.frombuffer(received, dtype="<i2")
    steps = np.diff(samples.astype(np.int64))
    backward = np.flatnonzero(steps != 1)
    assert len(backward) <= 1, "one replay seam at most"
    if len(backward):
        seam = int(backward[0])
        assert samples[seam + 1] <= samples[seam]  # it steps back: a repeat, never a gap
    assert set(samples.tolist()) == set(range(60 * 500))


def test_a_silent_peer_is_noticed_within_the_timeout_and_recovered(emu_env: Emulator) -> None:
    client = symbl.Client(heartbeat_interval=0.2, dead_peer_timeout=0.6)
    handlers, seen = recorder(streaming=True)
    connection = client.Streaming.start_connection()
    connection.subscribe(handlers)
    frozen_at = time.monotonic()
    assert emu_env.freeze_websockets(STREAMING) == 1
    assert wait_until(lambda: "reconnecting" in kinds(seen), timeout=5), seen
    noticed = time.monotonic() - frozen_at
    assert noticed < 0.6 + 0.2 + 0.5, noticed
    assert "0.6 s" in next(event for name, event in seen if name == "reconnecting")["cause"]
    assert wait_until(lambda: "reconnected" in kinds(seen), timeout=5), seen
    connection.send_audio(TENTH)
    emu_env.unfreeze_websockets(STREAMING)
    connection.stop(timeout=5)


def test_a_socket_cut_during_stop_is_not_a_completed_stop(emu_env: Emulator) -> None:
    handlers, seen = recorder(streaming=True)
    connection = symbl.Streaming.start_connection()
    connection.subscribe(handlers)
    connection.send_audio(TENTH)
    emu_env.freeze_websockets(STREAMING)  # the stop_request goes nowhere ...
    threading.Timer(0.3, emu_env.drop_websockets, args=(STREAMING,)).start()  # ... then a cut
    started = time.monotonic()
    with pytest.raises(symbl.StreamingError, match="did not complete the conversation"):
        connection.stop(timeout=5)
    assert time.monotonic() - started < 2
    assert connection.summary_url is None and connection.state == "closed"
    assert "reconnecting" not in kinds(seen), "a stop is not undone by a reconnection"
    assert wait_until(lambda: not sdk_threads(), timeout=3), sdk_threads()


def test_a_stop_that_times_out_says_so(emu_env: Emulator) -> None:
    connection = symbl.Streaming.start_connection()
    emu_env.freeze_websockets(STREAMING)
    with pytest.raises(symbl.StreamingError, match=r"nothing came within 0\.3 s"):
        connection.stop(timeout=0.3)
    emu_env.drop_websockets(STREAMING)


def test_modify_changes_the_format_mid_stream(emu_env: Emulator) -> None:
    connection = symbl.Streaming.start_connection()
    with pytest.raises(symbl.InvalidArgumentError, match="sample_rate"):
        connection.modify(sample_rate=1000)
    connection.modify(sample_rate=8000)
    assert connection.sample_rate == 8000
    assert wait_until(lambda: emu_env.streams()[0]["modify_requests"], timeout=5)
    assert emu_env.streams()[0]["modify_requests"] == [
        {
            "type": "modify_request",
            "speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": 8000},
        }
    ]
    connection.send_audio(b"\x01\x00" * 800)
    connection.stop()


def test_audio_after_a_normal_end_is_refused_not_swallowed(emu_env: Emulator) -> None:
    connection = symbl.Streaming.start_connection()
    emu_env.close_websockets(STREAMING, code=1000)
    assert wait_until(lambda: connection.state == "closed", timeout=5)
    started = time.monotonic()
    with pytest.raises(symbl.StreamingError, match="closed"):
        connection.send_audio(TENTH)
    assert time.monotonic() - started < 1


def test_a_refused_call_counts_every_byte_it_was_given(emu_env: Emulator) -> None:
    connection = symbl.Streaming.start_connection(replay_buffer_seconds=0.5)
    emu_env.add_fault(path=STREAMING + "*", status=503, body={"message": "restarting"})
    emu_env.drop_websockets(STREAMING)
    assert wait_until(lambda: connection.state == "reconnecting", timeout=5)
    second = TENTH * 10  # 1 s, in 8192-byte frames: the first fits in 0.5 s, not the second
    with pytest.raises(symbl.AudioNotDeliveredError) as caught:
        connection.send_audio(second)
    assert caught.value.undelivered_bytes == len(second) - 8192
    assert caught.value.undelivered_seconds == pytest.approx(caught.value.undelivered_bytes / 32000)
    emu_env.clear_faults()
    assert wait_until(lambda: connection.state == "open", timeout=10)
    connection.stop()


def test_a_call_reconnecting_still_stops_on_signals(calls: Emulator) -> None:
    from symbl._live import interrupts

    connection = symbl.Telephony.start_pstn(phone_number=PHONE)
    connection.subscribe({"message": lambda event: None})
    assert wait_until(lambda: calls.calls()[0]["subscribers"] == 1, timeout=5)
    calls.add_fault(path=SUBSCRIBE + "*", status=503, body={"message": "restarting"}, times=3)
    calls.drop_websockets(SUBSCRIBE)
    assert wait_until(lambda: connection.state == "reconnecting", timeout=5)
    time.sleep(0.3)  # a refused attempt or two
    assert connection._live in interrupts._live
    assert wait_until(lambda: connection.state == "open", timeout=10)
    connection.stop()


def test_a_fast_sender_rides_through_a_frozen_network(emu_env: Emulator, tmp_path) -> None:
    from helpers import make_wav

    client = symbl.Client(heartbeat_interval=0.2, dead_peer_timeout=0.6)
    handlers, seen = recorder(streaming=True)
    connection = client.Streaming.start_connection()
    connection.subscribe(handlers)
    emu_env.add_fault(path=STREAMING + "*", websocket="freeze", after_bytes=100_000, times=1)
    connection.send_audio_from_file(make_wav(tmp_path / "long.wav", seconds=20), realtime=False)
    assert wait_until(lambda: "reconnected" in kinds(seen), timeout=10), seen
    assert "error" not in kinds(seen)
    connection.stop(timeout=10)
    emu_env.drop_websockets(STREAMING)
