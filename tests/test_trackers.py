"""The trackers Management API (PROTOCOL.md §11.5) through ``symbl.Trackers``, the client
attributes and the asyncio client, and the emulator's rules (both revisions' endpoints)."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest

import symbl
from symbl.emulator import Emulator

from async_rest_helpers import make_client, run
from helpers import wait_until

PROMOTION = ["We have a special promotion going on", "a discount of 10 20 percent"]


def sent(emu: Emulator) -> list[tuple[str, str, str, str | None, Any]]:
    """Method, path, query, Content-Type and body of each Management API request."""
    return [
        (
            entry.method,
            entry.path,
            entry.query_string,
            entry.headers.get("content-type"),
            entry.json,
        )
        for entry in emu.requests("/v1/manage/")
    ]


def test_every_endpoint_sends_its_request(emu_env: Emulator) -> None:
    made = symbl.Trackers.create("Promotion", PROMOTION, description="Offers", languages=("en-US",))
    many = symbl.Trackers.create_many([{"name": "Price", "vocabulary": ["price"]}])
    listed = symbl.Trackers.list()
    by_name = symbl.Trackers.list(name="Price")
    tracker_id = made.id
    got = symbl.Trackers.get(tracker_id)
    updated = symbl.Trackers.update(tracker_id, "Promotions", ["special offer"])
    deleted = symbl.Trackers.delete(tracker_id)
    one = f"/v1/manage/tracker/{tracker_id}"
    body = {
        "name": "Promotion",
        "vocabulary": PROMOTION,
        "description": "Offers",
        "languages": ["en-US"],
    }
    # The Management API asks for the JSON content type on every request, GET and DELETE too.
    assert sent(emu_env) == [
        ("POST", "/v1/manage/tracker", "", "application/json", body),
        (
            "POST",
            "/v1/manage/trackers",
            "",
            "application/json",
            [{"name": "Price", "vocabulary": ["price"]}],
        ),
        ("GET", "/v1/manage/trackers", "", "application/json", None),
        ("GET", "/v1/manage/trackers", "name=Price", "application/json", None),
        ("GET", one, "", "application/json", None),
        (
            "PUT",
            one,
            "",
            "application/json",
            {"name": "Promotions", "vocabulary": ["special offer"]},
        ),
        ("DELETE", one, "", "application/json", None),
    ]
    # Each answer without its envelope: the tracker, a list of them, the deletion's answer.
    assert made == {"id": tracker_id, **body}
    assert [t.name for t in listed] == ["Promotion", "Price"]
    assert by_name == many
    assert got == made
    assert updated == {
        "id": tracker_id,
        "name": "Promotions",
        "vocabulary": ["special offer"],
    }
    assert deleted == {"id": tracker_id, "type": "tracker", "deleted": True}
    assert [entry.status for entry in emu_env.requests("/v1/manage/")] == [
        201,
        201,
        200,
        200,
        200,
        200,
        200,
    ]
    with pytest.raises(symbl.NotFoundError):
        symbl.Trackers.get(tracker_id)


@pytest.mark.parametrize(
    ("name", "vocabulary", "message"),
    [
        ("", PROMOTION, "name must be a non-empty string"),
        ("Promo", [], "vocabulary must be a non-empty list"),
        ("Promo", "discount", "vocabulary must be a non-empty list"),
        ("Promo", ["ten percent!"], r"vocabulary\[0\] .* holds '!'"),
        ("Promo", ["50% off"], "holds '%'"),
        ("Promo", ["discount", "Discount "], r"vocabulary\[1\] .* repeats vocabulary\[0\]"),
        ("Promo", ["don't miss it", "e-mail me", "Mr. Smith"], None),
    ],
)
def test_the_rules_are_checked_before_sending(
    emu_env: Emulator, name: str, vocabulary: Any, message: str | None
) -> None:
    if message is None:  # what the rules allow goes through
        assert symbl.Trackers.create(name, vocabulary).vocabulary == vocabulary
        return
    with pytest.raises(symbl.InvalidArgumentError, match=message):
        symbl.Trackers.create(name, vocabulary)
    with pytest.raises(symbl.InvalidArgumentError, match=message):
        symbl.Trackers.update("4400000000000000", name, vocabulary)
    assert emu_env.requests("/v1/manage/") == []


def test_other_bad_arguments_are_refused_before_sending(emu_env: Emulator) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match="categories must be a list"):
        symbl.Trackers.create("Promo", ["offer"], categories="sales")
    with pytest.raises(symbl.InvalidArgumentError, match="names 'A' twice"):
        symbl.Trackers.create_many([{"name": "A", "vocabulary": ["x"]}] * 2)
    with pytest.raises(symbl.InvalidArgumentError, match="at most 500"):
        symbl.Trackers.create_many([{"name": str(n), "vocabulary": ["x"]} for n in range(501)])
    with pytest.raises(symbl.InvalidArgumentError, match="at most 1048576"):
        symbl.Trackers.create("Big", ["word " * 250_000, "other"])
    with pytest.raises(symbl.InvalidArgumentError, match="tracker_id"):
        symbl.Trackers.get("")
    with pytest.raises(symbl.InvalidArgumentError, match="name must be a non-empty string"):
        symbl.Trackers.list(name="")
    assert emu_env.requests("/v1/manage/") == []


def test_duplicate_names_limits_and_unknown_ids_are_typed_errors(client: symbl.Client) -> None:
    client.Trackers.create("Promo", ["offer"])
    with pytest.raises(symbl.APIStatusError, match="already exists") as taken:
        client.Trackers.create("Promo", ["another offer"])
    assert taken.value.status_code == 409
    with pytest.raises(symbl.NotFoundError):
        client.Trackers.update("1", "Other", ["x"])
    with pytest.raises(symbl.NotFoundError):
        client.Trackers.delete("1")
    client.Trackers.create_many([{"name": str(n), "vocabulary": ["x"]} for n in range(499)])
    with pytest.raises(symbl.BadRequestError, match="at most 500 trackers"):
        client.Trackers.create("One too many", ["x"])


def test_one_create_or_update_at_a_time_per_account(emu: Emulator) -> None:
    """A create whose body is still coming in holds the account: another is refused with 429
    (retried by the SDK, then raised), and goes through once the first is done."""
    with symbl.Client(emu.credentials, base_url=emu.base_url, retry_backoff=0.01) as client:
        token = client.access_token()
        body = json.dumps({"name": "Slow", "vocabulary": ["slow"]}).encode()
        address = urlsplit(emu.base_url)
        with socket.create_connection((address.hostname, address.port), timeout=5) as slow:
            slow.sendall(
                f"POST /v1/manage/tracker HTTP/1.1\r\nHost: {address.netloc}\r\n"
                f"x-api-key: {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
            )
            assert wait_until(lambda: emu.requests("/v1/manage/tracker"))
            with pytest.raises(symbl.RateLimitError, match="concurrent"):
                client.Trackers.create("Fast", ["fast"])
            refused = emu.requests("/v1/manage/tracker")[1:]
            assert len(refused) == client.max_retries + 1
            assert all(entry.status == 429 for entry in refused)
            slow.sendall(body)
            assert slow.recv(100).startswith(b"HTTP/1.1 201")
        assert client.Trackers.create("Fast", ["fast"]).name == "Fast"


def test_the_emulator_serves_the_later_revision_and_its_rules(client: symbl.Client) -> None:
    one = client.request("POST", "/v1/manage/trackers", json={"name": "A", "vocabulary": ["a"]})
    bulk = client.request(
        "POST", "/v1/manage/trackers/bulk", json=[{"name": "B", "vocabulary": ["b"]}]
    )
    tracker_id = one.tracker.id
    patch = [
        {"op": "add", "path": "/vocabulary", "value": ["more"]},
        {"op": "replace", "path": "/name", "value": "A2"},
    ]
    patched = client.request("PATCH", f"/v1/manage/trackers/{tracker_id}", json=patch)
    assert patched.tracker == {"id": tracker_id, "name": "A2", "vocabulary": ["a", "more"]}
    assert bulk.trackers[0].name == "B"
    with pytest.raises(symbl.APIStatusError) as unsupported:  # GET without the JSON type
        client.request("GET", "/v1/manage/trackers")
    assert unsupported.value.status_code == 415
    with pytest.raises(symbl.BadRequestError, match="holds '!'"):
        client.request("POST", "/v1/manage/tracker", json={"name": "C", "vocabulary": ["hi!"]})
    big = {"name": "D", "vocabulary": ["x" * (1 << 20)]}
    with pytest.raises(symbl.APIStatusError) as too_large:
        client.request("POST", "/v1/manage/tracker", json=big)
    assert too_large.value.status_code == 413
    json_type = {"Content-Type": "application/json"}
    client.request("DELETE", f"/v1/manage/trackers/{tracker_id}", headers=json_type)
    names = client.request("GET", "/v1/manage/trackers", headers=json_type)
    assert [t.name for t in names.trackers] == ["B"]


def test_asyncio_twins(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            made = await client.Trackers.create("Promo", PROMOTION)
            tracker_id = made.id
            assert await client.Trackers.list(name="Promo") == [made]
            assert await client.Trackers.get(tracker_id) == made
            updated = await client.Trackers.update(tracker_id, "Promo", ["offer"])
            assert updated.vocabulary == ["offer"]
            assert (await client.Trackers.delete(tracker_id)).deleted is True
            with pytest.raises(symbl.InvalidArgumentError, match="repeats"):
                await client.Trackers.create("Twice", ["a", "a"])

    run(scenario)
    kinds = [
        (entry.method, entry.headers.get("content-type")) for entry in emu.requests("/v1/manage/")
    ]
    assert kinds == [
        ("POST", "application/json"),
        ("GET", "application/json"),
        ("GET", "application/json"),
        ("PUT", "application/json"),
        ("DELETE", "application/json"),
    ]


def test_the_accounts_trackers_are_detected_with_enable_all_trackers(
    client: symbl.Client,
) -> None:
    client.Trackers.create("Pricing talk", ["annual plan"])
    payload = {"messages": [{"payload": {"content": "What is the price of the annual plan?"}}]}
    found = client.Text.process(payload=payload, parameters={"enableAllTrackers": True})
    (tracker,) = found.get_trackers()
    assert tracker["name"] == "Pricing talk"
    assert [match["value"] for match in tracker["matches"]] == ["annual plan"]
    assert client.Text.process(payload=payload).get_trackers() == []
