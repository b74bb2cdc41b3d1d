"""The ``symbl`` command, run as users run it: the installed console script, in a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from symbl.emulator import Emulator

from helpers import (
    DATA,
    LIVE_SCRIPT,
    MEETING,
    make_wav,
    sample_transcript,
    subprocess_env,
    wait_until,
)

pytest_plugins = ("virtual_audio",)

SYMBL = shutil.which("symbl", path=str(Path(sys.executable).parent)) or "symbl"


def symbl(
    emu: Emulator | None,
    *args: str,
    stdin: str | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    environment = env or (subprocess_env(emu) if emu else _clean_env())
    return subprocess.run(
        [SYMBL, *args],
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SYMBL_")}
    env.update(extra)
    return env


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_demo_runs_offline_from_an_empty_home(tmp_path: Path) -> None:
    env = _clean_env(HOME=str(tmp_path))
    started = time.monotonic()
    result = subprocess.run(
        [SYMBL, "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 45
    out = result.stdout
    for section in (
        "== Transcript of the recording",
        "== Questions",
        "== Action items",
        "== Follow-ups",
        "== Topics",
        "== Analytics of the recording",
        "3. Streaming the recording live",
    ):
        assert section in out
    assert "Natalia  Hi Mike, thanks for joining the call today." in out
    assert "Natalia: Hi Mike, thanks for joining the call today." in out  # streamed, live
    assert "[question] What do you think about the annual plan at $69.99 per month?" in out
    assert "total_talk_time" in out


def test_process_a_file_json(emu: Emulator, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "call.wav")
    (result,) = as_json(
        symbl(
            emu,
            "process",
            str(wav),
            "--param",
            "detectEntities=true",
            "--param",
            "name=Team sync",
            "--param",
            "colour=red",  # not an option the SDK knows: sent as given
            "--json",
        )
    )
    assert result["status"] == "completed"
    assert result["source"] == str(wav)
    (upload,) = emu.requests("/v1/process/audio")
    assert upload.query_string == "colour=red&detectEntities=true&name=Team%20sync"


def test_process_a_folder_concurrently_and_report_failures(emu: Emulator, tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    for name in ("a.wav", "b.wav", "c.wav"):
        make_wav(folder / name)
    (folder / "notes.txt").write_text("not media")
    (folder / "broken.mp3").write_bytes(b"%PDF" * 100)
    result = symbl(emu, "process", str(folder), "--workers", "2", "--json")
    assert result.returncode == 1, result.stderr
    rows = {Path(row["source"]).name: row for row in json.loads(result.stdout)}
    assert set(rows) == {"a.wav", "b.wav", "c.wav", "broken.mp3"}
    assert all(rows[name]["status"] == "completed" for name in ("a.wav", "b.wav", "c.wav"))
    assert "failed" in rows["broken.mp3"]["error"]


def test_process_a_url_without_waiting(emu: Emulator) -> None:
    emu.register_media(LIVE_SCRIPT, url="https://media.example.com/call.mp4")
    (row,) = as_json(
        symbl(emu, "process", "https://media.example.com/call.mp4", "--no-wait", "--json")
    )
    assert row["conversationId"] and row["jobId"]
    assert emu.requests("/v1/process/video/url")[0].json == {
        "url": "https://media.example.com/call.mp4"
    }


def test_process_prints_a_table(emu: Emulator, tmp_path: Path) -> None:
    result = symbl(emu, "process", str(make_wav(tmp_path / "call.wav")))
    assert result.returncode == 0, result.stderr
    header, _rule, row = result.stdout.splitlines()
    assert header.split() == ["source", "status", "conversation"]
    assert row.split()[1] == "completed"
    assert result.stderr == "", "no progress output when stderr is not a terminal"


def test_text_from_a_file_and_from_stdin(emu: Emulator, tmp_path: Path) -> None:
    payload = tmp_path / "meeting.json"
    payload.write_text(json.dumps(MEETING))
    (row,) = as_json(symbl(emu, "text", str(payload), "--json"))
    assert row["status"] == "completed"
    (row,) = as_json(symbl(emu, "text", "-", "--json", stdin=json.dumps(MEETING["messages"])))
    assert row["status"] == "completed"
    assert emu.requests("/v1/process/text")[1].json == {"messages": MEETING["messages"]}


@pytest.mark.parametrize(
    ("view", "key"),
    [
        ("messages", "messages"),
        ("topics", "topics"),
        ("questions", "questions"),
        ("action-items", "actionItems"),
        ("follow-ups", "followUps"),
        ("members", "members"),
        ("entities", "entities"),
        ("analytics", "metrics"),
        ("transcript", "messages"),
    ],
)
def test_conversation_views_as_json(emu: Emulator, view: str, key: str) -> None:
    cid = emu.add_conversation(MEETING["messages"])
    answer = as_json(symbl(emu, "conversation", cid, view, "--json"))
    assert key in answer


def test_conversation_tables_and_transcript(emu: Emulator) -> None:
    cid = emu.add_conversation(MEETING["messages"])
    messages = symbl(emu, "conversation", cid, "messages")
    assert messages.returncode == 0, messages.stderr
    assert "Natalia  Hi Mike, thanks for joining the call today." in messages.stdout
    transcript = symbl(emu, "conversation", cid, "transcript", "--format", "srt")
    assert transcript.stdout.startswith("1\n00:00:00,000 --> ")
    assert isinstance(as_json(symbl(emu, "conversation", cid, "trackers", "--json")), list)


EXPORTS = Path(__file__).parent / "data" / "exports"
#: A short call (tests/data/exports/call.json) and its transcripts, written by hand.
CALL = json.loads((EXPORTS / "call.json").read_text(encoding="utf-8"))["messages"]


def test_transcript_shows_who_said_what_and_export_writes_files(
    emu: Emulator, tmp_path: Path
) -> None:
    cid = emu.add_conversation(CALL)
    transcript = symbl(emu, "conversation", cid, "transcript")
    assert transcript.returncode == 0, transcript.stderr
    assert transcript.stdout == (EXPORTS / "call.txt").read_text(encoding="utf-8")
    target = tmp_path / "call.vtt"
    exported = symbl(emu, "conversation", cid, "export", "--format", "vtt", "--output", str(target))
    assert (exported.returncode, exported.stdout, exported.stderr) == (0, "", "")
    assert target.read_text(encoding="utf-8") == (EXPORTS / "call.vtt").read_text(encoding="utf-8")
    reads = emu.requests(f"/v1/conversations/{cid}/messages")
    assert [(read.method, read.query) for read in reads] == [("GET", [])] * 2


def test_analytics_draws_talk_time_bars_within_80_columns(emu: Emulator) -> None:
    speaker = {"name": "Annabel Featherstonehaugh-Cholmondeley of Accounts"}
    cid = emu.add_conversation([{**CALL[0], "from": speaker}, CALL[1]])
    for encoding, bar, label in (
        ("utf-8", "█", "Annabel Featherston…"),
        ("ascii", "#", "Annabel Featherst..."),
    ):
        env = subprocess_env(emu, PYTHONIOENCODING=encoding, COLUMNS="200")
        result = symbl(emu, "conversation", cid, "analytics", env=env)
        assert result.returncode == 0, result.stderr
        title, annabel, bob = result.stdout.split("\n\n")[0].splitlines()
        assert title == "talk time"
        assert annabel.startswith(f"{label}  {bar}") and bob.startswith("Bob ")
        assert len(annabel) == 80 and len(bob) <= 80
        # Annabel spoke 2.5 s, Bob 1.25 s: half the bar (within one character).
        assert abs(bob.count(bar) - annabel.count(bar) / 2) <= 1
        assert annabel.endswith("2.5 s  67%") and bob.endswith("1.2 s  33%")
        assert bar == "█" or result.stdout.isascii()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export"], "symbl: error: export needs --format: one of srt, vtt, txt, markdown, jsonl"),
        (
            ["export", "--format", "srt", "--output", "missing/call.srt"],
            "symbl: error: --output 'missing/call.srt' is in a folder that does not exist",
        ),
        (["messages", "--format", "srt"], "--format and --output go with transcript and export"),
        (["export", "--format", "pdf"], "argument --format: invalid choice: 'pdf'"),
    ],
)
def test_export_arguments_are_checked_before_reading(
    emu: Emulator, args: list[str], message: str
) -> None:
    result = symbl(emu, "conversation", "5000", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert emu.requests("/v1/conversations") == []


def test_stream_a_file(emu: Emulator) -> None:
    emu.set_live_transcript(sample_transcript())
    result = symbl(emu, "stream", "--file", str(DATA / "meeting.wav"), "--fast")
    assert result.returncode == 0, result.stderr
    assert "Natalia: Hi Mike, thanks for joining the call today." in result.stdout
    assert (
        "  [question] What do you think about the annual plan at $69.99 per month?" in result.stdout
    )
    events = [
        json.loads(line)
        for line in symbl(
            emu, "stream", "--file", str(DATA / "meeting.wav"), "--fast", "--json"
        ).stdout.splitlines()
    ]
    assert {event["type"] for event in events} >= {"message", "message_response"}


def test_ctrl_c_while_streaming_a_file_stops_cleanly(emu: Emulator) -> None:
    emu.set_live_transcript(sample_transcript())
    process = subprocess.Popen(
        [SYMBL, "stream", "--file", str(DATA / "meeting.wav")],
        env=subprocess_env(emu),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_until(
            lambda: emu.streams() and emu.streams()[0]["audio_bytes"] > 32000, timeout=20
        )
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        process.kill()
    assert process.returncode == 130
    assert elapsed < 2.0
    assert err.strip().splitlines()[-1] == "symbl: interrupted"
    assert len(emu.streams()[0]["stop_requests"]) == 1


def test_call_prints_events_until_the_call_ends(emu: Emulator) -> None:
    emu.set_live_transcript(LIVE_SCRIPT)
    emu.configure(telephony_speed=20.0, telephony_answer_seconds=0.1)
    result = symbl(
        emu, "call", "pstn", "+14155550100", "--dtmf", ",,123#", "--email", "me@example.com"
    )
    assert result.returncode == 0, result.stderr
    assert "Can you send me the quote by Friday?" in result.stdout
    assert "[question]" in result.stdout
    assert emu.outbox()[0]["to"] == ["me@example.com"]
    events = [
        json.loads(line)
        for line in symbl(
            emu, "call", "sip", "sip:8002@sip.example.com", "--json"
        ).stdout.splitlines()
    ]
    assert events[-1]["message"]["type"] == "conversation_completed"


def test_devices_lists_the_virtual_microphone(emu: Emulator, alsa_file_mic) -> None:
    mic = alsa_file_mic(make_wav_samples())
    devices = as_json(symbl(emu, "devices", "--json", env={**mic.env, **emu.environ()}))
    assert any(device["name"] == mic.device and device["channels"] >= 1 for device in devices)


def make_wav_samples() -> Any:
    import numpy as np

    return (np.sin(np.arange(8000) / 5.0) * 3000).astype(np.int16)


def test_emulator_subcommand_serves(tmp_path: Path) -> None:
    import socket

    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [SYMBL, "emulator", "--port", str(port), "--app-id", "a", "--app-secret", "b"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert f"http://127.0.0.1:{port}" in process.stdout.readline()
        answer = requests.post(
            f"http://127.0.0.1:{port}/oauth2/token:generate",
            json={"type": "application", "appId": "a", "appSecret": "b"},
            timeout=5,
        )
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["process"], "symbl process: error: the following arguments are required"),
        (["conversation", "1", "colours"], "invalid choice: 'colours'"),
        (["process", "x.wav", "--param", "novalue"], "symbl: error: --param takes key=value"),
        (["process", "--workers", "0", "x.wav"], "must be at least 1"),
        (["stream"], "one of the arguments --mic --file is required"),
        (["stream", "--mic", "--device", " "], "argument --device: give an input device's index"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(emu: Emulator, args: list[str], message: str) -> None:
    result = symbl(emu, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_errors_are_one_line_and_have_meaningful_exit_codes(emu: Emulator, tmp_path: Path) -> None:
    missing = symbl(None, "conversation", "1", "messages", env=_clean_env(HOME=str(tmp_path)))
    assert missing.returncode == 3
    assert missing.stderr.startswith("symbl: error: No Symbl credentials found.")
    assert len(missing.stderr.strip().splitlines()) == 1
    unknown = symbl(emu, "conversation", "404", "messages")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("symbl: error: 404 The conversationId is either invalid")
    debug = symbl(emu, "conversation", "404", "messages", "--debug")
    assert "Traceback (most recent call last)" in debug.stderr
    assert "symbl.errors.NotFoundError" in debug.stderr


def test_progress_is_shown_on_a_terminal(emu: Emulator, tmp_path: Path) -> None:
    import pty

    emu.configure(job_queue_seconds=0.2, job_processing_seconds=0.6)
    wav = make_wav(tmp_path / "call.wav", seconds=20.0)
    reader, writer = pty.openpty()  # stderr is a terminal: progress goes there
    try:
        result = subprocess.run(
            [SYMBL, "process", str(wav)],
            env=subprocess_env(emu),
            stdout=subprocess.PIPE,
            stderr=writer,
            text=True,
            timeout=60,
        )
        os.close(writer)
        chunks = []
        while True:
            try:
                chunk = os.read(reader, 65536)
            except OSError:  # the terminal is closed once everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(reader)
    progress = b"".join(chunks).decode()
    assert result.returncode == 0
    assert "[....................] 0/1 done, 1 running (at most 50)" in progress
    assert "[####################] 1/1 done, 0 running" in progress
    assert result.stdout.splitlines()[-1].split()[1] == "completed"


# -- inputs are checked before anything opens, and errors speak of the command's options ---------

#: An ALSA configuration with no sound card: PortAudio finds no input device.
NO_SOUND_CARD = "pcm.!default { type hw card 99 }\nctl.!default { type hw card 99 }\n"


def no_microphone_env(emu: Emulator, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "asound.conf"
    config.write_text(NO_SOUND_CARD)
    env = {key: value for key, value in subprocess_env(emu).items() if not key.startswith("PULSE_")}
    return {**env, "ALSA_CONFIG_PATH": str(config)}


def assert_refused(emu: Emulator, result: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit 2 with one line naming the problem, and nothing was sent to the service."""
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"symbl: error: {message}\n"
    assert result.stdout == ""
    assert emu.requests() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stream", "--file", "missing.wav"], "missing.wav does not exist"),
        (["text", "missing.json"], "missing.json does not exist"),
        (["stream", "--file", "DATA"], "DATA is not a file"),
        (["text", "DATA"], "DATA is not a file"),
    ],
)
def test_a_missing_file_is_refused_alike_everywhere(
    emu: Emulator, args: list[str], message: str
) -> None:
    args = [arg.replace("DATA", str(DATA)) for arg in args]
    assert_refused(emu, symbl(emu, *args), message.replace("DATA", str(DATA)))


