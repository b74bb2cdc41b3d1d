"""Conversation groups (PROTOCOL.md §11.6) against the emulator: CRUD with the exact requests,
a group's conversations paged by the listing rule, refusals before sending, 404s."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

import pytest

import symbl
from symbl.emulator import Emulator

from async_rest_helpers import make_client, run
from helpers import MEETING

JOHN = "conversation.metadata.agentId==johndoe"


def tagged(emu: Emulator, client: symbl.Client, *agents: str) -> list[str]:
    """One conversation per agent, its metadata ``{'agentId': agent}``."""
    ids = []
    for index, agent in enumerate(agents):
        cid = emu.add_conversation(MEETING["messages"], name=f"c{index}")
        client.Conversations.update_conversation(cid, metadata={"agentId": agent})
        ids.append(cid)
    emu.state.requests.clear()
    return ids


def sent(emu: Emulator) -> list[tuple[str, str, object]]:
    return [(entry.method, entry.path, entry.json) for entry in emu.requests("/v1/")]


def content_types(emu: Emulator) -> list[tuple[str, str | None]]:
    return [(entry.method, entry.headers.get("content-type")) for entry in emu.requests("/v1/")]


def test_create_get_list_update_delete(emu: Emulator, client: symbl.Client) -> None:
    group = client.Groups.create("Calls made by John", JOHN, description="Agent John Doe.")
    assert group == {
        "id": group.id,
        "name": "Calls made by John",
        "criteria": JOHN,
        "description": "Agent John Doe.",
    }
    assert client.Groups.get(group.id) == group
    assert client.Groups.list() == [group]
    updated = client.Groups.update(group.id, "John_2", "conversation.metadata.agentId==jd")
    assert updated == {"id": group.id, "name": "John_2", "criteria": updated.criteria}
    assert client.Groups.delete(group.id) == {"id": group.id, "type": "group", "deleted": True}
    one = f"/v1/manage/group/{group.id}"
    assert sent(emu) == [
        (
            "POST",
            "/v1/manage/group",
            {"name": "Calls made by John", "criteria": JOHN, "description": "Agent John Doe."},
        ),
        ("GET", one, None),
        ("GET", "/v1/manage/groups", None),
        (
            "PUT",
            one,
            {"id": group.id, "name": "John_2", "criteria": "conversation.metadata.agentId==jd"},
        ),
        ("DELETE", one, None),
    ]
    # The Management API asks for the JSON content type on every request, GET and DELETE too.
    assert {content for _, content in content_types(emu)} == {"application/json"}
    with pytest.raises(symbl.NotFoundError):
        client.Groups.get(group.id)
    with pytest.raises(symbl.NotFoundError):
        client.Groups.update(group.id, "x", JOHN)


def test_create_many(emu: Emulator, client: symbl.Client, caplog: pytest.LogCaptureFixture) -> None:
    given = [
        {"name": "John", "criteria": JOHN},
        {"name": "Mary", "criteria": "conversation.metadata.agentId==mary", "description": "M"},
    ]
    made = client.Groups.create_many(given)
    assert [{key: value for key, value in group.items() if key != "id"} for group in made] == given
    assert sent(emu) == [("POST", "/v1/manage/groups", given)]
    assert client.Groups.list() == made
    # A member the SDK does not know is sent as given, noted at DEBUG; a known one is checked.
    emu.state.requests.clear()
    extra = [{"name": "Ann", "criteria": JOHN, "color": "red"}]
    with caplog.at_level(logging.DEBUG, logger="symbl"):
        client.Groups.create_many(extra)
    assert sent(emu) == [("POST", "/v1/manage/groups", extra)]
    assert "'color' is not documented here" in caplog.text
    with pytest.raises(symbl.InvalidArgumentError, match=r"groups\[0\] to create has no id"):
        client.Groups.create_many([{"id": "1", "name": "Ann", "criteria": JOHN}])


def test_a_groups_conversations_are_paged_and_match_its_criteria(
    emu: Emulator, client: symbl.Client
) -> None:
    ids = tagged(emu, client, "johndoe", "mary", "johndoe", "johndoe")
    group = client.Groups.create("John", JOHN)
    emu.state.requests.clear()
    found = client.Groups.conversations(group.id, limit=2, order="desc")
    assert emu.requests("/v1/groups") == []
    assert [item.id for item in found] == [ids[3], ids[2], ids[0]]
    path = f"/v1/groups/{group.id}/conversations"
    assert [
        (entry.path, dict(parse_qsl(entry.query_string))) for entry in emu.requests("/v1/")
    ] == [
        (path, {"limit": "2", "offset": "0", "order": "desc"}),
        (path, {"limit": "2", "offset": "2", "order": "desc"}),
    ]
    with pytest.raises(symbl.NotFoundError):
        list(client.Groups.conversations("404"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "", "criteria": JOHN}, "name must be a non-empty string"),
        ({"name": "x" * 129, "criteria": JOHN}, "at most 128"),
        ({"name": "John's calls", "criteria": JOHN}, "may hold letters"),
        ({"name": "a", "criteria": JOHN, "description": "d" * 513}, "at most 512"),
        ({"name": "a", "criteria": "conversation.name==x"}, "conversation.metadata.<key>"),
        ({"name": "a", "criteria": JOHN + ",conversation.metadata.x==1"}, "has an OR"),
        (
            {
                "name": "a",
                "criteria": JOHN + ";conversation.metadata.x==1;conversation.metadata.y==2",
            },
            "compares 3 fields",
        ),
    ],
)
def test_bad_groups_are_refused_before_sending(
    emu: Emulator, client: symbl.Client, arguments: dict, message: str
) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match=message):
        client.Groups.create(**arguments)
    with pytest.raises(symbl.InvalidArgumentError, match=r"groups\[1\]\.name"):
        client.Groups.create_many([{"name": "ok", "criteria": JOHN}, {"criteria": JOHN}])
    with pytest.raises(symbl.InvalidArgumentError, match="has an OR"):
        client.Groups.conversations("1", filter="a==1,b==2")
    assert sent(emu) == []


def test_the_emulator_refuses_bad_groups(emu: Emulator, client: symbl.Client) -> None:
    for body in ({"name": "a"}, {"name": "a", "criteria": "a==1", "color": "red"}, []):
        with pytest.raises(symbl.BadRequestError):
            client.request("POST", "/v1/manage/group", json=body)
    group = client.Groups.create("John", JOHN)
    for method, path in (("GET", "/v1/manage/groups"), ("DELETE", f"/v1/manage/group/{group.id}")):
        with pytest.raises(symbl.APIStatusError) as undeclared:  # no JSON content type
            client.request(method, path)
        assert undeclared.value.status_code == 415
    assert client.Groups.get(group.id) == group


def test_async_groups(emu: Emulator, client: symbl.Client) -> None:
    ids = tagged(emu, client, "johndoe", "mary", "johndoe")

    async def scenario() -> None:
        async with make_client(emu) as async_client:
            groups = async_client.Groups
            group = await groups.create("John", JOHN)
            assert await groups.get(group.id) == group
            assert [item.id async for item in groups.conversations(group.id, limit=1)] == [
                ids[0],
                ids[2],
            ]
            assert (await groups.delete(group.id)).deleted is True
            assert await groups.list() == []

    run(scenario)
    assert len(emu.requests("/v1/groups/")) == 3  # pages of 1: two full, one empty
