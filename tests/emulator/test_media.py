"""The emulator's media prober and fixture writers (symbl.emulator.media), without HTTP."""

from __future__ import annotations

import io
import json
import re
import struct
import tempfile
import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest

from symbl.emulator.media import (
    MediaInfo,
    TranscriptLine,
    UndecodableMediaError,
    embed_transcript,
    encode_transcript,
    parse_transcript,
    probe,
    write_mp3,
    write_mp4,
    write_wav,
)

LINES = (
    TranscriptLine("Hello there.", 0.5, 1.9, "Ann", "ann@example.com"),
    TranscriptLine("Hi Ann, how are you?", 2.0, 3.25, "Bob"),
)
OTHER_LINES = (TranscriptLine("Something else entirely.", 0.0, 1.0),)
MP3_FRAME_SECONDS = 1152 / 44100


def probe_path(path: Path) -> MediaInfo:
    with open(path, "rb") as stream:
        return probe(stream)


def probe_bytes(data: bytes) -> MediaInfo:
    return probe(io.BytesIO(data))


def tone(rate: int, seconds: float, amplitude: float = 0.3, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * frequency * t)


def chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)


def riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def fmt_chunk(tag: int, channels: int, rate: int, bits: int, extensible: bool = False) -> bytes:
    align = channels * bits // 8
    payload = struct.pack(
        "<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * align, align, bits
    )
    if extensible:
        guid_tail = bytes.fromhex("000000001000800000aa00389b71")
        payload += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + guid_tail
    return chunk(b"fmt ", payload)


def box(fourcc: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), fourcc) + payload


