"""Listing conversations, updating one, and the Summary UI (PROTOCOL.md §11.1-§11.3), against
the emulator: the exact requests, the paging rule, laziness, and refusals before sending."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl

import pytest

import symbl
from symbl.emulator import Emulator

from async_rest_helpers import make_client, run
from helpers import MEETING

LIST = "/v1/conversations"


def make(emu: Emulator, count: int) -> list[str]:
    """``count`` finished conversations named c0, c1, ..., made in that order."""
    return [emu.add_conversation(MEETING["messages"], name=f"c{i}") for i in range(count)]


def listings(emu: Emulator) -> list[dict[str, str]]:
    """The queries of the listing requests the emulator received, in order."""
    return [dict(parse_qsl(entry.query_string)) for entry in emu.requests(LIST, "GET")]


def offsets(emu: Emulator) -> list[str]:
    return [query["offset"] for query in listings(emu)]


# -- paging ---------------------------------------------------------------------------------------


def test_five_conversations_in_pages_of_two_take_three_requests(
    emu: Emulator, client: symbl.Client
) -> None:
    make(emu, 5)
    names = [item.name for item in client.Conversations.list(limit=2)]
    assert names == ["c0", "c1", "c2", "c3", "c4"]
    assert listings(emu) == [{"limit": "2", "offset": offset} for offset in ("0", "2", "4")]


def test_a_full_last_page_needs_one_more_request_which_is_empty(
    emu: Emulator, client: symbl.Client
) -> None:
    make(emu, 4)
    assert len(list(client.Conversations.list(limit=2))) == 4
    assert offsets(emu) == ["0", "2", "4"]
    assert [entry.json for entry in emu.requests(LIST)] == [None] * 3


def test_pages_are_asked_for_only_as_they_are_used(emu: Emulator, client: symbl.Client) -> None:
    make(emu, 5)
    conversations = client.Conversations.list(limit=2, offset=1)
    assert emu.requests(LIST) == [], "nothing is sent before the first item is asked for"
    first = next(conversations)
    assert first.name == "c1"
    assert offsets(emu) == ["1"]
    assert [item.name for item in itertools.islice(conversations, 2)] == ["c2", "c3"]
    assert offsets(emu) == ["1", "3"]


def test_query_order_sort_window_and_filter_go_as_given(
    emu: Emulator, client: symbl.Client
) -> None:
    ids = make(emu, 3)
    client.Conversations.update_conversation(ids[0], name="b")
    client.Conversations.update_conversation(ids[2], name="a")
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    found = client.Conversations.list(
        order="desc",
        sort="conversation.name",
        startTime=start,
        end_time="2999-01-01T00:00:00.000Z",
        filter="conversation.type==meeting",
    )
    assert [item.name for item in found] == ["c1", "b", "a"]
    (query,) = listings(emu)
    assert query == {
        "limit": "20",
        "offset": "0",
        "filter": "conversation.type==meeting",
        "order": "desc",
        "sort": "conversation.name",
        "startTime": start.astimezone(timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z",
        "endTime": "2999-01-01T00:00:00.000Z",
    }


def test_the_default_window_is_the_last_seven_days(emu: Emulator, client: symbl.Client) -> None:
    make(emu, 1)
    past = (datetime.now(timezone.utc) - timedelta(days=30)).isoformat()
    assert list(client.Conversations.list(end_time=past)) == []
    assert len(list(client.Conversations.list())) == 1


# -- update and filter ----------------------------------------------------------------------------


def test_filter_by_metadata_after_update(emu: Emulator, client: symbl.Client) -> None:
    ids = make(emu, 3)
    answer = client.Conversations.update_conversation(ids[1], metadata={"agentId": "johndoe"})
    assert answer == {"id": ids[1], "metadata": {"agentId": "johndoe"}}
    (put,) = emu.requests(f"{LIST}/{ids[1]}", "PUT")
    assert put.json == {"metadata": {"agentId": "johndoe"}}
    symbl.Conversation(ids[2], client=client).update_conversation(
        {"agentId": "johndoe", "team": "b"}, "Renamed"
    )
    put = emu.requests(f"{LIST}/{ids[2]}", "PUT")[0]
    assert put.json == {"metadata": {"agentId": "johndoe", "team": "b"}, "name": "Renamed"}
    found = client.Conversations.list(
        filter="conversation.metadata.agentId==johndoe and conversation.metadata.team!=a"
    )
    assert [(item.id, item.name) for item in found] == [(ids[1], "c1"), (ids[2], "Renamed")]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"limit": 65537}, "limit must be a whole number from 0 to 65536"),
        ({"limit": "2"}, "limit must be a whole number"),
        ({"offset": -1}, "offset must be a whole number"),
        ({"order": "newest"}, "order must be asc or desc"),
        ({"filter": "conversation.name==a,conversation.name==b"}, "has an OR"),
        ({"filter": "conversation.name==a or conversation.type==b"}, "has an OR"),
        (
            {"filter": "conversation.name==a;conversation.type==b;conversation.id==c"},
            "compares 3 fields",
        ),
        ({"filter": "conversation.name="}, "is not RSQL"),
        ({"filter": "conversation.name=like=x"}, "expected an operator"),
        ({"start_time": "last week"}, "^start_time must be an ISO-8601 time"),
        ({"startTime": "last week"}, "^startTime must be an ISO-8601 time"),
        ({"end_time": datetime(2021, 1, 1)}, "^end_time .* has no timezone"),
        (
            {"start_time": "2021-01-02T00:00:00Z", "endTime": "2021-01-01T00:00:00Z"},
            "^the window is empty: it starts at 2021-01-02T00:00:00Z and ends at "
            "2021-01-01T00:00:00Z; the start time must come before the end time$",
        ),
        ({"start_time": "2021-01-02T00:00:00Z", "startTime": "2021-01-02T00:00:00Z"}, "not both"),
    ],
)
def test_bad_listings_are_refused_before_sending(
    emu: Emulator, client: symbl.Client, arguments: dict, message: str
) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match=message):
        client.Conversations.list(**arguments)
    assert emu.requests(LIST) == []


def test_bad_updates_are_refused_before_sending(emu: Emulator, client: symbl.Client) -> None:
    (cid,) = make(emu, 1)
    for metadata, message in (
        ({"agentId": 7}, r"metadata\.agentId must be a string"),
        ({"note": "x" * 129}, "at most 128"),
    ):
        with pytest.raises(symbl.InvalidArgumentError, match=message):
            client.Conversations.update_conversation(cid, metadata=metadata)
    with pytest.raises(symbl.InvalidArgumentError, match="metadata or a name"):
        client.Conversations.update_conversation(cid)
    assert emu.requests(LIST) == []


def test_the_emulator_refuses_what_the_sdk_refuses(emu: Emulator, client: symbl.Client) -> None:
    (cid,) = make(emu, 1)
    for query in ({"limit": "70000"}, {"filter": "a==1,b==2"}, {"order": "up"}):
        with pytest.raises(symbl.BadRequestError):
            client.request("GET", LIST, params=query)
    with pytest.raises(symbl.BadRequestError, match="can change only metadata and name"):
        client.request("PUT", f"{LIST}/{cid}", json={"type": "call"})


def test_unknown_conversation_is_not_found(emu: Emulator, client: symbl.Client) -> None:
    with pytest.raises(symbl.NotFoundError):
        client.Conversations.update_conversation("123", metadata={"a": "b"})
    with pytest.raises(symbl.NotFoundError):
        client.Conversations.create_summary_ui("123")


# -- the Summary UI -------------------------------------------------------------------------------


def test_summary_ui_returns_the_url_to_share(emu: Emulator, client: symbl.Client) -> None:
    (cid,) = make(emu, 1)
    conversation = symbl.Conversation(cid, client=client)
    text_url = conversation.create_summary_ui()
    video_url = client.Conversations.create_summary_ui(
        cid,
        "video-summary",
        video_url="https://example.com/call.mp4",
        color={"background": "#0A2136"},
        read_only=True,
        summary_url_expires_in=0,
        parameters={"newOption": 1},
    )
    assert text_url.startswith("https://meetinginsights.symbl.ai/meeting/#/")
    assert video_url == text_url + "?showVideoSummary=true"
    first, second = (entry.json for entry in emu.requests(f"{LIST}/{cid}/experiences", "POST"))
    assert first == {"name": "verbose-text-summary"}
    assert second == {
        "name": "video-summary",
        "videoUrl": "https://example.com/call.mp4",
        "color": {"background": "#0A2136"},
        "summaryURLExpiresIn": 0,
        "readOnly": True,
        "newOption": 1,
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "slides"}, "name must be one of"),
        ({"name": "video-summary"}, "needs videoUrl"),
        ({"name": "audio-summary", "audio_url": "x.wav"}, "audio_url must be an absolute"),
        ({"color": {"background": "blue"}}, "hex color"),
        ({"read_only": "maybe"}, "read_only must be True or False"),
        ({"parameters": {"readOnly": True}, "read_only": False}, "given both"),
    ],
)
def test_bad_summary_ui_requests_are_refused_before_sending(
    emu: Emulator, client: symbl.Client, arguments: dict, message: str
) -> None:
    (cid,) = make(emu, 1)
    with pytest.raises(symbl.InvalidArgumentError, match=message):
        client.Conversations.create_summary_ui(cid, **arguments)
    assert emu.requests(LIST) == []


# -- the asyncio client ---------------------------------------------------------------------------


def test_async_list_pages_lazily_and_the_rest_is_awaited(emu: Emulator) -> None:
    ids = make(emu, 3)

    async def scenario() -> None:
        async with make_client(emu) as client:
            conversations = client.Conversations.list(limit=2)
            assert emu.requests(LIST) == []
            assert (await conversations.__anext__()).name == "c0"
            assert offsets(emu) == ["0"]
            assert [item.name async for item in conversations] == ["c1", "c2"]
            assert offsets(emu) == ["0", "2"]
            with pytest.raises(symbl.InvalidArgumentError, match="has an OR"):
                client.Conversations.list(filter="a==1,b==2")
            await client.Conversations.update_conversation(ids[0], metadata={"k": "v"})
            conversation = symbl.AsyncConversation(ids[1], client=client)
            await conversation.update_conversation({"k": "v"})
            found = client.Conversations.list(filter="conversation.metadata.k==v")
            assert [item.id async for item in found] == ids[:2]
            url = await conversation.create_summary_ui()
            assert url.startswith("https://meetinginsights.symbl.ai/")

    run(scenario)
