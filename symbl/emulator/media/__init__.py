"""Recordings for the emulator: probing uploaded media, and writing fixture files that carry
their own transcript (``from symbl.emulator.media import write_wav, embed_transcript``)."""

from __future__ import annotations

from .formats import UndecodableMediaError
from .recordings import (
    MediaInfo,
    TranscriptLine,
    embed_transcript,
    encode_transcript,
    parse_transcript,
    probe,
    write_mp3,
    write_mp4,
    write_wav,
)

__all__ = [
    "MediaInfo",
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
