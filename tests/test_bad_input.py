"""Bad input to every public method: a clear, typed error, and nothing sent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import symbl
from symbl.emulator import Emulator

from async_rest_helpers import make_client, run
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
        ({"colour": {"red"}}, "colour is not JSON"),  # unknown options pass, but as JSON
        ({"confidenceThreshold": 2}, "0.5 to 1.0"),
        ({"detectEntities": "yes"}, "True or False"),
        ({"languageCode": "xx-XX"}, "not a supported language"),
        ({"mode": "radio"}, "phone, default"),
        ({"customVocabulary": "Platform"}, "list of strings"),
        ({"trackers": [{"name": "x"}]}, "vocabulary"),
        ({"webhookUrl": "not a url"}, "http"),
        ({1: True}, "not a name"),
        ({"timezoneOffset": 900}, "-720 to 840"),
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
        lambda: symbl.Audio.process_url(
            payload={"url": "https://x.example/a", "conversationType": "support"}
        ),
        "sales, general",
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
        lambda: symbl.Text.process(payload=MEETING, parameters={"startTime": "yesterday"}),
        "startTime must be an ISO-8601 time",
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
        lambda: conversations.get_messages("1", parameters={"verbos": float("nan")}),
        "verbos must be a finite number",
    )
    rejected(
        emu_env,
        lambda: conversations.get_messages("1", parameters={"verbose": "maybe"}),
        "True or False",
    )
    rejected(
        emu_env,
        lambda: conversations.get_topics("1", parameters={"customTopicVocabulary": {"x"}}),
        "customTopicVocabulary is not JSON",
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


# -- the hardening rules: each stated once, checked through both clients ------------------------

ARABIC_PHONE = "+\u0661\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0660\u0660"
FULLWIDTH_PHONE = "+\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11\uff10\uff10"
PHONE = "+14155550100"
SECRET = "c0ffee1234deadbeef5678secretsecret"
NOT_IDS = [
    ".",
    "..",
    "a/b",
    "a\\b",
    "a?b",
    "a#b",
    "50%",
    "a b",
    "a\tb",
    "a\x00b",
    "\u200b1",
    "x" * 257,
    -1,
    10**5000,
    b"123",
]


def rejected_async(emu: Emulator, call, match: str) -> symbl.InvalidArgumentError:
    """``await call(client)`` with an asyncio client raises InvalidArgumentError matching
    ``match`` and sends nothing at all."""

    async def scenario() -> symbl.InvalidArgumentError:
        async with make_client(emu) as client:
            emu.state.requests.clear()
            with pytest.raises(symbl.InvalidArgumentError, match=match) as caught:
                await call(client)
            assert emu.requests() == [], [entry.path for entry in emu.requests()]
            return caught.value

    return run(scenario)


@pytest.mark.parametrize(
    "bad", NOT_IDS, ids=[f"{type(bad).__name__}{i}" for i, bad in enumerate(NOT_IDS)]
)
def test_ids_are_path_safe_tokens(emu_env: Emulator, wav: Path, bad: object) -> None:
    """'..' once went out as GET /v1/messages, DELETE /v1/ and PUT /v1/process/."""
    conversations = symbl.Conversations
    rejected(emu_env, lambda: conversations.get_messages(bad), "conversation_id")
    rejected(emu_env, lambda: conversations.delete_conversation(bad), "conversation_id")
    rejected(emu_env, lambda: symbl.Audio.append_file(wav, bad), "conversation_id")
    rejected(emu_env, lambda: symbl.Text.append(MEETING, bad), "conversation_id")
    rejected(emu_env, lambda: conversations.put_members("1", bad, {"name": "A"}), "members_id")
    rejected(emu_env, lambda: symbl.Telephony.stop(bad), "connection_id")
    rejected(emu_env, lambda: symbl.Conversation("1", job_id=bad), "job_id")
    rejected_async(emu_env, lambda c: c.Conversations.get_messages(bad), "conversation_id")
    rejected_async(emu_env, lambda c: c.Audio.append_file(wav, bad), "conversation_id")


def test_an_id_error_shows_what_was_given_and_the_rule(emu_env: Emulator) -> None:
    with pytest.raises(symbl.InvalidArgumentError) as caught:
        symbl.Conversations.get_messages("..")
    assert "conversation_id '..'" in str(caught.value)
    assert "directory" in str(caught.value)
    with pytest.raises(symbl.InvalidArgumentError, match=r"a/b.*'/'"):
        symbl.Conversations.delete_conversation("a/b")
    with pytest.raises(symbl.InvalidArgumentError, match="too large to show"):
        symbl.Conversations.get_messages(10**5000)


def test_good_ids_go_into_the_path_as_one_segment(emu_env: Emulator) -> None:
    for given, sent in ((" 5678\n", "5678"), (5678, "5678"), ("caf\u00e9", "caf\u00e9")):
        emu_env.state.requests.clear()
        with pytest.raises(symbl.NotFoundError):
            symbl.Conversations.get_messages(given)
        assert [entry.path for entry in emu_env.requests("/v1/conversations")] == [
            f"/v1/conversations/{sent}/messages"
        ]


@pytest.mark.parametrize(
    "number",
    [ARABIC_PHONE, FULLWIDTH_PHONE, "+1\u00b2345678901", "+1415555\u09e6100", 14155550100],
)
def test_phone_numbers_are_ascii_digits(emu_env: Emulator, number: object) -> None:
    rejected(emu_env, lambda: symbl.Telephony.start_pstn(number), "phone_number")
    rejected_async(emu_env, lambda c: c.Telephony.start_pstn(number), "phone_number")


@pytest.mark.parametrize("infinite", [float("nan"), float("inf"), -float("inf")])
def test_numbers_that_travel_must_be_finite(emu_env: Emulator, wav: Path, infinite: float) -> None:
    telephony, streaming = symbl.Telephony, symbl.Streaming
    session = {"session": {"name": "Sync"}, "budget": infinite}
    rejected(emu_env, lambda: telephony.start_pstn(PHONE, data=session), r"data\.budget")
    rejected(
        emu_env,
        lambda: telephony.start_sip("sip:1@example.com", audio_config={"sampleRate": infinite}),
        r"audio_config\.sampleRate",
    )
    rejected(
        emu_env,
        lambda: streaming.start_connection(config={"timezoneOffset": infinite}),
        r"config\.timezoneOffset",
    )
    rejected(
        emu_env,
        lambda: streaming.start_connection(no_connection_timeout=infinite),
        "no_connection_timeout",
    )
    metadata = {"metadata": {"score": infinite}}
    # In a query string NaN was once sent as the text "NaN".
    rejected(
        emu_env, lambda: symbl.Audio.process_file(wav, parameters=metadata), r"metadata\.score"
    )
    rejected(emu_env, lambda: symbl.Text.process({**MEETING, **metadata}), r"metadata\.score")
    event = {"type": "started_speaking", "user": {"name": "A"}, "offset": {"seconds": 0}}
    events = {"speakerEvents": [{**event, "weight": infinite}]}
    rejected(
        emu_env,
        lambda: symbl.Conversations.put_speakers_events("1", events),
        r"speakerEvents\[0\]\.weight",
    )
    rejected_async(emu_env, lambda c: c.Telephony.start_pstn(PHONE, data=session), r"data\.budget")
    rejected_async(
        emu_env,
        lambda c: c.Streaming.start_connection(config={"confidenceThreshold": infinite}),
        "confidenceThreshold",
    )


@pytest.mark.parametrize("timeout", [-1, float("nan"), "10", True, [1]])
def test_bad_wait_timeouts(emu_env: Emulator, timeout: object) -> None:
    conversation = symbl.Text.process(MEETING)
    rejected(emu_env, lambda: conversation.wait(timeout), "timeout")
    rejected(emu_env, lambda: symbl.Conversation("1").wait(timeout), "timeout")
    connection = symbl.Telephony.start_pstn(PHONE, handle_signals=False)
    rejected(emu_env, lambda: connection.wait(timeout), "timeout")
    stream = symbl.Streaming.start_connection(handle_signals=False)
    rejected(emu_env, lambda: stream.stop(timeout), "timeout")
    assert emu_env.streams()[-1]["stop_requests"] == [], "a refused stop sent the stop_request"
    stream.stop()
    connection.stop()


def test_no_limit_is_inf_and_none_is_the_default(emu_env: Emulator) -> None:
    conversation = symbl.Text.process(MEETING, wait=False)
    assert conversation.wait(float("inf")) is conversation
    assert conversation.status == "completed"
    assert symbl.Text.process(MEETING, wait=False).on_complete(print).wait(None).status == (
        "completed"
    )
    connection = symbl.Telephony.start_pstn(PHONE, handle_signals=False)
    connection.subscribe({"transcript_response": print})
    connection.stop()
    assert connection.wait(float("inf")) is True
    for timeout in (None, float("inf")):
        stream = symbl.Streaming.start_connection(handle_signals=False)
        assert stream.stop(timeout=timeout) is stream
        assert emu_env.streams()[-1]["state"] == "completed"


def test_no_limit_and_bad_timeouts_with_asyncio(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = await client.Text.process(MEETING, wait=False)
            assert await conversation.wait(float("inf")) is conversation
            with pytest.raises(symbl.InvalidArgumentError, match="timeout"):
                await conversation.wait(-1)
            connection = await client.Telephony.start_pstn(PHONE, handle_signals=False)
            with pytest.raises(symbl.InvalidArgumentError, match="timeout"):
                await connection.wait(float("nan"))
            connection.subscribe({"transcript_response": print})
            await connection.stop()
            assert await connection.wait(float("inf")) is True
            for timeout in (None, float("inf")):
                stream = await client.Streaming.start_connection(handle_signals=False)
                with pytest.raises(symbl.InvalidArgumentError, match="timeout"):
                    await stream.stop(timeout=-5)
                assert await stream.stop(timeout=timeout) is stream
            assert [s["state"] for s in emu.streams()] == ["completed", "completed"]

    run(scenario)


def test_audio_files_that_are_not_wav_are_refused(emu_env: Emulator, tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all")
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(make_wav(tmp_path / "whole.wav").read_bytes()[:30])
    cases = [
        (tmp_path, "directory"),
        (text, "not a PCM WAV"),
        (truncated, "not a PCM WAV"),
        (tmp_path / "missing.wav", "does not exist"),
        (str(tmp_path / "a\x00b.wav"), "not a usable path"),
        (None, "path"),
        (5, "path"),
    ]
    stream = symbl.Streaming.start_connection(handle_signals=False)
    for path, match in cases:
        rejected(emu_env, lambda path=path: stream.send_audio_from_file(path), match)
    rejected(emu_env, lambda: stream.send_audio_from_file(text, speed=float("nan")), "speed")
    rejected(emu_env, lambda: stream.send_audio_from_file(text, realtime="no"), "realtime")
    assert emu_env.streams()[-1]["audio_bytes"] == 0
    stream.stop()

    async def scenario() -> None:
        async with make_client(emu_env) as client:
            live = await client.Streaming.start_connection(handle_signals=False)
            for path, match in cases:
                with pytest.raises(symbl.InvalidArgumentError, match=match):
                    await live.send_audio_from_file(path)
            await live.stop()

    run(scenario)
    assert emu_env.streams()[-1]["audio_bytes"] == 0


def test_dependency_errors_become_argument_errors(emu_env: Emulator, wav: Path) -> None:
    import numpy as np

    telephony, streaming = symbl.Telephony, symbl.Streaming
    rejected(emu_env, lambda: telephony.start_pstn(PHONE, languages=5), "languages")
    rejected(emu_env, lambda: telephony.start_pstn(PHONE, languages=[["en-US"]]), "languages")
    rejected(emu_env, lambda: telephony.start_pstn(PHONE, timezone="x" * 300), "timezone")
    rejected(emu_env, lambda: telephony.start_pstn(PHONE, timezone=10**5000), "timezone")
    rejected(emu_env, lambda: streaming.start_connection(insight_types=5), "insight_types")
    rejected(
        emu_env,
        lambda: streaming.start_connection(config={"speechRecognition": "x"}),
        "speechRecognition",
    )
    rejected(
        emu_env,
        lambda: streaming.start_connection(config={"languageCode": ["en-US"]}),
        "languageCode",
    )
    rejected(emu_env, lambda: streaming.start_connection(custom_vocabulary=5), "custom_vocabulary")
    rejected(emu_env, lambda: streaming.start_connection(speaker={"name": 5}), r"speaker\.name")
    rejected(emu_env, lambda: streaming.start_connection(handle_signals="no"), "handle_signals")
    rejected(
        emu_env,
        lambda: streaming.start_connection(replay_buffer_seconds=10**5000),
        "replay_buffer_seconds",
    )
    rejected(
        emu_env,
        lambda: symbl.Conversations.put_members("1", "m", {"name": "A", "id": 10**5000}),
        "differs",
    )
    connection = telephony.start_pstn(PHONE, handle_signals=False)
    user = {"userId": "ann@example.com", "name": "Ann"}
    for timestamp in (5, 0, "", "\u0662\u0660\u0662\u0660-07-21T16:02:19Z"):
        rejected(
            emu_env,
            lambda timestamp=timestamp: connection.push_speaker_event(
                "joined", user, timestamp=timestamp
            ),
            "timestamp",
        )
    rejected(
        emu_env,
        lambda: connection.push_speaker_event("joined", {**user, "x": float("nan")}),
        r"user\.x",
    )
    connection.stop()
    stream = streaming.start_connection(handle_signals=False)
    rejected(emu_env, lambda: stream.send_audio(np.array([0.5, float("nan")])), "finite")
    rejected(emu_env, lambda: stream.modify(sample_rate=10**5000), "sample_rate")
    rejected(emu_env, lambda: stream.send_audio_from_mic(device=10**5000), "device")
    rejected(emu_env, lambda: stream.send_audio_from_mic(device=True), "device")
    assert emu_env.streams()[-1]["audio_bytes"] == 0
    stream.stop()
    rejected_async(
        emu_env,
        lambda c: c.Audio.process_file(wav, progress="every second"),
        "progress",
    )
    rejected_async(
        emu_env, lambda c: c.Telephony.start_pstn(PHONE, languages=[["en-US"]]), "languages"
    )
    rejected_async(
        emu_env, lambda c: c.Streaming.start_connection(insight_types=5), "insight_types"
    )


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("poll_interval", float("nan")),
        ("max_retry_wait", float("nan")),
        ("timeout", float("inf")),
        ("timeout", 10**5000),
        ("job_timeout", 1e12),
        ("connect_timeout", -1),
        ("max_connections", 2.5),
    ],
    ids=lambda value: value if isinstance(value, str) else type(value).__name__,
)
def test_bad_client_settings(emu: Emulator, setting: str, value: object) -> None:
    for kind in (symbl.Client, symbl.AsyncClient):
        with pytest.raises(symbl.InvalidArgumentError, match=setting):
            kind(emu.credentials, base_url=emu.base_url, **{setting: value})


def test_bad_client_requests(emu: Emulator, client: symbl.Client) -> None:
    for arguments, match in [
        ({"params": {"limit": 10**5000}}, "params"),
        ({"params": {"limit": float("nan")}}, "params"),
        ({"params": ["limit"]}, "params"),
        ({"headers": {"X-Count": 5}}, "headers"),
        ({"timeout": -1}, "timeout"),
        ({"body": 5}, "body"),
        ({"idempotent": "yes"}, "idempotent"),
        ({"json": {"when": float("nan")}}, "JSON"),
    ]:
        rejected(emu, lambda arguments=arguments: client.request("GET", "/x", **arguments), match)
    with pytest.raises(symbl.InvalidArgumentError, match="base_url"):
        symbl.Client(emu.credentials, base_url=5)
    with pytest.raises(symbl.ConfigurationError, match="not an absolute http"):
        symbl.Client(emu.credentials, base_url="http://[::1")


def test_an_unknown_credentials_key_that_may_be_a_secret_is_not_shown(emu_env: Emulator) -> None:
    # The documentation's own spelling, {app_id: <app_id>, app_secret: <app_secret>}, written
    # with the values as keys.
    swapped = {SECRET: "app_secret", "my-app-id-42": "app_id"}
    for call in (
        lambda: symbl.Text.process(payload=MEETING, credentials=swapped),
        lambda: symbl.Client(swapped),
        lambda: symbl.AsyncClient(swapped),
    ):
        with pytest.raises(symbl.InvalidArgumentError) as caught:
            call()
        message = str(caught.value)
        assert SECRET not in message and SECRET[:8] not in message, message
        assert "hidden: it may be a secret" in message
        assert f"{len(SECRET)} characters" in message
    with pytest.raises(symbl.InvalidArgumentError, match="unknown key 'appid'"):
        symbl.Client({"appid": "x", "app_secret": SECRET})


@pytest.mark.parametrize(
    ("fault", "error"),
    [({"delay": 1.0}, symbl.APITimeoutError), ({"drop": True}, symbl.APIConnectionError)],
    ids=["read-timeout", "dropped"],
)
def test_a_job_request_left_unanswered_says_the_job_may_have_started(
    emu: Emulator, fault: dict, error: type
) -> None:
    def says_so(message: str) -> None:
        assert "may have received it and acted on it" in message, message
        assert "not sent again" in message
        assert "'/v1/conversations'" in message

    with symbl.Client(emu.credentials, base_url=emu.base_url, timeout=0.3) as client:
        client.access_token()
        emu.add_fault(path="/v1/process/text", times=1, **fault)
        with pytest.raises(error) as caught:
            client.Text.process(MEETING)
        says_so(str(caught.value))
        assert len(emu.requests("/v1/process/text")) == 1
        # A reading is sent again, and its error does not say so.
        emu.add_fault(path="/v1/conversations/1/messages", **fault)
        with pytest.raises(error) as caught:
            client.Conversations.get_messages("1")
        assert "acted on it" not in str(caught.value)

    async def scenario() -> None:
        async with make_client(emu, timeout=0.3) as client:
            await client.access_token()
            emu.add_fault(path="/v1/process/text", times=1, **fault)
            with pytest.raises(error) as caught:
                await client.Text.process(MEETING)
            says_so(str(caught.value))

    run(scenario)


def test_ids_the_service_answers_with_follow_the_same_rule(emu: Emulator) -> None:
    """A broken answer is the service's fault: a SymblError, not an argument error."""
    with symbl.Client(emu.credentials, base_url=emu.base_url) as client:
        emu.add_fault(
            path="/v1/process/text", status=201, body={"conversationId": "..", "jobId": "1"}
        )
        with pytest.raises(symbl.SymblError, match="conversationId that is not an id") as caught:
            client.Text.process(MEETING)
        assert not isinstance(caught.value, symbl.InvalidArgumentError)
        emu.add_fault(path="/v1/endpoint:connect", status=201, body={"connectionId": "a/b"})
        with pytest.raises(symbl.SymblError, match="connectionId that is not an id"):
            client.Telephony.start_pstn(PHONE)
