"""Long sessions in flat memory: WAV files stream from disk block by block (the block resampler
gives what resampling the whole file gives), an hour of audio stays within 20 MB of the sending
process's baseline, and the backlog of events kept for a late subscriber is bounded and reports
what it drops."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import subprocess
import sys
import textwrap
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import symbl
from symbl._live import events as live_events
from symbl._live.audio import Resampler, WavFile, read_wav, resample, to_linear16
from symbl._live.events import EventDispatcher
from symbl.emulator import Emulator

from helpers import DATA, PYTHON, sample_transcript, wait_until

HOUR = 3600
#: What streaming an hour of audio may add to the sending process's peak memory.
FLAT_MEMORY_BYTES = 20 << 20
#: A sweep from 100 to 300 Hz over the hour: every moment has its own frequency and phase, so
#: a lost, repeated or shifted block anywhere in the hour shows in the samples.
SWEEP_FROM, SWEEP_TO, AMPLITUDE = 100.0, 300.0, 8000.0

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="measures memory with fork and ru_maxrss in KiB"
)


def sweep(times: np.ndarray, seconds: float = HOUR) -> np.ndarray:
    """The sweep's value (in int16 units) at ``times`` seconds."""
    rate_of_change = (SWEEP_TO - SWEEP_FROM) / seconds
    phase = times * (SWEEP_FROM + rate_of_change / 2 * times)
    phase *= 2 * np.pi
    return np.sin(phase, out=phase) * AMPLITUDE


