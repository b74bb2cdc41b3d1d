"""The asyncio Streaming API (``symbl.AsyncClient``) over real sockets to the emulator: the
twins of the streaming tests of test_streaming.py, test_reconnect.py, test_live_core.py and
test_microphone.py, and what only asyncio has: coroutine callbacks, ``async for``, and
cancellation at every point that waits. Every scenario runs in asyncio's debug mode and must
leave no task, no thread and no open websocket behind (see ``async_helpers.run_live``)."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from test_microphone import child_env

import symbl
from symbl.emulator import Emulator

from async_helpers import open_sockets, run_live
from async_rest_helpers import until
from helpers import DATA, PYTHON, make_wav, sample_transcript, wait_until
from virtual_audio import VirtualDevice, chirp

pytest_plugins = ("virtual_audio",)

SAMPLE = DATA / "meeting.wav"
STREAMING = "/v1/streaming/"
# 0.1 s of LINEAR16 audio at 16 kHz.
TENTH = b"\x01\x00" * 1600
LIFECYCLE_START = ["conversation_created", "started_listening", "recognition_started"]


@pytest.fixture
def live(emu: Emulator) -> Emulator:
    """The emulator, scripted with the sample recording's words."""
    emu.set_live_transcript(sample_transcript())
    return emu


def sync_client(emu: Emulator) -> symbl.Client:
    return symbl.Client(emu.credentials, base_url=emu.base_url, retry_backoff=0.01)


def recorder() -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []
    names = ("reconnecting", "reconnected", "error", "message", "conversation_changed")
    return {name: (lambda event, name=name: seen.append((name, event))) for name in names}, seen


def kinds(seen: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in seen if name != "message"]


def counting_audio(frames: int, samples: int = 500) -> list[bytes]:
    """Frames of 16-bit samples that count up: any loss, repeat or swap shows."""
    counter = np.arange(frames * samples, dtype="<i2")
    return [counter[i * samples : (i + 1) * samples].tobytes() for i in range(frames)]