def id3v23_tag(*frames: bytes, unsynchronised: bool = False) -> bytes:
    body = b"".join(frames)
    if unsynchronised:  # a 0x00 after every 0xFF, so that no false frame sync remains
        body = body.replace(b"\xff", b"\xff\x00")
    size = bytes(len(body) >> shift & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x03\x00" + (b"\x80" if unsynchronised else b"\x00") + size + body


def id3v23_frame(frame_id: bytes, data: bytes) -> bytes:
    return frame_id + struct.pack(">I", len(data)) + b"\0\0" + data


def mpeg_frames(header: bytes, length: int, count: int) -> bytes:
    return header.ljust(length, b"\0") * count


# --- transcripts --------------------------------------------------------------------------------


def test_parse_transcript_accepts_bytes_text_and_dicts() -> None:
    document = {
        "transcript": [
            {
                "speaker": {"name": "Ann", "userId": "ann@example.com"},
                "text": "Hello there.",
                "start": 0.5,
                "end": 1.9,
            },
            {"text": "No speaker here.", "start": 2, "end": 2},
        ]
    }
    expected = (LINES[0], TranscriptLine("No speaker here.", 2.0, 2.0))
    as_text = json.dumps(document)
    assert parse_transcript(document) == expected
    assert parse_transcript(as_text) == expected
    assert parse_transcript(as_text.encode()) == expected
    assert parse_transcript({"transcript": []}) == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe", "not UTF-8"),
        ("{not json", "not valid JSON"),
        ("[]", '{"transcript": [...]}'),
        ({"transcript": [], "extra": 1}, "and nothing else"),
        ({"transcript": ["hi"]}, "transcript[0] must be an object"),
        ({"transcript": [{"text": "a", "start": 0}]}, "transcript[0] lacks ['end']"),
        (
            {"transcript": [{"text": "a", "start": 0, "end": 1, "strat": 0}]},
            "unknown keys ['strat']",
        ),
        ({"transcript": [{"text": "  ", "start": 0, "end": 1}]}, "text must be a non-empty string"),
        ({"transcript": [{"text": "a", "start": 2, "end": 1}]}, "need 0 <= start <= end"),
        ({"transcript": [{"text": "a", "start": -1, "end": 1}]}, "need 0 <= start <= end"),
        ({"transcript": [{"text": "a", "start": True, "end": 1}]}, "start must be a number"),
        ({"transcript": [{"text": "a", "start": "0", "end": 1}]}, "start must be a number"),
        ({"transcript": [{"text": "a", "start": 0, "end": float("inf")}]}, "end must be finite"),
        (
            {"transcript": [{"text": "a", "start": 0, "end": 1, "speaker": "Ann"}]},
            "speaker must be an object",
        ),
        (
            {"transcript": [{"text": "a", "start": 0, "end": 1, "speaker": {"email": "x"}}]},
            "speaker must be",
        ),
        (
            {"transcript": [{"text": "a", "start": 0, "end": 1, "speaker": {"name": 3}}]},
            "speaker_name must be a string",
        ),
    ],
)
def test_parse_transcript_rejects_bad_input_clearly(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_transcript(data)  # type: ignore[arg-type]


def test_encode_transcript_round_trips_non_ascii_as_ascii_json() -> None:
    lines = (TranscriptLine("Zoë says 你好", 0.25, 1.5, "Zoë", "zoe@example.com"),)
    encoded = encode_transcript(lines)
    assert encoded.isascii()
    assert parse_transcript(encoded) == lines
    assert b'"speaker"' not in encode_transcript(OTHER_LINES)
    with pytest.raises(TypeError, match="TranscriptLine items"):
        encode_transcript("not lines")  # type: ignore[arg-type]


# --- WAV ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channels", "dtype", "rate", "with_transcript"),
    [
        (1, np.int16, 8000, True),
        (2, np.float64, 16000, True),
        (1, np.float32, 44100, False),
        (2, np.int16, 44100, False),
    ],
)
def test_wav_round_trip(
    tmp_path: Path, channels: int, dtype: type, rate: int, with_transcript: bool
) -> None:
    mono = tone(rate, 0.75)
    samples = np.stack([mono] * channels, axis=1) if channels == 2 else mono
    if dtype is np.int16:
        samples = np.round(samples * 32767).astype(np.int16)
    else:
        samples = samples.astype(dtype)
    path = tmp_path / "round.wav"
    write_wav(path, samples, rate, LINES if with_transcript else None)

    info = probe_path(path)
    assert (info.kind, info.content_type, info.sample_rate, info.channels) == (
        "wav",
        "audio/wav",
        rate,
        channels,
    )
    assert info.duration == len(mono) / rate
    assert info.transcript == (LINES if with_transcript else None)
    with wave.open(str(path)) as reader:  # a standard reader skips the symb chunk
        assert (reader.getnchannels(), reader.getframerate(), reader.getsampwidth()) == (
            channels,
            rate,
            2,
        )
        written = np.frombuffer(reader.readframes(reader.getnframes()), "<i2")
    expected = samples if dtype is np.int16 else np.round(samples * 32767).astype(np.int16)
    assert np.array_equal(written, expected.reshape(-1))


def test_wav_with_odd_chunks_list_and_8_bit_samples(tmp_path: Path) -> None:
    rate = 8000
    data = (np.round(tone(rate, 1.0) * 127) + 128).astype(
        np.uint8
    ).tobytes() + b"\x80"  # 8001 frames
    payload = encode_transcript(LINES) + b" "
    if len(payload) % 2 == 0:
        payload += b" "
    assert len(data) % 2 == 1 and len(payload) % 2 == 1
    path = tmp_path / "odd.wav"
    path.write_bytes(
        riff(
            chunk(b"LIST", b"INFOx"),
            fmt_chunk(1, 1, rate, 8),
            chunk(b"data", data),
            chunk(b"symb", payload),
        )
    )

    info = probe_path(path)
    assert info.duration == 8001 / 8000
    assert info.transcript == LINES
    assert info.speech_segments == ((0.0, 1.0),)


def pcm24(samples: np.ndarray) -> bytes:
    ints = np.round(samples * (2**23 - 1)).astype("<i4")
    return np.frombuffer(ints.tobytes(), np.uint8).reshape(-1, 4)[:, :3].tobytes()


