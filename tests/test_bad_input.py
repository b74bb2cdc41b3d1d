"""Bad input to every public method: a clear, typed error, and nothing sent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import symbl
from symbl.emulator import Emulator

from helpers import MEETING, make_wav


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return make_wav(tmp_path / "ok.wav")


def rejected(emu: Emulator, call, match: str) -> None:
    """``call()`` raises InvalidArgumentError matching ``match`` and sends nothing at all."""
    emu.state.requests.clear()
    with pytest.raises(symbl.InvalidArgumentError, match=match):
        call()
    assert emu.requests() == [], [entry.path for entry in emu.requests()]


def test_bad_files(emu_env: Emulator, tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    locked = make_wav(tmp_path / "locked.wav")
    locked.chmod(0)
    rejected(
        emu_env,
        lambda: symbl.Audio.process_file(file_path=tmp_path / "missing.wav"),
        "does not exist",
    )
    rejected(emu_env, lambda: symbl.Audio.process_file(file_path=tmp_path), "not a regular file")
    rejected(emu_env, lambda: symbl.Video.process_file(file_path=empty), "is empty")
    rejected(emu_env, lambda: symbl.Audio.process_file(file_path=None), "file_path")  # type: ignore[arg-type]
    if os.geteuid() != 0:  # root reads anything
        rejected(emu_env, lambda: symbl.Audio.process_file(file_path=locked), "not readable")


def test_bad_content_types(emu_env: Emulator, wav: Path) -> None:
    rejected(
        emu_env,
        lambda: symbl.Audio.process_file(file_path=wav, content_type="audio/ogg"),
        "not accepted",
    )
    rejected(
        emu_env,
        lambda: symbl.Video.process_file(file_path=wav, content_type="audio/wav"),
        "not accepted",
    )
    rejected(
        emu_env,
        lambda: symbl.Text.process(payload=MEETING, content_type="text/plain"),
        "application/json",
    )


@pytest.mark.parametrize(
    ("parameters", "match"),
    [
        ({"colour": "red"}, "unknown option 'colour'"),
        ({"confidenceThreshold": 2}, "0.5 to 1.0"),
        ({"detectEntities": "yes"}, "True or False"),
        ({"languageCode": "xx-XX"}, "not a supported language"),
        ({"mode": "radio"}, "phone, default"),
        ({"customVocabulary": "Platform"}, "list of strings"),
        ({"trackers": [{"name": "x"}]}, "vocabulary"),
        ({"webhookUrl": "not a url"}, "http"),
        ({"name": "a", "Name": "b"}, "unknown option 'Name'"),
        ({"detect_entities": True, "detectEntities": True}, "twice"),
        (
            {"channelMetadata": [{"channel": 1, "speaker": {"name": "A"}}]},
            "enableSeparateRecognitionPerChannel",
        ),
        ("name=x", "must be a dict"),
    ],
)
def test_bad_options(emu_env: Emulator, wav: Path, parameters: object, match: str) -> None:
    rejected(emu_env, lambda: symbl.Audio.process_file(file_path=wav, parameters=parameters), match)
    rejected(
        emu_env,
        lambda: symbl.Audio.process_url({"url": "https://x.example/a.wav"}, parameters=parameters),
        match,
    )


def test_bad_payloads(emu_env: Emulator) -> None:
    rejected(emu_env, lambda: symbl.Audio.process_url(payload={"link": "https://x"}), "'url'")
    rejected(emu_env, lambda: symbl.Video.process_url(payload={"url": "ftp://x/a.mp4"}), "http")
    rejected(
        emu_env,
        lambda: symbl.Audio.process_url(payload={"url": "https://x.example/a", "nme": 1}),
        "unknown option 'nme'",
    )
    rejected(
        emu_env,
        lambda: symbl.Audio.process_url(
            {"url": "https://x.example/a", "name": "a"}, parameters={"name": "b"}
        ),
        "both payload and parameters",
    )
    rejected(emu_env, lambda: symbl.Text.process(payload={"message": []}), "'messages'")
    rejected(emu_env, lambda: symbl.Text.process(payload={"messages": []}), "non-empty list")
    rejected(
        emu_env, lambda: symbl.Text.process(payload={"messages": [{"payload": {}}]}), "content"
    )
    rejected(
        emu_env,
        lambda: symbl.Text.process(
            payload={"messages": [{"payload": {"content": "hi"}, "when": 1}]}
        ),
        "payload, from, duration",
    )
    bad_time = {
        "messages": [{"payload": {"content": "hi"}, "duration": {"startTime": "yesterday"}}]
    }
    rejected(emu_env, lambda: symbl.Text.process(payload=bad_time), "ISO-8601")
    backwards = {
        "messages": [
            {
                "payload": {"content": "hi"},
                "duration": {
                    "startTime": "2021-01-01T00:00:05Z",
                    "endTime": "2021-01-01T00:00:01Z",
                },
            }
        ]
    }
    rejected(emu_env, lambda: symbl.Text.process(payload=backwards), "ends before it starts")
    rejected(
        emu_env,
        lambda: symbl.Text.process(payload=MEETING, parameters={"customVocabulary": ["x"]}),
        "unknown option",
    )
    rejected(emu_env, lambda: symbl.Text.process(payload=MEETING, wait="no"), "wait")  # type: ignore[arg-type]


def test_bad_ids(emu_env: Emulator, wav: Path) -> None:
    for bad in ("", "  ", "12/34", "12?x", None, 1.5, True):
        rejected(emu_env, lambda bad=bad: symbl.Conversations.get_messages(bad), "conversation_id")
        rejected(emu_env, lambda bad=bad: symbl.Audio.append_file(wav, bad), "conversation_id")
        rejected(emu_env, lambda bad=bad: symbl.Text.append(MEETING, bad), "conversation_id")
    rejected(emu_env, lambda: symbl.Conversation("123", job_id="a/b"), "job_id")
    rejected(
        emu_env, lambda: symbl.Conversations.put_members("123", "", {"name": "A"}), "members_id"
    )


def test_bad_conversation_parameters(emu_env: Emulator) -> None:
    conversations = symbl.Conversations
    rejected(
        emu_env,
        lambda: conversations.get_messages("1", parameters={"verbos": True}),
        "unknown option 'verbos'",
    )
    rejected(
        emu_env,
        lambda: conversations.get_messages("1", parameters={"verbose": "maybe"}),
        "True or False",
    )
    rejected(
        emu_env,
        lambda: conversations.get_topics("1", parameters={"customTopicVocabulary": "x"}),
        "list of strings",
    )
    rejected(emu_env, lambda: conversations.put_members("1", "m", {}), "name")
    rejected(
        emu_env,
        lambda: conversations.put_members("1", "m", {"name": "A", "id": "other"}),
        "differs",
    )
    rejected(
        emu_env,
        lambda: conversations.put_members("1", "m", {"name": "A", "role": "x"}),
        "take id, name, email",
    )
    rejected(emu_env, lambda: conversations.put_speakers_events("1", {}), "speakerEvents")
    rejected(
        emu_env,
        lambda: conversations.put_speakers_events("1", {"speakerEvents": [{"type": "spoke"}]}),
        "type",
    )
    no_offset = {
        "speakerEvents": [
            {"type": "started_speaking", "user": {"name": "A"}, "offset": {"seconds": -1}}
        ]
    }
    rejected(emu_env, lambda: conversations.put_speakers_events("1", no_offset), "whole number")
    rejected(
        emu_env,
        lambda: conversations.get_formatted_transcript("1", {"contentType": "text/html"}),
        "contentType",
    )
    rejected(
        emu_env,
        lambda: conversations.get_formatted_transcript(
            "1", {"contentType": "text/srt", "createParagraphs": True}
        ),
        "takes",
    )
    rejected(
        emu_env, lambda: conversations.get_summary("1", parameters={"refresh": 1}), "True or False"
    )


def test_bad_credentials_argument(emu_env: Emulator) -> None:
    rejected(
        emu_env,
        lambda: symbl.Text.process(payload=MEETING, credentials={"app_id": "x"}),
        "app_secret",
    )
    rejected(
        emu_env, lambda: symbl.Conversations.get_messages("1", credentials="id:secret"), "dict"
    )  # type: ignore[arg-type]
