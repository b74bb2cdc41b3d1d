"""The Telephony and Streaming snippets of the documentation, run as scripts against the
emulator: they print live events, exit when the call or stream ends, and Ctrl+C stops them
cleanly (the stop reaches the service, the process exits within 2 s)."""

from __future__ import annotations

import signal
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from symbl.emulator import Emulator

from helpers import DATA, LIVE_SCRIPT, Child, sample_transcript, subprocess_env, wait_until
from snippets import run_snippet, snippet_script

pytest_plugins = ("virtual_audio",)

START_PSTN = (
    'import symbl\nconnection_object = symbl.Telephony.start_pstn(phone_number="+14155550100")\n'
)
START_SIP = 'import symbl\nconnection = symbl.Telephony.start_sip(uri="sip:8002@sip.example.com")\n'


@pytest.fixture
def phone(emu: Emulator) -> Emulator:
    """Calls play a short script, twenty times faster than real time."""
    emu.set_live_transcript(LIVE_SCRIPT)
    emu.configure(telephony_speed=20.0, telephony_answer_seconds=0.1)
    return emu


def sample_samples() -> np.ndarray:
    with wave.open(str(DATA / "meeting.wav"), "rb") as reader:
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").copy()


def test_pstn_start_snippet_with_its_placeholders_fails_clearly(
    emu: Emulator, tmp_path: Path
) -> None:
    result = run_snippet("pstn_start.py", tmp_path, subprocess_env(emu))
    assert result.returncode == 1
    assert (
        "symbl.errors.InvalidArgumentError: phone_number '' is not a phone number" in result.stderr
    )
    assert emu.requests("/v1/endpoint:connect") == []


def test_pstn_complete_sample_prints_events_and_exits_when_the_call_ends(
    phone: Emulator, tmp_path: Path
) -> None:
    result = run_snippet("pstn_complete.py", tmp_path, subprocess_env(phone))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "printing the first response" in out
    assert "'type': 'transcript_response'" in out and "'isFinal': True" in out
    assert "'type': 'insight_response'" in out
    assert "Can you send me the quote by Friday?" in out
    assert out.count("Connection(connectionId=") == 1
    (call,) = phone.calls()
    assert call["start"]["endpoint"] == {
        "type": "pstn",
        "phoneNumber": "+1123456789",
        "dtmf": ",,8931167232#,,447891#",
    }
    assert call["state"] == "ended"
    assert [mail["to"] for mail in phone.outbox()] == [["john@example.com"]]


def test_pstn_complete_sample_under_ctrl_c_stops_the_call(phone: Emulator, tmp_path: Path) -> None:
    phone.set_live_transcript([])  # a silent call: only a stop ends it
    running = Child(snippet_script("pstn_complete.py", tmp_path), subprocess_env(phone))
    try:
        assert running.wait_for_line("Connection(connectionId=")
        assert wait_until(
            lambda: phone.calls() and phone.calls()[0]["subscribers"] == 1, timeout=10
        )
        assert running.signal(signal.SIGINT) < 2.0
    finally:
        running.kill()
    assert "Exception ignored" not in running.stderr
    (call,) = phone.calls()
    assert call["state"] == "ended" and call["ended_by"] == "stop"
    assert call["stop"] == {"operation": "stop", "connectionId": call["connectionId"]}


def test_pstn_stop_and_subscribe_fragments(phone: Emulator, tmp_path: Path) -> None:
    phone.set_live_transcript([])
    result = run_snippet("pstn_stop.py", tmp_path, subprocess_env(phone), prelude=START_PSTN)
    assert result.returncode == 0, result.stderr
    assert phone.calls()[0]["ended_by"] == "stop"
    phone.set_live_transcript(LIVE_SCRIPT)
    result = run_snippet("pstn_subscribe.py", tmp_path, subprocess_env(phone), prelude=START_PSTN)
    assert result.returncode == 0, result.stderr
    assert "printing the first response" in result.stdout
    assert "Yes, I will send it tomorrow." in result.stdout
    assert phone.calls()[1]["ended_by"] == "hangup"


