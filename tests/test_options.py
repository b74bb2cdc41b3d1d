"""Options pass through (PROTOCOL.md §2.2, §6.2, §11.8, §12 C4, C5, C10).

Documented options reach the emulator where they belong (the query of a file upload, the body
of a URL or text job, the ``start_request`` of a stream), checked; options the SDK does not know
go out as given, name and value, with one DEBUG line naming them (never their value); a known
option with a bad value is refused before anything is sent.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import pytest
import requests

import symbl
from symbl._resources.bookmarks import stream_frame
from symbl.emulator import Emulator, RecordedRequest

from helpers import MEETING, make_wav

MEDIA_URL = "https://example.com/options.wav"
SECRET = "value-that-must-stay-out-of-logs"
ENTITIES = [{"customType": "Company", "text": "Acme"}]
TRACKERS = [{"name": "Pricing", "vocabulary": ["price", "discount"]}]
CHANNELS = [{"channel": 1, "speaker": {"name": "Ann", "email": "ann@example.com"}}]
CALL_SCORE = {
    "conversationType": "sales",
    "features": {"featureList": ["insights", "callScore"]},
    "metadata": {"salesStage": "demo", "prospectName": "Acme"},
}
#: Every documented option of a recording (§2.2, §11.8) and its query form.
MEDIA_OPTIONS = {
    "name": "Call",
    "customVocabulary": ["Platform", "Discussion"],
    "confidenceThreshold": 0.6,
    "detectPhrases": True,
    "webhookUrl": "http://127.0.0.1:9/jobs",
    "entities": ENTITIES,
    "detectEntities": True,
    "languageCode": "en-US",
    "mode": "phone",
    "enableSeparateRecognitionPerChannel": True,
    "channelMetadata": CHANNELS,
    "trackers": TRACKERS,
    "enableAllTrackers": False,
    "enableSummary": True,
    "enableSpeakerDiarization": True,
    "diarizationSpeakerCount": 2,
    **CALL_SCORE,
    "timezoneOffset": -480,
}
DIARIZATION = ("enableSpeakerDiarization", "diarizationSpeakerCount")


def query_form(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


@pytest.fixture
def emu_fast(emu_env: Emulator) -> Emulator:
    """The emulator with instant jobs and a recording registered at :data:`MEDIA_URL`."""
    emu_env.configure(job_queue_seconds=0.0, job_processing_seconds=0.0)
    emu_env.register_media(
        url=MEDIA_URL, transcript=[{"text": "Hello there.", "start": 0, "end": 1}]
    )
    return emu_env


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return make_wav(tmp_path / "call.wav", 0.5)


def submission(emu: Emulator, path: str) -> RecordedRequest:
    """The one accepted request to exactly ``path``."""
    (entry,) = [entry for entry in emu.requests(path) if entry.path == path]
    assert entry.status == 201, (entry.status, entry.json)
    return entry


def passed_through_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "symbl" and "sent as given" in record.getMessage()
    ]


# --- documented options, in their documented places ----------------------------------------------


def test_every_file_option_goes_in_the_query(emu_fast: Emulator, wav: Path) -> None:
    symbl.Audio.process_file(file_path=wav, parameters=MEDIA_OPTIONS)
    entry = submission(emu_fast, "/v1/process/audio")
    assert entry.query == [(name, query_form(value)) for name, value in MEDIA_OPTIONS.items()]
    assert entry.query_dict()["timezoneOffset"] == "-480"  # sent unchanged, sign included


def test_every_url_option_goes_in_the_body_and_diarization_in_the_query(
    emu_fast: Emulator,
) -> None:
    body = {name: value for name, value in MEDIA_OPTIONS.items() if name not in DIARIZATION}
    payload = {"url": MEDIA_URL, **body, "timezoneOffset": 0, "startTime": "2023-04-20T17:26:12"}
    symbl.Video.process_url(payload=payload, parameters={"enableSpeakerDiarization": True})
    entry = submission(emu_fast, "/v1/process/video/url")
    assert entry.json == payload
    assert entry.query == [("enableSpeakerDiarization", "true")]


def test_every_text_option_goes_in_the_body(emu_fast: Emulator) -> None:
    options = {
        "name": "Chat",
        "confidenceThreshold": 0.6,
        "detectPhrases": True,
        "entities": ENTITIES,
        "detectEntities": True,
        "trackers": TRACKERS,
        "enableAllTrackers": True,
        "enableSummary": False,
        **CALL_SCORE,
        "timezoneOffset": 330,
        "startTime": "2023-04-20T17:26:12Z",
    }
    symbl.Text.process(payload={**MEETING, **options}, parameters={"webhook_url": "http://a.b/c"})
    body = submission(emu_fast, "/v1/process/text").json
    assert body == {**options, "webhookUrl": "http://a.b/c", "messages": MEETING["messages"]}


def test_a_start_time_may_be_an_aware_datetime_sent_as_listings_send_it(
    emu_fast: Emulator,
) -> None:
    paris = timezone(timedelta(hours=2))
    given = datetime(2023, 4, 20, 19, 26, 12, 345678, tzinfo=paris)
    symbl.Text.process(payload=MEETING, parameters={"start_time": given})
    assert submission(emu_fast, "/v1/process/text").json["startTime"] == "2023-04-20T17:26:12.345Z"
    with pytest.raises(symbl.InvalidArgumentError, match=r"startTime .* has no timezone"):
        symbl.Text.process(payload=MEETING, parameters={"startTime": datetime(2023, 4, 20)})
    assert len(emu_fast.requests("/v1/process/text")) == 1


def test_an_unknown_option_set_to_none_is_not_sent(
    emu_fast: Emulator, wav: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="symbl")
    symbl.Audio.process_file(file_path=wav, parameters={"futureOption": None, "kept": 1})
    symbl.Text.process(payload={**MEETING, "futureOption": None})
    assert submission(emu_fast, "/v1/process/audio").query == [("kept", "1")]
    assert "futureOption" not in submission(emu_fast, "/v1/process/text").json
    assert [line for line in passed_through_lines(caplog) if "futureOption" in line] == []


def test_every_streaming_field_reaches_the_start_request(emu_env: Emulator) -> None:
    config = {
        "confidenceThreshold": 0.7,
        "languageCode": "en-US",
        "timezoneOffset": -480,
        "meetingTitle": "Standup",
        "sentiment": True,
        "detectEntities": True,
        "redaction": {"identifyContent": True, "redactContent": True, "redactionString": "[x]"},
        "trackers": {"enableAllTrackers": True, "interimResults": False},
        "speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": 16000},
    }
    connection = symbl.Streaming.start_connection(
        config=config,
        custom_vocabulary=["Symbl"],
        no_connection_timeout=60,
        disconnect_on_stop_request=False,
        disconnect_on_stop_request_timeout=120,
    )
    try:
        sent = emu_env.streams()[-1]["start_request"]
    finally:
        connection.stop(timeout=2)
    assert sent == {
        "type": "start_request",
        "insightTypes": [],
        "config": config,
        "noConnectionTimeout": 60,
        "disconnectOnStopRequest": False,
        "disconnectOnStopRequestTimeout": 120,
        "customVocabulary": ["Symbl"],
    }


# --- options the SDK does not know ---------------------------------------------------------------

UNKNOWN = {"futureOption": {"level": 2, "tags": ["a"]}, "brand_new_flag": True, "Ratio": 0.25}


@pytest.mark.parametrize(
    ("call", "path", "where"),
    [
        pytest.param(
            lambda wav: symbl.Audio.process_file(file_path=wav, parameters=UNKNOWN),
            "/v1/process/audio",
            "query",
            id="file-parameters",
        ),
        pytest.param(
            lambda wav: symbl.Audio.process_url(payload={"url": MEDIA_URL, **UNKNOWN}),
            "/v1/process/audio/url",
            "body",
            id="url-payload",
        ),
        pytest.param(
            lambda wav: symbl.Audio.process_url(payload=MEDIA_URL, parameters=UNKNOWN),
            "/v1/process/audio/url",
            "body",
            id="url-parameters",
        ),
        pytest.param(
            lambda wav: symbl.Text.process(payload={**MEETING, **UNKNOWN}),
            "/v1/process/text",
            "body",
            id="text-payload",
        ),
    ],
)
def test_unknown_options_are_sent_as_given_and_accepted(
    emu_fast: Emulator,
    wav: Path,
    caplog: pytest.LogCaptureFixture,
    call: Callable[[Path], object],
    path: str,
    where: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="symbl")
    call(wav)
    entry = submission(emu_fast, path)
    if where == "query":
        assert entry.query == [(name, query_form(value)) for name, value in UNKNOWN.items()]
    else:
        assert {name: entry.json[name] for name in UNKNOWN} == UNKNOWN
    lines = passed_through_lines(caplog)
    assert [line for name in UNKNOWN for line in lines if repr(name) in line] == lines
    assert len(lines) == len(UNKNOWN), lines


def test_the_debug_line_names_the_option_but_never_its_value(
    emu_fast: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="symbl")
    symbl.Text.process(payload=MEETING, parameters={"partnerApiKey": SECRET})
    assert submission(emu_fast, "/v1/process/text").json["partnerApiKey"] == SECRET
    (line,) = passed_through_lines(caplog)
    assert "'partnerApiKey'" in line and "Text.process parameters" in line
    assert not [r for r in caplog.records if SECRET in r.getMessage()]


def test_unknown_streaming_config_fields_are_sent_where_they_were_put(
    emu_env: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="symbl")
    config = {
        "profanityFilter": {"mask": SECRET},
        "redaction": {"identifyContent": True, "entities": ["PHONE_NUMBER"]},
    }
    connection = symbl.Streaming.start_connection(config=config)
    try:
        sent = emu_env.streams()[-1]["start_request"]["config"]
    finally:
        connection.stop(timeout=2)
    assert sent["profanityFilter"] == config["profanityFilter"]
    assert sent["redaction"] == config["redaction"]
    lines = passed_through_lines(caplog)
    assert len(lines) == 2, lines
    assert "'config.profanityFilter'" in lines[0] and "'config.redaction.entities'" in lines[1]
    assert SECRET not in "\n".join(lines)


def test_unknown_speech_recognition_and_speaker_members_are_sent_as_given(
    emu_env: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="symbl")
    recognition = {"encoding": "LINEAR16", "sampleRateHertz": 8000, "audioChannelCount": 2}
    speaker = {"userId": "ann@example.com", "name": "Ann", "role": {"level": SECRET}}
    connection = symbl.Streaming.start_connection(
        config={"speechRecognition": recognition}, speaker=speaker
    )
    try:
        sent = emu_env.streams()[-1]["start_request"]
    finally:
        connection.stop(timeout=2)
    assert (sent["config"]["speechRecognition"], sent["speaker"]) == (recognition, speaker)
    lines = passed_through_lines(caplog)
    assert len(lines) == 2, lines
    assert "'config.speechRecognition.audioChannelCount'" in lines[0]
    assert "'speaker.role'" in lines[1] and SECRET not in lines[1]
    with pytest.raises(symbl.InvalidArgumentError, match=r"speaker\.name must be a str"):
        symbl.Streaming.start_connection(speaker={"name": 5, "role": "host"})
    assert len(emu_env.streams()) == 1


def test_a_stream_bookmark_frame_is_the_checked_bookmark_with_its_operation_last() -> None:
    bookmark = {
        "label": "Intro",
        "description": "The start",
        "user": {"name": "Ann", "userId": "ann@example.com"},
        "begin_time_offset": 0,
        "duration": 5,
        "operation": "delete",
    }
    frame = json.loads(stream_frame("update", "b-1", bookmark))
    assert frame == {
        "label": "Intro",
        "description": "The start",
        "user": {"name": "Ann", "userId": "ann@example.com"},
        "beginTimeOffset": 0,
        "duration": 5,
        "id": "b-1",
        "type": "bookmark_request",
        "operation": "update",
    }
    assert list(frame)[-2:] == ["type", "operation"]
    with pytest.raises(symbl.InvalidArgumentError, match="description"):
        stream_frame("create", None, {**bookmark, "description": ""})


def test_unknown_top_level_streaming_fields_are_sent_at_the_top_level(emu_env: Emulator) -> None:
    connection = symbl.Streaming.start_connection(
        extra_fields={"enableAllTrackers": True, "futureMode": {"level": 2}}
    )
    try:
        sent = emu_env.streams()[-1]["start_request"]
    finally:
        connection.stop(timeout=2)
    assert (sent["enableAllTrackers"], sent["futureMode"]) == (True, {"level": 2})
    assert "futureMode" not in sent["config"]
    with pytest.raises(symbl.InvalidArgumentError, match="enableAllTrackers must be true"):
        symbl.Streaming.start_connection(extra_fields={"enableAllTrackers": "yes"})
    with pytest.raises(symbl.InvalidArgumentError, match="own arguments set"):
        symbl.Streaming.start_connection(extra_fields={"config": {}})
    assert len(emu_env.streams()) == 1


def test_the_sdk_never_adds_enable_all_trackers(emu_fast: Emulator, wav: Path) -> None:
    symbl.Audio.process_file(file_path=wav)
    symbl.Audio.process_url(payload=MEDIA_URL)
    symbl.Text.process(payload=MEETING)
    symbl.Streaming.start_connection(trackers=TRACKERS).stop(timeout=2)
    entries = emu_fast.requests("/v1/process/")
    assert len(entries) == 3
    for entry in entries:
        assert "enableAllTrackers" not in entry.query_dict()
        assert "enableAllTrackers" not in (entry.json or {})
    start_request = emu_fast.streams()[-1]["start_request"]
    assert "enableAllTrackers" not in start_request
    assert "trackers" not in start_request["config"]


# --- known options with bad values: refused before anything is sent ------------------------------


def text_with(**options: Any) -> Callable[[Path], object]:
    return lambda wav: symbl.Text.process(payload=MEETING, parameters=options)


def stream_with(**config: Any) -> Callable[[Path], object]:
    return lambda wav: symbl.Streaming.start_connection(config=config)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(text_with(timezoneOffset=841), "timezoneOffset", id="offset-too-east"),
        pytest.param(text_with(timezone_offset=-721), "timezoneOffset", id="offset-too-west"),
        pytest.param(text_with(timezoneOffset=1.5), "whole minutes", id="offset-fraction"),
        pytest.param(text_with(timezoneOffset=True), "timezoneOffset", id="offset-bool"),
        pytest.param(
            lambda wav: symbl.Audio.process_file(wav, parameters={"timezoneOffset": "UTC"}),
            "timezoneOffset",
            id="offset-file",
        ),
        pytest.param(text_with(conversationType="support"), "sales, general", id="type"),
        pytest.param(text_with(startTime="yesterday"), "ISO-8601", id="start-time"),
        pytest.param(text_with(startTime="2023-13-01T00:00:00"), "startTime", id="no-month-13"),
        pytest.param(
            lambda wav: symbl.Audio.process_url({"url": MEDIA_URL, "startTime": 1681925172}),
            "startTime",
            id="start-time-number",
        ),
        pytest.param(
            text_with(metadata={"salesStage": "Demo"}), r"metadata\.salesStage", id="stage-case"
        ),
        pytest.param(text_with(enableAllTrackers="yes"), "enableAllTrackers", id="all-trackers"),
        pytest.param(text_with(futureOption={1, 2}), "futureOption", id="unknown-not-json"),
        pytest.param(text_with(**{"": True}), "not a name", id="unknown-empty-name"),
        pytest.param(
            lambda wav: symbl.Audio.process_file(wav, parameters={1: True}),
            "not a name",
            id="unknown-int-name",
        ),
        pytest.param(
            stream_with(redaction={"identifyContent": "yes"}),
            r"config\.redaction\.identifyContent",
            id="redaction-flag",
        ),
        pytest.param(
            stream_with(redaction={"redactionString": 5}),
            r"config\.redaction\.redactionString",
            id="redaction-string",
        ),
        pytest.param(stream_with(redaction=True), r"config\.redaction", id="redaction-bool"),
        pytest.param(
            stream_with(trackers={"enableAllTrackers": "true"}),
            r"config\.trackers\.enableAllTrackers",
            id="config-trackers",
        ),
        pytest.param(
            stream_with(timezoneOffset=900), r"config\.timezoneOffset", id="stream-offset"
        ),
        pytest.param(
            stream_with(detectEntities="yes"), r"config\.detectEntities", id="detect-entities"
        ),
        pytest.param(
            lambda wav: symbl.Conversations.get_messages("1", parameters={"verbose": "maybe"}),
            "verbose",
            id="reading-flag",
        ),
        pytest.param(
            lambda wav: symbl.Conversations.get_topics(
                "1", parameters={"parent_refs": True, "parentRefs": False}
            ),
            "twice",
            id="reading-flag-twice",
        ),
    ],
)
def test_known_options_with_bad_values_are_refused_before_sending(
    emu_env: Emulator, wav: Path, call: Callable[[Path], object], match: str
) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match=match):
        call(wav)
    assert emu_env.requests() == []


# --- reading flags (§4, §12 C5) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "sent", "logged"),
    [
        (True, "true", False),
        (False, "false", False),
        ("true", "true", False),
        ("FALSE", "false", False),
        (["Platform", "Discussion"], '["Platform","Discussion"]', True),
        ("Platform", "Platform", True),
    ],
)
def test_custom_topic_vocabulary(
    emu_env: Emulator, caplog: pytest.LogCaptureFixture, given: Any, sent: str, logged: bool
) -> None:
    conversation_id = emu_env.add_conversation(MEETING["messages"])
    caplog.set_level(logging.DEBUG, logger="symbl")
    symbl.Conversations.get_topics(conversation_id, parameters={"customTopicVocabulary": given})
    (entry,) = emu_env.requests(f"/v1/conversations/{conversation_id}/topics")
    assert (entry.query, entry.status) == ([("customTopicVocabulary", sent)], 200)
    assert len(passed_through_lines(caplog)) == logged


def test_reading_flags_the_sdk_does_not_know_are_sent_as_spelled(
    emu_env: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    conversation_id = emu_env.add_conversation(MEETING["messages"])
    caplog.set_level(logging.DEBUG, logger="symbl")
    symbl.Conversations.get_messages(
        conversation_id, parameters={"verbose": True, "new_flag": 1, "filterBy": ["a"]}
    )
    symbl.Conversations.get_summary(conversation_id, parameters={"summaryLength": "short"})
    messages, summary = emu_env.requests(f"/v1/conversations/{conversation_id}/")
    assert messages.query == [("verbose", "true"), ("new_flag", "1"), ("filterBy", '["a"]')]
    assert summary.query == [("summaryLength", "short")]
    assert (messages.status, summary.status) == (200, 200)
    assert len(passed_through_lines(caplog)) == 3


# --- the emulator's side (§12 C4) ----------------------------------------------------------------


def upload(emu: Emulator, wav: Path, query: str) -> requests.Response:
    token = requests.post(
        emu.base_url + "/oauth2/token:generate",
        json={"type": "application", "appId": emu.app_id, "appSecret": emu.app_secret},
        timeout=5,
    ).json()["accessToken"]
    return requests.post(
        f"{emu.base_url}/v1/process/audio?{query}",
        data=wav.read_bytes(),
        headers={"x-api-key": token, "Content-Type": "audio/wav"},
        timeout=5,
    )


def old_client_form(words: list[Any]) -> str:
    """``customVocabulary`` as the old client sent it: one key per character of the JSON."""
    return "&".join("customVocabulary=" + quote(c, safe="") for c in json.dumps(words))


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("customVocabulary=%5B%22Platform%22%2C%22Discussion%22%5D", 201),
        ("customVocabulary=Platform&customVocabulary=Discussion", 201),
        ("customVocabulary=Platform", 201),
        (old_client_form(["ab", "cd"]), 201),
        ("futureOption=1&future_option=%7B%7D&detect_phrases=maybe", 201),
        ("customVocabulary=Platform&customVocabulary=", 400),  # each word is checked
        ("customVocabulary=%5B%22Platform%22", 400),  # JSON text that is not JSON
        (old_client_form(["ab", 5]), 400),  # reassembled, then checked
        ("timezoneOffset=-721", 400),
        ("conversationType=Sales", 400),
    ],
)
def test_the_emulator_checks_known_query_options_and_accepts_the_rest(
    emu: Emulator, wav: Path, query: str, status: int
) -> None:
    answer = upload(emu, wav, query)
    assert answer.status_code == status, answer.text
    if status == 400:
        name = query.split("=", 1)[0]
        assert name in answer.json()["message"]
