"""Byte layouts of the media containers the emulator reads and edits (no HTTP, no meaning).

RIFF/AIFF chunks, ISO BMFF boxes, ID3v2 tags, MPEG audio frame headers, FLAC STREAMINFO, and
sniffing a format from its magic bytes. :mod:`symbl.emulator.media` is the public face; this
module only knows where bytes are. It reads a header at a time by seeking, so a large file
never sits in memory (only an ID3 tag, at most 64 MiB, is read whole).
"""

from __future__ import annotations

import functools
import os
import shutil
import struct
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Literal, NamedTuple, Union

StrPath = Union[str, "os.PathLike[str]"]

_MAX_ID3_TAG_BYTES = 64 << 20
_SYNC_SEARCH_BYTES = 64 << 10
_MP4_FIRST_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_SIGNATURES = {b"ID3": "id3", b"fLaC": "flac", b"OggS": "ogg", b"#!AMR": "amr", _ASF_GUID: "asf"}
_NOT_MEDIA = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"PK\x03\x04": "a ZIP archive",
    b"\x1a\x45\xdf\xa3": "Matroska/WebM, which Symbl does not accept",
    b"{": "JSON",
    b"<": "HTML or XML",
}


class UndecodableMediaError(Exception):
    """The bytes are not media Symbl could decode; the message says what is wrong."""


class Part(NamedTuple):
    """A RIFF/AIFF chunk or an ISO BMFF box.

    Attributes:
        fourcc: The chunk id or box type.
        offset: Where its header starts.
        body: Where its payload starts.
        size: The payload's length.
        end: Where the next chunk or box starts (after a RIFF/AIFF pad byte).
    """

    fourcc: bytes
    offset: int
    body: int
    size: int
    end: int


def read_at(stream: IO[bytes], offset: int, size: int) -> bytes:
    """Up to ``size`` bytes at ``offset`` (fewer at the end of the file)."""
    stream.seek(offset)
    return stream.read(size)


def read_exact(stream: IO[bytes], offset: int, size: int, what: str) -> bytes:
    """Exactly ``size`` bytes at ``offset``; a shorter file is a truncated ``what``."""
    data = read_at(stream, offset, size)
    if len(data) < size:
        raise UndecodableMediaError(
            f"truncated {what}: needs {size} bytes at offset {offset}, the file has {len(data)}"
        )
    return data


def find_part(parts: Iterable[Part], fourcc: bytes) -> Part | None:
    """The first part with this id, if any."""
    return next((part for part in parts if part.fourcc == fourcc), None)


def sniff(head: bytes) -> str:
    """The kind of file that starts with ``head`` (its first 64 bytes or fewer).

    Returns:
        "wav", "aiff", "flac", "ogg", "amr", "asf", "mp4", "aac", "mp3" or "ac3", or "id3"
        for an ID3 tag, after which the payload decides.

    Raises:
        UndecodableMediaError: For an empty file or one that is none of those.
    """
    if not head:
        raise UndecodableMediaError("empty file: there is nothing to decode")
    if head[:4] == b"RIFF":
        if len(head) < 12:
            raise UndecodableMediaError(f"truncated WAV: the whole file is {len(head)} bytes")
        if head[8:12] != b"WAVE":
            raise UndecodableMediaError(f"not a media file: a RIFF {head[8:12]!r} file, not WAVE")
        return "wav"
    if head[:4] == b"RF64":
        raise UndecodableMediaError("RF64 (over 4 GB) WAV files are not supported by the emulator")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    for magic, kind in _SIGNATURES.items():
        if head.startswith(magic):
            return kind
    if head[4:8] in _MP4_FIRST_BOXES:
        return "mp4"
    if is_adts(head):
        return "aac"
    if mpeg_frame(head[:4]) is not None:
        return "mp3"
    if head[:2] == b"\x0b\x77":
        return "ac3"
    hint = next((f" ({what})" for magic, what in _NOT_MEDIA.items() if head.startswith(magic)), "")
    raise UndecodableMediaError(f"not a media file: starts with {head[:4]!r}{hint}")


def is_adts(head: bytes) -> bool:
    """Whether ``head`` starts with an AAC ADTS header (12-bit sync, layer bits 00)."""
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0