def test_sip_snippets(phone: Emulator, tmp_path: Path) -> None:
    phone.set_live_transcript([])
    started = run_snippet("sip_start.py", tmp_path, subprocess_env(phone))
    assert started.returncode == 0, started.stderr
    assert phone.calls()[0]["start"] == {
        "operation": "start",
        "actions": [],
        "endpoint": {"type": "sip", "uri": "sip:8002@sip.example.com"},
    }
    # The page calls a bare stop(connectionId): the names it assumes are bound first.
    names = START_SIP + "connectionId = connection.connectionId\nstop = symbl.Telephony.stop\n"
    stopped = run_snippet("sip_stop.py", tmp_path, subprocess_env(phone), prelude=names)
    assert stopped.returncode == 0, stopped.stderr
    assert phone.calls()[1]["ended_by"] == "stop"
    phone.set_live_transcript(LIVE_SCRIPT)
    subscribed = run_snippet("sip_subscribe.py", tmp_path, subprocess_env(phone), prelude=START_SIP)
    assert subscribed.returncode == 0, subscribed.stderr
    assert "Can you send me the quote by Friday?" in subscribed.stdout
    complete = run_snippet("sip_complete.py", tmp_path, subprocess_env(phone))
    assert complete.returncode == 0, complete.stderr
    assert "'type': 'insight_response'" in complete.stdout
    assert phone.outbox()[-1]["to"] == ["john@example.com"]


def mic_env(emu: Emulator, device_env: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in device_env.items() if not key.startswith("SYMBL_")}
    return {**env, **emu.environ(), "PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize(
    ("name", "prelude", "printed"),
    [
        ("streaming_mic.py", "", "got this response from callback"),
        ("reference_streaming_events.py", "import symbl\n", "Final Messages ->  ['Hi Mike"),
    ],
)
def test_streaming_mic_snippets_print_results_and_stop_on_ctrl_c(
    emu: Emulator, alsa_file_mic, tmp_path: Path, name: str, prelude: str, printed: str
) -> None:
    emu.set_live_transcript(sample_transcript())
    mic = alsa_file_mic(sample_samples())  # the ALSA default device records the sample meeting
    running = Child(snippet_script(name, tmp_path, prelude), mic_env(emu, mic.env))
    try:
        assert running.wait_for_line(printed), running.stdout
        assert running.signal(signal.SIGINT) < 2.0
    finally:
        running.kill()
    (stream,) = emu.streams()
    assert len(stream["stop_requests"]) == 1
    assert stream["state"] in ("completed", "closed")


def test_streaming_mic_snippet_ends_with_the_stream(
    emu: Emulator, pulse_sink, tmp_path: Path
) -> None:
    emu.set_live_transcript(sample_transcript()[:1])
    emu.configure(stream_idle_seconds=1.0)  # the service waits 30 minutes of silence
    clip = tmp_path / "first-line.wav"
    with wave.open(str(clip), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(sample_samples()[: 4 * 16000].tobytes())
    running = Child(snippet_script("streaming_mic.py", tmp_path), mic_env(emu, pulse_sink.env))
    try:
        assert wait_until(lambda: emu.streams() and emu.streams()[0]["audio_bytes"] > 0, timeout=20)
        pulse_sink.play(clip)
        running.process.wait(20)  # the stream ended: the snippet's script ends by itself
        assert running.wait_for_line("got this response from callback", timeout=1)
    finally:
        running.kill()
    assert running.process.returncode == 0
    (stream,) = emu.streams()
    assert stream["stop_requests"] == [], "the service ended it, not the client"
    messages = [m.text for m in emu_conversation_messages(emu, stream["conversationId"])]
    assert messages == ["Hi Mike, thanks for joining the call today."]


def emu_conversation_messages(emu: Emulator, conversation_id: str) -> list[Any]:
    import symbl

    client = symbl.Client(emu.credentials, base_url=emu.base_url)
    return list(client.Conversations.get_messages(conversation_id).messages)


def test_connection_event_dict_snippet(emu: Emulator, tmp_path: Path) -> None:
    emu.set_live_transcript(sample_transcript())
    stream = (
        "connection = symbl.Streaming.start_connection(insight_types=['question'])\n"
        "connection.subscribe(events)\n"
        f"connection.send_audio_from_file({str(DATA / 'meeting.wav')!r}, realtime=False)\n"
        "connection.stop()\n"
    )
    result = run_snippet(
        "reference_connection_events.py",
        tmp_path,
        subprocess_env(emu),
        prelude="import symbl\n",
        postlude=stream,
    )
    assert result.returncode == 0, result.stderr
    assert "printing the transcription" in result.stdout
    assert "printing the insight response" in result.stdout


def test_connection_conversation_snippet_ends_cleanly(emu: Emulator, tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_snippet("reference_connection_conversation.py", tmp_path, subprocess_env(emu))
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10
    (stream,) = emu.streams()
    assert emu.requests(f"/v1/conversations/{stream['conversationId']}/topics")[0].status == 200
    assert len(stream["stop_requests"]) == 1, "the exit hook stops the stream properly"
