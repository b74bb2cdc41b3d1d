"""Listening to someone else's stream (the Subscribe API, PROTOCOL.md §6.4, §11.7) over real
sockets to the emulator: ``symbl.Streaming.subscribe_to_stream`` and its asyncio twin, and the
emulator's side of it (late joiners, unknown ids, read-only sockets)."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from websocket import ABNF, WebSocket, create_connection

import symbl
from symbl.emulator import Emulator

from async_helpers import run_live
from helpers import LIVE_SCRIPT, Child, make_wav, subprocess_env, wait_until

SUBSCRIBE = "/v1/subscribe/"
SENTENCES = [line["text"] for line in LIVE_SCRIPT]
START = ["conversation_created", "started_listening", "recognition_started"]
END = ["recognition_stopped", "conversation_completed"]


@pytest.fixture
def live(emu_env: Emulator) -> Emulator:
    """The emulator, scripted with a two-sentence call."""
    emu_env.set_live_transcript(LIVE_SCRIPT)
    return emu_env


@pytest.fixture
def talk(tmp_path: Path) -> Path:
    """A recording of the scripted call."""
    return make_wav(tmp_path / "talk.wav", 4.5, {"transcript": LIVE_SCRIPT})


@pytest.fixture
def opened() -> Iterator[list[Any]]:
    """Senders, listeners and raw sockets a test opens; all ended at the end, whatever
    happened."""
    items: list[Any] = []
    yield items
    for item in items:
        if isinstance(item, WebSocket):
            item.close()
        else:
            item.stop()


class Recorder:
    """The events a listener delivered, in order, by name."""

    NAMES = ("message", "message_response", "reconnecting", "reconnected", "error")

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def callbacks(self) -> dict[str, Any]:
        return {
            name: (lambda event, name=name: self.events.append((name, event)))
            for name in self.NAMES
        }

    def lifecycle(self) -> list[str]:
        return [event["message"]["type"] for name, event in self.events if name == "message"]

    def sentences(self) -> list[str]:
        return [
            message["payload"]["content"]
            for name, event in self.events
            if name == "message_response"
            for message in event["messages"]
        ]

    def named(self, name: str) -> list[Any]:
        return [event for seen, event in self.events if seen == name]


def raw_socket(emu: Emulator, path: str, opened: list[Any]) -> WebSocket:
    """A plain websocket-client socket to the emulator, with a token of its app."""
    answer = requests.post(
        emu.base_url + "/oauth2/token:generate",
        json={"type": "application", "appId": emu.app_id, "appSecret": emu.app_secret},
        timeout=5,
    )
    url = emu.base_url.replace("http://", "ws://") + path
    ws = create_connection(url, header={"x-api-key": answer.json()["accessToken"]}, timeout=5)
    opened.append(ws)
    return ws


def frames_until_close(ws: WebSocket) -> tuple[list[Any], int]:
    """Every frame up to the server's close frame, and its close code."""
    frames = []
    while True:
        opcode, data = ws.recv_data()
        if opcode == ABNF.OPCODE_CLOSE:
            return frames, int.from_bytes(data[:2], "big")
        frames.append(json.loads(data))


def stream_of(emu: Emulator, connection_id: str) -> dict[str, Any]:
    (stream,) = [s for s in emu.streams() if s["connectionId"] == connection_id]
    return stream


# --- the SDK's listener ------------------------------------------------------------------------


def test_a_listener_gets_the_events_of_a_stream_another_connection_sends(
    live: Emulator, talk: Path, opened: list[Any]
) -> None:
    sender = symbl.Streaming.start_connection()
    opened.append(sender)
    listener = symbl.Streaming.subscribe_to_stream(sender.connectionId)
    opened.append(listener)
    assert listener.state == "open"
    heard = Recorder()
    listener.subscribe(heard.callbacks())
    sender.send_audio_from_file(talk, realtime=False)
    sender.stop()
    assert listener.wait(timeout=5)

    # It joined a live stream: conversation_created first, then live results only.
    lifecycle = heard.lifecycle()
    assert lifecycle[0] == "conversation_created"
    assert "started_listening" not in lifecycle
    assert "recognition_result" in lifecycle
    assert lifecycle[-2:] == END
    assert heard.sentences() == SENTENCES
    assert listener.conversation_id == sender.conversation.get_conversation_id()
    assert listener.summary_url == sender.summary_url
    # The service closed it with 1000 once the stream ended: a normal end, not an error.
    assert (listener.state, listener.error, heard.named("error")) == ("closed", None, [])

    (handshake,) = live.requests(SUBSCRIBE)
    assert handshake.path == f"{SUBSCRIBE}{sender.connectionId}"
    assert (handshake.websocket, handshake.status) == (True, 101)
    assert handshake.query_string == "source=python_sdk"
    assert handshake.headers["x-api-key"]  # authenticated as the other sockets
    stream = stream_of(live, sender.connectionId)
    assert stream["listener_frames"] == 0  # it sent nothing at all
    assert len(stream["senders"]) == 1 and len(stream["stop_requests"]) == 1