# --- RIFF / AIFF and ISO BMFF -------------------------------------------------------------------


def iff_chunks(stream: IO[bytes], file_size: int, big_endian: bool, what: str) -> list[Part]:
    """The chunks of a RIFF (little-endian) or AIFF (big-endian) file.

    Raises:
        UndecodableMediaError: If a chunk inside the declared length runs past the file's end.
    """
    order: Literal["little", "big"] = "big" if big_endian else "little"
    declared_end = 8 + int.from_bytes(read_exact(stream, 4, 4, f"{what} header"), order)
    chunks: list[Part] = []
    offset = 12
    while offset + 8 <= file_size:
        header = read_exact(stream, offset, 8, f"{what} chunk header")
        fourcc, size = header[:4], int.from_bytes(header[4:], order)
        body = offset + 8
        if body + size > file_size:
            if fourcc == b"data" and size == 0xFFFFFFFF:
                size = file_size - body  # written by a streaming recorder that could not seek back
            elif offset >= declared_end:
                break  # junk after the end the header declares
            else:
                raise UndecodableMediaError(
                    f"truncated {what}: chunk {fourcc!r} at offset {offset} declares {size} "
                    f"bytes, only {file_size - body} remain"
                )
        chunks.append(Part(fourcc, offset, body, size, body + size + (size & 1)))
        offset = chunks[-1].end
    return chunks


def iso_boxes(stream: IO[bytes], start: int, end: int) -> Iterator[Part]:
    """The ISO BMFF boxes between ``start`` and ``end``.

    Raises:
        UndecodableMediaError: For a box smaller than its header or running past ``end``.
    """
    offset = start
    while offset + 8 <= end:
        size, fourcc = struct.unpack(">I4s", read_exact(stream, offset, 8, "MP4 box header"))
        header = 8
        if size == 1:
            size = int.from_bytes(read_exact(stream, offset + 8, 8, "MP4 box size"), "big")
            header = 16
        elif size == 0:
            size = end - offset  # the last box runs to the end of its parent
        if size < header:
            raise UndecodableMediaError(
                f"broken MP4: box {fourcc!r} at offset {offset} declares a size of {size}"
            )
        if offset + size > end:
            raise UndecodableMediaError(
                f"truncated MP4: box {fourcc!r} at offset {offset} declares {size} bytes, "
                f"only {end - offset} remain"
            )
        yield Part(fourcc, offset, offset + header, size - header, offset + size)
        offset += size


def movie_header(stream: IO[bytes], moov: Part) -> tuple[int, int | None]:
    """The timescale and duration (None when unknown) of the ``mvhd`` box in ``moov``."""
    mvhd = find_part(iso_boxes(stream, moov.body, moov.end), b"mvhd")
    if mvhd is None:
        raise UndecodableMediaError("MP4 moov box has no mvhd (movie header) box")
    head = read_at(stream, mvhd.body, min(mvhd.size, 32))
    if head[:1] == b"\x01" and len(head) >= 32:
        timescale, duration = struct.unpack(">IQ", head[20:32])
        unknown = (1 << 64) - 1
    elif head[:1] == b"\x00" and len(head) >= 20:
        timescale, duration = struct.unpack(">II", head[12:20])
        unknown = (1 << 32) - 1
    else:
        raise UndecodableMediaError(f"MP4 mvhd box is malformed ({mvhd.size} bytes, {head[:1]!r})")
    if timescale == 0:
        raise UndecodableMediaError("MP4 mvhd box declares a timescale of 0")
    return timescale, None if duration == unknown else duration


def movie_header_box(timescale: int, duration: int) -> bytes:
    """An ``mvhd`` box (version 1 when the duration does not fit 32 bits)."""
    if duration <= 0xFFFFFFFF:
        times = struct.pack(">B3xIIII", 0, 0, 0, timescale, duration)
    else:
        times = struct.pack(">B3xQQIQ", 1, 0, 0, timescale, duration)
    unity_matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    rate_volume = struct.pack(">IH10x", 0x10000, 0x100)
    return iso_box(b"mvhd", times + rate_volume + unity_matrix + bytes(24) + struct.pack(">I", 1))


