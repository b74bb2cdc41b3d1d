"""Every example script runs against the emulator and prints what it promises."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import symbl
from symbl.emulator import Emulator

from helpers import (
    LIVE_SCRIPT,
    MEETING,
    PYTHON,
    TRANSCRIPT,
    make_mp4,
    sample_transcript,
    subprocess_env,
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