@pytest.mark.parametrize(
    ("tag", "bits", "extensible", "encode"),
    [
        (1, 24, True, pcm24),
        (1, 32, False, lambda s: np.round(s * (2**31 - 1)).astype("<i4").tobytes()),
        (3, 32, False, lambda s: s.astype("<f4").tobytes()),
        (3, 64, True, lambda s: s.astype("<f8").tobytes()),
    ],
)
def test_wav_sample_formats_are_measured(
    tmp_path: Path, tag: int, bits: int, extensible: bool, encode
) -> None:
    rate = 48000
    left = np.concatenate([np.zeros(rate // 2), tone(rate, 1.0), np.zeros(rate // 2)])
    stereo = np.stack([left, np.zeros_like(left)], axis=1)  # speech in one channel only
    path = tmp_path / "formats.wav"
    path.write_bytes(
        riff(fmt_chunk(tag, 2, rate, bits, extensible), chunk(b"data", encode(stereo)))
    )

    info = probe_path(path)
    assert (info.duration, info.channels, info.sample_rate) == (2.0, 2, 48000)
    assert info.speech_segments == ((0.5, 1.5),)
    assert info.silence_seconds == 1.0


def test_compressed_wav_is_decodable_with_duration_but_no_speech_analysis() -> None:
    mulaw = struct.pack("<HHIIHH", 7, 1, 8000, 8000, 1, 8)
    info = probe_bytes(riff(chunk(b"fmt ", mulaw), chunk(b"data", b"\xff" * 12000)))
    assert (info.kind, info.duration, info.speech_segments, info.silence_seconds) == (
        "wav",
        1.5,
        None,
        None,
    )


def test_speech_segments_follow_tone_bursts_between_silences(tmp_path: Path) -> None:
    rate = 16000
    signal = np.random.default_rng(7).normal(0.0, 10**-3.5, rate * 6)  # noise floor near -70 dBFS
    for start, end in [(1.013, 2.487), (3.3, 3.35), (4.0, 4.5), (4.6, 5.0)]:
        first, last = round(start * rate), round(end * rate)
        signal[first:last] += tone(rate, (last - first) / rate)
    path = tmp_path / "bursts.wav"
    write_wav(path, signal, rate)

    info = probe_path(path)
    assert info.speech_segments is not None and info.silence_seconds is not None
    # The 50 ms blip is dropped; the 100 ms gap between the last two bursts is bridged.
    assert len(info.speech_segments) == 2
    for (start, end), (want_start, want_end) in zip(
        info.speech_segments, [(1.013, 2.487), (4.0, 5.0)]
    ):
        assert abs(start - want_start) <= 0.05 and abs(end - want_end) <= 0.05
    speech = sum(end - start for start, end in info.speech_segments)
    assert info.silence_seconds == pytest.approx(6.0 - speech, abs=0.001)
    assert info.silence_seconds == pytest.approx(6.0 - 1.474 - 1.0, abs=0.1)
    assert probe_path(path) == info  # deterministic


def test_silence_and_continuous_tone(tmp_path: Path) -> None:
    write_wav(tmp_path / "silent.wav", np.zeros(16000 * 2, np.int16), 16000)
    write_wav(tmp_path / "tone.wav", tone(16000, 2.0, amplitude=0.5), 16000)
    write_wav(tmp_path / "empty.wav", np.zeros(0, np.int16), 16000)

    silent, steady, empty = (
        probe_path(tmp_path / name) for name in ("silent.wav", "tone.wav", "empty.wav")
    )
    assert (silent.speech_segments, silent.silence_seconds) == ((), 2.0)
    assert (steady.speech_segments, steady.silence_seconds) == (((0.0, 2.0),), 0.0)
    assert (empty.duration, empty.speech_segments, empty.silence_seconds) == (0.0, (), 0.0)


def test_write_wav_rejects_bad_samples(tmp_path: Path) -> None:
    path = tmp_path / "bad.wav"
    with pytest.raises(ValueError, match=r"within \[-1, 1\]"):
        write_wav(path, np.array([0.5, 1.5]), 16000)
    with pytest.raises(TypeError, match="int16 or floating point"):
        write_wav(path, np.zeros(4, np.int32), 16000)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        write_wav(path, np.zeros((2, 2, 2)), 16000)
    with pytest.raises(ValueError, match="sample_rate"):
        write_wav(path, np.zeros(4), 0)
    assert not path.exists()


# --- MP3 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("transcript", [LINES, None])
def test_mp3_round_trip(tmp_path: Path, transcript: tuple[TranscriptLine, ...] | None) -> None:
    path = tmp_path / "silence.mp3"
    write_mp3(path, 3.0, transcript)

    info = probe_path(path)
    assert (info.kind, info.content_type, info.sample_rate, info.channels) == (
        "mp3",
        "audio/mpeg",
        44100,
        1,
    )
    assert info.duration == pytest.approx(3.0, abs=MP3_FRAME_SECONDS / 2)
    assert info.transcript == transcript
    assert (info.speech_segments, info.silence_seconds) == (None, None)


def test_mp3_duration_without_the_info_header_walks_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "walk.mp3"
    write_mp3(path, 2.0, LINES)
    with_info = probe_path(path)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"Info", b"\0\0\0\0", 1))

    walked = probe_path(path)
    # The Info frame is itself a (silent) frame, so walking counts one frame more.
    assert walked.duration == pytest.approx(with_info.duration + MP3_FRAME_SECONDS)
    assert walked.transcript == LINES


@pytest.mark.parametrize("unsynchronised", [False, True])
def test_mpeg2_layer3_without_id3_and_id3v23_utf16_transcript(unsynchronised: bool) -> None:
    # MPEG-2 Layer III, 64 kbps, 22.05 kHz, mono: 208-byte frames of 576 samples.
    frames = mpeg_frames(b"\xff\xf3\x80\xc0", 208, 100)
    bare = probe_bytes(frames + b"TAG" + bytes(125))  # the walk stops at the ID3v1 tag
    assert (bare.kind, bare.sample_rate, bare.transcript) == ("mp3", 22050, None)
    assert bare.duration == pytest.approx(100 * 576 / 22050)

    value = encode_transcript(LINES).decode()
    txxx = b"\x01" + "symbl-transcript".encode("utf-16") + b"\0\0" + value.encode("utf-16")
    tag = id3v23_tag(
        id3v23_frame(b"TIT2", b"\0A title"),
        id3v23_frame(b"TXXX", txxx),
        unsynchronised=unsynchronised,
    )
    assert (b"\xff\x00\xfe" in tag) == unsynchronised  # the UTF-16 byte-order marks
    tagged = probe_bytes(tag + frames)
    assert tagged.transcript == LINES
    assert tagged.duration == bare.duration


def test_vbri_header_gives_the_frame_count() -> None:
    vbri = b"VBRI" + struct.pack(">HHHII", 1, 576, 75, 10 * 417, 200)
    first = (b"\xff\xfb\x90\xc0" + bytes(32) + vbri).ljust(417, b"\0")
    info = probe_bytes(first + mpeg_frames(b"\xff\xfb\x90\xc0", 417, 9))
    assert info.duration == pytest.approx(200 * MP3_FRAME_SECONDS)  # the header, not the 10 frames


def test_id3_utf8_transcript_and_invalid_one() -> None:
    frames = mpeg_frames(b"\xff\xfb\x90\xc0", 417, 10)
    good = b"\x03symbl-transcript\0" + encode_transcript(OTHER_LINES)
    assert probe_bytes(id3v23_tag(id3v23_frame(b"TXXX", good)) + frames).transcript == OTHER_LINES
    bad = b'\x00symbl-transcript\0{"transcript": [{"text": ""}]}'
    with pytest.raises(UndecodableMediaError, match="transcript in the ID3 TXXX frame is invalid"):
        probe_bytes(id3v23_tag(id3v23_frame(b"TXXX", bad)) + frames)


# --- MP4 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("transcript", [LINES, None])
def test_mp4_round_trip(tmp_path: Path, transcript: tuple[TranscriptLine, ...] | None) -> None:
    path = tmp_path / "movie.mp4"
    write_mp4(path, 12.345, transcript)

    info = probe_path(path)
    assert (info.kind, info.content_type, info.duration) == ("mp4", "video/mp4", 12.345)
    assert info.transcript == transcript
    assert (b"udta" in path.read_bytes()) == (transcript is not None)


def test_mp4_version_1_movie_header_and_audio_brand(tmp_path: Path) -> None:
    path = tmp_path / "long.mp4"
    write_mp4(path, 5_000_000.0)  # 5e9 ms does not fit 32 bits
    data = path.read_bytes()
    assert data[data.index(b"mvhd") + 4] == 1
    assert probe_path(path).duration == 5_000_000.0

    m4a = data.replace(b"isom", b"M4A ", 1)
    assert probe_bytes(m4a).content_type == "audio/mp4"


# --- embedding ----------------------------------------------------------------------------------


def test_embed_transcript_in_wav_replaces_and_removes(tmp_path: Path) -> None:
    path = tmp_path / "embed.wav"
    write_wav(path, tone(16000, 1.0), 16000, LINES)
    before = path.read_bytes()

    embed_transcript(path, OTHER_LINES)
    assert probe_path(path).transcript == OTHER_LINES
    after = path.read_bytes()
    assert after.count(b"symb") == 1 and b"JUNK" not in after
    assert len(after) - len(before) == len(encode_transcript(OTHER_LINES)) - len(
        encode_transcript(LINES)
    )
    assert int.from_bytes(after[4:8], "little") == len(after) - 8

    embed_transcript(path, None)
    assert probe_path(path).transcript is None
    with wave.open(str(path)) as reader:
        assert reader.getnframes() == 16000


def test_embed_transcript_in_wav_whose_transcript_is_not_last(tmp_path: Path) -> None:
    samples = np.round(tone(8000, 0.5) * 32767).astype("<i2").tobytes()
    path = tmp_path / "middle.wav"
    path.write_bytes(
        riff(
            fmt_chunk(1, 1, 8000, 16),
            chunk(b"symb", encode_transcript(LINES)),
            chunk(b"data", samples),
        )
    )

    embed_transcript(path, OTHER_LINES)
    data = path.read_bytes()
    assert probe_path(path).transcript == OTHER_LINES
    assert data.count(b"JUNK") == 1 and data.count(b"symb") == 1
    with wave.open(str(path)) as reader:
        assert reader.readframes(reader.getnframes()) == samples


def test_embed_transcript_in_mp3_keeps_frames_and_audio(tmp_path: Path) -> None:
    path = tmp_path / "embed.mp3"
    write_mp3(path, 1.0, LINES)
    audio = path.read_bytes()[-20 * 417 :]
    duration = probe_path(path).duration

    embed_transcript(path, OTHER_LINES)
    info = probe_path(path)
    data = path.read_bytes()
    assert (info.transcript, info.duration) == (OTHER_LINES, duration)
    assert data.endswith(audio) and data.count(b"TXXX") == 1 and b"TSSE" in data

    bare = tmp_path / "bare.mp3"
    bare.write_bytes(mpeg_frames(b"\xff\xfb\x90\xc0", 417, 5))
    embed_transcript(bare, LINES)
    assert bare.read_bytes().startswith(b"ID3\x04")
    assert probe_path(bare).transcript == LINES
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bare.mp3",
        "embed.mp3",
    ]  # no temporaries left


