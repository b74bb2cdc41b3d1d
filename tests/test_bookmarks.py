"""Bookmarks (PROTOCOL.md §11.4): the REST endpoints through ``symbl.Conversations``, the
Conversation object and the asyncio client, and ``bookmark_request`` on a live stream."""

from __future__ import annotations

import asyncio
import queue
from typing import Any

import pytest

import symbl
from symbl.emulator import Emulator

from async_rest_helpers import make_client, run
from helpers import MEETING, wait_until

USER = {"name": "John", "userId": "john@example.com", "email": "john@example.com"}
SPAN = {"label": "Pricing", "description": "Price talk", "user": USER}


@pytest.fixture
def cid(emu_env: Emulator) -> str:
    """The sample meeting (its messages start at 0, 3.5, 4.08, 7.5 ... seconds)."""
    return emu_env.add_conversation(MEETING["messages"])


def message_ids(cid: str) -> list[str]:
    return [message.id for message in symbl.Conversations.get_messages(cid).messages]


def wire(emu: Emulator, cid: str) -> list[tuple[str, str, int | None, Any]]:
    """Method, path below the conversation, status and body of each bookmark request."""
    base = f"/v1/conversations/{cid}"
    return [
        (entry.method, entry.path[len(base) :], entry.status, entry.json)
        for entry in emu.requests(base)
        if "bookmark" in entry.path
    ]


def test_every_endpoint_sends_its_request(emu_env: Emulator, cid: str) -> None:
    ids = message_ids(cid)
    span = symbl.Conversations.create_bookmark(cid, **SPAN, begin_time_offset=3, duration=5)
    refs = symbl.Conversations.create_bookmark(
        cid, "Refs", "Two messages", USER, message_refs=ids[1:3]
    )
    bulk = symbl.Conversations.create_bookmarks(
        cid,
        [
            {**SPAN, "begin_time_offset": 0, "duration": 1},
            {**SPAN, "messageRefs": [{"id": ids[0]}]},
        ],
    )
    listed = symbl.Conversations.get_bookmarks(cid)
    got = symbl.Conversations.get_bookmark(cid, span.id)
    updated = symbl.Conversations.update_bookmark(
        cid, span.id, "New", "Changed", USER, message_refs=[ids[0]]
    )
    summary = symbl.Conversations.get_bookmark_summary(cid, refs.id)
    summaries = symbl.Conversations.get_bookmarks_summary(cid)
    deleted = symbl.Conversations.delete_bookmark(cid, span.id)
    one = f"/bookmarks/{span.id}"
    assert wire(emu_env, cid) == [
        ("POST", "/bookmarks", 201, {**SPAN, "beginTimeOffset": 3, "duration": 5}),
        (
            "POST",
            "/bookmarks",
            201,
            {
                "label": "Refs",
                "description": "Two messages",
                "user": USER,
                "messageRefs": [{"id": ids[1]}, {"id": ids[2]}],
            },
        ),
        (
            "POST",
            "/bookmarks/bulk",
            201,
            [
                {**SPAN, "beginTimeOffset": 0, "duration": 1},
                {**SPAN, "messageRefs": [{"id": ids[0]}]},
            ],
        ),
        ("GET", "/bookmarks", 200, None),
        ("GET", one, 200, None),
        (
            "PUT",
            one,
            200,
            {
                "label": "New",
                "description": "Changed",
                "user": USER,
                "messageRefs": [{"id": ids[0]}],
            },
        ),
        ("GET", f"/bookmarks/{refs.id}/summary", 200, None),
        ("GET", "/bookmarks-summary", 200, None),
        ("DELETE", one, 204, None),
    ]
    # A time span holds the messages it overlaps; message references fill in the span.
    assert span.message_refs == [{"id": i} for i in ids[1:5]]
    assert (refs.begin_time_offset, refs.duration) == (3.5, 3.5)
    assert [b.id for b in bulk.bookmarks] == [b.id for b in listed.bookmarks][2:]
    assert got == span
    assert updated.label == "New" and "beginTimeOffset" in updated and updated.duration == 3.0
    (item,) = summary.summary
    assert item.bookmark_reference.id == refs.id and item.message_refs == refs.message_refs
    assert [s.bookmark_id for s in summaries.bookmarks_summary] == [b.id for b in listed.bookmarks]
    assert deleted is None
    with pytest.raises(symbl.NotFoundError):
        symbl.Conversations.get_bookmark(cid, span.id)