def assert_no_audio_lost(received: bytes, frames: list[bytes]) -> None:
    """Everything arrived, in order; frames read but not yet confirmed when a socket broke may
    come again (one seam at most, stepping back, never a gap)."""
    samples = np.frombuffer(received, dtype="<i2")
    steps = np.diff(samples.astype(np.int64))
    seams = np.flatnonzero(steps != 1)
    assert len(seams) <= 1, "one replay seam at most"
    if len(seams):
        assert samples[seams[0] + 1] <= samples[seams[0]]
    assert set(samples.tolist()) == set(range(len(b"".join(frames)) // 2))


# --- starting ------------------------------------------------------------------------------------

START_ARGUMENTS = [
    {},
    {
        "speaker": {"name": "Jane", "email": "jane@example.com"},
        "insight_types": ["question", "action_item"],
        "config": {"meetingTitle": "Standup", "speechRecognition": {"sampleRateHertz": 8000}},
        "languages": ["en-GB"],
        "timezone": "UTC",
        "trackers": [{"name": "Budget", "vocabulary": ["budget", "cost"]}],
        "no_connection_timeout": 300,
        "disconnect_on_stop_request": True,
        "custom_vocabulary": ("Symbl", "standup"),
    },
]


@pytest.mark.parametrize("kwargs", START_ARGUMENTS, ids=["defaults", "every-option"])
def test_start_connection_sends_what_the_threaded_client_sends(
    emu: Emulator, kwargs: dict[str, Any]
) -> None:
    sync_client(emu).Streaming.start_connection(**kwargs).stop()

    async def scenario(client: symbl.AsyncClient) -> Any:
        connection = await client.Streaming.start_connection(**kwargs)
        assert isinstance(connection, symbl.StreamingConnection)
        assert connection.state == "open"
        assert isinstance(connection.conversation, symbl.AsyncConversation)
        await connection.stop()
        return connection

    connection = run_live(emu, scenario)
    threaded, awaited = emu.streams()
    assert awaited["start_request"] == threaded["start_request"]
    assert awaited["conversationId"] == connection.conversation.get_conversation_id()
    (handshake,) = emu.requests(f"{STREAMING}{connection.connectionId}")
    assert handshake.websocket and handshake.query_string == "source=python_sdk"
    assert handshake.headers["x-api-key"] and "access_token" not in handshake.query_string


@pytest.mark.parametrize(
    "kwargs",
    [
        {"insight_types": ["gossip"]},
        {"config": {"speechRecognition": {"sampleRateHertz": 1000}}},
        {"languages": ["en-US"], "config": {"languageCode": "fr-FR"}},
        {"timezone": "Mars/Olympus"},
        {"speaker": {"name": 5}},
        {"replay_buffer_seconds": 0},
        {"reconnect": "yes"},
        {"config": {"timezoneOffset": float("nan")}},
    ],
)
def test_bad_arguments_are_refused_as_the_threaded_client_refuses_them(
    emu: Emulator, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(symbl.InvalidArgumentError) as threaded:
        sync_client(emu).Streaming.start_connection(**kwargs)

    async def scenario(client: symbl.AsyncClient) -> None:
        with pytest.raises(symbl.InvalidArgumentError) as awaited:
            await client.Streaming.start_connection(**kwargs)
        assert str(awaited.value) == str(threaded.value)

    run_live(emu, scenario)
    assert emu.streams() == [] and emu.requests(STREAMING) == []


def test_a_refused_handshake_is_a_streaming_error(emu: Emulator) -> None:
    emu.add_fault(path=STREAMING + "*", status=503, body={"message": "maintenance"})

    async def scenario(client: symbl.AsyncClient) -> None:
        with pytest.raises(symbl.StreamingError, match="503") as caught:
            await client.Streaming.start_connection()
        assert caught.value.status_code == 503

    run_live(emu, scenario)


def test_a_revoked_token_is_refreshed_for_the_handshake(emu: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        await client.access_token()
        emu.revoke_tokens()
        connection = await client.Streaming.start_connection()
        await connection.stop()

    run_live(emu, scenario)
    assert [entry.status for entry in emu.requests(STREAMING)] == [401, 101]


# --- audio ---------------------------------------------------------------------------------------


def test_send_audio_accepts_bytes_and_numpy_and_splits_frames(emu: Emulator) -> None:
    raw = bytes(range(256)) * 100  # 25600 bytes: split into frames of at most 8192
    floats = np.linspace(-1.0, 1.0, 5, dtype=np.float32)
    ints = np.array([1, -2, 32767], dtype=np.int16)

    async def scenario(client: symbl.AsyncClient) -> str:
        async with await client.Streaming.start_connection() as connection:
            await connection.send_audio(raw)
            await connection.send_audio(floats)
            await connection.send_audio(ints.reshape(-1, 1))
            for bad, match in [
                (np.zeros((10, 2), dtype=np.int16), "mono"),
                (np.zeros(10, dtype=np.int32), "int16 or float"),
                (b"\x00\x01\x02", "odd"),
                ("hello", "bytes or a numpy array"),
            ]:
                with pytest.raises(symbl.InvalidArgumentError, match=match):
                    await connection.send_audio(bad)
        assert connection.state == "closed"
        return connection.connectionId

    connection_id = run_live(emu, scenario)
    scaled = np.array([-32767, -16384, 0, 16384, 32767], "<i2").tobytes()
    assert emu.stream_audio(connection_id) == raw + scaled + ints.astype("<i2").tobytes()
    (stream,) = emu.streams()
    assert stream["largest_frame"] <= 8192 and stream["audio_frames"] == 6
    assert len(stream["stop_requests"]) == 1


def test_a_wav_file_gives_events_to_plain_and_coroutine_callbacks_in_one_task(
    live: Emulator,
) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        finals: list[Any] = []
        awaited: list[Any] = []
        insights: list[Any] = []
        lifecycle: list[str] = []
        tasks: set[asyncio.Task[Any] | None] = set()

        def plain(event: Any) -> None:
            tasks.add(asyncio.current_task())
            finals.append(event)

        async def coroutine(event: Any) -> None:
            tasks.add(asyncio.current_task())
            await asyncio.sleep(0)  # a callback may wait; the next one waits for it
            awaited.append(event)

        connection = await client.Streaming.start_connection(
            insight_types=["question", "action_item"]
        )
        connection.subscribe(
            {
                "message_response": plain,
                "insight_response": insights.append,
                "message": lambda event: lifecycle.append(event.message.type),
            }
        )
        connection.subscribe({"message_response": coroutine})
        await connection.send_audio_from_file(SAMPLE, realtime=False)
        await connection.stop()
        texts = [m["payload"]["content"] for e in finals for m in e["messages"]]
        assert texts[0] == "Hi Mike, thanks for joining the call today."
        assert "I will send you the updated contract by Friday." in texts
        assert awaited == finals
        kinds = {insight["type"] for e in insights for insight in e["insights"]}
        assert kinds == {"question", "action_item"}
        assert lifecycle[:3] == LIFECYCLE_START
        assert lifecycle[-2:] == ["recognition_stopped", "conversation_completed"]
        (task,) = tasks
        assert task is not None and task.get_name().startswith("symbl-streaming-")
        assert connection.summary_url and connection.summary_url.startswith("https://")
        stored = (await connection.conversation.get_messages()).messages
        assert [m.text for m in stored] == texts
        assert connection.state == "closed"

    run_live(live, scenario)


def test_a_paced_file_takes_its_time_and_speed_shortens_it(emu: Emulator, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "one.wav", seconds=1.0, transcript=None)

    async def scenario(client: symbl.AsyncClient) -> list[float]:
        durations = []
        for speed in (1.0, 4.0):
            async with await client.Streaming.start_connection() as connection:
                started = time.monotonic()
                await connection.send_audio_from_file(wav, speed=speed)
                durations.append(time.monotonic() - started)
        with pytest.raises(symbl.InvalidArgumentError, match="speed"):
            await connection.send_audio_from_file(wav, speed=0)
        return durations

    paced, fast = run_live(emu, scenario)
    assert 0.85 < paced < 2.0 and fast < 0.6, (paced, fast)
    assert [stream["audio_bytes"] for stream in emu.streams()] == [32000, 32000]


def test_async_for_yields_every_event_from_the_start_until_the_stream_ends(
    live: Emulator,
) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        connection = await client.Streaming.start_connection()
        events: list[Any] = []

        async def consume() -> None:
            async for event in connection:
                events.append(event)

        consumer = asyncio.ensure_future(consume())
        await connection.send_audio_from_file(SAMPLE, realtime=False)
        await connection.stop()
        await asyncio.wait_for(consumer, 5)  # it ends with the stream
        lifecycle = [e.message.type for e in events if e.type == "message"]
        # conversation_created came before the consumer: kept for it, as for a subscription.
        assert lifecycle[:3] == LIFECYCLE_START
        assert lifecycle[-1] == "conversation_completed"
        assert {"message", "message_response"} <= {event["type"] for event in events}
        async for _ in connection:  # an iterator started after the end ends at once
            raise AssertionError("no events after the end")

    run_live(live, scenario)


def test_events_before_subscribe_are_replayed_in_order(live: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        async with await client.Streaming.start_connection() as connection:
            await connection.send_audio_from_file(SAMPLE, realtime=False)
            await asyncio.sleep(0.3)  # results arrive while nobody is subscribed
            seen: list[str] = []
            connection.subscribe({"message": lambda event: seen.append(event.message.type)})
            assert await until(lambda: "recognition_result" in seen)
            assert seen[:3] == LIFECYCLE_START

    run_live(live, scenario)


def test_raising_callbacks_are_isolated_and_reported(live: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        errors: list[BaseException] = []
        finals: list[Any] = []

        async def raises(event: Any) -> None:
            raise ValueError("bad callback")

        async def report(error: BaseException) -> None:
            errors.append(error)

        async with await client.Streaming.start_connection() as connection:
            connection.subscribe({"message_response": lambda event: 1 / 0, "error": report})
            connection.subscribe({"message_response": raises})
            connection.subscribe({"message_response": finals.append})
            await connection.send_audio_from_file(SAMPLE, realtime=False)
        assert finals, "the last callback still ran after the first two raised"
        causes = {type(error.__cause__) for error in errors}
        assert causes == {ZeroDivisionError, ValueError}
        assert all(isinstance(error, symbl.SymblError) for error in errors)

    run_live(live, scenario)


def test_subscribe_refuses_unknown_events_and_non_callables(emu: Emulator) -> None:
    refused = [
        ({"transcript_response": print}, "transcript_response"),
        ({"message_response": "print"}, "callable"),
        ([("message", print)], "dict"),
    ]

    async def scenario(client: symbl.AsyncClient) -> None:
        async with await client.Streaming.start_connection() as connection:
            for events, match in refused:
                with pytest.raises(symbl.InvalidArgumentError, match=match):
                    connection.subscribe(events)  # type: ignore[arg-type]

    run_live(emu, scenario)


def test_the_threaded_client_refuses_coroutine_callbacks(emu: Emulator) -> None:
    async def callback(event: Any) -> None:
        pass

    connection = sync_client(emu).Streaming.start_connection()
    with pytest.raises(symbl.InvalidArgumentError, match="coroutine function"):
        connection.subscribe({"message": callback})
    connection.stop()


# --- stopping ------------------------------------------------------------------------------------


def test_stop_is_idempotent_across_tasks(emu: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        connection = await client.Streaming.start_connection()
        stopped = await asyncio.gather(*(connection.stop() for _ in range(4)))
        assert stopped == [connection] * 4
        await connection.stop()
        assert connection.state == "closed"
        with pytest.raises(TypeError, match="async with"), connection:  # type: ignore[attr-defined]
            pass

    run_live(emu, scenario)
    (stream,) = emu.streams()
    assert stream["stop_requests"] == ['{"type": "stop_request"}']


def test_stop_from_inside_a_coroutine_callback(live: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        connection = await client.Streaming.start_connection()
        errors: list[BaseException] = []
        stopped = asyncio.Event()

        async def on_first(event: Any) -> None:
            await connection.stop()
            await connection.stop()  # again, in the reader task: nothing more happens
            stopped.set()

        connection.subscribe({"message_response": on_first, "error": errors.append})
        # Ends quietly when the callback's stop lands while it is sending.
        await connection.send_audio_from_file(SAMPLE, realtime=False)
        await asyncio.wait_for(stopped.wait(), 10)
        await connection.stop()  # and once more from this task
        assert connection.state == "closed" and errors == []

    run_live(live, scenario)
    assert len(live.streams()[0]["stop_requests"]) == 1


def test_a_stop_that_times_out_says_so(emu: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        connection = await client.Streaming.start_connection()
        emu.freeze_websockets(STREAMING)
        with pytest.raises(symbl.StreamingError, match=r"nothing came within 0\.3 s"):
            await connection.stop(timeout=0.3)
        assert connection.state == "closed"

    run_live(emu, scenario, sockets_left=1)
    emu.drop_websockets(STREAMING)


def test_a_socket_cut_during_stop_is_not_a_completed_stop(emu: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        handlers, seen = recorder()
        connection = await client.Streaming.start_connection()
        connection.subscribe(handlers)
        await connection.send_audio(TENTH)
        emu.freeze_websockets(STREAMING)  # the stop_request goes nowhere ...
        asyncio.get_running_loop().call_later(0.3, emu.drop_websockets, STREAMING)  # ... a cut
        started = time.monotonic()
        with pytest.raises(symbl.StreamingError, match="did not complete the conversation"):
            await connection.stop(timeout=5)
        assert time.monotonic() - started < 2
        assert connection.summary_url is None and connection.state == "closed"
        assert "reconnecting" not in kinds(seen), "a stop is not undone by a reconnection"

    run_live(emu, scenario)


def test_modify_changes_the_format_mid_stream(emu: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        async with await client.Streaming.start_connection() as connection:
            with pytest.raises(symbl.InvalidArgumentError, match="sample_rate"):
                await connection.modify(sample_rate=1000)
            await connection.send_audio(TENTH)
            await connection.modify(sample_rate=8000)
            assert connection.sample_rate == 8000
            await connection.send_audio(b"\x01\x00" * 800)

    run_live(emu, scenario)
    (stream,) = emu.streams()
    assert stream["modify_requests"] == [
        {
            "type": "modify_request",
            "speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": 8000},
        }
    ]
    assert stream["audio_bytes"] == len(TENTH) + 1600


# --- ends and reconnection -----------------------------------------------------------------------


def test_a_dropped_socket_without_reconnect_is_an_error_everywhere(emu: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        errors: list[BaseException] = []
        connection = await client.Streaming.start_connection(reconnect=False)
        connection.subscribe({"error": errors.append})
        events = aiter_events(connection)
        emu.drop_websockets(STREAMING)
        with pytest.raises(symbl.StreamingError) as ended:
            await asyncio.wait_for(events, 5)
        assert ended.value is connection.error and errors == [connection.error]
        assert connection.state == "closed"
        with pytest.raises(symbl.StreamingError):
            await connection.send_audio(b"\x00\x00")
        started = time.monotonic()
        await connection.stop()  # it had ended: nothing more to report
        assert time.monotonic() - started < 1.0 and errors == [connection.error]

    run_live(emu, scenario)


async def aiter_events(connection: Any) -> list[Any]:
    return [event async for event in connection]


@pytest.mark.parametrize(("code", "error"), [(1000, False), (1011, True)])
def test_a_close_code_is_reported_unless_normal(emu: Emulator, code: int, error: bool) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        errors: list[BaseException] = []
        connection = await client.Streaming.start_connection(reconnect=False)
        connection.subscribe({"error": errors.append})
        emu.close_websockets(STREAMING, code=code, reason="recognizer crashed")
        assert await until(lambda: connection.state == "closed")
        await asyncio.sleep(0.05)
        if error:
            assert "1011" in str(connection.error) and "recognizer crashed" in str(errors[0])
            assert errors == [connection.error]
        else:
            assert errors == [] and connection.error is None
        with pytest.raises(symbl.StreamingError, match="1011" if error else "closed"):
            await connection.send_audio(TENTH)
        await connection.stop(timeout=1)
        assert len(errors) == int(error)

    run_live(emu, scenario)


def test_a_stream_cut_mid_way_continues_the_conversation_and_loses_no_audio(
    emu: Emulator,
) -> None:
    frames = counting_audio(60)

    async def scenario(client: symbl.AsyncClient) -> str:
        handlers, seen = recorder()
        connection = await client.Streaming.start_connection()
        connection.subscribe(handlers)
        conversation_id = connection.conversation.get_conversation_id()
        emu.add_fault(path=STREAMING + "*", websocket="cut", after_bytes=20_000, times=1)
        for frame in frames:
            await connection.send_audio(frame)
            await asyncio.sleep(0.005)
        assert await until(lambda: "reconnected" in kinds(seen), timeout=10), seen
        await connection.stop()
        assert kinds(seen) == ["reconnecting", "reconnected"]
        reconnecting = next(event for name, event in seen if name == "reconnecting")
        assert reconnecting["attempt"] == 1 and "closed unexpectedly" in reconnecting["cause"]
        assert connection.conversation.get_conversation_id() == conversation_id
        return connection.connectionId

    connection_id = run_live(emu, scenario)
    assert_no_audio_lost(emu.stream_audio(connection_id), frames)


def test_audio_sent_while_reconnecting_is_replayed_and_a_full_buffer_refused(
    emu: Emulator,
) -> None:
    frames = counting_audio(10, samples=800)  # 0.05 s each

    async def scenario(client: symbl.AsyncClient) -> str:
        handlers, seen = recorder()
        connection = await client.Streaming.start_connection(replay_buffer_seconds=0.5)
        connection.subscribe(handlers)
        for frame in frames[:5]:
            await connection.send_audio(frame)
        emu.add_fault(path=STREAMING + "*", status=503, body={"message": "restarting"})
        emu.drop_websockets(STREAMING)
        assert await until(lambda: connection.state == "reconnecting")
        for frame in frames[5:]:
            await connection.send_audio(frame)  # held for the replay
        with pytest.raises(symbl.AudioNotDeliveredError) as caught:
            await connection.send_audio(TENTH * 10)  # 1 s: no room for it while down
        assert caught.value.undelivered_bytes == len(TENTH) * 10
        assert "has not confirmed" in str(caught.value)
        emu.clear_faults()  # the service is back: the held audio goes, then the stop
        assert await until(lambda: connection.state == "open", timeout=10), seen
        await connection.stop()
        assert kinds(seen)[-1] == "reconnected" and "error" not in kinds(seen)
        return connection.connectionId

    connection_id = run_live(emu, scenario)
    assert_no_audio_lost(emu.stream_audio(connection_id), frames)


def test_giving_up_says_how_much_audio_was_not_delivered(emu: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        handlers, seen = recorder()
        connection = await client.Streaming.start_connection(no_connection_timeout=1)
        connection.subscribe(handlers)
        emu.add_fault(path=STREAMING + "*", status=503, body={"message": "restarting"})
        emu.drop_websockets(STREAMING)
        assert await until(lambda: connection.state == "reconnecting")
        for _ in range(3):
            await connection.send_audio(TENTH)
        assert await until(lambda: "error" in kinds(seen), timeout=5), seen
        error = connection.error
        assert isinstance(error, symbl.AudioNotDeliveredError), error
        assert error.undelivered_bytes >= 3 * len(TENTH)
        assert all(text in str(error) for text in ("gave up", "503"))
        *attempts, last = kinds(seen)
        assert last == "error" and set(attempts) == {"reconnecting"}
        with pytest.raises(symbl.AudioNotDeliveredError):
            await connection.send_audio(TENTH)
        emu.clear_faults()
        await connection.stop(timeout=1)  # it had already ended: nothing more to report

    run_live(emu, scenario)


def test_a_silent_peer_is_noticed_within_the_timeout_and_recovered(emu: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        handlers, seen = recorder()
        connection = await client.Streaming.start_connection()
        connection.subscribe(handlers)
        frozen_at = time.monotonic()
        assert emu.freeze_websockets(STREAMING) == 1
        assert await until(lambda: "reconnecting" in kinds(seen), timeout=5), seen
        assert time.monotonic() - frozen_at < 0.6 + 0.2 + 0.5
        cause = next(event for name, event in seen if name == "reconnecting")["cause"]
        assert "0.6 s" in cause
        assert await until(lambda: "reconnected" in kinds(seen), timeout=5), seen
        await connection.send_audio(TENTH)
        emu.unfreeze_websockets(STREAMING)
        await connection.stop(timeout=5)

    run_live(emu, scenario, heartbeat_interval=0.2, dead_peer_timeout=0.6)


def test_a_fast_sender_rides_through_a_frozen_network(emu: Emulator, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "long.wav", seconds=20)

    async def scenario(client: symbl.AsyncClient) -> None:
        handlers, seen = recorder()
        connection = await client.Streaming.start_connection()
        connection.subscribe(handlers)
        emu.add_fault(path=STREAMING + "*", websocket="freeze", after_bytes=100_000, times=1)
        await connection.send_audio_from_file(wav, realtime=False)
        assert await until(lambda: "reconnected" in kinds(seen), timeout=10), seen
        assert "error" not in kinds(seen)
        await connection.stop(timeout=10)

    run_live(emu, scenario, sockets_left=1, heartbeat_interval=0.2, dead_peer_timeout=0.6)
    emu.drop_websockets(STREAMING)


# --- cancellation --------------------------------------------------------------------------------


def test_cancelling_a_file_being_sent_stops_the_stream(emu: Emulator, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "long.wav", seconds=10)

    async def scenario(client: symbl.AsyncClient) -> Any:
        connection = await client.Streaming.start_connection()
        sender = asyncio.ensure_future(connection.send_audio_from_file(wav))
        await asyncio.sleep(0.3)
        sender.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sender
        assert connection.state == "closed" and connection.summary_url
        return connection

    run_live(emu, scenario)
    (stream,) = emu.streams()
    assert len(stream["stop_requests"]) == 1 and 0 < stream["audio_bytes"] < 32000


def test_a_timeout_around_start_connection_leaves_nothing_open(emu: Emulator) -> None:
    emu.add_fault(path=STREAMING + "*", delay=1.0, times=1)  # a slow handshake

    async def scenario(client: symbl.AsyncClient) -> None:
        await client.access_token()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.Streaming.start_connection(), 0.3)
        connection = await client.Streaming.start_connection()  # the next one works
        await connection.stop()

    run_live(emu, scenario)
    assert wait_until(lambda: len(emu.streams()) == 2)
    assert [stream["stop_requests"] for stream in emu.streams()].count([]) <= 1


def test_a_timeout_around_stop_still_closes_the_stream(emu: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        connection = await client.Streaming.start_connection()
        emu.freeze_websockets(STREAMING)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(connection.stop(timeout=5), 0.3)
        assert connection.state == "closed"

    run_live(emu, scenario, sockets_left=1)
    emu.drop_websockets(STREAMING)


@pytest.mark.parametrize("handle_signals", [True, False])
def test_the_end_of_asyncio_run_stops_a_stream_left_open(
    emu: Emulator, handle_signals: bool
) -> None:
    async def main() -> None:
        client = symbl.AsyncClient(emu.credentials, base_url=emu.base_url)
        connection = await client.Streaming.start_connection(handle_signals=handle_signals)
        await connection.send_audio(TENTH)
        # The program ends without stop(): asyncio.run cancels the connection's reader.

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the client's session, never closed
        asyncio.run(main(), debug=True)
        gc.collect()
    assert wait_until(lambda: open_sockets(emu) == 0)
    (stream,) = emu.streams()
    assert len(stream["stop_requests"]) == int(handle_signals)


# --- the microphone (virtual devices; see tests/virtual_audio.py) --------------------------------

STREAM_FROM_MIC = textwrap.dedent(
    """
    import asyncio, sys, symbl

    async def main():
        async with symbl.AsyncClient() as client:
            connection = await client.Streaming.start_connection()
            print("connected", connection.connectionId, flush=True)
            asyncio.get_running_loop().call_later(
                float(sys.argv[2]), lambda: asyncio.ensure_future(connection.stop())
            )
            await connection.send_audio_from_mic(device=sys.argv[1])
            await asyncio.sleep(0.2)
            print("returned", connection.state, flush=True)

    asyncio.run(main(), debug=True)
    """
)


def stream_from(
    mic: VirtualDevice | Any,
    emu: Emulator,
    seconds: float,
    script: str = STREAM_FROM_MIC,
    while_running: Callable[[], None] | None = None,
) -> tuple[str, bytes]:
    """Run ``script`` on ``mic`` for ``seconds`` in a child process (calling ``while_running``
    meanwhile); its output, and the audio the emulator received."""
    child = subprocess.Popen(
        [PYTHON, "-c", script, mic.device, str(seconds)],
        env=child_env(emu, mic.env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if while_running is not None:
            while_running()
        output, errors = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 0, errors
    return output, emu.stream_audio(output.split()[1])


def test_microphone_audio_reaches_the_emulator_sample_for_sample(
    emu: Emulator, alsa_file_mic
) -> None:
    signal = chirp(2.0)
    signal[::97] = np.arange(len(signal[::97]), dtype=np.int16)  # a counter: order is checked
    output, received = stream_from(alsa_file_mic(signal), emu, 1.0)
    assert output.splitlines()[-1] == "returned closed"
    sent = signal.astype("<i2").tobytes()
    assert received.startswith(sent), "every sample, in order, from the first"
    (stream,) = emu.streams()
    assert stream["largest_frame"] <= 8192 and len(stream["stop_requests"]) == 1


def test_real_time_microphone_drives_live_recognition(
    emu: Emulator, pulse_sink, tmp_path: Path
) -> None:
    from virtual_audio import write_wav

    line = {"speaker": {"name": "Ann"}, "text": "Hello from the microphone.", "start": 0.2}
    emu.set_live_transcript([{**line, "end": 1.2}])
    tone = np.sin(2 * np.pi * 440 * np.arange(24000) / 16000)  # 1.5 s
    write_wav(tmp_path / "hello.wav", (0.4 * 32767 * tone).astype(np.int16))
    printing = STREAM_FROM_MIC.replace(
        'print("connected"',
        "connection.subscribe({'message_response': lambda e: print(\n"
        "            'final:', e.messages[0].payload.content, flush=True)})\n"
        '        print("connected"',
    )

    def speak() -> None:
        assert wait_until(lambda: emu.streams() and emu.streams()[0]["audio_bytes"], timeout=20)
        pulse_sink.play(tmp_path / "hello.wav")

    output, received = stream_from(pulse_sink, emu, 4.0, printing, while_running=speak)
    assert "final: Hello from the microphone." in output
    # Real time: about 4 s of capture arrived in about 4 s, not all at once.
    assert 2.5 * 32000 < len(received) < 6 * 32000, len(received)


MIC_ERROR = textwrap.dedent(
    """
    import asyncio, sys

    class NoPortAudio:
        def find_spec(self, name, path=None, target=None):
            if name == "sounddevice" and sys.argv[1] == "no-portaudio":
                raise OSError("PortAudio library not found")
            return None

    sys.meta_path.insert(0, NoPortAudio())
    import symbl

    async def main():
        async with symbl.AsyncClient() as client:
            async with await client.Streaming.start_connection() as connection:
                try:
                    await connection.send_audio_from_mic(device=sys.argv[2] or None)
                except symbl.AudioDeviceError as error:
                    print("AudioDeviceError:", error)

    asyncio.run(main(), debug=True)
    """
)


def test_without_portaudio_the_error_says_what_to_install(emu: Emulator) -> None:
    result = subprocess.run(
        [PYTHON, "-c", MIC_ERROR, "no-portaudio", ""],
        env=child_env(emu, {"PATH": "/usr/bin:/bin"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "AudioDeviceError: cannot use the microphone: PortAudio library not found" in (
        result.stdout
    )
    assert "apt-get install libportaudio2" in result.stdout


def test_an_unknown_device_lists_the_ones_there_are(emu: Emulator, alsa_file_mic) -> None:
    mic = alsa_file_mic(chirp(0.5))
    result = subprocess.run(
        [PYTHON, "-c", MIC_ERROR, "with-portaudio", "no such microphone"],
        env=child_env(emu, mic.env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "no input device 'no such microphone'" in result.stdout
    assert "symbl_virtual_mic" in result.stdout and "Choose one with device=N" in result.stdout