def test_embed_transcript_in_mp4_never_moves_media(tmp_path: Path) -> None:
    path = tmp_path / "embed.mp4"
    write_mp4(path, 4.0, LINES)
    mdat_at = path.read_bytes().index(b"mdat")

    embed_transcript(path, OTHER_LINES)  # the udta/symb box becomes free; a new box goes last
    once = path.read_bytes()
    assert once.index(b"mdat") == mdat_at and b"free" in once
    assert probe_path(path).transcript == OTHER_LINES

    embed_transcript(path, LINES)  # the last box is replaced, not padded again
    twice = path.read_bytes()
    assert len(twice) - len(once) == len(encode_transcript(LINES)) - len(
        encode_transcript(OTHER_LINES)
    )
    assert probe_path(path) == MediaInfo("mp4", "video/mp4", 4.0, transcript=LINES)


def test_embed_transcript_after_a_box_that_runs_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "open-ended.mp4"
    write_mp4(path, 1.0)
    data = path.read_bytes()
    mdat_at = data.index(b"mdat") - 4
    path.write_bytes(data[:mdat_at] + b"\0\0\0\0" + data[mdat_at + 4 :])

    embed_transcript(path, LINES)
    assert probe_path(path).transcript == LINES
    assert path.read_bytes()[mdat_at : mdat_at + 8] == struct.pack(">I4s", 16, b"mdat")


