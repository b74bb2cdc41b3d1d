"""Transcript exports (SRT, WebVTT, text, Markdown, JSON Lines), compared with hand-written
files in tests/data/exports: formatted from known messages, and through ``export`` against
the emulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import symbl
from symbl._models.exports import EXPORT_FORMATS, clock, export_messages
from symbl.emulator import Emulator

EXPECTED = Path(__file__).parent / "data" / "exports"
SUFFIXES = {"srt": "srt", "vtt": "vtt", "txt": "txt", "markdown": "md", "jsonl": "jsonl"}
LONG = (
    "I have the numbers for the quarter and the pricing proposal is ready for review. "
    "Questions, everyone?"
)
#: GET .../messages as the service answers it: offsets from the conversation's start (the
#: first message begins 1.25 s in), a message with no speaker, one too long for a subtitle cue,
#: one with nothing said and one with only offsets.
KNOWN = [
    {
        "text": "Hello, everyone.",
        "from": {"name": "Ann", "userId": "ann@example.com"},
        "startTime": "2021-06-01T16:00:01.250Z",
        "endTime": "2021-06-01T16:00:03.000Z",
        "timeOffset": 1.25,
        "duration": 1.75,
    },
    {
        "text": "Shall we\n  start?",
        "from": {"name": "Ann", "userId": "ann@example.com"},
        "startTime": "2021-06-01T16:00:03.400Z",
        "endTime": "2021-06-01T16:00:05.000Z",
        "timeOffset": 3.4,
        "duration": 1.6,
    },
    {
        "text": "Yes.",
        "from": {},
        "startTime": "2021-06-01T16:00:05.500Z",
        "endTime": "2021-06-01T16:00:06.000Z",
    },
    {
        "text": LONG,
        "from": {"name": "Bob <Sales>"},
        "startTime": "2021-06-01T17:00:06+01:00",  # the same clock, another time zone
        "endTime": "2021-06-01T16:00:16.000000Z",
    },
    {
        "text": "   ",
        "from": {"name": "Ann"},
        "startTime": "2021-06-01T16:00:16.500Z",
        "endTime": "2021-06-01T16:00:17.000Z",
    },
    {"text": "Thanks & bye.", "from": {"name": " Ann "}, "timeOffset": 17.5, "duration": 0.5},
]
#: A short call, as the Text API takes it: one sentence per message (call.srt, .vtt, .txt).
CALL = json.loads((EXPECTED / "call.json").read_text(encoding="utf-8"))["messages"]


def expected(name: str) -> str:
    return (EXPECTED / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("format", EXPORT_FORMATS)
def test_known_messages_export_as_the_hand_written_files(format: str) -> None:
    assert export_messages(KNOWN, format) == expected(f"known.{SUFFIXES[format]}")


def test_the_formats_name_is_read_in_any_case() -> None:
    assert export_messages(KNOWN, "SRT") == expected("known.srt")


def test_times_reach_hours_and_milliseconds() -> None:
    assert clock(3_723_456, ",") == "01:02:03,456"
    assert clock(0) == "00:00:00.000"
    late = [{"text": "Still here.", "from": {"name": "Ann"}, "timeOffset": 3723.4, "duration": 2}]
    assert export_messages(late, "srt") == ("1\n01:02:03,400 --> 01:02:05,400\nAnn: Still here.\n")
    assert export_messages(late, "txt") == "[01:02:03] Ann: Still here.\n"


def test_no_messages_export_as_empty_files() -> None:
    assert export_messages([], "vtt") == "WEBVTT\n"
    for format in ("srt", "txt", "markdown", "jsonl"):
        assert export_messages([], format) == ""


@pytest.mark.parametrize(
    ("format", "messages", "message"),
    [
        ("docx", [], "unknown export format 'docx'; choose one of srt, vtt, txt, markdown, jsonl"),
        (None, [], "unknown export format None"),
        ("srt", [{"text": "ok"}, "not a message"], "messages[1] must be a message object"),
    ],
)
def test_bad_input_is_refused_clearly(format: Any, messages: list, message: str) -> None:
    with pytest.raises(symbl.errors.InvalidArgumentError, match=message.replace("[", r"\[")):
        export_messages(messages, format)


def test_conversation_export_against_the_emulator(
    emu: Emulator, client: symbl.Client, tmp_path: Path
) -> None:
    conversation = symbl.Conversation(emu.add_conversation(CALL), client=client)
    assert conversation.export("srt") == expected("call.srt")
    target = tmp_path / "call.vtt"
    assert conversation.export("vtt", target) is None
    assert target.read_bytes() == expected("call.vtt").encode()
    reads = emu.requests(f"/v1/conversations/{conversation.get_conversation_id()}/messages")
    assert [(read.method, dict(read.query)) for read in reads] == [("GET", {}), ("GET", {})]


@pytest.mark.parametrize(
    ("format", "path", "message"),
    [
        ("pdf", None, "unknown export format 'pdf'"),
        ("srt", "missing/call.srt", "path 'missing/call.srt' is in a folder that does not exist"),
        ("srt", ".", "path '.' is a folder; name a file in it"),
        ("srt", 42, "path must be the path of a file, not 42"),
    ],
)
def test_export_refuses_bad_arguments_before_sending(
    emu: Emulator, client: symbl.Client, format: Any, path: Any, message: str
) -> None:
    conversation = symbl.Conversation(emu.add_conversation(CALL), client=client)
    with pytest.raises(symbl.errors.InvalidArgumentError, match=message):
        conversation.export(format, path)
    assert emu.requests("/v1/conversations") == []


def test_async_export_against_the_emulator(emu: Emulator, tmp_path: Path) -> None:
    conversation_id = emu.add_conversation(CALL)
    target = tmp_path / "call.txt"

    async def export() -> tuple[str, None]:
        async with symbl.AsyncClient(emu.credentials, base_url=emu.base_url) as client:
            conversation = symbl.AsyncConversation(conversation_id, client=client)
            return await conversation.export("jsonl"), await conversation.export("txt", target)

    text, written = asyncio.run(export())
    assert [json.loads(line)["text"] for line in text.splitlines()] == [
        "Can you send the report by Friday?",
        "Yes, I will.",
        "Thanks.",
    ]
    assert written is None
    assert target.read_text(encoding="utf-8") == expected("call.txt")