def riff_chunk(fourcc: bytes, payload: bytes) -> bytes:
    """A RIFF chunk, with its pad byte when the payload's length is odd."""
    return fourcc + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)


def iso_box(fourcc: bytes, payload: bytes) -> bytes:
    """An ISO BMFF box."""
    return struct.pack(">I4s", 8 + len(payload), fourcc) + payload


def replace_riff_chunk(path: StrPath, fourcc: bytes, payload: bytes | None) -> None:
    """Drop every ``fourcc`` chunk of a WAV file in place and append one holding ``payload``.

    A dropped chunk that is not last becomes ``JUNK`` (padding every reader skips), so nothing
    after it moves.
    """
    with open(path, "r+b") as stream:
        chunks = iff_chunks(stream, stream.seek(0, os.SEEK_END), False, "WAV")
        end = chunks[-1].end if chunks else 12
        if chunks and chunks[-1].fourcc == fourcc:
            end = chunks.pop().offset
        for chunk in chunks:
            stream.seek(chunk.offset)
            if chunk.fourcc == fourcc:
                stream.write(b"JUNK")
            elif chunk.fourcc == b"data":  # a streamed WAV may say 0xFFFFFFFF: give the real size
                stream.write(b"data" + struct.pack("<I", chunk.size))
        stream.seek(end)
        stream.truncate()
        if payload is not None:
            stream.write(riff_chunk(fourcc, payload))
        riff_size = stream.tell() - 8
        stream.seek(4)
        stream.write(struct.pack("<I", riff_size))


def replace_iso_box(path: StrPath, fourcc: bytes, payload: bytes | None) -> None:
    """Drop every ``fourcc`` box (top level or in ``moov/udta``) in place; append one at the end.

    A dropped box that is not last becomes ``free``, so no media data and no chunk offset moves.
    """
    with open(path, "r+b") as stream:
        top = list(iso_boxes(stream, 0, stream.seek(0, os.SEEK_END)))
        moov = find_part(top, b"moov")
        udta = find_part(iso_boxes(stream, moov.body, moov.end), b"udta") if moov else None
        inner = list(iso_boxes(stream, udta.body, udta.end)) if udta else []
        last = top[-1]
        end = last.end
        if last.fourcc == fourcc:
            end = top.pop().offset
        elif read_at(stream, last.offset, 4) == bytes(4):
            # The last box runs "to the end of the file"; give it its real size so that it does
            # not swallow the box appended after it.
            if last.end - last.offset > 0xFFFFFFFF:
                raise ValueError("cannot append after a last box of unknown size over 4 GB")
            stream.seek(last.offset)
            stream.write(struct.pack(">I", last.end - last.offset))
        for box in top + inner:
            if box.fourcc == fourcc:
                stream.seek(box.offset + 4)
                stream.write(b"free")
        stream.seek(end)
        stream.truncate()
        if payload is not None:
            stream.write(iso_box(fourcc, payload))


# --- MPEG audio ---------------------------------------------------------------------------------

_MPEG_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_MPEG2_BITRATES = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_MPEG_BITRATES = {  # kbps by bitrate index, for (MPEG-1?, layer)
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): _MPEG2_BITRATES,
    (False, 3): _MPEG2_BITRATES,
}

# MPEG-1 Layer III, 128 kbps, 44.1 kHz, mono, no CRC: 417-byte frames of 1152 samples. With no
# side information and no main data they decode to silence.
SILENT_MPEG_FRAME = b"\xff\xfb\x90\xc0".ljust(417, b"\0")
SILENT_MPEG_FRAME_SECONDS = 1152 / 44100


class MpegFrame(NamedTuple):
    """What an MPEG audio frame header says.

    Attributes:
        length: Bytes in the frame, header included.
        samples: Samples per channel it decodes to.
        sample_rate: Hz.
        channels: 1 or 2.
        vbr_header_at: Layer III: where a Xing/Info header would start in the frame; else 0.
    """

    length: int
    samples: int
    sample_rate: int
    channels: int
    vbr_header_at: int