def test_embed_transcript_refuses_other_formats(tmp_path: Path) -> None:
    path = tmp_path / "sound.ogg"
    path.write_bytes(b"OggS" + bytes(60))
    with pytest.raises(ValueError, match="cannot embed a transcript in a ogg file"):
        embed_transcript(path, LINES)


# --- other formats and errors -------------------------------------------------------------------


def flac(rate: int, channels: int, total: int) -> bytes:
    packed = rate << 44 | (channels - 1) << 41 | 15 << 36 | total
    return (
        b"fLaC\x80\0\0\x22"
        + struct.pack(">HH", 4096, 4096)
        + bytes(6)
        + packed.to_bytes(8, "big")
        + bytes(16)
    )


def aiff(rate: int, channels: int, frames: int) -> bytes:
    comm = struct.pack(">hIhHQ", channels, frames, 16, 16383 + 15, rate << 48)
    body = (
        b"AIFF"
        + b"COMM"
        + struct.pack(">I", len(comm))
        + comm
        + b"SSND"
        + struct.pack(">I", 8)
        + bytes(8)
    )
    return b"FORM" + struct.pack(">I", len(body)) + body


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (flac(44100, 2, 441000), ("flac", "audio/flac", 10.0, 44100, 2)),
        (id3v23_tag() + flac(16000, 1, 8000), ("flac", "audio/flac", 0.5, 16000, 1)),
        (aiff(44100, 2, 88200), ("aiff", "audio/aiff", 2.0, 44100, 2)),
        (b"OggS\0\2" + bytes(58), ("ogg", "audio/ogg", None, None, None)),
        (b"#!AMR\n" + bytes(32), ("amr", "audio/amr", None, None, None)),
        (
            bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + bytes(30),
            ("asf", "audio/x-ms-wma", None, None, None),
        ),
        (b"\xff\xf1\x50\x80" + bytes(60), ("aac", "audio/aac", None, None, None)),
        (b"\x0b\x77" + bytes(62), ("ac3", "audio/ac3", None, None, None)),
    ],
)
def test_other_formats_are_recognised(data: bytes, expected: tuple[object, ...]) -> None:
    info = probe_bytes(data)
    assert (
        info.kind,
        info.content_type,
        info.duration,
        info.sample_rate,
        info.channels,
    ) == expected
    assert (info.transcript, info.speech_segments) == (None, None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
            "not a media file: starts with b'%PDF' (a PDF document)",
        ),
        (b"hello, this is not audio at all", "not a media file: starts with b'hell'"),
        (b"\xff\xd8\xff\xe0\0\x10JFIF", "a JPEG image"),
        (b"RIFF\x24\0\0\0", "truncated WAV"),
        (b"RIFF\x24\0\0\0AVI LIST", "a RIFF b'AVI ' file, not WAVE"),
        (riff(chunk(b"data", bytes(8))), "WAV fmt chunk missing"),
        (riff(fmt_chunk(1, 1, 8000, 16)), "WAV data chunk missing"),
        (
            riff(fmt_chunk(1, 1, 8000, 16), chunk(b"data", bytes(64)))[:-20],
            "truncated WAV: chunk b'data'",
        ),
        (
            riff(fmt_chunk(1, 2, 8000, 16)[:-4] + b"\3\0\x10\0", chunk(b"data", bytes(8))),
            "inconsistent",
        ),
        (riff(chunk(b"fmt ", bytes(16)), chunk(b"data", bytes(8))), "declares 0 channels"),
        (
            riff(fmt_chunk(1, 1, 8000, 16), chunk(b"data", bytes(8)), chunk(b"symb", b"[1]")),
            "WAV symb chunk is invalid",
        ),
        (
            id3v23_tag(id3v23_frame(b"TIT2", b"\0x")) + b"garbage after the tag" * 10,
            "no valid MPEG audio frame sync after the ID3 tag",
        ),
        (b"ID3\x04\0\0\0\0\x10\0" + bytes(16), "truncated ID3 tag"),
        (b"\xff\xfb\x90\xc0" + bytes(100), "no valid MPEG audio frame sync at the start"),
        (box(b"ftyp", b"isom\0\0\0\0") + box(b"mdat", bytes(16)), "MP4 has no moov box"),
        (
            box(b"ftyp", b"isom\0\0\0\0") + struct.pack(">I4s", 256, b"moov") + bytes(8),
            "truncated MP4: box b'moov'",
        ),
        (box(b"ftyp", b"isom\0\0\0\0") + box(b"moov", box(b"trak", b"")), "has no mvhd"),
        (b"RF64\xff\xff\xff\xffWAVE", "RF64"),
    ],
)
def test_undecodable_input_says_why(data: bytes, message: str) -> None:
    with pytest.raises(UndecodableMediaError) as caught:
        probe_bytes(data)
    assert message in str(caught.value)


