"""Media prober and fixture writer for the emulator (no HTTP here).

:func:`probe` decides whether an uploaded file is media Symbl could decode, sniffing the format
from its magic bytes (never from a content type), and measures it: duration, sample rate and
channels where the headers give them cheaply, and for WAV the stretches that carry speech
energy. Headers are read by seeking and WAV samples in bounded blocks, so probing a 1 GB upload
costs a few megabytes (plus two bytes per 20 ms window of audio: 360 kB per hour).

The emulator never recognises speech. The words of a recording come only from a transcript the
file carries in its own metadata (or one a test registers elsewhere). ``MediaInfo.transcript``
is None when the file carries none, and callers must say so rather than invent words.

Embedded transcript format
    A JSON object, UTF-8 encoded::

        {"transcript": [
            {"speaker": {"name": "Ann", "userId": "ann@example.com"},
             "text": "Hello there.", "start": 0.5, "end": 1.9}
        ]}

    ``text`` is a non-empty string; ``start`` and ``end`` are seconds from the start of the
    media with ``0 <= start <= end``; ``speaker`` is optional, and so are its ``name`` and
    ``userId``. No other keys are allowed, so a misspelt key fails loudly. An empty list says
    that nobody speaks. Where it lives:

    * WAV (RIFF/WAVE): a chunk with id ``symb`` holding the JSON, followed by a pad byte when
      its length is odd. Readers skip unknown chunks, so the file still plays everywhere.
    * MP3: an ID3v2.3 or v2.4 ``TXXX`` frame whose description is ``symbl-transcript`` and whose
      value is the JSON, in any ID3 text encoding (``ffmpeg -metadata symbl-transcript=...``
      writes one). The writers here use ISO-8859-1 with non-ASCII characters escaped in the JSON.
    * MP4/MOV/M4A (ISO BMFF): a box of type ``symb`` holding the JSON, at the top level or in
      ``moov/udta``.

    A malformed embedded transcript makes the file undecodable: a broken fixture should fail
    the test that uses it, not turn into a silent recording.

Speech energy (WAV only)
    The samples are cut into 20 ms windows; each window's level is its power averaged over all
    channels (so channels in opposite phase do not cancel), in dBFS. The noise floor is the
    10th percentile of the levels, and a window has speech energy when its level reaches
    ``noise floor + 12 dB``, kept between -45 dBFS and -25 dBFS (so faint noise never counts and
    a steady loud signal always does). Runs separated by less than 200 ms merge; runs shorter
    than 100 ms are dropped. Times are rounded to the millisecond. Deterministic.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import IO, Any, Union

import numpy as np
import numpy.typing as npt

from . import formats
from .formats import StrPath, UndecodableMediaError

__all__ = [
    "MAX_TRANSCRIPT_BYTES",
    "TRANSCRIPT_TAG",
    "TXXX_DESCRIPTION",
    "MediaInfo",
    "TranscriptInput",
    "TranscriptLine",
    "UndecodableMediaError",
    "embed_transcript",
    "encode_transcript",
    "parse_transcript",
    "probe",
    "write_mp3",
    "write_mp4",
    "write_wav",
]

TRANSCRIPT_TAG = b"symb"
"""Id of the RIFF chunk and type of the ISO BMFF box that carry a transcript."""
TXXX_DESCRIPTION = "symbl-transcript"
"""Description of the ID3 ``TXXX`` frame that carries a transcript."""
MAX_TRANSCRIPT_BYTES = 16 << 20
"""Largest embedded transcript the prober reads into memory."""

WINDOW_SECONDS = 0.02
NOISE_FLOOR_PERCENTILE = 10.0
THRESHOLD_MARGIN_DB = 12.0
MIN_THRESHOLD_DBFS = -45.0
MAX_THRESHOLD_DBFS = -25.0
MERGE_GAP_SECONDS = 0.2
MIN_SEGMENT_SECONDS = 0.1

# Samples (of all channels) decoded at a time: 1 MB as float32, whatever the file's size.
_BLOCK_SAMPLES = 1 << 18
_CONTENT_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "aac": "audio/aac",
    "ac3": "audio/ac3",
    "amr": "audio/amr",
    "aiff": "audio/aiff",
    "asf": "audio/x-ms-wma",
}
_MP4_BRAND_TYPES = {b"M4A ": "audio/mp4", b"M4B ": "audio/mp4", b"qt  ": "video/quicktime"}


@dataclass(frozen=True)
class TranscriptLine:
    """One line of a transcript: what was said, when, and by whom.

    Attributes:
        text: The words, not blank.
        start: Seconds from the start of the media, at least 0.
        end: Seconds from the start of the media, at least ``start``.
        speaker_name: The speaker's name, or "".
        speaker_user_id: The speaker's user id (usually an email address), or "".

    Raises:
        ValueError: If a field has the wrong type or an impossible value.
    """

    text: str
    start: float
    end: float
    speaker_name: str = ""
    speaker_user_id: str = ""

    def __post_init__(self) -> None:
        text: object = self.text
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text must be a non-empty string, not {text!r}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number of seconds, not {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, not {value!r}")
            object.__setattr__(self, name, float(value))
        if not 0 <= self.start <= self.end:
            raise ValueError(f"need 0 <= start <= end, got start={self.start} end={self.end}")
        for name in ("speaker_name", "speaker_user_id"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string, not {getattr(self, name)!r}")

    def to_json(self) -> dict[str, Any]:
        """The line in the embedded JSON form (with ``speaker`` only when there is one)."""
        line: dict[str, Any] = {}
        speaker = {"name": self.speaker_name, "userId": self.speaker_user_id}
        if any(speaker.values()):
            line["speaker"] = {key: value for key, value in speaker.items() if value}
        line.update(text=self.text, start=self.start, end=self.end)
        return line


TranscriptInput = Union[Sequence[TranscriptLine], Mapping[str, Any]]


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe` learnt about a media file.

    Attributes:
        kind: "wav", "mp3", "mp4", "flac", "ogg", "aac", "ac3", "amr", "aiff" or "asf".
        content_type: The best content type for the kind, e.g. "audio/wav" or "video/mp4".
        duration: Seconds, or None when the format does not give it cheaply.
        sample_rate: Hz, or None when unknown.
        channels: Channel count, or None when unknown.
        transcript: The lines the file carries, or None when it carries none.
        speech_segments: WAV with PCM or float samples only (None otherwise): the
            ``(start, end)`` seconds of each stretch with speech energy, in order.
        silence_seconds: Where ``speech_segments`` is set: the duration minus their lengths.
    """

    kind: str
    content_type: str
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    transcript: tuple[TranscriptLine, ...] | None = None
    speech_segments: tuple[tuple[float, float], ...] | None = None
    silence_seconds: float | None = None


