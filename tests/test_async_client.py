"""The asyncio request loop of ``symbl.AsyncClient``: the twin of test_client.py and
test_auth.py (error mapping, retries and Retry-After, timeouts, connection errors, tokens
generated once and refreshed once), against the emulator over loopback, plus cancellation of
a request in flight and of a token generation."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import socket
import time
from pathlib import Path

import pytest

import symbl
from symbl._protocol.request import Request
from symbl.emulator import Emulator

from async_rest_helpers import make_client, run
from helpers import STATUS_ERRORS, assert_log_redacted, assert_no_secret, assert_token_request

PATH = "/v1/conversations/77"
TOKEN_PATH = "/oauth2/token:generate"
# A job-creating POST that needs no token (so nothing is sent before it).
SUBMISSION = Request(
    "POST", "/v1/process/text", json={"messages": []}, idempotent=False, authenticated=False
)


def statuses(emu: Emulator, path: str = PATH) -> list[int | None]:
    return [call.status for call in emu.requests(path)]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def fetch_unknown(client: symbl.AsyncClient) -> None:
    """An authenticated request the emulator answers 404 (after checking the token)."""
    with pytest.raises(symbl.NotFoundError):
        await client.request("GET", PATH)


# -- answers and errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    STATUS_ERRORS,
)
def test_each_status_maps_to_its_exception(
    emu: Emulator, status: int, error_class: type[symbl.APIStatusError]
) -> None:
    emu.add_fault(
        path=PATH,
        status=status,
        body={"message": f"server says {status}"},
        headers={"X-Request-Id": "req-123"},
    )

    async def scenario() -> symbl.APIStatusError:
        async with make_client(emu, max_retries=0) as client:
            with pytest.raises(error_class) as caught:
                await client.request("GET", PATH)
            return caught.value

    error = run(scenario)
    assert type(error) is error_class
    assert error.status_code == status
    assert error.message == f"server says {status}"
    assert error.body == {"message": f"server says {status}"}
    assert error.request_id == "req-123"
    assert error.method == "GET"
    assert error.url == emu.base_url + PATH
    assert f"server says {status}" in str(error)


def test_real_not_found_and_a_plain_text_error_body(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(symbl.NotFoundError) as caught:
                await client.request("GET", PATH)
            assert caught.value.request_id
            emu.add_fault(path=PATH, status=400, body="plain words")
            with pytest.raises(symbl.BadRequestError) as caught_bad:
                await client.request("GET", PATH)
            assert caught_bad.value.message == "plain words"

    run(scenario)


def test_a_json_answer_is_decoded_as_the_sync_client_decodes_it(emu: Emulator) -> None:
    async def scenario() -> object:
        async with make_client(emu) as client:
            return await client.request("GET", "/v1/conversations")

    answer = run(scenario)
    with symbl.Client(emu.credentials, base_url=emu.base_url) as sync:
        assert answer == sync.request("GET", "/v1/conversations")
    assert type(answer).__name__ == "SymblObject"


# -- retries ----------------------------------------------------------------------------------


def test_retries_on_429_honouring_retry_after(emu: Emulator) -> None:
    emu.add_fault(path=PATH, status=429, headers={"Retry-After": "0.3"}, times=1)

    async def scenario() -> float:
        async with make_client(emu) as client:
            await client.access_token()
            started = time.monotonic()
            await fetch_unknown(client)
            return time.monotonic() - started

    assert run(scenario) >= 0.3
    assert statuses(emu) == [429, 404]
    first, second = emu.requests(PATH)
    assert second.received_at - first.received_at >= 0.29


def test_retry_after_as_http_date(emu: Emulator) -> None:
    emu.add_fault(
        path=PATH, status=429, headers={"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}, times=1
    )

    async def scenario() -> None:
        async with make_client(emu) as client:
            await fetch_unknown(client)

    run(scenario)
    assert statuses(emu) == [429, 404]


def test_retry_after_longer_than_allowed_is_raised_at_once(emu: Emulator) -> None:
    emu.add_fault(path=PATH, status=429, headers={"Retry-After": "120"})

    async def scenario() -> None:
        async with make_client(emu, max_retry_wait=1.0) as client:
            started = time.monotonic()
            with pytest.raises(symbl.RateLimitError) as caught:
                await client.request("GET", PATH)
            assert time.monotonic() - started < 0.5
            assert caught.value.retry_after == 120.0

    run(scenario)
    assert statuses(emu) == [429]


def test_5xx_is_retried_for_a_get_a_bounded_number_of_times(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            emu.add_fault(path=PATH, status=503, times=2)
            await fetch_unknown(client)
            assert statuses(emu) == [503, 503, 404]
            emu.state.requests.clear()
            emu.add_fault(path=PATH, status=502, times=1)
            await fetch_unknown(client)
            assert statuses(emu) == [502, 404]
            emu.state.requests.clear()
            emu.add_fault(path=PATH, status=500)
            with pytest.raises(symbl.InternalServerError):
                await client.request("GET", PATH)
            assert statuses(emu) == [500, 500, 500]

    run(scenario)


def test_no_retry_on_400(emu: Emulator) -> None:
    emu.add_fault(path=PATH, status=400, times=1)

    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(symbl.BadRequestError):
                await client.request("GET", PATH)

    run(scenario)
    assert statuses(emu) == [400]


@pytest.mark.parametrize("status", [500, 502, 504])
def test_job_creating_post_is_not_resent_after_a_server_error(emu: Emulator, status: int) -> None:
    emu.add_fault(path="/v1/process/text", status=status, times=1)

    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(symbl.InternalServerError):
                await client.request("POST", "/v1/process/text", json={"messages": []})

    run(scenario)
    assert statuses(emu, "/v1/process/text") == [status]


def test_job_creating_post_is_resent_after_503_and_429(emu: Emulator) -> None:
    emu.add_fault(path="/v1/process/nothing", status=503, times=1)
    emu.add_fault(path="/v1/process/nothing", status=429, times=1)

    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(symbl.NotFoundError):
                await client.request("POST", "/v1/process/nothing", json={"messages": []})

    run(scenario)
    assert statuses(emu, "/v1/process/nothing") == [503, 429, 404]
    bodies = {call.body for call in emu.requests("/v1/process/nothing")}
    assert bodies == {b'{"messages": []}'}


def test_a_retried_upload_sends_the_whole_file_again(emu: Emulator) -> None:
    payload = bytes(range(256)) * 100
    emu.add_fault(path="/v1/process/nothing", status=503, times=1)

    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(symbl.NotFoundError):
                await client.request("POST", "/v1/process/nothing", body=io.BytesIO(payload))

    run(scenario)
    sent = emu.requests("/v1/process/nothing")
    assert [call.body_size for call in sent] == [len(payload), len(payload)]
    assert sent[1].body == payload
    assert sent[1].headers["content-length"] == str(len(payload))


def test_a_file_body_is_sent_from_its_position_with_no_content_type_of_its_own(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"head" + bytes(range(256)) * 2000)

    async def scenario() -> None:
        async with make_client(emu) as client:
            with path.open("rb") as file:
                file.seek(4)
                with pytest.raises(symbl.NotFoundError):
                    await client.request("POST", "/v1/process/nothing", body=file)
            with pytest.raises(symbl.NotFoundError):
                await client.request("POST", "/v1/process/nothing", body=b"raw bytes")

    run(scenario)
    from_file, from_bytes = emu.requests("/v1/process/nothing")
    assert from_file.body == path.read_bytes()[4:]
    assert from_file.headers["content-length"] == str(path.stat().st_size - 4)
    assert (from_bytes.body, from_bytes.headers["content-length"]) == (b"raw bytes", "9")
    for sent in (from_file, from_bytes):
        assert "content-type" not in sent.headers
        assert "transfer-encoding" not in sent.headers


# -- timeouts and connection errors ------------------------------------------------------------


def test_read_timeout_raises_api_timeout_error(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu, max_retries=0) as client:
            await client.access_token()
            emu.add_fault(path=PATH, delay=1.0)
            started = time.monotonic()
            with pytest.raises(symbl.APITimeoutError) as caught:
                await client.request("GET", PATH, timeout=0.2)
            assert time.monotonic() - started < 0.9
            assert isinstance(caught.value, symbl.APIConnectionError)
            assert "timed out (read timeout)" in str(caught.value)

    run(scenario)


def test_the_clients_timeout_applies_too(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu, max_retries=0, timeout=0.2) as client:
            await client.access_token()
            emu.add_fault(path=PATH, delay=1.0)
            with pytest.raises(symbl.APITimeoutError):
                await client.Conversations.get_conversation("77")

    run(scenario)


def test_post_is_not_resent_after_a_read_timeout(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            await client.access_token()
            emu.add_fault(path="/v1/process/text", delay=0.5, times=1)
            with pytest.raises(symbl.APITimeoutError):
                await client.request("POST", "/v1/process/text", json={"messages": []}, timeout=0.1)

    run(scenario)
    assert len(emu.requests("/v1/process/text")) == 1


def test_get_is_resent_after_a_read_timeout(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            await client.access_token()
            emu.add_fault(path=PATH, delay=0.5, times=1)
            with pytest.raises(symbl.NotFoundError):
                await client.request("GET", PATH, timeout=0.2)

    run(scenario)
    assert len(emu.requests(PATH)) == 2


def test_dropped_connection_is_an_api_connection_error(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.add_fault(path=PATH, drop=True)

    async def scenario() -> None:
        async with make_client(emu, max_retries=0) as client:
            with pytest.raises(symbl.APIConnectionError) as caught:
                await client.request("GET", PATH)
            assert not isinstance(caught.value, symbl.APITimeoutError)

    run(scenario)
    assert emu.requests(PATH)[0].status == 499
    # The emulator's server may log the connection it cut; the client logs no error for it.
    server = ("aiohttp.server", "aiohttp.web", "aiohttp.access")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r for r in errors if not r.name.startswith(server)] == []


def test_refused_connection_is_retried_then_raised(caplog: pytest.LogCaptureFixture) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}"

    async def scenario() -> None:
        async with symbl.AsyncClient(
            {"app_id": "a", "app_secret": "b"}, base_url=base_url, retry_backoff=0.01
        ) as client:
            refused = pytest.raises(symbl.APIConnectionError, match="could not reach the service")
            with caplog.at_level(logging.DEBUG, logger="symbl"), refused:
                await client.access_token()

    run(scenario)
    retries = [r for r in caplog.records if r.getMessage().startswith("retrying after")]
    assert len(retries) == 2, "a refused connection never reached the server: sent again"


def test_a_refused_job_creating_post_is_sent_again_too(caplog: pytest.LogCaptureFixture) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}"

    async def scenario() -> None:
        async with symbl.AsyncClient(
            {"app_id": "a", "app_secret": "b"}, base_url=base_url, retry_backoff=0.01
        ) as client:
            refused = pytest.raises(symbl.APIConnectionError)
            with caplog.at_level(logging.DEBUG, logger="symbl"), refused as caught:
                await client.send(SUBMISSION)
            assert not isinstance(caught.value, symbl.APITimeoutError)

    run(scenario)
    failures = [r for r in caplog.records if "/v1/process/text -> failed" in r.getMessage()]
    assert len(failures) == 3


# -- cancellation -------------------------------------------------------------------------------


def test_wait_for_around_a_slow_getter_times_out_and_leaves_nothing_running(
    emu: Emulator,
) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            await client.access_token()
            emu.add_fault(path=PATH, delay=2.0, times=1)
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.Conversations.get_conversation("77"), 0.2)
            assert time.monotonic() - started < 1.0
            assert asyncio.all_tasks() == {asyncio.current_task()}
            # The client is still good: the next call goes through on a connection of its own.
            with pytest.raises(symbl.NotFoundError):
                await client.Conversations.get_conversation("77")

    run(scenario)
    assert len(emu.requests(PATH)) == 2, "the cancelled request was not sent again"
    assert statuses(emu)[-1] == 404


def test_cancelling_the_task_that_generates_the_token(emu: Emulator) -> None:
    emu.add_fault(path=TOKEN_PATH, delay=0.5, times=1)

    async def scenario() -> None:
        async with make_client(emu) as client:
            first = asyncio.ensure_future(fetch_unknown(client))
            await asyncio.sleep(0.1)  # its token request is in flight
            others = [asyncio.ensure_future(fetch_unknown(client)) for _ in range(5)]
            await asyncio.sleep(0.05)  # they wait for the first one's token
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            await asyncio.wait_for(asyncio.gather(*others), 5)

    run(scenario)
    assert len(emu.requests(TOKEN_PATH)) == 2, "another task generated the token instead"
    calls = emu.requests(PATH)
    assert len(calls) == 5
    assert len({call.headers["x-api-key"] for call in calls}) == 1


# -- tokens -----------------------------------------------------------------------------------


def test_token_request_is_exactly_as_documented(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            await client.access_token()

    run(scenario)
    generate = assert_token_request(emu)
    agent = generate.headers["user-agent"]
    assert agent.startswith(f"symbl-python/{symbl.__version__} ")
    assert "aiohttp" in agent


def test_token_is_generated_once_and_reused(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            for _ in range(5):
                await fetch_unknown(client)

    run(scenario)
    assert len(emu.requests(TOKEN_PATH)) == 1
    calls = emu.requests(PATH)
    assert len(calls) == 5
    tokens = {call.headers["x-api-key"] for call in calls}
    assert len(tokens) == 1
    (token,) = tokens
    assert all(call.headers["authorization"] == f"Bearer {token}" for call in calls)
    assert all(token not in call.query_string for call in calls)


def test_fifty_tasks_starting_together_generate_one_token(emu: Emulator) -> None:
    emu.add_fault(path=TOKEN_PATH, delay=0.2)  # keep the first generation in flight a while

    async def scenario() -> None:
        async with make_client(emu) as client:
            await asyncio.gather(*(fetch_unknown(client) for _ in range(50)))

    run(scenario)
    assert len(emu.requests(TOKEN_PATH)) == 1
    assert emu.tokens_generated() == 1
    calls = emu.requests(PATH)
    assert len(calls) == 50
    assert len({call.headers["x-api-key"] for call in calls}) == 1


def test_token_is_refreshed_after_it_expires(emu: Emulator) -> None:
    emu.configure(token_lifetime=1.0)

    async def scenario() -> None:
        async with make_client(emu) as client:
            await fetch_unknown(client)
            await asyncio.sleep(1.05)
            await fetch_unknown(client)

    run(scenario)
    first, second = (call.headers["x-api-key"] for call in emu.requests(PATH))
    assert first != second
    assert emu.tokens_generated() == 2
    assert statuses(emu) == [404, 404], "refreshed before use: no request met a 401"


def test_revoked_token_is_refreshed_once_and_the_request_retried(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            await fetch_unknown(client)
            emu.revoke_tokens()
            await fetch_unknown(client)

    run(scenario)
    assert statuses(emu) == [404, 401, 404]
    assert len(emu.requests(TOKEN_PATH)) == 2


def test_a_burst_of_401s_refreshes_the_token_once(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            await fetch_unknown(client)
            emu.revoke_tokens()
            await asyncio.gather(*(fetch_unknown(client) for _ in range(20)))

    run(scenario)
    assert len(emu.requests(TOKEN_PATH)) == 2
    assert statuses(emu).count(404) == 21


def test_a_401_after_refresh_is_raised_not_looped(emu: Emulator) -> None:
    emu.add_fault(path=PATH, status=401, body={"message": "nope"})

    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(symbl.AuthenticationError) as caught:
                await client.request("GET", PATH)
            assert caught.value.message == "nope"

    run(scenario)
    assert len(emu.requests(PATH)) == 2
    assert len(emu.requests(TOKEN_PATH)) == 2


def test_two_accounts_get_two_tokens_and_never_mix(emu: Emulator) -> None:
    emu.add_app("second-app", "second-secret")

    async def scenario() -> None:
        second_credentials = {"app_id": "second-app", "app_secret": "second-secret"}
        second = symbl.AsyncClient(second_credentials, base_url=emu.base_url)
        async with make_client(emu) as first, second:
            for _ in range(2):
                await asyncio.gather(fetch_unknown(first), fetch_unknown(second))

    run(scenario)
    generated = emu.requests(TOKEN_PATH)
    assert sorted(call.json["appId"] for call in generated) == sorted([emu.app_id, "second-app"])
    by_app: dict[str, set[str]] = {}
    for call in emu.requests(PATH):
        by_app.setdefault(call.app_id or "", set()).add(call.headers["x-api-key"])
    assert set(by_app) == {emu.app_id, "second-app"}
    assert all(len(tokens) == 1 for tokens in by_app.values())
    assert by_app[emu.app_id] != by_app["second-app"]


def test_an_async_and_a_sync_client_of_one_account_share_one_token(emu: Emulator) -> None:
    async def scenario() -> str:
        async with make_client(emu) as client:
            return await client.access_token()

    token = run(scenario)
    with symbl.Client(emu.credentials, base_url=emu.base_url) as sync:
        assert sync.access_token() == token
    assert len(emu.requests(TOKEN_PATH)) == 1


def test_wrong_secret_is_an_authentication_error(emu: Emulator) -> None:
    async def scenario() -> None:
        credentials = {"app_id": emu.app_id, "app_secret": "wrong"}
        async with symbl.AsyncClient(credentials, base_url=emu.base_url) as client:
            with pytest.raises(symbl.AuthenticationError) as caught:
                await client.request("GET", PATH)
            assert caught.value.status_code == 401
            assert "wrong" not in str(caught.value)

    run(scenario)
    assert not emu.requests(PATH)


# -- logging, secrets, settings ----------------------------------------------------------------


def test_debug_log_has_method_path_status_duration_and_no_secrets(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.add_fault(path=PATH, status=503, times=1)

    async def scenario() -> str:
        async with make_client(emu) as client:
            with caplog.at_level(logging.DEBUG), pytest.raises(symbl.NotFoundError):
                await client.request(
                    "GET", PATH, params={"access_token": "leaky", "verbose": "true"}
                )
            return await client.access_token()

    token = run(scenario)
    assert_log_redacted(caplog.records, emu, PATH, token)


def test_secrets_never_reach_reprs_or_error_messages(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            token = await client.access_token()
            with pytest.raises(symbl.NotFoundError) as caught:
                await client.request("GET", PATH)
            assert_no_secret(client, caught.value, emu, token)
            assert repr(client).startswith("<symbl.AsyncClient ")

    run(scenario)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0])
def test_settings_are_checked_as_the_sync_clients_are(emu: Emulator, value: float) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match="positive, finite"):
        symbl.AsyncClient(emu.credentials, base_url=emu.base_url, timeout=value)
    with pytest.raises(symbl.InvalidArgumentError, match="positive, finite"):
        symbl.AsyncClient(emu.credentials, base_url=emu.base_url, poll_interval=value)
    with pytest.raises(symbl.InvalidArgumentError, match="max_retries"):
        symbl.AsyncClient(emu.credentials, base_url=emu.base_url, max_retries=-1)


def test_bad_requests_are_refused_before_sending(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(symbl.InvalidArgumentError, match="JSON"):
                await client.request("POST", "/v1/process/text", json={"when": object()})
            with pytest.raises(symbl.InvalidArgumentError, match="JSON"):
                await client.request("POST", "/v1/process/text", json={"x": float("nan")})
            with pytest.raises(symbl.InvalidArgumentError, match="path"):
                await client.request("GET", "v1/conversations")
            with pytest.raises(symbl.InvalidArgumentError, match="method"):
                await client.request("GET /x", "/v1/conversations")

    run(scenario)
    assert emu.requests() == []


def test_proxy_settings_come_from_the_environment_once_per_client(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")

    async def scenario() -> None:
        async with make_client(emu, max_retries=0) as proxied:
            with pytest.raises(symbl.APIConnectionError):
                await proxied.Conversations.get_conversation("1")
            assert emu.requests() == []  # it went to the (absent) proxy
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            async with make_client(emu, max_retries=0) as direct:
                with pytest.raises(symbl.NotFoundError):
                    await direct.Conversations.get_conversation("1")
            with pytest.raises(symbl.APIConnectionError):  # a client keeps what it read
                await proxied.Conversations.get_conversation("1")

    run(scenario)


def test_a_netrc_entry_never_replaces_the_token(emu: Emulator, sealed_environment: Path) -> None:
    netrc = Path(os.environ["HOME"]) / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password something\n", encoding="utf-8")
    netrc.chmod(0o600)

    async def scenario() -> None:
        async with make_client(emu, max_retries=0) as client:
            with pytest.raises(symbl.NotFoundError):  # authenticated: just absent
                await client.Conversations.get_conversation("1")

    run(scenario)
    (lookup,) = emu.requests("/v1/conversations/1")
    assert lookup.headers["authorization"].startswith("Bearer ")


def test_many_concurrent_calls_share_the_pool(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu, max_connections=8) as client:
            await client.access_token()
            outcomes = await asyncio.gather(
                *(client.Conversations.get_conversation("1") for _ in range(200)),
                return_exceptions=True,
            )
            assert all(isinstance(outcome, symbl.NotFoundError) for outcome in outcomes)

    run(scenario)
    assert len(emu.requests("/v1/conversations/1")) == 200