def test_stopping_a_listener_sends_nothing_and_leaves_the_stream_going(
    live: Emulator, talk: Path, opened: list[Any]
) -> None:
    sender = symbl.Streaming.start_connection()
    opened.append(sender)
    other, leaving = Recorder(), Recorder()
    staying = symbl.Streaming.subscribe_to_stream(sender.connectionId)
    opened.append(staying)
    staying.subscribe(other.callbacks())
    listener = symbl.Streaming.subscribe_to_stream(sender.connectionId)
    listener.subscribe(leaving.callbacks())
    assert wait_until(lambda: listener.conversation is not None)

    assert listener.stop() is listener
    listener.stop()  # again: nothing more happens
    assert (listener.state, listener.error) == ("closed", None)
    assert listener.wait(0)
    stream = stream_of(live, sender.connectionId)
    assert (stream["state"], stream["listener_frames"], stream["stop_requests"]) == (
        "listening",
        0,
        [],
    )
    assert sender.state == "open"

    sender.send_audio_from_file(talk, realtime=False)
    sender.stop()  # the stream completes as usual, and the other listener hears it all
    assert staying.wait(timeout=5)
    assert other.sentences() == SENTENCES
    assert leaving.lifecycle() == ["conversation_created"]


def test_a_listener_started_before_the_stream_waits_for_it(
    live: Emulator, opened: list[Any]
) -> None:
    listener = symbl.Streaming.subscribe_to_stream("not-started-yet")
    opened.append(listener)
    heard = Recorder()
    listener.subscribe(heard.callbacks())
    time.sleep(0.1)
    assert (listener.state, listener.conversation) == ("open", None)

    sender = raw_socket(live, "/v1/streaming/not-started-yet", opened)
    sender.send(json.dumps({"type": "start_request"}))
    created = json.loads(sender.recv())
    conversation_id = created["message"]["data"]["conversationId"]
    assert wait_until(lambda: listener.conversation_id == conversation_id)
    sender.send(json.dumps({"type": "stop_request"}))
    assert listener.wait(timeout=5)
    assert heard.lifecycle() == START + END
    assert (listener.state, listener.error) == ("closed", None)


def test_a_listener_of_an_id_with_no_stream_ends_normally_after_the_wait(
    emu_env: Emulator,
) -> None:
    emu_env.configure(listener_wait_seconds=0.2)
    began = time.monotonic()
    listener = symbl.Streaming.subscribe_to_stream("nobody-streams-this")
    assert listener.wait(timeout=5)
    assert time.monotonic() - began >= 0.19
    assert (listener.state, listener.error, listener.conversation) == ("closed", None, None)
    assert emu_env.streams() == []  # only a sender makes a session


def test_a_dropped_listener_reconnects_to_the_stream(
    live: Emulator, talk: Path, opened: list[Any]
) -> None:
    sender = symbl.Streaming.start_connection()
    opened.append(sender)
    listener = symbl.Streaming.subscribe_to_stream(sender.connectionId)
    opened.append(listener)
    heard = Recorder()
    listener.subscribe(heard.callbacks())
    assert wait_until(lambda: listener.conversation is not None)
    assert live.drop_websockets(SUBSCRIBE) == 1
    assert wait_until(lambda: heard.named("reconnected"))
    assert heard.named("reconnecting")[0]["attempt"] == 1
    sender.send_audio_from_file(talk, realtime=False)
    sender.stop()
    assert listener.wait(timeout=5)
    # The rejoined socket is introduced again; the conversation is the same one.
    assert heard.lifecycle().count("conversation_created") == 2
    assert heard.sentences() == SENTENCES
    assert listener.conversation_id == sender.conversation.get_conversation_id()
    assert (listener.error, heard.named("error")) == (None, [])
    assert stream_of(live, sender.connectionId)["listener_frames"] == 0


def test_a_listener_works_as_a_context_manager_and_shows_no_secret(
    live: Emulator, opened: list[Any]
) -> None:
    sender = symbl.Streaming.start_connection()
    opened.append(sender)
    with symbl.Streaming.subscribe_to_stream(sender.connectionId) as listener:
        assert wait_until(lambda: listener.conversation is not None)
        shown = repr(listener)
    assert listener.state == "closed"
    assert sender.connectionId in shown and listener.conversation_id in shown
    assert live.app_secret not in shown


@pytest.mark.parametrize(
    ("connection_id", "match"),
    [("", "connection_id"), ("a/b", "connection_id"), (None, "connection_id")],
)
def test_bad_arguments_are_refused_before_connecting(
    emu_env: Emulator, connection_id: Any, match: str
) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match=match):
        symbl.Streaming.subscribe_to_stream(connection_id)
    with pytest.raises(symbl.InvalidArgumentError, match="reconnect"):
        symbl.Streaming.subscribe_to_stream("some-stream", reconnect="yes")  # type: ignore[arg-type]
    assert emu_env.requests() == []