def test_the_conversation_object_bookmarks_its_own_conversation(
    emu_env: Emulator, cid: str
) -> None:
    conversation = symbl.Conversation(cid)
    made = conversation.create_bookmark("Start", "The greeting", USER, 0, 1)
    assert conversation.get_bookmarks().bookmarks == [made]
    assert conversation.get_bookmark(made.id) == made
    assert conversation.delete_bookmark(made.id) is None
    assert [entry.path for entry in emu_env.requests(f"/v1/conversations/{cid}/bookmarks")] == [
        f"/v1/conversations/{cid}/bookmarks",
        f"/v1/conversations/{cid}/bookmarks",
        f"/v1/conversations/{cid}/bookmarks/{made.id}",
        f"/v1/conversations/{cid}/bookmarks/{made.id}",
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({**SPAN, "description": ""}, "description must be a non-empty string"),
        ({**SPAN, "label": None}, "label must be a non-empty string"),
        ({**SPAN, "user": {}}, "must name the user"),
        ({**SPAN, "user": {"name": 3}}, "user.name must be a string"),
        ({**SPAN, "user": None}, "needs a 'user'"),
        (SPAN, "has no content"),
        ({**SPAN, "begin_time_offset": 1}, "has beginTimeOffset but no duration"),
        (
            {**SPAN, "begin_time_offset": -1, "duration": 3},
            "begin_time_offset must be a number of seconds from 0",
        ),
        ({**SPAN, "begin_time_offset": 1, "duration": float("nan")}, "duration must be a finite"),
        ({**SPAN, "begin_time_offset": 1, "duration": "3"}, "duration must be a number"),
        (
            {**SPAN, "begin_time_offset": 1, "duration": 2, "message_refs": ["1"]},
            "both a time span and messageRefs",
        ),
        ({**SPAN, "message_refs": []}, "message_refs must be a non-empty list"),
        (
            {**SPAN, "message_refs": [{"text": "x"}]},
            r"message_refs\[0\].id must be a non-empty string",
        ),
    ],
)
def test_bad_bookmarks_are_refused_before_sending(
    emu_env: Emulator, cid: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match=message):
        symbl.Conversations.create_bookmark(cid, **arguments)
    with pytest.raises(symbl.InvalidArgumentError):
        symbl.Conversations.update_bookmark(cid, "5200000000000000", **arguments)
    assert emu_env.requests("/v1/conversations") == []


def test_bad_bulk_and_ids_are_refused_before_sending(emu_env: Emulator, cid: str) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match="non-empty list of bookmarks"):
        symbl.Conversations.create_bookmarks(cid, [])
    with pytest.raises(symbl.InvalidArgumentError, match=r"\[1\].description"):
        symbl.Conversations.create_bookmarks(
            cid, [{**SPAN, "duration": 1, "beginTimeOffset": 0}, {**SPAN, "description": " "}]
        )
    with pytest.raises(symbl.InvalidArgumentError, match="bookmark_id"):
        symbl.Conversations.get_bookmark(cid, "a/b")
    assert emu_env.requests("/v1/conversations") == []


def test_unknown_things_are_typed_errors(emu_env: Emulator, cid: str) -> None:
    with pytest.raises(symbl.NotFoundError):
        symbl.Conversations.get_bookmarks("123")
    with pytest.raises(symbl.NotFoundError):
        symbl.Conversations.delete_bookmark(cid, "999")
    with pytest.raises(symbl.BadRequestError, match="not a message of conversation"):
        symbl.Conversations.create_bookmark(cid, **SPAN, message_refs=["404"])