def test_probe_restores_position_and_reads_spooled_files(tmp_path: Path) -> None:
    path = tmp_path / "spooled.wav"
    write_wav(path, tone(8000, 0.5), 8000, LINES)
    with tempfile.SpooledTemporaryFile(max_size=1024) as spool:
        spool.write(path.read_bytes())
        info = probe(spool)
        assert spool.tell() == path.stat().st_size
    assert (info.duration, info.transcript) == (0.5, LINES)


def test_probing_a_300_mb_wav_keeps_memory_small(tmp_path: Path) -> None:
    rate, minute = 16000, 16000 * 60
    minutes = 160  # 16-bit mono at 16 kHz is 1.92 MB a minute: 307 MB in all
    burst = np.zeros(minute, np.int16)
    burst[rate * 10 : rate * 40] = np.round(tone(rate, 30.0) * 32767).astype(np.int16)
    silence, sound = bytes(minute * 2), burst.tobytes()
    path = tmp_path / "big.wav"
    with open(path, "wb") as out:
        out.write(
            riff(fmt_chunk(1, 1, rate, 16)) + b"data" + struct.pack("<I", minutes * minute * 2)
        )
        for index in range(minutes):
            out.write(sound if index == 100 else silence)
    fix_riff_size(path)
    assert path.stat().st_size > 300_000_000

    tracemalloc.start()
    try:
        info = probe_path(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000
    assert info.duration == minutes * 60.0
    assert info.speech_segments == ((6010.0, 6040.0),)


def fix_riff_size(path: Path) -> None:
    with open(path, "r+b") as stream:
        stream.seek(4)
        stream.write(struct.pack("<I", path.stat().st_size - 8))