def test_ctrl_c_closes_a_listener_and_reaches_the_program(emu: Emulator, tmp_path: Path) -> None:
    program = tmp_path / "listen.py"
    program.write_text(
        "import symbl\n"
        "listener = symbl.Streaming.subscribe_to_stream('a-stream-to-come')\n"
        "listener.subscribe({'message_response': print})\n"
        "print('listening', flush=True)\n"
        "listener.wait()\n",
        encoding="utf-8",
    )
    child = Child(program, subprocess_env(emu))
    try:
        assert child.wait_for_line("listening")
        assert wait_until(lambda: emu.call(emu.state.sockets.count) == 1)
        time.sleep(0.3)  # the program goes from its print into listener.wait()
        elapsed = child.signal(signal.SIGINT)
    finally:
        child.kill()
    assert elapsed < 2.0
    assert child.process.returncode == -signal.SIGINT
    report = child.stderr.splitlines()
    assert report[-1] == "KeyboardInterrupt" and report[-2].strip() == "listener.wait()"
    assert not [line for line in report if "/symbl/" in line], child.stderr
    assert wait_until(lambda: emu.call(emu.state.sockets.count) == 0)


# --- the asyncio twin --------------------------------------------------------------------------


def test_an_async_listener_gets_the_events_of_a_stream(live: Emulator, talk: Path) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        sentences: list[str] = []
        kinds: list[str] = []

        async def on_sentences(event: Any) -> None:
            sentences.extend(message["payload"]["content"] for message in event["messages"])

        async with await client.Streaming.start_connection() as sender:
            listener = await client.Streaming.subscribe_to_stream(sender.connectionId)
            assert isinstance(listener, symbl.AsyncStreamListener)
            listener.subscribe({symbl.Event.MESSAGE_RESPONSE: on_sentences})
            iterated = asyncio.ensure_future(_kinds(listener, kinds))
            await sender.send_audio_from_file(talk, realtime=False)
        assert await listener.wait(timeout=5)
        await iterated
        assert sentences == SENTENCES
        assert kinds[0] == "conversation_created" and kinds[-2:] == END
        assert listener.conversation_id == sender.conversation.get_conversation_id()
        assert isinstance(listener.conversation, symbl.AsyncConversation)
        assert (listener.state, listener.error) == ("closed", None)
        assert await listener.stop() is listener  # after the end: nothing to do

    run_live(live, scenario)


async def _kinds(listener: symbl.AsyncStreamListener, kinds: list[str]) -> None:
    async for event in listener:
        if event["type"] == "message":
            kinds.append(event["message"]["type"])


def test_stopping_an_async_listener_leaves_the_stream_going(live: Emulator) -> None:
    async def scenario(client: symbl.AsyncClient) -> None:
        async with await client.Streaming.start_connection() as sender:
            async with await client.Streaming.subscribe_to_stream(sender.connectionId) as listener:
                listener.subscribe({"message": lambda event: None})
            assert (listener.state, listener.error) == ("closed", None)
            stream = stream_of(live, sender.connectionId)
            assert (stream["state"], stream["listener_frames"]) == ("listening", 0)
            assert sender.state == "open"

    run_live(live, scenario)


# --- the emulator's side -----------------------------------------------------------------------


def test_the_emulator_ignores_what_a_listener_sends(live: Emulator, opened: list[Any]) -> None:
    sender = symbl.Streaming.start_connection()
    opened.append(sender)
    listener = raw_socket(live, SUBSCRIBE + sender.connectionId, opened)
    created = json.loads(listener.recv())
    assert created["message"]["data"]["conversationId"] == (
        sender.conversation.get_conversation_id()
    )
    listener.send(json.dumps({"type": "start_request", "insightTypes": ["question"]}))
    listener.send(json.dumps({"type": "modify_request", "speechRecognition": {}}))
    listener.send(json.dumps({"type": "stop_request"}))
    listener.send_binary(b"\x01\x00" * 1600)
    listener.send("not even JSON")
    listener.send("__PING__")  # the keep-alive is answered, and is the only answer
    assert listener.recv() == "__PONG__"
    assert wait_until(lambda: stream_of(live, sender.connectionId)["listener_frames"] == 5)
    stream = stream_of(live, sender.connectionId)
    assert (stream["state"], stream["stop_requests"], stream["modify_requests"]) == (
        "listening",
        [],
        [],
    )
    assert (stream["audio_bytes"], stream["start_request"]["insightTypes"]) == (0, [])
    sender.stop()
    frames, code = frames_until_close(listener)
    assert [frame["message"]["type"] for frame in frames] == END
    assert code == 1000