def test_both_documented_answer_shapes_are_taken(emu_env: Emulator, cid: str) -> None:
    """§11.4 (a) and (b): the Go client's wrapped bookmark, the guide's summary object."""
    bookmark = {"id": "7", **SPAN, "beginTimeOffset": 0, "duration": 1}
    item = {"id": "8", "text": "Hi", "messageRefs": [], "bookmarkReference": {"id": "7"}}
    emu_env.add_fault(path="*/bookmarks/7", status=200, body={"bookmarks": [bookmark]}, times=1)
    emu_env.add_fault(path="*/bookmarks/7/summary", status=200, body={"summary": item}, times=1)
    assert symbl.Conversations.get_bookmark(cid, "7") == bookmark
    assert symbl.Conversations.get_bookmark_summary(cid, "7") == {"summary": [item]}


def test_deleting_a_conversation_deletes_its_bookmarks(emu_env: Emulator, cid: str) -> None:
    symbl.Conversations.create_bookmark(cid, **SPAN, begin_time_offset=0, duration=1)
    symbl.Conversations.delete_conversation(cid)
    with pytest.raises(symbl.NotFoundError):
        symbl.Conversations.get_bookmarks(cid)
    again = emu_env.add_conversation(MEETING["messages"], conversation_id=cid)
    assert symbl.Conversations.get_bookmarks(again).bookmarks == []


def test_a_bookmark_made_on_a_stream_is_listed_by_rest(emu_env: Emulator) -> None:
    answers: queue.Queue[Any] = queue.Queue()
    errors: list[Any] = []
    connection = symbl.Streaming.start_connection()
    try:
        connection.subscribe({"bookmark_response": answers.put, "error": errors.append})
        connection.create_bookmark("Intro", "The start", USER, begin_time_offset=0, duration=30)
        made = answers.get(timeout=5)
        assert made["operation"] == "create" and made["label"] == "Intro"
        connection.update_bookmark(made["id"], "Intro", "Changed", USER, 0, 10)
        assert answers.get(timeout=5)["description"] == "Changed"
        connection.delete_bookmark("999")  # refused: an error message, the stream goes on
        assert wait_until(lambda: errors)
        assert "Bookmark not found" in str(errors[0])
        with pytest.raises(symbl.InvalidArgumentError, match="description"):
            connection.create_bookmark("Intro", "", USER, 0, 1)
        listed = connection.conversation.get_bookmarks().bookmarks
        assert [(b.id, b.description, b.duration) for b in listed] == [(made["id"], "Changed", 10)]
        connection.delete_bookmark(made["id"])
        assert answers.get(timeout=5)["operation"] == "delete"
    finally:
        connection.stop()
    assert connection.conversation.get_bookmarks().bookmarks == []


def test_asyncio_twins(emu: Emulator) -> None:
    cid = emu.add_conversation(MEETING["messages"])

    async def scenario() -> None:
        async with make_client(emu) as client:
            made = await client.Conversations.create_bookmark(
                cid, **SPAN, begin_time_offset=3, duration=1
            )
            conversation = symbl.AsyncConversation(cid, client=client)
            assert await conversation.get_bookmark(made.id) == made
            assert (await client.Conversations.get_bookmark_summary(cid, made.id)).summary
            updated = await conversation.update_bookmark(made.id, "New", "Changed", USER, 0, 1)
            assert updated.label == "New"
            assert await client.Conversations.delete_bookmark(cid, made.id) is None
            connection = await client.Streaming.start_connection()
            answers: asyncio.Queue[Any] = asyncio.Queue()
            connection.subscribe({"bookmark_response": answers.put_nowait})
            await connection.create_bookmark("Live", "On the stream", USER, 0, 5)
            live_made = await asyncio.wait_for(answers.get(), 5)
            await connection.update_bookmark(live_made["id"], "Live", "Changed", USER, 0, 5)
            assert (await asyncio.wait_for(answers.get(), 5))["description"] == "Changed"
            await connection.create_bookmark("Other", "Gone soon", USER, 0, 1)
            gone = await asyncio.wait_for(answers.get(), 5)
            await connection.delete_bookmark(gone["id"])
            assert (await asyncio.wait_for(answers.get(), 5))["operation"] == "delete"
            await connection.stop()
            live = connection.conversation.get_conversation_id()
            (listed,) = (await client.Conversations.get_bookmarks(live)).bookmarks
            assert (listed.id, listed.description) == (live_made["id"], "Changed")

    run(scenario)