def write_long_wav(path: Path, rate: int, channels: int, seconds: int = HOUR) -> str:
    """Write the sweep as a 16-bit WAV, ten seconds at a time (the test stays flat too).

    Stereo files carry the sweep plus a 1 kHz tone on the left and minus it on the right, so
    only a true mix-down gives the sweep back. Returns the SHA-256 of the mono data (for a mono
    file: what must reach the service byte for byte).
    """
    digest = hashlib.sha256()
    block = rate * 10
    # Ten seconds hold a whole number of the tone's periods: every block has the same tone.
    tone = 2000.0 * np.sin(2 * np.pi * 1000.0 * np.arange(block) / rate)
    frames = np.empty((block, channels), "<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        for start in range(0, rate * seconds, block):
            count = min(block, rate * seconds - start)
            base = sweep(np.arange(start, start + count) / rate, seconds)
            if channels == 1:
                frames[:count, 0] = np.rint(base)
                digest.update(frames[:count].tobytes())
            else:
                frames[:count, 0] = np.rint(base + tone[:count])
                frames[:count, 1] = np.rint(base - tone[:count])
            writer.writeframes(frames[:count].tobytes())
    return digest.hexdigest()


def signal_frames(seconds: float, rate: int, channels: int) -> np.ndarray:
    """A few seconds of a chirp with noise, different on each channel, as int16 frames."""
    rng = np.random.default_rng(rate * 10 + channels)
    times = np.arange(int(seconds * rate)) / rate
    chirp = 0.5 * np.sin(2 * np.pi * (200 * times + 900 * times * times / seconds))
    columns = [chirp + rng.normal(0, 0.05, len(times)) * (1 + index) for index in range(channels)]
    return np.round(np.clip(np.stack(columns, axis=1), -1, 1) * 32767).astype("<i2")


def write_wav(path: Path, frames: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(frames.shape[1])
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(frames.tobytes())
    return path


def whole_file_reference(frames: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    """The whole file at once: every sample as float, the channels' mean, one resample."""
    samples = (frames.astype(np.float32) / 32768.0).mean(axis=1)
    if rate != to_rate:
        samples = resample(samples, rate, to_rate)
    return np.frombuffer(to_linear16(samples), "<i2")


# -- block resampling equals whole-file resampling ---------------------------------------------


@pytest.mark.parametrize(
    ("rate", "channels"),
    [(44100, 2), (8000, 1), (48000, 1), (48000, 2), (22050, 1), (16000, 2)],
    ids=["44k1-stereo", "8k-mono", "48k-mono", "48k-stereo", "22k05-mono", "16k-stereo"],
)
@pytest.mark.parametrize("block_seconds", [0.013, 0.1, 0.5, 1.0])
def test_block_resampling_equals_resampling_the_whole_file(
    tmp_path: Path, rate: int, channels: int, block_seconds: float
) -> None:
    frames = signal_frames(7.37, rate, channels)
    path = write_wav(tmp_path / "signal.wav", frames, rate)
    expected = whole_file_reference(frames, rate, 16000)
    with WavFile(path, 16000, block_seconds=block_seconds) as wav:
        blocks = list(wav.blocks())
    assert len(blocks) > 1
    received = np.frombuffer(b"".join(blocks), "<i2")
    assert len(received) == len(expected) == round(len(frames) * 16000 / rate)
    # Within one step of int16 anywhere: no click at a block boundary, no drift along the file.
    assert np.abs(received.astype(int) - expected.astype(int)).max() <= 1
    assert read_wav(path, 16000) == received.tobytes()


@pytest.mark.parametrize(
    ("from_rate", "to_rate"),
    [(44100, 16000), (8000, 16000), (48000, 16000), (44100, 8000), (11025, 48000), (16001, 16000)],
)
def test_the_resampler_gives_exactly_what_resample_gives_for_any_blocks(
    from_rate: int, to_rate: int
) -> None:
    rng = np.random.default_rng(from_rate + to_rate)
    for length in (1, 2, 3, 7, 1000, 44101):
        samples = rng.uniform(-1, 1, length).astype(np.float32)
        expected = resample(samples, from_rate, to_rate)
        for largest in (1, 3, 500, 5000) if length < 5000 else (500, 5000):  # down to 1 sample
            resampler = Resampler(from_rate, to_rate)
            parts, start = [], 0
            while start < length:
                size = int(rng.integers(1, largest + 1))
                parts.append(resampler.push(samples[start : start + size]))
                start += size
            parts.append(resampler.flush())
            assert np.array_equal(np.concatenate(parts), expected), (length, largest)


def test_an_empty_wav_gives_no_audio_at_any_rate(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "empty.wav", np.zeros((0, 2), "<i2"), 44100)
    assert read_wav(path, 16000) == b""
    with WavFile(path, 16000) as wav:
        assert list(wav.frames()) == []


def test_a_file_cut_mid_frame_gives_its_whole_frames(tmp_path: Path) -> None:
    frames = signal_frames(1.0, 44100, 2)
    path = write_wav(tmp_path / "cut.wav", frames, 44100)
    path.write_bytes(path.read_bytes()[:-3])  # the last frame loses 3 of its 4 bytes
    expected = whole_file_reference(frames[:-1], 44100, 16000)
    assert read_wav(path, 16000) == expected.tobytes()


def test_frames_are_cut_as_from_the_whole_audio(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "signal.wav", signal_frames(3.3, 44100, 2), 44100)
    whole = read_wav(path, 16000)
    for limit in (8192, 3200, 1000, 7):
        with WavFile(path, 16000, block_seconds=0.07) as wav:
            cut = list(wav.frames(limit))
        step = limit - limit % 2
        assert [len(frame) for frame in cut] == [
            len(whole[start : start + step]) for start in range(0, len(whole), step)
        ]
        assert b"".join(cut) == whole


# -- send_audio_from_file over a real socket ---------------------------------------------------


@pytest.fixture
def connections() -> Iterator[list[symbl.StreamingConnection]]:
    opened: list[symbl.StreamingConnection] = []
    yield opened
    for connection in opened:
        connection.stop(timeout=2)


def test_a_resampled_file_reaches_the_emulator_byte_for_byte_in_full_frames(
    emu_env: Emulator, connections: list[symbl.StreamingConnection], tmp_path: Path
) -> None:
    path = write_wav(tmp_path / "stereo.wav", signal_frames(4.1, 44100, 2), 44100)
    expected = read_wav(path, 16000)
    connection = symbl.Streaming.start_connection()
    connections.append(connection)
    connection.send_audio_from_file(path, realtime=False)
    connection.stop()
    assert emu_env.stream_audio(connection.connectionId) == expected
    (stream,) = emu_env.streams()
    assert stream["largest_frame"] == 8192
    assert stream["audio_frames"] == math.ceil(len(expected) / 8192)


def test_paced_file_audio_goes_in_100_ms_frames_at_the_chosen_speed(
    emu_env: Emulator, connections: list[symbl.StreamingConnection], tmp_path: Path
) -> None:
    path = write_wav(tmp_path / "mono8k.wav", signal_frames(2.0, 8000, 1), 8000)
    expected = read_wav(path, 16000)
    connection = symbl.Streaming.start_connection()
    connections.append(connection)
    started = time.monotonic()
    connection.send_audio_from_file(path, speed=4.0)
    elapsed = time.monotonic() - started
    connection.stop()
    assert 0.45 <= elapsed < 2.0  # 2 s of audio at four times real time
    assert emu_env.stream_audio(connection.connectionId) == expected
    (stream,) = emu_env.streams()
    assert stream["largest_frame"] == 3200
    assert stream["audio_frames"] == math.ceil(len(expected) / 3200)


def test_bad_files_are_refused_before_anything_is_sent(
    emu_env: Emulator, connections: list[symbl.StreamingConnection], tmp_path: Path
) -> None:
    not_wav = tmp_path / "notes.wav"
    not_wav.write_text("not audio")
    high_bits = tmp_path / "24bit.wav"
    with wave.open(str(high_bits), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(3)
        writer.setframerate(16000)
        writer.writeframes(bytes(30))
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    connection = symbl.Streaming.start_connection()
    connections.append(connection)
    for path, match in [
        (tmp_path / "missing.wav", "does not exist"),
        (folder, "is a directory"),
        (not_wav, "not a PCM WAV"),
        (high_bits, "24-bit"),
    ]:
        with pytest.raises(symbl.InvalidArgumentError, match=match) as caught:
            connection.send_audio_from_file(path, realtime=False)
        assert not isinstance(caught.value, OSError)
        with pytest.raises(symbl.InvalidArgumentError, match=match):
            read_wav(path, 16000)
    assert connection.state == "open"
    (stream,) = emu_env.streams()
    assert stream["audio_frames"] == 0


# -- an hour of audio in flat memory, in a process of its own ----------------------------------

STREAM_A_FILE = textwrap.dedent(
    """
    import json, os, resource, sys, time, traceback

    import numpy  # the file's conversion uses it: part of the baseline, like symbl itself

    import symbl

    # Linux carries the parent's peak into ru_maxrss across exec, so the measuring is done in a
    # fork of this process, whose ru_maxrss starts from what this process holds now.
    child = os.fork()
    if child:
        _, status = os.waitpid(child, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
    try:
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        connection = symbl.Streaming.start_connection(handle_signals=False)
        started = time.monotonic()
        connection.send_audio_from_file(sys.argv[1], realtime=False)
        seconds = time.monotonic() - started
        connection.stop()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({
            "connection_id": connection.connectionId,
            "state": connection.state,
            "baseline_kib": baseline,
            "peak_kib": peak,
            "seconds": seconds,
        }), flush=True)
        code = 0
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        code = 1
    os._exit(code)
    """
)


def check_the_sweep(audio: bytes, seconds: int = HOUR) -> None:
    """The received 16 kHz audio is the mixed-down sweep, from the first sample to the last."""
    samples = np.frombuffer(audio, "<i2")
    assert len(samples) == 16000 * seconds
    step = 16000 * 60
    worst = 0.0
    for start in range(0, len(samples), step):
        part = samples[start : start + step].astype(np.float64)
        expected = sweep(np.arange(start, start + len(part)) / 16000, seconds)
        worst = max(worst, float(np.abs(part - expected).max()))
    # Interpolating a 300 Hz sweep sampled at 44.1 kHz, and rounding twice: a few steps at most.
    # One sample lost or repeated anywhere would be hundreds of steps off from there on.
    assert worst <= 4, worst


@pytest.mark.parametrize(
    ("rate", "channels"), [(16000, 1), (44100, 2)], ids=["16k-mono", "44k1-stereo"]
)
def test_an_hour_of_audio_streams_from_a_file_in_flat_memory(
    emu: Emulator, tmp_path: Path, rate: int, channels: int
) -> None:
    path = tmp_path / "hour.wav"
    mono_digest = write_long_wav(path, rate, channels)
    try:
        result = subprocess.run(
            [PYTHON, "-c", STREAM_A_FILE, str(path)],
            env={**os.environ, **emu.environ(), "PYTHONUNBUFFERED": "1"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        path.unlink()
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    assert report["state"] == "closed"
    growth = (report["peak_kib"] - report["baseline_kib"]) * 1024
    assert growth <= FLAT_MEMORY_BYTES, f"peak memory grew by {growth / 2**20:.1f} MiB"
    (stream,) = emu.streams()
    assert stream["connectionId"] == report["connection_id"]
    assert stream["audio_bytes"] == HOUR * 16000 * 2
    assert stream["largest_frame"] == 8192
    assert stream["audio_frames"] == math.ceil(HOUR * 16000 * 2 / 8192)
    assert stream["oversize_frames"] == stream["audio_before_start"] == 0
    audio = emu.stream_audio(report["connection_id"])
    emu.reset()  # the emulator's copy of the hour is not needed any longer
    if rate == 16000 and channels == 1:
        assert hashlib.sha256(audio).hexdigest() == mono_digest
    else:
        check_the_sweep(audio)


# -- the backlog of events for a late subscriber -----------------------------------------------


def test_a_full_backlog_keeps_the_latest_in_order_and_reports_the_drop_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(live_events, "BACKLOG_LIMIT", 5)
    dispatcher = EventDispatcher(("message",), "streaming connection")
    with caplog.at_level(logging.WARNING, logger="symbl"):
        for number in range(12):
            dispatcher.deliver("message", {"number": number})
    warnings = [record for record in caplog.records if "dropping the oldest" in record.message]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "subscribe earlier" in warnings[0].message
    seen: list[Any] = []
    errors: list[BaseException] = []
    assert dispatcher.subscribe({"message": seen.append, "error": errors.append})
    dispatcher.replay()
    dispatcher.deliver("message", {"number": 12})
    assert [event["number"] for event in seen] == [7, 8, 9, 10, 11, 12]
    (error,) = errors
    assert isinstance(error, symbl.StreamingError)
    assert "7 events" in str(error)
    assert "at most 5 are kept" in str(error)
    assert "Subscribe earlier" in str(error)
    dispatcher.replay()  # nothing more to replay, nothing more to report
    assert len(errors) == 1


def test_a_full_backlog_with_nobody_on_error_is_logged_as_an_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(live_events, "BACKLOG_LIMIT", 2)
    dispatcher = EventDispatcher(("message",), "telephony connection")
    for number in range(3):
        dispatcher.deliver("message", {"number": number})
    seen: list[Any] = []
    dispatcher.subscribe({"message": seen.append})
    with caplog.at_level(logging.ERROR, logger="symbl"):
        dispatcher.replay()
    assert [event["number"] for event in seen] == [1, 2]
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "1 event of this telephony connection" in record.message
    assert "was dropped" in record.message


def test_a_late_subscriber_on_a_live_stream_hears_of_the_dropped_events_first(
    emu_env: Emulator,
    connections: list[symbl.StreamingConnection],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(live_events, "BACKLOG_LIMIT", 4)
    emu_env.set_live_transcript(sample_transcript())
    connection = symbl.Streaming.start_connection()
    connections.append(connection)
    with caplog.at_level(logging.WARNING, logger="symbl"):
        connection.send_audio_from_file(DATA / "meeting.wav", realtime=False)
        assert wait_until(lambda: "dropping the oldest" in caplog.text, timeout=10)
    received: list[Any] = []
    names = ("message", "message_response", "insight_response", "topic_response", "error")
    connection.subscribe(dict.fromkeys(names, received.append))
    connection.stop()
    errors = [item for item in received if isinstance(item, BaseException)]
    assert len(errors) == 1
    assert received[0] is errors[0], "the drop is reported before the kept events"
    assert isinstance(errors[0], symbl.StreamingError)
    assert "arrived before the first subscribe" in str(errors[0])
    lifecycle = [item["message"]["type"] for item in received[1:] if item["type"] == "message"]
    assert "conversation_created" not in lifecycle  # among the oldest: dropped
    assert lifecycle[-1] == "conversation_completed"
    assert caplog.text.count("dropping the oldest") == 1
