"""Each Async API call puts exactly what PROTOCOL.md §2 prescribes on the wire."""

from __future__ import annotations

from pathlib import Path

import pytest

import symbl
from symbl.emulator import Emulator
from symbl.emulator.media import write_mp3

from helpers import MEETING, OPTIONS, OPTIONS_QUERY, assert_text_body, make_mp4, make_wav


def only_request(emu: Emulator, path: str):
    (entry,) = emu.requests(path)
    return entry


def assert_authenticated(entry, emu: Emulator) -> None:
    token = entry.headers["x-api-key"]
    assert entry.headers["authorization"] == f"Bearer {token}"
    assert entry.app_id == emu.app_id
    assert token not in entry.query_string
    assert entry.headers["user-agent"].startswith("symbl-python/")


@pytest.mark.parametrize("media", ["Audio", "Video"])
def test_process_file_streams_the_file_with_options_in_the_query(
    emu_env: Emulator, tmp_path: Path, media: str
) -> None:
    path = make_wav(tmp_path / "call.wav") if media == "Audio" else make_mp4(tmp_path / "call.mp4")
    conversation = getattr(symbl, media).process_file(file_path=str(path), parameters=OPTIONS)
    entry = only_request(emu_env, f"/v1/process/{media.lower()}")
    assert entry.method == "POST"
    assert entry.query_string == OPTIONS_QUERY
    assert entry.headers["content-type"] == ("audio/wav" if media == "Audio" else "video/mp4")
    assert int(entry.headers["content-length"]) == path.stat().st_size == entry.body_size
    assert entry.body == path.read_bytes()
    assert_authenticated(entry, emu_env)
    assert conversation.get_job_status() == "completed"


def test_audio_content_type_is_detected_from_the_file(emu_env: Emulator, tmp_path: Path) -> None:
    mp3 = tmp_path / "voice.bin"
    write_mp3(mp3, 2.0)
    symbl.Audio.process_file(file_path=mp3)
    assert only_request(emu_env, "/v1/process/audio").headers["content-type"] == "audio/mpeg"


def test_given_content_type_is_sent_as_given(emu_env: Emulator, tmp_path: Path) -> None:
    path = make_wav(tmp_path / "call.wav")
    symbl.Audio.process_file(file_path=path, content_type="audio/wave")
    assert only_request(emu_env, "/v1/process/audio").headers["content-type"] == "audio/wave"


def test_unknown_audio_format_is_sent_without_content_type(
    emu_env: Emulator, tmp_path: Path
) -> None:
    flac = tmp_path / "take.flac"
    flac.write_bytes(b"fLaC" + bytes(200))
    with pytest.raises(symbl.JobFailedError):
        symbl.Audio.process_file(file_path=flac)
    entry = only_request(emu_env, "/v1/process/audio")
    assert "content-type" not in entry.headers


def test_append_file_puts_to_the_conversation(emu_env: Emulator, tmp_path: Path) -> None:
    first = symbl.Audio.process_file(file_path=make_wav(tmp_path / "one.wav"))
    cid = first.get_conversation_id()
    second = symbl.Audio.append_file(
        make_wav(tmp_path / "two.wav"), cid, parameters={"mode": "phone"}
    )
    entry = only_request(emu_env, f"/v1/process/audio/{cid}")
    assert entry.method == "PUT"
    assert entry.query_string == "mode=phone"
    assert second.get_conversation_id() == cid
    assert second.get_job_id() != first.get_job_id()


@pytest.mark.parametrize("media", ["audio", "video"])
def test_process_url_sends_payload_and_parameters_in_the_body(
    emu_env: Emulator, media: str
) -> None:
    url = f"https://example.com/call.{'wav' if media == 'audio' else 'mp4'}"
    emu_env.register_media(url=url, transcript=[{"text": "Hello there.", "start": 0, "end": 1}])
    resource = symbl.Audio if media == "audio" else symbl.Video
    resource.process_url(
        payload={"url": url, "name": "Demo"},
        parameters={
            "detect_phrases": True,
            "enableSpeakerDiarization": True,
            "diarizationSpeakerCount": 2,
        },
    )
    entry = only_request(emu_env, f"/v1/process/{media}/url")
    assert entry.method == "POST"
    assert entry.query_string == "enableSpeakerDiarization=true&diarizationSpeakerCount=2"
    assert entry.headers["content-type"] == "application/json"
    assert entry.json == {"url": url, "name": "Demo", "detectPhrases": True}
    assert_authenticated(entry, emu_env)


def test_append_url(emu_env: Emulator) -> None:
    url = "https://example.com/more.wav"
    emu_env.register_media(url=url, transcript=[{"text": "More words.", "start": 0, "end": 1}])
    conversation = symbl.Text.process(payload=MEETING)
    symbl.Audio.append_url({"url": url}, conversation.get_conversation_id())
    entry = only_request(emu_env, f"/v1/process/audio/url/{conversation.get_conversation_id()}")
    assert entry.method == "PUT"
    assert entry.json == {"url": url}


def test_text_process_merges_parameters_into_the_body(emu_env: Emulator) -> None:
    trackers = [{"name": "Promotion", "vocabulary": ["special promotion"]}]
    symbl.Text.process(payload=MEETING, parameters={"trackers": trackers, "detectEntities": "true"})
    entry = only_request(emu_env, "/v1/process/text")
    assert_text_body(entry, trackers)


def test_text_append(emu_env: Emulator) -> None:
    conversation = symbl.Text.process(payload=MEETING)
    cid = conversation.get_conversation_id()
    more = {"messages": [{"payload": {"content": "One more thing."}, "from": {"name": "Mike"}}]}
    appended = symbl.Text.append(more, cid)
    entry = only_request(emu_env, f"/v1/process/text/{cid}")
    assert entry.method == "PUT"
    assert entry.json == more
    texts = [message.text for message in appended.get_messages().messages]
    assert texts[-1] == "One more thing."


def test_credentials_argument_uses_that_account(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.add_app("other-app", "other-secret")
    monkeypatch.setenv("SYMBL_BASE_URL", emu.base_url)
    symbl.Text.process(
        payload=MEETING, credentials={"app_id": "other-app", "app_secret": "other-secret"}
    )
    assert only_request(emu, "/v1/process/text").app_id == "other-app"


def test_a_bound_client_has_the_same_resources(emu: Emulator) -> None:
    client = symbl.Client(emu.credentials, base_url=emu.base_url)
    conversation = client.Text.process(payload=MEETING)
    assert conversation.client is client
    assert (
        client.Conversations.get_conversation(conversation.get_conversation_id()).name
        == MEETING["name"]
    )


def test_appends_are_never_resent_after_a_server_error(emu_env: Emulator) -> None:
    conversation = symbl.Text.process(payload=MEETING)
    cid = conversation.get_conversation_id()
    emu_env.add_fault(path=f"/v1/process/text/{cid}", method="PUT", status=502, times=1)
    more = {"messages": [{"payload": {"content": "Once only."}}]}
    with pytest.raises(symbl.InternalServerError):
        symbl.Text.append(more, cid)
    assert len(emu_env.requests(f"/v1/process/text/{cid}")) == 1, "a PUT append creates a job"
