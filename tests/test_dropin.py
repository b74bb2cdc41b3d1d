"""Drop-in fidelity with the old client (2.0.6) and the reference page: credentials given once
are remembered for the process, the reference page's spellings work as keywords, the old
positional orders hold, a call stopped by id is stopped for its Connection too, and a 404 says
what was not found."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any, Callable

import pytest

import symbl
from symbl._resources.async_conversations import AsyncConversations
from symbl._resources.async_jobs import AsyncAudio, AsyncText, AsyncVideo
from symbl._resources.async_streaming import AsyncStreaming
from symbl._resources.async_telephony import AsyncTelephony
from symbl._transport.credentials import forget_remembered_credentials
from symbl._transport.policy import not_found_hint
from symbl.emulator import Emulator

from async_rest_helpers import run
from helpers import MEETING, sample_transcript

CONNECT = "/v1/endpoint:connect"
PHONE = "+14155550100"
SIP_URI = "sip:8002@sip.example.com"
EMAIL_ACTION = {
    "invokeOn": "stop",
    "name": "sendSummaryEmail",
    "parameters": {"emails": ["john@example.com"]},
}
SECOND = {"app_id": "second-app", "app_secret": "second-secret"}


@pytest.fixture
def base_only(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The emulator as the base URL, and no credentials anywhere: not in the environment, not
    in a symbl.conf (the sealed environment), and none given earlier in the process. Calls are
    silent, so only a stop ends them."""
    monkeypatch.setenv("SYMBL_BASE_URL", emu.base_url)
    emu.configure(telephony_speed=20.0, telephony_answer_seconds=0.1)
    emu.set_live_transcript([])
    forget_remembered_credentials()
    yield emu
    forget_remembered_credentials()


def connect_bodies(emu: Emulator) -> list[Any]:
    return [entry.json for entry in emu.requests(CONNECT)]


# -- credentials given once are remembered ---------------------------------------------------------


def test_telephony_stop_needs_no_credentials_after_a_start_that_had_them(
    base_only: Emulator,
) -> None:
    connection = symbl.Telephony.start_pstn(
        phoneNumber=PHONE, actions=[EMAIL_ACTION], credentials=base_only.credentials
    )
    stopped = symbl.Telephony.stop(connectionId=connection.connectionId)
    assert stopped.summaryInfo and stopped.connectionId == connection.connectionId
    entries = base_only.requests(CONNECT)
    assert [entry.json["operation"] for entry in entries] == ["start", "stop"]
    assert {entry.app_id for entry in entries} == {base_only.app_id}
    assert base_only.tokens_generated() == 1  # the same shared client, its token reused
    # The call is stopped for the Connection of its start as well: nothing more is sent.
    assert connection.stop() is connection
    assert connection.summaryInfo == stopped.summaryInfo
    assert len(base_only.requests(CONNECT)) == 2


def test_without_any_credentials_the_error_says_none_were_given_earlier(
    base_only: Emulator,
) -> None:
    with pytest.raises(symbl.ConfigurationError) as caught:
        symbl.Telephony.stop(connectionId="f31ad3b9-341a-4950-a1c2-152f08da8aaa")
    message = str(caught.value)
    assert "No Symbl credentials found" in message
    assert "credentials given earlier in this process (there were none)" in message
    assert base_only.requests() == []


def test_the_latest_credentials_accepted_are_remembered_and_explicit_ones_always_win(
    base_only: Emulator,
) -> None:
    base_only.add_app(SECOND["app_id"], SECOND["app_secret"])
    first = base_only.credentials
    conversation_id = symbl.Text.process(MEETING, credentials=first).get_conversation_id()
    assert symbl.Conversations.get_messages(conversation_id).messages  # as the first app
    with pytest.raises(symbl.NotFoundError):  # conversations are private to their app
        symbl.Conversations.get_messages(conversation_id, credentials=SECOND)
    with pytest.raises(symbl.NotFoundError):  # the second app is now the one remembered
        symbl.Conversations.get_messages(conversation_id)
    assert symbl.Conversations.get_messages(conversation_id, credentials=first).messages
    with symbl.Client(SECOND):  # no call: the service has not accepted them here yet
        pass
    reads = base_only.requests(f"/v1/conversations/{conversation_id}/messages")
    first_app, second_app = base_only.app_id, SECOND["app_id"]
    assert [entry.app_id for entry in reads] == [first_app, second_app, second_app, first_app]
    with symbl.Client() as found:  # the last ones the service accepted (with a cached token)
        assert found.credentials.app_id == first_app