@pytest.mark.parametrize(
    "others", [[], [str(DATA / "meeting.wav")]], ids=["alone", "beside-a-file"]
)
def test_process_reports_a_missing_file_in_its_own_row(emu: Emulator, others: list[str]) -> None:
    """``symbl process`` is a batch: a missing path gets its row, with the same message as
    elsewhere, the other sources carry on, and the command exits with 1 at the end."""
    wide = subprocess_env(emu, COLUMNS="200")  # no cell wraps
    result = symbl(emu, "process", *others, "missing.wav", env=wide)
    assert (result.returncode, result.stderr) == (1, "")
    header, _rule, *rows = result.stdout.splitlines()
    assert header.split() == ["source", "status", "conversation", "error"]
    cells = [re.split(r"\s{2,}", row.strip()) for row in rows]
    missing = ["missing.wav", "error", "-", "missing.wav does not exist"]
    assert [row for row in cells if row[0] == "missing.wav"] == [missing]
    carried_on = [row[1:] for row in cells if row[0] != "missing.wav"]
    assert carried_on == [["completed", "5000000000000000", "-"]] * len(others)
    assert len(emu.requests("/v1/process/audio")) == len(others)


def test_stream_refuses_a_file_that_is_not_wav_before_connecting(
    emu: Emulator, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio")
    result = symbl(emu, "stream", "--file", str(notes))
    assert_refused(emu, result, f"{notes} is not a PCM WAV file: file does not start with RIFF id")


@pytest.mark.parametrize(
    ("device", "which"),
    [(None, "the default input device"), ("3", "input device 3")],
    ids=["default", "index"],
)
def test_stream_mic_without_a_microphone_is_refused_before_connecting(
    emu: Emulator, tmp_path: Path, device: str | None, which: str
) -> None:
    args = ["stream", "--mic"] + (["--device", device] if device else [])
    result = symbl(emu, *args, env=no_microphone_env(emu, tmp_path))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"symbl: error: cannot record from {which} (")
    assert line.endswith("there is no microphone. Connect one, or stream a file with --file x.wav")
    assert emu.requests() == []


