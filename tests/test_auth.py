"""Access tokens: generated once, shared, refreshed on expiry and on 401, per account."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import symbl
from symbl.emulator import Emulator, fingerprint

from helpers import assert_token_request

TOKEN_PATH = "/oauth2/token:generate"
UNKNOWN_CONVERSATION = "/v1/conversations/404404404"


def fetch_unknown(client: symbl.Client) -> None:
    """An authenticated request the emulator answers 404 (after checking the token)."""
    with pytest.raises(symbl.NotFoundError):
        client.request("GET", UNKNOWN_CONVERSATION)


def test_token_request_is_exactly_as_documented(emu: Emulator, client: symbl.Client) -> None:
    client.access_token()
    assert_token_request(emu)


def test_token_is_generated_once_and_reused(emu: Emulator, client: symbl.Client) -> None:
    for _ in range(5):
        fetch_unknown(client)
    assert len(emu.requests(TOKEN_PATH)) == 1
    calls = emu.requests(UNKNOWN_CONVERSATION)
    assert len(calls) == 5
    tokens = {call.headers["x-api-key"] for call in calls}
    assert tokens == {fingerprint(client.access_token())}  # the log keeps fingerprints
    (token,) = tokens
    assert all(call.headers["authorization"] == f"Bearer {token}" for call in calls)
    assert all(token not in call.query_string for call in calls)


def test_token_is_refreshed_after_it_expires(emu: Emulator, client: symbl.Client) -> None:
    emu.configure(token_lifetime=1.0)
    fetch_unknown(client)
    first = emu.requests(UNKNOWN_CONVERSATION)[-1].headers["x-api-key"]
    time.sleep(1.05)
    fetch_unknown(client)
    second = emu.requests(UNKNOWN_CONVERSATION)[-1].headers["x-api-key"]
    assert first != second
    assert emu.tokens_generated() == 2
    # The refresh happened before use: no request was rejected with 401.
    assert all(call.status == 404 for call in emu.requests(UNKNOWN_CONVERSATION))


def test_revoked_token_is_refreshed_once_and_the_request_retried(
    emu: Emulator, client: symbl.Client
) -> None:
    fetch_unknown(client)
    emu.revoke_tokens()
    fetch_unknown(client)
    statuses = [call.status for call in emu.requests(UNKNOWN_CONVERSATION)]
    assert statuses == [404, 401, 404]
    assert len(emu.requests(TOKEN_PATH)) == 2


def test_a_401_after_refresh_is_raised_not_looped(emu: Emulator, client: symbl.Client) -> None:
    emu.add_fault(path=UNKNOWN_CONVERSATION, status=401, body={"message": "nope"})
    with pytest.raises(symbl.AuthenticationError) as caught:
        client.request("GET", UNKNOWN_CONVERSATION)
    assert caught.value.message == "nope"
    assert len(emu.requests(UNKNOWN_CONVERSATION)) == 2
    assert len(emu.requests(TOKEN_PATH)) == 2


def test_sixteen_threads_starting_together_generate_one_token(
    emu: Emulator, client: symbl.Client
) -> None:
    emu.add_fault(path=TOKEN_PATH, delay=0.2)  # keep the first generation in flight a while
    barrier = threading.Barrier(16)
    failures: list[BaseException] = []

    def first_call() -> None:
        barrier.wait()
        try:
            fetch_unknown(client)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=first_call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not failures
    assert len(emu.requests(TOKEN_PATH)) == 1
    assert len({call.headers["x-api-key"] for call in emu.requests(UNKNOWN_CONVERSATION)}) == 1


def test_two_accounts_get_two_tokens_and_never_mix(emu: Emulator) -> None:
    emu.add_app("second-app", "second-secret")
    first = symbl.Client(emu.credentials, base_url=emu.base_url)
    second = symbl.Client(
        {"app_id": "second-app", "app_secret": "second-secret"}, base_url=emu.base_url
    )
    for _ in range(2):
        fetch_unknown(first)
        fetch_unknown(second)
    generated = emu.requests(TOKEN_PATH)
    assert sorted(call.json["appId"] for call in generated) == sorted([emu.app_id, "second-app"])
    by_app: dict[str, set[str]] = {}
    for call in emu.requests(UNKNOWN_CONVERSATION):
        by_app.setdefault(call.app_id or "", set()).add(call.headers["x-api-key"])
    assert set(by_app) == {emu.app_id, "second-app"}
    assert all(len(tokens) == 1 for tokens in by_app.values())
    assert by_app[emu.app_id] != by_app["second-app"]


def test_clients_of_one_account_share_one_token(emu: Emulator) -> None:
    first = symbl.Client(emu.credentials, base_url=emu.base_url)
    second = symbl.Client(emu.credentials, base_url=emu.base_url)
    assert first.access_token() == second.access_token()
    assert len(emu.requests(TOKEN_PATH)) == 1


def test_wrong_secret_is_an_authentication_error(emu: Emulator) -> None:
    client = symbl.Client({"app_id": emu.app_id, "app_secret": "wrong"}, base_url=emu.base_url)
    with pytest.raises(symbl.AuthenticationError) as caught:
        client.request("GET", UNKNOWN_CONVERSATION)
    assert caught.value.status_code == 401
    assert "wrong" not in str(caught.value)
    assert not emu.requests(UNKNOWN_CONVERSATION)


def test_same_app_id_with_another_secret_does_not_reuse_the_token(emu: Emulator) -> None:
    good = symbl.Client(emu.credentials, base_url=emu.base_url)
    good.access_token()
    impostor = symbl.Client({"app_id": emu.app_id, "app_secret": "guess"}, base_url=emu.base_url)
    with pytest.raises(symbl.AuthenticationError):
        impostor.access_token()


def test_no_repr_shows_the_app_secret(sealed_environment: Path) -> None:
    from symbl._protocol.auth import token_request
    from symbl._transport import credentials

    secret = "s3cret-that-must-not-show"
    assert secret not in repr(token_request("app", secret))
    (sealed_environment / "symbl.conf").write_text(
        f"[credentials]\napp_id=app\napp_secret={secret}\n", encoding="utf-8"
    )
    found = credentials.resolve_credentials()
    assert found.app_secret == secret
    assert secret not in repr(found)
    assert secret not in repr(credentials._parsed)  # the cache of parsed files