def test_rejected_credentials_are_not_remembered_and_accepted_ones_keep_their_base_url(
    base_only: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYMBL_BASE_URL")
    here = base_only.base_url
    listing = {"limit": "1"}
    with symbl.Client(base_only.credentials, base_url=here) as given:
        given.request("GET", "/v1/conversations", params=listing)
    with pytest.raises(symbl.AuthenticationError), symbl.Client(SECOND, base_url=here) as wrong:
        wrong.request("GET", "/v1/conversations", params=listing)
    with symbl.Client() as found:
        assert (found.credentials.app_id, found.base_url) == (base_only.app_id, here)
        found.request("GET", "/v1/conversations", params=listing)
    listings = base_only.requests("/v1/conversations")
    assert [entry.app_id for entry in listings] == [base_only.app_id] * 2


def test_the_secret_given_is_never_shown(base_only: Emulator) -> None:
    symbl.Telephony.start_sip(SIP_URI, credentials=base_only.credentials).stop()
    with symbl.Client() as client:
        assert client.credentials.source == "credentials given earlier in this process"
        assert base_only.app_secret not in repr(client) + repr(client.credentials)


# -- the reference page's spellings ----------------------------------------------------------------


def test_telephony_takes_the_reference_spellings(base_only: Emulator) -> None:
    creds = base_only.credentials
    pstn = symbl.Telephony.start_pstn(
        phoneNumber=PHONE,
        dtmf=",,123#",
        actions=[EMAIL_ACTION],
        data={"session": {"name": "My Meeting"}},
        credentials=creds,
    )
    sip = symbl.Telephony.start_sip(SIP_URI, audioConfig={"sampleRate": 16000}, credentials=creds)
    symbl.Telephony.stop(connectionId=pstn.connectionId)
    assert connect_bodies(base_only) == [
        {
            "operation": "start",
            "endpoint": {"type": "pstn", "phoneNumber": PHONE, "dtmf": ",,123#"},
            "actions": [EMAIL_ACTION],
            "data": {"session": {"name": "My Meeting"}},
        },
        {
            "operation": "start",
            "endpoint": {"type": "sip", "uri": SIP_URI, "audioConfig": {"sampleRate": 16000}},
            "actions": [],
        },
        {"operation": "stop", "connectionId": pstn.connectionId},
    ]
    sip.stop()


def test_streaming_takes_insight_type_and_a_speaker_email(base_only: Emulator) -> None:
    connection = symbl.Streaming.start_connection(
        credentials=base_only.credentials,
        insight_type=["question", "action_item"],
        speaker={"name": "John", "email": "john@example.com"},
        handle_signals=False,
    )
    connection.stop()
    start = base_only.streams()[0]["start_request"]
    assert start["insightTypes"] == ["question", "action_item"]
    assert start["speaker"] == {"userId": "john@example.com", "name": "John"}


def test_appends_take_conversation_id_and_url_spellings(base_only: Emulator) -> None:
    conversation = symbl.Text.process(MEETING, credentials=base_only.credentials)
    cid = conversation.get_conversation_id()
    assert symbl.Text.append(MEETING, conversationId=cid).get_conversation_id() == cid
    url = "https://example.com/a.wav"
    base_only.register_media(sample_transcript(), url=url)
    assert symbl.Audio.process_url(url=url).get_job_status() == "completed"
    (submitted,) = base_only.requests("/v1/process/audio/url")
    assert submitted.json == {"url": url}
    assert [entry.method for entry in base_only.requests(f"/v1/process/text/{cid}")] == ["PUT"]


BOTH_SPELLINGS: list[tuple[str, Callable[[], object]]] = [
    ("phone_number", lambda: symbl.Telephony.start_pstn(PHONE, phoneNumber=PHONE)),
    ("phone_number", lambda: symbl.Telephony.start_pstn(phone_number=PHONE, phoneNumber=PHONE)),
    ("audio_config", lambda: symbl.Telephony.start_sip(SIP_URI, {}, audioConfig={})),
    ("connection_id", lambda: symbl.Telephony.stop("abc", connectionId="abc")),
    ("insight_types", lambda: symbl.Streaming.start_connection(None, None, [], insight_type=[])),
    ("conversation_id", lambda: symbl.Text.append(MEETING, "1", conversationId="1")),
    ("payload", lambda: symbl.Video.process_url({"url": "https://x.example/a.mp4"}, url="u")),
    (
        "both 'userId' and 'email'",
        lambda: symbl.Streaming.start_connection(speaker={"userId": "a@x.io", "email": "a@x.io"}),
    ),
]


@pytest.mark.parametrize(("named", "call"), BOTH_SPELLINGS)
def test_both_spellings_of_one_argument_are_refused_before_anything_is_sent(
    base_only: Emulator, named: str, call: Callable[[], object]
) -> None:
    symbl.Client(base_only.credentials).close()  # credentials are there: only the args fail
    with pytest.raises(symbl.InvalidArgumentError, match=named):
        call()
    assert base_only.requests() == []


# -- the old client's positional orders ------------------------------------------------------------

#: The positional parameters of 2.0.6's methods (the reference page documents these methods).
OLD_POSITIONS = {
    "Audio.process_file": "file_path credentials content_type wait parameters",
    "Audio.append_file": "file_path conversation_id credentials content_type wait parameters",
    "Audio.process_url": "payload credentials wait parameters",
    "Audio.append_url": "payload conversation_id credentials wait parameters",
    "Video.process_file": "file_path credentials content_type wait parameters",
    "Video.append_file": "file_path conversation_id credentials content_type wait parameters",
    "Video.process_url": "payload credentials wait parameters",
    "Video.append_url": "payload conversation_id credentials wait parameters",
    "Text.process": "payload credentials wait parameters",
    "Text.append": "payload conversation_id credentials wait parameters",
    "Telephony.start_pstn": "phone_number dtmf credentials actions data languages timezone",
    "Telephony.start_sip": "uri audio_config credentials actions data languages timezone",
    "Telephony.stop": "connection_id",
    "Streaming.start_connection": "credentials speaker insight_types config trackers",
    "Conversations.get_messages": "conversation_id credentials parameters",
    "Conversations.get_topics": "conversation_id credentials parameters",
    "Conversations.put_members": "conversation_id members_id parameters credentials",
    "Conversations.put_speakers_events": "conversation_id parameters credentials",
    "Conversations.get_formatted_transcript": "conversation_id parameters credentials",
}


ASYNC_RESOURCES = {
    "Audio": AsyncAudio,
    "Video": AsyncVideo,
    "Text": AsyncText,
    "Telephony": AsyncTelephony,
    "Streaming": AsyncStreaming,
    "Conversations": AsyncConversations,
}


@pytest.mark.parametrize("name", sorted(OLD_POSITIONS))
def test_positional_parameters_start_as_in_the_old_client(name: str) -> None:
    owner, method = name.split(".")
    old = OLD_POSITIONS[name].split()
    for resource in (getattr(symbl, owner), ASYNC_RESOURCES[owner]):
        positional = [
            parameter.name
            for parameter in inspect.signature(getattr(resource, method)).parameters.values()
            if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            and parameter.name != "self"
        ]
        assert positional[: len(old)] == old, resource


def test_text_process_and_telephony_take_the_old_positional_orders(base_only: Emulator) -> None:
    creds = base_only.credentials
    conversation = symbl.Text.process(MEETING, creds, False, {"detectEntities": True})
    assert conversation.wait().get_job_status() == "completed"
    (submitted,) = base_only.requests("/v1/process/text")
    assert submitted.json["detectEntities"] is True
    pstn = symbl.Telephony.start_pstn(
        PHONE, ",,1#", creds, [EMAIL_ACTION], {"session": {"name": "M"}}, ["en-US"], "UTC"
    )
    sip = symbl.Telephony.start_sip(SIP_URI, {"sampleRate": 48000}, creds, [], None, ["en-US"])
    starts = connect_bodies(base_only)
    assert starts[0]["endpoint"]["dtmf"] == ",,1#"
    assert (starts[0]["data"], starts[0]["languages"], starts[0]["timezone"]) == (
        {"session": {"name": "M"}},
        ["en-US"],
        "UTC",
    )
    assert starts[1]["endpoint"]["audioConfig"] == {"sampleRate": 48000}
    assert starts[1]["languages"] == ["en-US"]
    pstn.stop()
    sip.stop()


def test_streaming_takes_the_old_positional_order(base_only: Emulator) -> None:
    trackers = [{"name": "Budget", "vocabulary": ["budget"]}]
    connection = symbl.Streaming.start_connection(
        base_only.credentials,
        {"name": "Ann", "userId": "ann@example.com"},
        ["question"],
        {"meetingTitle": "Standup"},
        trackers,
        ["en-US"],
    )
    connection.stop()
    start = base_only.streams()[0]["start_request"]
    assert start["speaker"] == {"userId": "ann@example.com", "name": "Ann"}
    assert start["insightTypes"] == ["question"]
    assert start["config"]["meetingTitle"] == "Standup"
    assert start["trackers"] == trackers


# -- stopping a call by id, and what a 404 says ----------------------------------------------------


def test_a_404_names_what_was_not_found(base_only: Emulator) -> None:
    creds = base_only.credentials
    unknown_call = "f31ad3b9-341a-4950-a1c2-152f08da8aaa"
    with pytest.raises(symbl.NotFoundError) as call:
        symbl.Telephony.stop(unknown_call, credentials=creds)
    assert f"Check the connection id {unknown_call}: it names a call only" in str(call.value)
    assert "conversation" not in call.value.hint
    with pytest.raises(symbl.NotFoundError) as parent:  # the service names the conversation
        symbl.Conversations.get_bookmark("5000000000000099", "b-9")
    assert parent.value.hint.startswith("Check the conversation id 5000000000000099;")
    with pytest.raises(symbl.NotFoundError) as conversation:
        symbl.Conversations.get_messages("5000000000000099")
    assert "Check the conversation id 5000000000000099" in str(conversation.value)
    job = "0b7c3d36-1111-4000-8000-000000000000"
    with pytest.raises(symbl.NotFoundError) as job_error:
        symbl.Conversation("5000000000000099", job_id=job).wait()
    assert f"Check the job id {job}; jobs are only visible" in str(job_error.value)


@pytest.mark.parametrize(
    ("path", "hint"),
    [
        ("/v1/conversations/12/bookmarks/b-7", "Check the bookmark id b-7"),
        ("/v1/conversations/12/bookmarks/b-7/summary", "Check the bookmark id b-7"),
        ("/v1/conversations/12/bookmarks/bulk", "Check the conversation id 12"),
        ("/v1/conversations/12/bookmarks-summary", "Check the conversation id 12"),
        ("/v1/conversations/experiences/insights/details/12", "Check the conversation id 12"),
        ("/v1/process/audio/url/12", "Check the conversation id 12"),
        ("/v1/manage/tracker/t-1", "Check the tracker id t-1"),
        ("/v1/manage/trackers/t-1", "Check the tracker id t-1"),
        ("/v1/manage/group/g-1", "Check the group id g-1"),
        ("/v1/groups/g-1/conversations", "Check the group id g-1"),
        ("/v1/event/c-1", "Check the connection id c-1"),
    ],
)
def test_the_404_hint_comes_from_the_request_path(path: str, hint: str) -> None:
    assert (not_found_hint("https://api.symbl.ai" + path) or "").startswith(hint)


@pytest.mark.parametrize(
    ("path", "message", "hint"),
    [
        (
            "/v1/conversations/42/bookmarks/9",
            "The conversationId is either invalid or does not exist.",
            "Check the conversation id 42;",
        ),
        ("/v1/conversations/42/bookmarks/9", "Bookmark not found", "Check the bookmark id 9;"),
        ("/v1/conversations/42/bookmarks/9", "Not Found", "Check the bookmark id 9;"),
        ("/v1/groups/g-1/conversations", "The groupId is invalid", "Check the group id g-1;"),
        ("/v1/job/j-1", "The conversationId is gone", "Check the conversation id;"),
    ],
)
def test_the_404_hint_names_what_the_service_says_is_missing(
    path: str, message: str, hint: str
) -> None:
    assert (not_found_hint("https://api.symbl.ai" + path, message) or "").startswith(hint)


def test_a_call_stop_404_names_the_connection_id_of_its_body() -> None:
    url = "https://api.symbl.ai/v1/endpoint:connect"
    sent = {"operation": "stop", "connectionId": "c-9"}
    assert (not_found_hint(url, None, sent) or "").startswith("Check the connection id c-9:")
    assert (not_found_hint(url) or "").startswith("Check the connection id:")


def test_no_thing_in_the_path_keeps_the_general_hint() -> None:
    assert not_found_hint("https://api.symbl.ai/v1/process/audio") is None
    error = symbl.NotFoundError("gone", status_code=404, method="GET", url="https://h/x")
    assert str(error).endswith("Check the ids in the request")


# -- the asyncio client ----------------------------------------------------------------------------


def test_asyncio_aliases_remembered_credentials_and_stop_by_id(base_only: Emulator) -> None:
    async def scenario() -> None:
        async with symbl.AsyncClient(base_only.credentials) as given:
            connection = await given.Telephony.start_pstn(phoneNumber=PHONE)
            async with symbl.AsyncClient() as found:  # the credentials given above
                stopped = await found.Telephony.stop(connectionId=connection.connectionId)
                assert stopped.summaryInfo is not None
                text = await found.Text.process(MEETING, None, False, {"detectEntities": True})
                await text.wait()
            assert await connection.stop() is connection
        with pytest.raises(symbl.InvalidArgumentError, match="phone_number"):
            await given.Telephony.start_pstn(PHONE, phoneNumber=PHONE)

    run(scenario)
    assert [body["operation"] for body in connect_bodies(base_only)] == ["start", "stop"]
    assert {entry.app_id for entry in base_only.requests("/v1/")} == {base_only.app_id}
    (submitted,) = base_only.requests("/v1/process/text")
    assert submitted.json["detectEntities"] is True
