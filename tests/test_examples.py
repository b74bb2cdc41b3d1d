"""Every example script runs against the emulator and prints what it promises."""

from __future__ import annotations

import asyncio
import runpy
import signal
import subprocess
import wave
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

import symbl
from symbl.emulator import Emulator

from helpers import (
    DATA,
    LIVE_SCRIPT,
    MEETING,
    PYTHON,
    TRANSCRIPT,
    make_mp4,
    sample_transcript,
    subprocess_env,
    wait_until,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
URL = "https://media.example.com/call.wav"


def run_example(emu: Emulator, name: str, *args: str, cwd: Path) -> str:
    result = subprocess.run(
        [PYTHON, str(EXAMPLES / name), *args],
        cwd=cwd,
        env=subprocess_env(emu),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def existing(emu: Emulator) -> str:
    """A conversation to append to."""
    return emu.add_conversation(MEETING["messages"])


def test_process_audio_file(emu: Emulator, tmp_path: Path) -> None:
    out = run_example(emu, "process_audio_file.py", cwd=tmp_path)
    assert "completed" in out
    assert "Natalia: Hi Mike, thanks for joining the call today." in out


def test_append_audio_file(emu: Emulator, tmp_path: Path, existing: str) -> None:
    out = run_example(emu, "append_audio_file.py", existing, cwd=tmp_path)
    assert out.startswith("messages now: ")
    assert int(out.split(":")[1]) > len(MEETING["messages"])


@pytest.mark.parametrize("media", ["audio", "video"])
def test_url_examples(emu: Emulator, tmp_path: Path, existing: str, media: str) -> None:
    emu.register_media(TRANSCRIPT, url=URL)
    out = run_example(emu, f"process_{media}_url.py", URL, cwd=tmp_path)
    assert ("'entities'" if media == "audio" else "'members'") in out
    out = run_example(emu, f"append_{media}_url.py", existing, URL, cwd=tmp_path)
    assert (existing if media == "audio" else "'total_silence'") in out
    assert emu.requests(f"/v1/process/{media}/url/{existing}")[0].json == {"url": URL}


def test_video_file_examples(emu: Emulator, tmp_path: Path, existing: str) -> None:
    video = make_mp4(tmp_path / "meeting.mp4")
    out = run_example(emu, "process_video_file.py", str(video), cwd=tmp_path)
    assert "report" in out
    out = run_example(emu, "append_video_file.py", existing, str(video), cwd=tmp_path)
    assert out.split()[-1] == "completed"


def test_text_examples(emu: Emulator, tmp_path: Path, existing: str) -> None:
    out = run_example(emu, "process_text.py", cwd=tmp_path)
    assert "question: What do you think about the annual plan at $69.99 per month?" in out
    assert "action item: I will send you the updated contract by Friday. | assignee: Natalia" in out
    out = run_example(emu, "append_text.py", existing, "One more thing.", cwd=tmp_path)
    assert out.strip() == "One more thing."


def test_non_blocking_callbacks(emu: Emulator, tmp_path: Path) -> None:
    out = run_example(emu, "non_blocking_callbacks.py", cwd=tmp_path)
    lines = out.splitlines()
    assert lines[0].startswith("submitted ")
    assert lines[1].startswith("completed: ") and lines[1].endswith(" messages")


def test_conversation_tour(emu: Emulator, tmp_path: Path) -> None:
    out = run_example(emu, "conversation_tour.py", cwd=tmp_path)
    for expected in (
        "'messages'",
        "'topics'",
        "'questions'",
        "'actionItems'",
        "'followUps'",
        "'entities'",
        "'metrics'",
        "'summary'",
        "'criteria'",
        "00:00:00,000 -->",
        "updated successfully",
        "Speaker events associated",
        "successfully deleted the conversation",
    ):
        assert expected in out, expected


def test_conversations_by_id(emu: Emulator, tmp_path: Path, existing: str) -> None:
    out = run_example(emu, "conversations_by_id.py", existing, cwd=tmp_path)
    assert "] Natalia: Hi Mike, thanks for joining the call today." in out
    assert "'followUps'" in out


def test_examples_name_no_credentials() -> None:
    for script in EXAMPLES.glob("*.py"):
        text = script.read_text()
        assert "app_secret" not in text and "appSecret" not in text, script.name


@pytest.fixture
def phone(emu: Emulator) -> Emulator:
    emu.set_live_transcript(LIVE_SCRIPT)
    emu.configure(telephony_speed=20.0, telephony_answer_seconds=0.1)
    return emu


def test_telephony_examples(phone: Emulator, tmp_path: Path) -> None:
    out = run_example(
        phone, "telephony_pstn.py", "+14155550100", ",,123#", "me@example.com", cwd=tmp_path
    )
    assert "live: Can you send me the quote by Friday?" in out
    assert "question: Can you send me the quote by Friday?" in out
    assert phone.outbox()[0]["to"] == ["me@example.com"]
    out = run_example(phone, "telephony_sip.py", "sip:8002@sip.example.com", cwd=tmp_path)
    assert out.startswith("Connection(connectionId=")
    assert "Yes, I will send it tomorrow." in out
    phone.set_live_transcript([])
    started = symbl.Client(phone.credentials, base_url=phone.base_url).Telephony.start_pstn(
        "+14155550100"
    )
    out = run_example(phone, "telephony_stop.py", started.connectionId, cwd=tmp_path)
    assert f"conversation {started.conversationId}" in out
    assert "https://" in out


def test_streaming_wav_example(emu: Emulator, tmp_path: Path) -> None:
    emu.set_live_transcript(sample_transcript())
    out = run_example(emu, "streaming_wav.py", "--fast", cwd=tmp_path)
    assert "Natalia: Hi Mike, thanks for joining the call today." in out
    assert "-> question: What do you think about the annual plan at $69.99 per month?" in out
    assert "topics: [" in out


def test_async_many_jobs(emu: Emulator, tmp_path: Path) -> None:
    out = run_example(emu, "async_many_jobs.py", "--jobs", "6", "--concurrency", "2", cwd=tmp_path)
    lines = out.splitlines()
    assert len(lines) == 7
    assert sorted(line.split(":")[0].strip() for line in lines[:6]) == [
        f"{index} text" for index in range(1, 7)
    ]
    assert "conversation 5000000000000000: 5 messages, 1 question, 0 action items" in out
    assert lines[-1].startswith("6 jobs: 6 completed, 0 failed, at most 2 at a time, in ")
    assert len(emu.requests("/v1/process/text")) == 6
    out = run_example(
        emu,
        "async_many_jobs.py",
        str(DATA / "meeting.wav"),
        str(DATA / "meeting.wav"),
        cwd=tmp_path,
    )
    assert out.count("meeting.wav: conversation ") == 2
    assert "2 jobs: 2 completed, 0 failed" in out


def test_async_many_jobs_reports_a_failed_job(emu: Emulator, tmp_path: Path) -> None:
    emu.add_fault(path="/v1/process/text", status=400, times=1)
    result = subprocess.run(
        [PYTHON, str(EXAMPLES / "async_many_jobs.py"), "--jobs", "3", "--concurrency", "1"],
        cwd=tmp_path,
        env=subprocess_env(emu),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert " 1 text: failed: BadRequestError: " in result.stdout
    assert "3 jobs: 2 completed, 1 failed" in result.stdout


def test_async_telephony_events(phone: Emulator, tmp_path: Path) -> None:
    out = run_example(
        phone,
        "async_telephony_events.py",
        "+14155550100",
        "--email",
        "me@example.com",
        cwd=tmp_path,
    )
    assert out.startswith("calling; conversation 5000000000000000\n")
    assert "said: Can you send me the quote by Friday?" in out
    assert "  question: Can you send me the quote by Friday?" in out
    assert "said: Yes, I will send it tomorrow." in out
    assert "the call ended" in out
    assert "summary: https://" in out
    assert phone.outbox()[0]["to"] == ["me@example.com"]
    assert phone.calls()[0]["ended_by"] == "hangup"
    # Stopping early: after two events the call is ended by the script.
    phone.reset()
    phone.set_live_transcript(LIVE_SCRIPT)
    phone.configure(telephony_speed=0.5, telephony_answer_seconds=0.1)
    out = run_example(
        phone, "async_telephony_events.py", "+14155550100", "--events", "2", cwd=tmp_path
    )
    assert "stopping after 2 events" in out
    assert out.splitlines()[-1] == "2 events; conversation 5000000000000000"
    assert phone.calls()[0]["ended_by"] == "stop"


def test_async_websocket_relay(emu: Emulator, tmp_path: Path) -> None:
    emu.set_live_transcript(sample_transcript())
    out = run_example(emu, "async_websocket_relay.py", "--self-test", cwd=tmp_path)
    assert "conversation 5000000000000000" in out
    assert "Natalia: Hi Mike, thanks for joining the call today." in out
    assert "stopped; summary: https://" in out
    transcripts = [line for line in out.splitlines() if line.startswith(("Natalia:", "Mike:"))]
    assert len(transcripts) >= len(sample_transcript())
    assert out.splitlines()[-1] == f"{len(transcripts)} transcripts relayed"
    (stream,) = emu.streams()
    assert stream["state"] == "completed"
    with wave.open(str(DATA / "meeting.wav"), "rb") as recording:
        assert stream["audio_bytes"] == 2 * recording.getnframes()


def test_async_telephony_events_ctrl_c_ends_the_call(phone: Emulator, tmp_path: Path) -> None:
    phone.configure(telephony_speed=0.2)  # the call lasts 20 s
    script = EXAMPLES / "async_telephony_events.py"
    child = subprocess.Popen(
        [PYTHON, str(script), "+14155550100"],
        cwd=tmp_path,
        env=subprocess_env(phone),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().startswith("calling; conversation ")
        assert wait_until(lambda: phone.calls()[0]["subscribers"] > 0)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    assert out.strip() == "interrupted; the call was stopped"
    assert phone.calls()[0]["ended_by"] == "stop"


def test_async_websocket_relay_stops_the_stream_when_the_browser_leaves(
    emu_env: Emulator,
) -> None:
    relay = runpy.run_path(str(EXAMPLES / "async_websocket_relay.py"))

    async def scenario() -> tuple[dict, dict]:
        runner = web.AppRunner(relay["make_app"]())
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        url = f"http://{host}:{port}/listen"
        try:
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"{url}?rate=100") as browser:
                    refused = await browser.receive_json()  # a rate the service refuses
                async with session.get(f"{url}?rate=fast") as answer:
                    assert answer.status == 400
                async with session.ws_connect(url) as browser:
                    started = await browser.receive_json()
                    await browser.send_bytes(bytes(16000))  # half a second of silence
                # The browser has gone without a word: the relay stops the stream.
                for _ in range(100):
                    if emu_env.streams()[0]["state"] == "completed":
                        break
                    await asyncio.sleep(0.05)
        finally:
            await runner.cleanup()
        return refused, started

    refused, started = asyncio.run(scenario())
    assert refused["type"] == "error" and "sampleRateHertz" in refused["message"]
    assert started == {"type": "started", "conversationId": "5000000000000000"}
    (stream,) = emu_env.streams()
    assert stream["state"] == "completed"
    assert stream["audio_bytes"] == 16000
    assert len(stream["stop_requests"]) == 1