def test_an_unknown_device_is_named_as_the_option(emu: Emulator, alsa_file_mic) -> None:
    mic = alsa_file_mic(make_wav_samples())
    result = symbl(
        emu, "stream", "--mic", "--device", "no such mic", env={**mic.env, **emu.environ()}
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("symbl: error: cannot record from input device 'no such mic' (")
    assert mic.device in line
    assert line.endswith("Choose one with --device N (see: symbl devices)")
    assert "device=" not in line
    assert emu.requests() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["stream", "--file", "x.wav", "--insights", "question,bogus"],
            "symbl stream: error: argument --insights: unknown insight type bogus; choose from "
            "question, action_item, follow_up, topic (see symbl stream --help)",
        ),
        (
            ["stream", "--file", "x.wav", "--device", "1"],
            "symbl: error: --device goes with --mic, not with --file",
        ),
        (
            ["process", "x.wav", "--param", "fooBar=1", "--param", "confidenceThreshold=7"],
            "symbl: error: --param confidenceThreshold must be a number from 0.5 to 1.0, not 7",
        ),
        (
            ["text", "-", "--param", "detectEntities=maybe"],
            "symbl: error: --param detectEntities must be True or False, not 'maybe'",
        ),
        (["call", "pstn", "123"], "symbl: error: the number '123' is not a phone number;"),
        (
            ["call", "pstn", "+14155550100", "--dtmf", "12x"],
            "symbl: error: --dtmf '12x' may only hold",
        ),
        (
            ["process", "ftp://media.example.com/Call.WAV"],
            "symbl: error: ftp://media.example.com/Call.WAV: the service downloads only "
            "http:// and https:// URLs, not ftp://",
        ),
    ],
    ids=["insights", "device", "param", "param-value", "number", "dtmf", "ftp"],
)
def test_errors_name_the_options_of_the_command(
    emu: Emulator, tmp_path: Path, args: list[str], message: str
) -> None:
    make_wav(tmp_path / "x.wav")
    result = subprocess.run(
        [SYMBL, *args],
        cwd=tmp_path,
        env=subprocess_env(emu),
        input=json.dumps(MEETING),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert emu.requests("/v1/") == []


NOTHING_HEARD = "symbl: warning: nothing was recognised"


def test_stream_tells_when_the_emulator_had_nothing_to_recognise(emu: Emulator) -> None:
    emu.set_live_transcript(None)
    result = symbl(emu, "stream", "--file", str(DATA / "meeting.wav"), "--fast")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    (warning,) = [line for line in result.stderr.splitlines() if line.startswith(NOTHING_HEARD)]
    assert warning.startswith(
        f"{NOTHING_HEARD} in {DATA / 'meeting.wav'}. If "
        f"{emu.base_url} is the emulator: streams hear only its live transcript"
    )
    assert f"curl -X PUT {emu.base_url}/_emulator/live-transcript -H 'X-Emulator" in warning
    assert "-H 'Content-Type: application/json' -d '" in warning
    assert "docs/emulator.md" in warning
    heard = symbl(emu, "stream", "--file", str(DATA / "meeting.wav"), "--fast", "--json")
    assert NOTHING_HEARD in heard.stderr  # also with --json, on stderr
    emu.set_live_transcript(sample_transcript())
    heard = symbl(emu, "stream", "--file", str(DATA / "meeting.wav"), "--fast")
    assert heard.returncode == 0, heard.stderr
    assert NOTHING_HEARD not in heard.stderr


def test_process_no_wait_does_not_wait_for_the_job(emu: Emulator, tmp_path: Path) -> None:
    emu.configure(job_queue_seconds=60.0)
    started = time.monotonic()
    (row,) = as_json(
        symbl(emu, "process", str(make_wav(tmp_path / "call.wav")), "--no-wait", "--json")
    )
    assert time.monotonic() - started < 10
    assert row["status"] in ("submitted", "scheduled")


@pytest.mark.parametrize("sources", [0, 1, 3], ids=["text", "file", "three-files"])
def test_ctrl_c_while_waiting_for_jobs_exits_130_at_once(
    emu: Emulator, tmp_path: Path, sources: int
) -> None:
    emu.configure(job_queue_seconds=60.0)
    files = [str(make_wav(tmp_path / f"call{index}.wav")) for index in range(sources)]
    process = subprocess.Popen(
        [SYMBL, "process", *files] if files else [SYMBL, "text", "-"],
        env=subprocess_env(emu),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdin is not None
        process.stdin.write(json.dumps(MEETING))
        process.stdin.close()
        assert wait_until(
            lambda: len({request.path for request in emu.requests("/v1/job/")}) == max(1, sources),
            timeout=20,
        )
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(10)
        elapsed = time.monotonic() - started
    finally:
        process.kill()
        process.wait(10)
    assert process.stderr is not None
    err = process.stderr.read()
    assert process.returncode == 130
    assert elapsed < 2.0
    if not files:
        assert err == "symbl: interrupted\n"
        return
    # ``process`` names the jobs it leaves running on the service, one line each.
    first, *running, last = err.splitlines()
    assert (first, last) == (
        f"symbl: {sources} job(s) still running on the service:",
        "symbl: interrupted",
    )
    named = [re.fullmatch(r"  (\S+)  conversation (\d+)  job (\S+)", line) for line in running]
    assert all(named), running
    sources_named = sorted(match.group(1) for match in named if match)
    jobs_named = sorted(match.group(2, 3) for match in named if match)
    jobs = emu.call(emu.state.jobs.all)
    assert sources_named == sorted(files)
    assert jobs_named == sorted((job.conversation_id, job.id) for job in jobs)
    assert all(job.status == "scheduled" for job in jobs)  # still running, as they said


# -- scripts/demo -------------------------------------------------------------------------------

#: Stands for a virtual environment's python: records pip commands instead of running them.
FAKE_PYTHON = """#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  echo "$*" >>"$(dirname "$0")/../pip.log"
  exit 0
fi
exec {python} "$@"
"""


def test_scripts_demo_installs_only_what_changed(tmp_path: Path) -> None:
    """A rerun with nothing changed calls no pip (so it works offline) and starts at once;
    a changed package file installs again."""
    root = Path(__file__).resolve().parent.parent
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    for name in ("demo", "lib.sh"):
        shutil.copy(root / "scripts" / name, checkout / "scripts" / name)
    (checkout / "pyproject.toml").write_text('[project]\nname = "symbl"\n')
    (checkout / "symbl").mkdir()
    source = checkout / "symbl" / "__init__.py"
    source.write_text("VERSION = 1\n")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text(FAKE_PYTHON.format(python=sys.executable))
    (venv / "bin" / "symbl").write_text('#!/bin/sh\necho "symbl $*"\n')
    for program in ("python", "symbl"):
        (venv / "bin" / program).chmod(0o755)
    pip_log = venv / "pip.log"

    def demo() -> tuple[str, float]:
        started = time.monotonic()
        result = subprocess.run(
            ["bash", str(checkout / "scripts" / "demo"), "--live"],
            env={**_clean_env(), "SYMBL_VENV": str(venv)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "symbl demo --live\n"
        return pip_log.read_text() if pip_log.exists() else "", time.monotonic() - started

    installed, _ = demo()
    assert installed.splitlines() == ["-m pip install -q --disable-pip-version-check .[emulator]"]
    assert demo()[0] == installed, "nothing changed: no pip"
    _, elapsed = demo()
    assert elapsed < 2.0
    source.write_text("VERSION = 2\n")
    assert demo()[0].count("pip install") == 2, "a package file changed: installed again"
    assert demo()[0].count("pip install") == 2