# --- transcripts --------------------------------------------------------------------------------


def parse_transcript(data: bytes | str | Mapping[str, Any]) -> tuple[TranscriptLine, ...]:
    """Validate a transcript in the embedded format and return its lines.

    Args:
        data: The JSON as UTF-8 bytes or as text, or already decoded.

    Returns:
        The lines in the order given (empty when the transcript says nobody speaks).

    Raises:
        ValueError: If it is not the documented shape; the message names the offending line.

    Example:
        >>> parse_transcript('{"transcript": [{"text": "Hi.", "start": 0, "end": 0.4}]}')[0].end
        0.4
    """
    decoded: object = data
    if isinstance(decoded, (bytes, bytearray)):
        try:
            decoded = bytes(decoded).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"transcript is not UTF-8 text: {exc}") from None
    if isinstance(decoded, str):
        try:
            decoded = json.loads(decoded)
        except ValueError as exc:
            raise ValueError(f"transcript is not valid JSON: {exc}") from None
    if (
        not isinstance(decoded, Mapping)
        or set(decoded) != {"transcript"}
        or not isinstance(decoded["transcript"], list)
    ):
        raise ValueError(
            'a transcript must be a JSON object {"transcript": [...]} and nothing else'
        )
    lines = decoded["transcript"]
    return tuple(_parse_line(item, f"transcript[{index}]") for index, item in enumerate(lines))


