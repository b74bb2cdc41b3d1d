"""The Conversation API with ``symbl.AsyncClient``: the asyncio twin of test_conversations.py
and the Conversation half of test_bad_input.py. Every method is a coroutine function that
sends the request the synchronous one sends and returns the same data."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest

import symbl
from symbl._resources.async_conversations import AsyncConversations
from symbl._resources.bookmarks import BOOKMARK_METHODS
from symbl._resources.conversations import API_METHODS, Conversations
from symbl.emulator import Emulator

from async_rest_helpers import make_client, run
from helpers import MEETING, TRANSCRIPT_OPTIONS, assert_markdown_transcript

SPEAKER_EVENTS = {
    "speakerEvents": [
        {
            "type": "started_speaking",
            "user": {"id": "u1", "name": "Derek", "email": "derek@example.com"},
            "offset": {"seconds": 0, "nanos": 0},
        },
        {
            "type": "stopped_speaking",
            "user": {"id": "u1", "name": "Derek", "email": "derek@example.com"},
            "offset": {"seconds": 7, "nanos": 0},
        },
    ]
}
# Every method that reads, and the arguments beyond the conversation id it is called with.
READS: dict[str, tuple[Any, ...]] = {
    "get_conversation": (),
    "get_messages": (),
    "get_topics": (),
    "get_questions": (),
    "get_action_items": (),
    "get_follow_ups": (),
    "get_insights": (),
    "get_members": (),
    "get_entities": (),
    "get_trackers": (),
    "get_analytics": (),
    "get_summary": (),
    "get_call_score": (),
    "get_call_score_status": (),
    "get_call_score_insights_url": (),
    "get_formatted_transcript": (),
}
WITH_PARAMETERS: list[tuple[str, dict[str, Any]]] = [
    ("get_messages", {"parameters": {"verbose": True, "sentiment": True}}),
    ("get_topics", {"parameters": {"sentiment": True, "parent_refs": True}}),
    ("get_topics", {"parameters": {"customTopicVocabulary": ["trainer"]}}),
    ("get_summary", {"parameters": {"refresh": True}}),
    ("get_formatted_transcript", {"parameters": {"contentType": "text/srt"}}),
    (
        "get_formatted_transcript",
        {"parameters": {"createParagraphs": "true", "phrases": {"highlightAllKeyPhrases": True}}},
    ),
]


@pytest.fixture
def sync(emu: Emulator) -> Iterator[symbl.Client]:
    with symbl.Client(emu.credentials, base_url=emu.base_url) as made:
        yield made


@pytest.fixture
def cid(emu: Emulator, sync: symbl.Client) -> str:
    """A processed conversation, the request log cleared after it."""
    params = {
        "trackers": [{"name": "Pricing", "vocabulary": ["pricing proposal", "annual plan"]}],
        "detectPhrases": True,
        "features": {"featureList": ["insights", "callScore"]},
    }
    made = sync.Text.process(payload=MEETING, parameters=params)
    emu.state.requests.clear()
    return made.get_conversation_id()


def wire(emu: Emulator) -> list[tuple]:
    return [(e.method, e.path, e.query_string, e.body, e.status) for e in emu.requests()]


def last(emu: Emulator):
    return emu.requests()[-1]


# -- the same methods, as coroutine functions ---------------------------------------------------


def test_every_method_is_a_coroutine_function_with_the_sync_signature() -> None:
    # (The bookmark methods have their asyncio twins tested in test_bookmarks.py.)
    assert set(READS) == {
        name for name in API_METHODS if name.startswith("get_") and name not in BOOKMARK_METHODS
    }
    for name in API_METHODS:
        for sync_class, async_class in (
            (Conversations, AsyncConversations),
            (symbl.Conversation, symbl.AsyncConversation),
        ):
            if not hasattr(sync_class, name):
                continue
            method = getattr(async_class, name)
            assert inspect.iscoroutinefunction(method), f"{async_class.__name__}.{name}"
            sync_method = getattr(sync_class, name)
            assert inspect.signature(method) == inspect.signature(sync_method), name
            assert method.__doc__ == sync_method.__doc__
            assert method.__qualname__ == f"{async_class.__name__}.{name}"
    for name in ("wait", "get_job_status"):
        assert inspect.iscoroutinefunction(getattr(symbl.AsyncConversation, name))


@pytest.mark.parametrize("method", list(READS))
def test_each_getter_answers_what_the_sync_getter_answers(
    emu: Emulator, sync: symbl.Client, cid: str, method: str
) -> None:
    expected = getattr(sync.Conversations, method)(cid, *READS[method])
    sent_by_sync = wire(emu)
    assert [status for *_, status in sent_by_sync] == [200]
    emu.state.requests.clear()

    async def scenario() -> tuple[Any, Any]:
        async with make_client(emu) as client:
            from_resource = await getattr(client.Conversations, method)(cid, *READS[method])
            conversation = symbl.AsyncConversation(cid, client=client)
            if method == "get_call_score_insights_url":  # not a Conversation method
                return from_resource, from_resource
            return from_resource, await getattr(conversation, method)(*READS[method])

    from_resource, from_object = run(scenario)
    assert from_resource == expected
    assert from_object == expected
    assert type(from_resource) is type(expected)
    sent = wire(emu)
    assert sent[0] == sent_by_sync[0]
    assert all(entry == sent_by_sync[0] for entry in sent)


@pytest.mark.parametrize(("method", "arguments"), WITH_PARAMETERS)
def test_parameters_go_on_the_wire_as_the_sync_client_sends_them(
    emu: Emulator, sync: symbl.Client, cid: str, method: str, arguments: dict[str, Any]
) -> None:
    expected = getattr(sync.Conversations, method)(cid, **arguments)
    sent_by_sync = wire(emu)
    emu.state.requests.clear()

    async def scenario() -> Any:
        async with make_client(emu) as client:
            return await getattr(client.Conversations, method)(cid, **arguments)

    if method != "get_summary":  # a refreshed summary may differ; the request may not
        assert run(scenario) == expected
    else:
        run(scenario)
    assert wire(emu) == sent_by_sync


def test_all_getters_at_once(emu: Emulator, sync: symbl.Client, cid: str) -> None:
    expected = {method: getattr(sync.Conversations, method)(cid) for method in READS}

    async def scenario() -> dict[str, Any]:
        async with make_client(emu) as client:
            conversation = symbl.AsyncConversation(cid, client=client)
            names = [name for name in READS if hasattr(conversation, name)]
            answers = await asyncio.gather(*(getattr(conversation, name)() for name in names))
            return dict(zip(names, answers))

    answers = run(scenario)
    assert answers == {name: expected[name] for name in answers}
    assert len(answers) == len(READS) - 1


# -- what the answers hold ----------------------------------------------------------------------


def test_results_hold_real_insights(emu: Emulator, cid: str) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = symbl.AsyncConversation(cid, client=client)
            messages = (await conversation.get_messages()).messages
            assert messages[0].text == "Hi Mike, thanks for joining the call today."
            assert messages[0].from_.name == "Natalia"
            questions = [q.text for q in (await conversation.get_questions()).questions]
            assert any("annual plan" in text for text in questions)
            action_items = (await conversation.get_action_items()).action_items
            contract = next(item for item in action_items if "contract" in item.text)
            assert contract.assignee.name == "Natalia"
            assert contract.due_by.startswith("2021-06-04")
            names = {member.name for member in (await conversation.get_members()).members}
            assert names == {"Natalia", "Mike"}
            (tracker,) = await conversation.get_trackers()
            assert tracker.name == "Pricing"
            assert last(emu).path.endswith("/trackers-detected")

    run(scenario)


def test_put_members_sends_the_member(emu: Emulator, cid: str) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = symbl.AsyncConversation(cid, client=client)
            member = (await conversation.get_members()).members[0]
            answer = await conversation.put_members(
                member.id, {"name": "Natalia R.", "email": "nr@example.com"}
            )
            entry = last(emu)
            assert (entry.method, entry.path) == (
                "PUT",
                f"/v1/conversations/{cid}/members/{member.id}",
            )
            assert entry.json == {"name": "Natalia R.", "email": "nr@example.com", "id": member.id}
            assert "updated successfully" in answer.message
            messages = (await conversation.get_messages()).messages
            assert messages[0].from_.name == "Natalia R."

    run(scenario)


def test_put_speakers_events_reattributes_messages(emu: Emulator, cid: str) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            answer = await client.Conversations.put_speakers_events(cid, SPEAKER_EVENTS)
            entry = last(emu)
            assert (entry.method, entry.json) == ("PUT", SPEAKER_EVENTS)
            assert entry.path.endswith("/speakers")
            assert "successfully" in answer.message
            messages = (await client.Conversations.get_messages(cid)).messages
            assert messages[0].from_.name == "Derek"

    run(scenario)


def test_formatted_transcript(emu: Emulator, cid: str) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = symbl.AsyncConversation(cid, client=client)
            markdown = await conversation.get_formatted_transcript(TRANSCRIPT_OPTIONS)
            assert_markdown_transcript(last(emu), markdown)
            srt = await conversation.get_formatted_transcript({"contentType": "text/srt"})
            assert srt.transcript.payload.startswith("1\n00:00:00,000 --> ")

    run(scenario)


def test_call_score_insights_url(emu: Emulator, cid: str) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            answer = await client.Conversations.get_call_score_insights_url(cid)
            entry = last(emu)
            assert entry.path == f"/v1/conversations/experiences/insights/details/{cid}"
            assert entry.query_string == "includeCallScore=true"
            assert answer.url.startswith("https://")

    run(scenario)


def test_delete_conversation(emu: Emulator, cid: str) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = symbl.AsyncConversation(cid, client=client)
            answer = await conversation.delete_conversation()
            assert last(emu).method == "DELETE"
            assert answer.message == "successfully deleted the conversation"
            with pytest.raises(symbl.NotFoundError) as caught:
                await conversation.get_messages()
            assert caught.value.message == "The conversationId is either invalid or does not exist."

    run(scenario)


def test_documented_int_conversation_id_works(emu: Emulator) -> None:
    emu.add_conversation(MEETING["messages"], conversation_id="1234567890")

    async def scenario() -> None:
        async with make_client(emu) as client:
            assert (await client.Conversations.get_messages(1234567890)).messages

    run(scenario)


def test_unknown_conversation_raises_not_found_for_every_method(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            conversations = client.Conversations
            for method in READS:
                if method.startswith("get_call_score"):
                    continue
                with pytest.raises(symbl.NotFoundError):
                    await getattr(conversations, method)("999")
            with pytest.raises(symbl.NotFoundError):
                await conversations.delete_conversation("999")
            with pytest.raises(symbl.NotFoundError):
                await conversations.put_members("999", "m1", {"name": "X"})
            with pytest.raises(symbl.NotFoundError):
                await conversations.put_speakers_events("999", SPEAKER_EVENTS)

    run(scenario)


def test_conversations_belong_to_the_app_that_made_them(emu: Emulator, cid: str) -> None:
    emu.add_app("other", "secret2")

    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(symbl.NotFoundError):
                await client.Conversations.get_messages(
                    cid, credentials={"app_id": "other", "app_secret": "secret2"}
                )
            assert (await client.Conversations.get_messages(cid)).messages

    run(scenario)
    assert [entry.app_id for entry in emu.requests(f"/v1/conversations/{cid}")] == [
        "other",
        emu.app_id,
    ]


def test_a_member_id_goes_raw_in_the_body_and_escaped_in_the_path(emu: Emulator, cid: str) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = symbl.AsyncConversation(cid, client=client)
            with pytest.raises(symbl.NotFoundError):
                await conversation.put_members("ann@example.com", {"name": "Ann"})

    run(scenario)
    entry = last(emu)
    assert entry.json == {"name": "Ann", "id": "ann@example.com"}
    assert entry.path.endswith("/members/ann@example.com")


def test_conversation_methods_take_what_conversations_takes_but_the_id_and_credentials(
    emu: Emulator, cid: str
) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = symbl.AsyncConversation(cid, client=client)
            assert (await conversation.get_messages({"verbose": True})).messages[0].words
            with pytest.raises(TypeError, match="unexpected keyword argument 'credentials'"):
                await conversation.get_messages(credentials=emu.credentials)
            with pytest.raises(TypeError, match="takes 1 arguments but 2 were given"):
                await conversation.get_topics({}, {})
            assert conversation.client is client
            assert conversation.get_conversation_id() == cid

    run(scenario)
    assert "conversation_id" not in (symbl.AsyncConversation.get_messages.__doc__ or "")
    assert "credentials" not in (symbl.AsyncConversation.put_members.__doc__ or "")
    assert len(emu.requests()) == 1


# -- bad input: a clear error, and nothing sent ---------------------------------------------------

NO_OFFSET = {
    "speakerEvents": [
        {"type": "started_speaking", "user": {"name": "A"}, "offset": {"seconds": -1}}
    ]
}
BAD_CALLS: list[tuple[str, Any, str]] = [
    ("verbos", lambda c: c.get_messages("1", parameters={"verbos": float("nan")}), "verbos"),
    ("verbose", lambda c: c.get_messages("1", parameters={"verbose": "maybe"}), "True or False"),
    (
        "vocabulary",
        lambda c: c.get_topics("1", parameters={"customTopicVocabulary": {"x"}}),
        "customTopicVocabulary is not JSON",
    ),
    ("not a dict", lambda c: c.get_topics("1", parameters="sentiment"), "must be a dict"),
    ("no name", lambda c: c.put_members("1", "m", {}), "name"),
    ("other id", lambda c: c.put_members("1", "m", {"name": "A", "id": "other"}), "differs"),
    ("role", lambda c: c.put_members("1", "m", {"name": "A", "role": "x"}), "take id, name"),
    ("no member", lambda c: c.put_members("123", "", {"name": "A"}), "members_id"),
    ("no events", lambda c: c.put_speakers_events("1", {}), "speakerEvents"),
    (
        "event type",
        lambda c: c.put_speakers_events("1", {"speakerEvents": [{"type": "spoke"}]}),
        "type",
    ),
    ("offset", lambda c: c.put_speakers_events("1", NO_OFFSET), "whole number"),
    (
        "html",
        lambda c: c.get_formatted_transcript("1", {"contentType": "text/html"}),
        "contentType",
    ),
    (
        "srt paragraphs",
        lambda c: c.get_formatted_transcript(
            "1", {"contentType": "text/srt", "createParagraphs": True}
        ),
        "takes",
    ),
    ("refresh", lambda c: c.get_summary("1", parameters={"refresh": 1}), "True or False"),
    ("credentials", lambda c: c.get_messages("1", credentials="id:secret"), "dict"),
    ("app_secret", lambda c: c.get_messages("1", credentials={"app_id": "x"}), "app_secret"),
] + [
    (f"{method} {bad!r}", lambda c, m=method, b=bad: getattr(c, m)(b), "conversation_id")
    for method in (*READS, "delete_conversation")
    for bad in ("", "  ", "12/34", "12?x", "1#2", None, 1.5, True)
]


def test_every_bad_call_is_refused_before_any_request(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            for label, call, match in BAD_CALLS:
                with pytest.raises(symbl.InvalidArgumentError, match=match):
                    await call(client.Conversations)
                assert emu.requests() == [], label

    run(scenario)
    assert len(BAD_CALLS) > 100