@functools.lru_cache(maxsize=512)
def mpeg_frame(header: bytes) -> MpegFrame | None:
    """Decode a 4-byte MPEG-1/2/2.5 Layer I/II/III frame header; None when it is not one."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = header[1] >> 3 & 3, 4 - (header[1] >> 1 & 3)
    bitrate_index, rate_index = header[2] >> 4, header[2] >> 2 & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None  # reserved values, or free format whose frame length no header gives
    mpeg1 = version == 3
    bitrate = _MPEG_BITRATES[mpeg1, layer][bitrate_index] * 1000
    rate = _MPEG_SAMPLE_RATES[version][rate_index]
    padding = header[2] >> 1 & 1
    channels = 1 if header[3] >> 6 == 3 else 2
    if layer == 1:
        return MpegFrame((12 * bitrate // rate + padding) * 4, 384, rate, channels, 0)
    samples = 1152 if mpeg1 or layer == 2 else 576
    vbr_header_at = 0
    if layer == 3:
        side_info = (17 if channels == 1 else 32) if mpeg1 else (9 if channels == 1 else 17)
        vbr_header_at = 4 + (0 if header[1] & 1 else 2) + side_info
    return MpegFrame(
        samples // 8 * bitrate // rate + padding, samples, rate, channels, vbr_header_at
    )


def mpeg_info_frame(frames: int) -> bytes:
    """A silent frame holding an Info header that counts ``frames`` more frames, as LAME writes."""
    info = SILENT_MPEG_FRAME[:4] + bytes(17) + b"Info" + struct.pack(">II", 1, frames)
    return info.ljust(len(SILENT_MPEG_FRAME), b"\0")


def mpeg_stream(
    stream: IO[bytes], start: int, file_size: int, where: str
) -> tuple[float, MpegFrame]:
    """The duration and first frame of the MPEG audio stream that starts near ``start``.

    The duration comes from a Xing/Info or VBRI header when the first frame has one, else from
    walking every frame header.

    Raises:
        UndecodableMediaError: If no frame that another frame (or the end) follows starts in the
            64 KiB from ``start``; ``where`` says where that was, for the message.
    """
    offset, first = _find_mpeg_sync(stream, start, file_size, where)
    frames = _vbr_frame_count(stream, offset, first)
    if frames is None:
        samples = _count_mpeg_samples(stream, offset, file_size, first.sample_rate)
    else:
        samples = frames * first.samples
    return samples / first.sample_rate, first


def _find_mpeg_sync(
    stream: IO[bytes], start: int, file_size: int, where: str
) -> tuple[int, MpegFrame]:
    window = read_at(stream, start, _SYNC_SEARCH_BYTES)
    pos = window.find(b"\xff")
    while pos != -1:
        frame = mpeg_frame(window[pos : pos + 4])
        if frame is not None and start + pos + frame.length <= file_size:
            follower = read_at(stream, start + pos + frame.length, 4)
            following = mpeg_frame(follower)
            # A stray 0xFF in other data can look like a header; two frames in a row cannot.
            if (
                not follower
                or follower[:3] == b"TAG"
                or (following is not None and following.sample_rate == frame.sample_rate)
            ):
                return start + pos, frame
        pos = window.find(b"\xff", pos + 1)
    raise UndecodableMediaError(f"no valid MPEG audio frame sync {where}")


def _vbr_frame_count(stream: IO[bytes], offset: int, first: MpegFrame) -> int | None:
    if not first.vbr_header_at:
        return None
    at = first.vbr_header_at
    head = read_at(stream, offset, max(at + 12, 54))
    if head[at : at + 4] in (b"Xing", b"Info") and len(head) >= at + 12:
        if int.from_bytes(head[at + 4 : at + 8], "big") & 1:  # the frame-count field is present
            return int.from_bytes(head[at + 8 : at + 12], "big")
    elif head[36:40] == b"VBRI" and len(head) >= 54:
        return int.from_bytes(head[50:54], "big")
    return None


def _count_mpeg_samples(stream: IO[bytes], start: int, file_size: int, sample_rate: int) -> int:
    """Walk frame headers to the first thing that is not a whole frame at the same rate (the
    end, an ID3v1 or APE tag, a truncated last frame), reading 64 KiB at a time."""
    samples, pos = 0, start
    buffer, buffer_at = b"", start
    while True:
        if pos + 4 > buffer_at + len(buffer):
            buffer, buffer_at = read_at(stream, pos, 1 << 16), pos
        frame = mpeg_frame(buffer[pos - buffer_at : pos - buffer_at + 4])
        if frame is None or frame.sample_rate != sample_rate or pos + frame.length > file_size:
            return samples
        samples += frame.samples
        pos += frame.length


# --- ID3v2 --------------------------------------------------------------------------------------

_ID3_ENCODINGS = {
    0: ("latin-1", b"\0"),
    1: ("utf-16", b"\0\0"),
    2: ("utf-16-be", b"\0\0"),
    3: ("utf-8", b"\0"),
}


class Id3Frame(NamedTuple):
    """An ID3v2 frame as stored: its id, flags, and whole bytes (header included)."""

    frame_id: bytes
    flags: int
    raw: bytes


class Id3Tag(NamedTuple):
    """An ID3v2 tag: its version, the offset just past it, and its frames (v2.3 and v2.4 only)."""

    major: int
    end: int
    frames: list[Id3Frame]


def read_id3(stream: IO[bytes], file_size: int) -> Id3Tag:
    """The ID3v2 tag at the start of the file.

    Raises:
        UndecodableMediaError: For an invalid or truncated tag, or one over 64 MiB.
    """
    header = read_exact(stream, 0, 10, "ID3 tag header")
    major, flags = header[3], header[5]
    if major == 0xFF or header[4] == 0xFF or any(byte & 0x80 for byte in header[6:10]):
        raise UndecodableMediaError(f"invalid ID3 tag header {header!r}")
    size = _syncsafe(header[6:10])
    end = 10 + size + (10 if flags & 0x10 else 0)
    if end > file_size:
        raise UndecodableMediaError(
            f"truncated ID3 tag: it declares {size} bytes, the file has {file_size - 10} after it"
        )
    if major not in (3, 4):
        return Id3Tag(major, end, [])
    if size > _MAX_ID3_TAG_BYTES:
        raise UndecodableMediaError(
            f"ID3 tag of {size} bytes is larger than the {_MAX_ID3_TAG_BYTES} the emulator reads"
        )
    body = read_exact(stream, 10, size, "ID3 tag")
    if major == 3 and flags & 0x80:
        body = body.replace(b"\xff\x00", b"\xff")  # v2.3 unsynchronises the whole tag
    pos = 0
    if flags & 0x40:  # extended header: v2.3 gives its size without these 4 bytes, v2.4 with
        pos = int.from_bytes(body[:4], "big") + 4 if major == 3 else _syncsafe(body[:4])
    frames = []
    while pos + 10 <= len(body) and body[pos] != 0:  # a zero byte starts the padding
        size_field = body[pos + 4 : pos + 8]
        frame_size = _syncsafe(size_field) if major == 4 else int.from_bytes(size_field, "big")
        flags_field = int.from_bytes(body[pos + 8 : pos + 10], "big")
        frames.append(Id3Frame(body[pos : pos + 4], flags_field, body[pos : pos + 10 + frame_size]))
        pos += 10 + frame_size
    return Id3Tag(major, end, frames)


def txxx(frame: Id3Frame, major: int) -> tuple[str, bytes, str] | None:
    """A TXXX frame's description, raw value and the codec of that value.

    None for other frames and for compressed, encrypted or grouped ones, which no tool writes
    for a TXXX frame.
    """
    data = frame.raw[10:]
    if frame.frame_id != b"TXXX" or frame.flags & (0x004C if major == 4 else 0x00E0):
        return None
    if major == 4 and frame.flags & 0x0002:
        data = data.replace(b"\xff\x00", b"\xff")
    if major == 4 and frame.flags & 0x0001:
        data = data[4:]  # data length indicator
    if not data or data[0] not in _ID3_ENCODINGS:
        return None
    codec, terminator = _ID3_ENCODINGS[data[0]]
    text, step = data[1:], len(terminator)
    cut = next(
        (i for i in range(0, len(text), step) if text[i : i + step] == terminator), len(text)
    )
    return text[:cut].decode(codec, "replace"), text[cut + step :], codec


def replace_txxx(path: StrPath, description: str, value: bytes | None) -> None:
    """Drop the TXXX frames with this description and add one holding ``value`` (ISO-8859-1).

    Other frames are kept. The new tag goes in front of the audio, so the file is written to a
    temporary file beside it that then replaces it. A file without a tag gets an ID3v2.4 one.

    Raises:
        ValueError: If the file has an ID3v2.2 tag, whose frames this cannot rewrite.
    """
    descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(descriptor, "wb") as out, open(path, "rb") as source:
            major, audio_start, frames = 4, 0, []
            if read_at(source, 0, 3) == b"ID3":
                tag = read_id3(source, source.seek(0, os.SEEK_END))
                if tag.major not in (3, 4):
                    raise ValueError(f"cannot rewrite an ID3v2.{tag.major} tag; convert it to v2.4")
                major, audio_start = tag.major, tag.end
                for frame in tag.frames:
                    found = txxx(frame, major)
                    if found is None or found[0] != description:
                        frames.append(frame.raw)
            if value is not None:
                payload = b"\0" + description.encode("latin-1") + b"\0" + value
                frames.append(id3_frame(major, b"TXXX", payload))
            out.write(id3_tag(major, frames))
            source.seek(audio_start)
            shutil.copyfileobj(source, out, 1 << 20)
        shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def id3_frame(major: int, frame_id: bytes, data: bytes) -> bytes:
    """An ID3v2.3 or v2.4 frame with no flags."""
    size = _syncsafe_bytes(len(data)) if major == 4 else struct.pack(">I", len(data))
    return frame_id + size + b"\0\0" + data


def txxx_frame(major: int, description: str, value: bytes) -> bytes:
    """A TXXX frame whose description and value are ISO-8859-1."""
    return id3_frame(major, b"TXXX", b"\0" + description.encode("latin-1") + b"\0" + value)


def id3_tag(major: int, frames: Iterable[bytes]) -> bytes:
    """An ID3v2 tag holding ``frames``, with no flags and no padding."""
    body = b"".join(frames)
    return b"ID3" + bytes((major, 0, 0)) + _syncsafe_bytes(len(body)) + body


def _syncsafe(data: bytes) -> int:
    value = 0
    for byte in data:
        value = value << 7 | byte & 0x7F
    return value


def _syncsafe_bytes(value: int) -> bytes:
    return bytes(value >> shift & 0x7F for shift in (21, 14, 7, 0))


# --- FLAC and AIFF ------------------------------------------------------------------------------


def flac_streaminfo(stream: IO[bytes], offset: int) -> tuple[int, int, int]:
    """Sample rate, channels and total samples (0 when unknown) of the FLAC stream at ``offset``."""
    block = read_exact(stream, offset + 4, 22, "FLAC STREAMINFO block")
    if block[0] & 0x7F != 0 or int.from_bytes(block[1:4], "big") < 34:
        raise UndecodableMediaError("FLAC stream does not start with a STREAMINFO block")
    # 20 bits sample rate, 3 bits channels - 1, 5 bits bits per sample - 1, 36 bits samples
    packed = int.from_bytes(block[14:22], "big")
    rate, channels, total = packed >> 44, (packed >> 41 & 7) + 1, packed & ((1 << 36) - 1)
    if rate == 0:
        raise UndecodableMediaError("FLAC STREAMINFO declares a sample rate of 0")
    return rate, channels, total


def aiff_comm(stream: IO[bytes], file_size: int) -> tuple[int, int, float]:
    """Channels, sample frames and sample rate from an AIFF file's COMM chunk."""
    comm = find_part(iff_chunks(stream, file_size, True, "AIFF"), b"COMM")
    if comm is None or comm.size < 18:
        raise UndecodableMediaError("AIFF COMM chunk missing or shorter than 18 bytes")
    channels, frames, _bits, exponent, mantissa = struct.unpack(
        ">hIhHQ", read_exact(stream, comm.body, 18, "AIFF COMM chunk")
    )
    rate = mantissa * 2.0 ** ((exponent & 0x7FFF) - 16383 - 63)  # 80-bit IEEE extended float
    if channels < 1 or rate <= 0:
        raise UndecodableMediaError(f"AIFF COMM chunk declares {channels} channels at {rate} Hz")
    return channels, frames, rate