def _parse_line(item: object, where: str) -> TranscriptLine:
    if not isinstance(item, Mapping):
        raise ValueError(f"{where} must be an object, not {type(item).__name__}")
    unknown = set(item) - {"speaker", "text", "start", "end"}
    if unknown:
        raise ValueError(f"{where} has unknown keys {sorted(unknown)}")
    missing = {"text", "start", "end"} - set(item)
    if missing:
        raise ValueError(f"{where} lacks {sorted(missing)}")
    speaker = item.get("speaker", {})
    if not isinstance(speaker, Mapping) or set(speaker) - {"name", "userId"}:
        raise ValueError(f'{where}.speaker must be an object with only "name" and "userId"')
    try:
        return TranscriptLine(
            item["text"],
            item["start"],
            item["end"],
            speaker.get("name", ""),
            speaker.get("userId", ""),
        )
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def encode_transcript(transcript: TranscriptInput) -> bytes:
    """The embedded JSON for a transcript: ASCII only, so both valid UTF-8 and ISO-8859-1.

    Args:
        transcript: :class:`TranscriptLine` items, or the JSON object form (validated).

    Raises:
        ValueError: If the JSON object form is invalid.
        TypeError: If ``transcript`` is neither form.
    """
    if isinstance(transcript, Mapping):
        lines = parse_transcript(transcript)
    else:
        lines = tuple(transcript)
        if not all(isinstance(line, TranscriptLine) for line in lines):
            raise TypeError(
                'transcript must be TranscriptLine items or a {"transcript": [...]} dict'
            )
    return json.dumps({"transcript": [line.to_json() for line in lines]}).encode("ascii")


def _decode_embedded(data: bytes | str, where: str) -> tuple[TranscriptLine, ...]:
    try:
        return parse_transcript(data)
    except ValueError as exc:
        raise UndecodableMediaError(f"the transcript in the {where} is invalid: {exc}") from None


def _transcript_in(
    stream: IO[bytes], parts: Iterable[formats.Part], where: str
) -> tuple[TranscriptLine, ...] | None:
    part = formats.find_part(parts, TRANSCRIPT_TAG)
    if part is None:
        return None
    if part.size > MAX_TRANSCRIPT_BYTES:
        raise UndecodableMediaError(
            f"the {where} holds {part.size} bytes, more than the {MAX_TRANSCRIPT_BYTES} a "
            "transcript may take"
        )
    data = formats.read_exact(stream, part.body, part.size, where)
    return _decode_embedded(data.rstrip(b"\0"), where)


def _id3_transcript(tag: formats.Id3Tag) -> tuple[TranscriptLine, ...] | None:
    for frame in tag.frames:
        found = formats.txxx(frame, tag.major)
        if found is not None and found[0] == TXXX_DESCRIPTION:
            _, value, codec = found
            try:
                text = value.decode(codec).rstrip("\0")
            except UnicodeDecodeError as exc:
                raise UndecodableMediaError(
                    f"the ID3 TXXX transcript is not {codec}: {exc}"
                ) from None
            return _decode_embedded(text, "ID3 TXXX frame")
    return None


# --- probing ------------------------------------------------------------------------------------


def probe(stream: IO[bytes]) -> MediaInfo:
    """Identify and measure a media file, and read the transcript it carries.

    Reads from the start of the stream whatever its position, and puts the position back.

    Args:
        stream: A seekable binary file (a file, ``BytesIO`` or ``SpooledTemporaryFile``).

    Returns:
        What the file is and holds.

    Raises:
        UndecodableMediaError: If the file is empty, not a recognised format, structurally
            broken or truncated, or carries a malformed transcript.

    Example:
        >>> with open("meeting.wav", "rb") as upload:
        ...     info = probe(upload)
        >>> if info.transcript is None:
        ...     print(f"{info.duration} s of {info.kind} that carries no words")
    """
    position = stream.tell()
    try:
        stream.seek(0, 2)
        file_size = stream.tell()
        kind = formats.sniff(formats.read_at(stream, 0, 64))
        prober = _PROBERS.get(kind)
        return prober(stream, file_size) if prober else MediaInfo(kind, _CONTENT_TYPES[kind])
    finally:
        stream.seek(position)


_Samples = npt.NDArray[np.float32]


def _int24(raw: bytes) -> _Samples:
    """24-bit little-endian samples, moved into the top three bytes of int32s."""
    padded = np.zeros((len(raw) // 3, 4), np.uint8)
    padded[:, 1:] = np.frombuffer(raw, np.uint8).reshape(-1, 3)
    return padded.view("<i4").ravel().astype(np.float32)


def _float_samples(dtype: str) -> Callable[[bytes], _Samples]:
    def decode(raw: bytes) -> _Samples:
        samples = np.frombuffer(raw, dtype).astype(np.float32)
        return np.nan_to_num(samples, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)

    return decode


# (format tag, bits per sample) -> (decoder to fresh float32 samples, full-scale value)
_DECODERS: dict[tuple[int, int], tuple[Callable[[bytes], _Samples], float]] = {
    (1, 8): (lambda raw: np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0, 128.0),
    (1, 16): (lambda raw: np.frombuffer(raw, "<i2").astype(np.float32), 32768.0),
    (1, 24): (_int24, 2.0**31),
    (1, 32): (lambda raw: np.frombuffer(raw, "<i4").astype(np.float32), 2.0**31),
    (3, 32): (_float_samples("<f4"), 1.0),
    (3, 64): (_float_samples("<f8"), 1.0),
}
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


def _probe_wav(stream: IO[bytes], file_size: int) -> MediaInfo:
    chunks = formats.iff_chunks(stream, file_size, False, "WAV")
    fmt, data = formats.find_part(chunks, b"fmt "), formats.find_part(chunks, b"data")
    if fmt is None:
        raise UndecodableMediaError(
            "WAV fmt chunk missing: the file does not say how it is encoded"
        )
    if data is None:
        raise UndecodableMediaError("WAV data chunk missing: the file holds no samples")
    if fmt.size < 16:
        raise UndecodableMediaError(f"WAV fmt chunk is {fmt.size} bytes, needs at least 16")
    header = formats.read_exact(stream, fmt.body, min(fmt.size, 26), "WAV fmt chunk")
    tag, channels, rate, byte_rate, block_align, bits = struct.unpack("<HHIIHH", header[:16])
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(header) >= 26:
        tag = int.from_bytes(header[24:26], "little")  # the sub-format GUID starts with the tag
    if not (channels and rate and block_align):
        raise UndecodableMediaError(
            f"WAV fmt chunk declares {channels} channels at {rate} Hz, {block_align}-byte frames"
        )
    transcript = _transcript_in(stream, chunks, "WAV symb chunk")
    decoder = _DECODERS.get((tag, bits))
    if decoder is None:  # compressed (mu-law, ADPCM, ...): the byte rate still gives the length
        duration = data.size / byte_rate if byte_rate else None
        return MediaInfo("wav", "audio/wav", duration, rate, channels, transcript)
    if block_align != channels * bits // 8:
        raise UndecodableMediaError(
            f"WAV fmt chunk is inconsistent: {block_align}-byte frames for {channels} channels "
            f"of {bits} bits"
        )
    frames = data.size // block_align
    window_frames = max(1, round(rate * WINDOW_SECONDS))
    levels = _window_levels(
        stream, data.body, frames, channels, block_align, decoder, window_frames
    )
    duration = frames / rate
    segments = _speech_segments(levels, window_frames / rate, duration)
    silence = duration - sum(end - start for start, end in segments)
    return MediaInfo(
        "wav", "audio/wav", duration, rate, channels, transcript, segments, round(silence, 3)
    )


def _window_levels(
    stream: IO[bytes],
    offset: int,
    frames: int,
    channels: int,
    block_align: int,
    decoder: tuple[Callable[[bytes], _Samples], float],
    window_frames: int,
) -> npt.NDArray[np.float16]:
    """The level in dBFS of each window of ``window_frames`` frames (the last may be shorter).

    A window's power is averaged over all its channels, so channels in opposite phase do not
    cancel. Reads one bounded block at a time.
    """
    decode, full_scale = decoder
    block_frames = max(1, _BLOCK_SAMPLES // (window_frames * channels)) * window_frames
    levels = np.empty(-(-frames // window_frames), np.float16)
    stream.seek(offset)
    for first in range(0, frames, block_frames):
        count = min(block_frames, frames - first)
        power = decode(stream.read(count * block_align))
        np.square(power, out=power)
        whole = count // window_frames * window_frames * channels
        means = power[:whole].reshape(-1, window_frames * channels).mean(axis=1)
        if whole < power.size:
            means = np.append(means, power[whole:].mean())
        index = first // window_frames
        levels[index : index + means.size] = 10 * np.log10(means / full_scale**2 + 1e-12)
    return levels


def _speech_segments(
    levels: npt.NDArray[np.float16], window: float, duration: float
) -> tuple[tuple[float, float], ...]:
    """Stretches with speech energy, as the module docstring describes."""
    if not levels.size:
        return ()
    loudness = levels.astype(np.float32)
    noise_floor = float(np.percentile(loudness, NOISE_FLOOR_PERCENTILE))
    threshold = min(max(MIN_THRESHOLD_DBFS, noise_floor + THRESHOLD_MARGIN_DB), MAX_THRESHOLD_DBFS)
    active = np.concatenate(([False], loudness >= threshold, [False]))
    edges = np.flatnonzero(active[1:] != active[:-1]).tolist()
    runs: list[list[int]] = []
    for start, end in zip(edges[0::2], edges[1::2]):
        if runs and (start - runs[-1][1]) * window < MERGE_GAP_SECONDS:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    return tuple(
        (round(start * window, 3), round(min(end * window, duration), 3))
        for start, end in runs
        if (end - start) * window >= MIN_SEGMENT_SECONDS
    )


def _probe_aiff(stream: IO[bytes], file_size: int) -> MediaInfo:
    channels, frames, rate = formats.aiff_comm(stream, file_size)
    return MediaInfo("aiff", "audio/aiff", frames / rate, round(rate), channels)


def _probe_flac(stream: IO[bytes], offset: int) -> MediaInfo:
    rate, channels, total = formats.flac_streaminfo(stream, offset)
    return MediaInfo("flac", "audio/flac", total / rate if total else None, rate, channels)


def _probe_mpeg(stream: IO[bytes], start: int, file_size: int, where: str) -> MediaInfo:
    duration, first = formats.mpeg_stream(stream, start, file_size, where)
    return MediaInfo("mp3", "audio/mpeg", duration, first.sample_rate, first.channels)


def _probe_id3(stream: IO[bytes], file_size: int) -> MediaInfo:
    tag = formats.read_id3(stream, file_size)
    payload = formats.read_at(stream, tag.end, 4)
    if payload == b"fLaC":
        info = _probe_flac(stream, tag.end)
    elif formats.is_adts(payload):
        info = MediaInfo("aac", "audio/aac")
    else:
        info = _probe_mpeg(stream, tag.end, file_size, "after the ID3 tag")
    return replace(info, transcript=_id3_transcript(tag))


def _probe_mp4(stream: IO[bytes], file_size: int) -> MediaInfo:
    top = list(formats.iso_boxes(stream, 0, file_size))
    moov = formats.find_part(top, b"moov")
    if moov is None:
        raise UndecodableMediaError(
            "MP4 has no moov box: the file is incomplete (moov is often written last)"
        )
    timescale, duration = formats.movie_header(stream, moov)
    udta = formats.find_part(formats.iso_boxes(stream, moov.body, moov.end), b"udta")
    inner = list(formats.iso_boxes(stream, udta.body, udta.end)) if udta else []
    brand = formats.read_at(stream, top[0].body, 4) if top[0].fourcc == b"ftyp" else b"qt  "
    return MediaInfo(
        "mp4",
        _MP4_BRAND_TYPES.get(brand, "video/mp4"),
        None if duration is None else duration / timescale,
        transcript=_transcript_in(stream, top + inner, "MP4 symb box"),
    )


_PROBERS: dict[str, Callable[[IO[bytes], int], MediaInfo]] = {
    "wav": _probe_wav,
    "aiff": _probe_aiff,
    "flac": lambda stream, _size: _probe_flac(stream, 0),
    "id3": _probe_id3,
    "mp3": lambda stream, size: _probe_mpeg(stream, 0, size, "at the start of the file"),
    "mp4": _probe_mp4,
}


# --- writing ------------------------------------------------------------------------------------


def write_wav(
    path: StrPath,
    samples: npt.ArrayLike,
    sample_rate: int,
    transcript: TranscriptInput | None = None,
) -> None:
    """Write a 16-bit PCM WAV fixture, optionally carrying a transcript in a ``symb`` chunk.

    Args:
        path: Where to write (an existing file is replaced).
        samples: 1-D (mono) or 2-D (frames x channels). int16 is written as is; floating point
            in [-1, 1] is scaled to int16.
        sample_rate: Frames per second.
        transcript: Lines, or the JSON object form, to embed.

    Raises:
        ValueError: For a bad shape, rate, out-of-range float samples or an invalid transcript.
        TypeError: For samples that are neither int16 nor floating point.

    Example:
        >>> t = np.arange(16000) / 16000
        >>> write_wav("hi.wav", 0.3 * np.sin(2 * np.pi * 440 * t), 16000,
        ...           [TranscriptLine("Hi there.", 0.1, 0.9, "Ann")])
    """
    array = np.asarray(samples)
    if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[1] == 0):
        raise ValueError(f"samples must be 1-D or 2-D (frames x channels), not {array.shape}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive int, not {sample_rate!r}")
    if array.dtype == np.int16:
        pcm = array
    elif np.issubdtype(array.dtype, np.floating):
        if array.size and not (np.isfinite(array).all() and np.abs(array).max() <= 1.0):
            raise ValueError("floating-point samples must be finite and within [-1, 1]")
        pcm = np.round(array * 32767).astype(np.int16)
    else:
        raise TypeError(f"samples must be int16 or floating point, not {array.dtype}")
    frames = pcm[:, np.newaxis] if pcm.ndim == 1 else pcm
    channels = frames.shape[1]
    header = struct.pack(
        "<HHIIHH", 1, channels, sample_rate, sample_rate * channels * 2, channels * 2, 16
    )
    chunks = [
        formats.riff_chunk(b"fmt ", header),
        formats.riff_chunk(b"data", frames.astype("<i2").tobytes()),
    ]
    if transcript is not None:
        chunks.append(formats.riff_chunk(TRANSCRIPT_TAG, encode_transcript(transcript)))
    size = 4 + sum(len(chunk) for chunk in chunks)
    _write(path, [b"RIFF", size.to_bytes(4, "little"), b"WAVE", *chunks])


def write_mp4(path: StrPath, duration: float, transcript: TranscriptInput | None = None) -> None:
    """Write a minimal ISO BMFF fixture: ftyp, moov (mvhd [+ udta/symb]) and a small mdat.

    It has no tracks, which is all the emulator needs; the ``mvhd`` counts milliseconds.

    Args:
        path: Where to write (an existing file is replaced).
        duration: Seconds, at least 0.
        transcript: Lines, or the JSON object form, to embed.

    Raises:
        ValueError: For a negative or non-finite duration or an invalid transcript.
    """
    moov = formats.movie_header_box(1000, round(_check_duration(duration) * 1000))
    if transcript is not None:
        moov += formats.iso_box(
            b"udta", formats.iso_box(TRANSCRIPT_TAG, encode_transcript(transcript))
        )
    ftyp = formats.iso_box(b"ftyp", b"isom\0\0\2\0isomiso2mp41")
    _write(path, [ftyp, formats.iso_box(b"moov", moov), formats.iso_box(b"mdat", bytes(8))])


def write_mp3(path: StrPath, duration: float, transcript: TranscriptInput | None = None) -> None:
    """Write a silent MP3 fixture: an ID3v2.4 tag, an Info header frame, and silent frames.

    The frames are MPEG-1 Layer III at 128 kbps, 44.1 kHz, mono (26.1 ms each), as many as come
    closest to ``duration``; the Info frame counts them, as LAME does.

    Args:
        path: Where to write (an existing file is replaced).
        duration: Seconds, at least 0.
        transcript: Lines, or the JSON object form, to embed in a ``TXXX`` frame.

    Raises:
        ValueError: For a negative or non-finite duration or an invalid transcript.
    """
    count = round(_check_duration(duration) / formats.SILENT_MPEG_FRAME_SECONDS)
    frames = [formats.id3_frame(4, b"TSSE", b"\0symbl emulator fixture")]
    if transcript is not None:
        frames.append(formats.txxx_frame(4, TXXX_DESCRIPTION, encode_transcript(transcript)))
    with open(path, "wb") as out:
        out.write(formats.id3_tag(4, frames))
        out.write(formats.mpeg_info_frame(count))
        for first in range(0, count, 1000):
            out.write(formats.SILENT_MPEG_FRAME * min(1000, count - first))


def embed_transcript(path: StrPath, transcript: TranscriptInput | None) -> None:
    """Add, replace or (with None) remove the transcript in a WAV, MP3 or MP4 file.

    WAV and MP4 are edited in place: an old transcript becomes padding (a ``JUNK`` chunk or a
    ``free`` box) unless it is last, and the new one is appended, so no sample and no MP4 chunk
    offset moves. An MP3 gets a new ID3 tag in front (keeping its other frames), so it is
    rewritten to a temporary file beside it that then replaces it.

    Args:
        path: The file to change.
        transcript: Lines, the JSON object form, or None to remove the transcript.

    Raises:
        UndecodableMediaError: If the file is not media or is broken.
        ValueError: If the transcript is invalid, the format cannot carry one, or the ID3 tag
            is older than v2.3.
    """
    payload = None if transcript is None else encode_transcript(transcript)
    with open(path, "rb") as stream:
        kind = formats.sniff(stream.read(64))
    if kind == "wav":
        formats.replace_riff_chunk(path, TRANSCRIPT_TAG, payload)
    elif kind in ("id3", "mp3"):
        formats.replace_txxx(path, TXXX_DESCRIPTION, payload)
    elif kind == "mp4":
        formats.replace_iso_box(path, TRANSCRIPT_TAG, payload)
    else:
        raise ValueError(f"cannot embed a transcript in a {kind} file; use WAV, MP3 or MP4")


def _check_duration(duration: float) -> float:
    if isinstance(duration, bool) or not isinstance(duration, (int, float)):
        raise ValueError(f"duration must be a number of seconds, not {duration!r}")
    if not (math.isfinite(duration) and duration >= 0):
        raise ValueError(f"duration must be finite and at least 0, not {duration!r}")
    return float(duration)


def _write(path: StrPath, parts: Iterable[bytes]) -> None:
    with open(path, "wb") as out:
        for part in parts:
            out.write(part)
