"""The one request loop: error mapping, retries, timeouts, logging, headers."""

from __future__ import annotations

import io
import logging
import os
import socket
import time
from pathlib import Path

import pytest

import symbl
from symbl.emulator import Emulator

from helpers import STATUS_ERRORS, assert_log_redacted, assert_no_secret

PATH = "/v1/conversations/77"


def statuses(emu: Emulator, path: str = PATH) -> list[int | None]:
    return [call.status for call in emu.requests(path)]


@pytest.mark.parametrize(
    ("status", "error_class"),
    STATUS_ERRORS,
)
def test_each_status_maps_to_its_exception(
    emu: Emulator, status: int, error_class: type[symbl.APIStatusError]
) -> None:
    client = symbl.Client(emu.credentials, base_url=emu.base_url, max_retries=0)
    emu.add_fault(
        path=PATH,
        status=status,
        body={"message": f"server says {status}"},
        headers={"X-Request-Id": "req-123"},
    )
    with pytest.raises(error_class) as caught:
        client.request("GET", PATH)
    error = caught.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.message == f"server says {status}"
    assert error.body == {"message": f"server says {status}"}
    assert error.request_id == "req-123"
    assert error.method == "GET"
    assert error.url == emu.base_url + PATH
    assert f"server says {status}" in str(error)


def test_real_not_found_carries_the_emulators_request_id(client: symbl.Client) -> None:
    with pytest.raises(symbl.NotFoundError) as caught:
        client.request("GET", PATH)
    assert caught.value.request_id


def test_non_json_error_body_is_kept_as_text(emu: Emulator, client: symbl.Client) -> None:
    emu.add_fault(path=PATH, status=400, body="plain words")
    with pytest.raises(symbl.BadRequestError) as caught:
        client.request("GET", PATH)
    assert caught.value.message == "plain words"


def test_retries_on_429_honouring_retry_after(emu: Emulator, client: symbl.Client) -> None:
    emu.add_fault(path=PATH, status=429, headers={"Retry-After": "0.3"}, times=1)
    started = time.monotonic()
    with pytest.raises(symbl.NotFoundError):
        client.request("GET", PATH)
    assert time.monotonic() - started >= 0.3
    assert statuses(emu) == [429, 404]


def test_retry_after_as_http_date(emu: Emulator, client: symbl.Client) -> None:
    emu.add_fault(
        path=PATH, status=429, headers={"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}, times=1
    )
    with pytest.raises(symbl.NotFoundError):
        client.request("GET", PATH)
    assert statuses(emu) == [429, 404]


def test_retry_after_longer_than_allowed_is_raised_at_once(emu: Emulator) -> None:
    client = symbl.Client(emu.credentials, base_url=emu.base_url, max_retry_wait=1.0)
    emu.add_fault(path=PATH, status=429, headers={"Retry-After": "120"})
    with pytest.raises(symbl.RateLimitError) as caught:
        client.request("GET", PATH)
    assert caught.value.retry_after == 120.0
    assert statuses(emu) == [429]


def test_retries_on_503_then_succeeds(emu: Emulator, client: symbl.Client) -> None:
    emu.add_fault(path=PATH, status=503, times=2)
    with pytest.raises(symbl.NotFoundError):
        client.request("GET", PATH)
    assert statuses(emu) == [503, 503, 404]


def test_retries_are_bounded(emu: Emulator, client: symbl.Client) -> None:
    emu.add_fault(path=PATH, status=503)
    with pytest.raises(symbl.InternalServerError):
        client.request("GET", PATH)
    assert statuses(emu) == [503, 503, 503]


def test_no_retry_on_400(emu: Emulator, client: symbl.Client) -> None:
    emu.add_fault(path=PATH, status=400, times=1)
    with pytest.raises(symbl.BadRequestError):
        client.request("GET", PATH)
    assert statuses(emu) == [400]


def test_job_creating_post_is_not_resent_after_500(emu: Emulator, client: symbl.Client) -> None:
    emu.add_fault(path="/v1/process/text", status=500, times=1)
    with pytest.raises(symbl.InternalServerError):
        client.request("POST", "/v1/process/text", json={"messages": []})
    assert statuses(emu, "/v1/process/text") == [500]


def test_job_creating_post_is_resent_after_503_and_429(emu: Emulator, client: symbl.Client) -> None:
    emu.add_fault(path="/v1/process/nothing", status=503, times=1)
    emu.add_fault(path="/v1/process/nothing", status=429, times=1)
    with pytest.raises(symbl.NotFoundError):
        client.request("POST", "/v1/process/nothing", json={"messages": []})
    assert statuses(emu, "/v1/process/nothing") == [503, 429, 404]
    bodies = {call.body for call in emu.requests("/v1/process/nothing")}
    assert bodies == {b'{"messages": []}'}


def test_a_retried_upload_sends_the_whole_file_again(emu: Emulator, client: symbl.Client) -> None:
    payload = bytes(range(256)) * 100
    emu.add_fault(path="/v1/process/nothing", status=503, times=1)
    with pytest.raises(symbl.NotFoundError):
        client.request("POST", "/v1/process/nothing", body=io.BytesIO(payload))
    sizes = [call.body_size for call in emu.requests("/v1/process/nothing")]
    assert sizes == [len(payload), len(payload)]


def test_read_timeout_raises_api_timeout_error(emu: Emulator) -> None:
    client = symbl.Client(emu.credentials, base_url=emu.base_url, max_retries=0)
    client.access_token()
    emu.add_fault(path=PATH, delay=1.0)
    started = time.monotonic()
    with pytest.raises(symbl.APITimeoutError) as caught:
        client.request("GET", PATH, timeout=0.2)
    assert time.monotonic() - started < 0.9
    assert isinstance(caught.value, symbl.APIConnectionError)
    assert "timed out" in str(caught.value)


def test_post_is_not_resent_after_a_read_timeout(emu: Emulator, client: symbl.Client) -> None:
    client.access_token()
    emu.add_fault(path="/v1/process/text", delay=0.5, times=1)
    with pytest.raises(symbl.APITimeoutError):
        client.request("POST", "/v1/process/text", json={"messages": []}, timeout=0.1)
    assert len(emu.requests("/v1/process/text")) == 1


def test_get_is_resent_after_a_read_timeout(emu: Emulator, client: symbl.Client) -> None:
    client.access_token()
    emu.add_fault(path=PATH, delay=0.5, times=1)
    with pytest.raises(symbl.NotFoundError):
        client.request("GET", PATH, timeout=0.2)
    assert len(emu.requests(PATH)) == 2


def test_dropped_connection_is_an_api_connection_error(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = symbl.Client(emu.credentials, base_url=emu.base_url, max_retries=0)
    emu.add_fault(path=PATH, drop=True)
    with pytest.raises(symbl.APIConnectionError) as caught:
        client.request("GET", PATH)
    assert not isinstance(caught.value, symbl.APITimeoutError)
    assert emu.requests(PATH)[0].status == 499
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_refused_connection_is_retried_then_raised() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = symbl.Client(
        {"app_id": "a", "app_secret": "b"},
        base_url=f"http://127.0.0.1:{port}",
        retry_backoff=0.01,
    )
    with pytest.raises(symbl.APIConnectionError, match="could not reach the service"):
        client.access_token()


def test_user_agent_names_the_sdk_and_version(emu: Emulator, client: symbl.Client) -> None:
    client.access_token()
    agent = emu.requests()[0].headers["user-agent"]
    assert agent.startswith(f"symbl-python/{symbl.__version__} ")


def test_debug_log_has_method_path_status_duration_and_no_secrets(
    emu: Emulator, client: symbl.Client, caplog: pytest.LogCaptureFixture
) -> None:
    emu.add_fault(path=PATH, status=503, times=1)
    with caplog.at_level(logging.DEBUG), pytest.raises(symbl.NotFoundError):
        client.request("GET", PATH, params={"access_token": "leaky", "verbose": "true"})
    token = client.access_token()
    assert_log_redacted(caplog.records, emu, PATH, token)


def test_secrets_never_reach_reprs_or_error_messages(emu: Emulator) -> None:
    client = symbl.Client(emu.credentials, base_url=emu.base_url)
    token = client.access_token()
    with pytest.raises(symbl.NotFoundError) as caught:
        client.request("GET", PATH)
    assert_no_secret(client, caught.value, emu, token)


def test_invalid_settings_are_rejected() -> None:
    creds = {"app_id": "a", "app_secret": "b"}
    with pytest.raises(symbl.InvalidArgumentError, match="timeout"):
        symbl.Client(creds, timeout=0)
    with pytest.raises(symbl.InvalidArgumentError, match="max_retries"):
        symbl.Client(creds, max_retries=-1)


def test_unserialisable_body_is_rejected_before_sending(
    emu: Emulator, client: symbl.Client
) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match="JSON"):
        client.request("POST", "/v1/process/text", json={"when": object()})
    assert not emu.requests("/v1/process/text")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_proxy_settings_come_from_the_environment_once_per_client(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    proxied = symbl.Client(emu.credentials, base_url=emu.base_url, max_retries=0)
    with pytest.raises(symbl.APIConnectionError):
        proxied.Conversations.get_conversation("1")
    assert emu.requests() == []  # it went to the (absent) proxy, not to the emulator

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    direct = symbl.Client(emu.credentials, base_url=emu.base_url, max_retries=0)
    with pytest.raises(symbl.NotFoundError):
        direct.Conversations.get_conversation("1")
    # A client keeps what it read when it was made.
    with pytest.raises(symbl.APIConnectionError):
        proxied.Conversations.get_conversation("1")


def test_a_netrc_entry_never_replaces_the_token(emu: Emulator, sealed_environment: Path) -> None:
    netrc = Path(os.environ["HOME"]) / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password something\n", encoding="utf-8")
    netrc.chmod(0o600)
    client = symbl.Client(emu.credentials, base_url=emu.base_url, max_retries=0)
    with pytest.raises(symbl.NotFoundError):  # authenticated: the conversation is just absent
        client.Conversations.get_conversation("1")
    (lookup,) = emu.requests("/v1/conversations/1")
    assert lookup.headers["authorization"].startswith("Bearer ")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0])
def test_settings_must_be_finite_and_positive(emu: Emulator, value: float) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match="positive, finite"):
        symbl.Client(emu.credentials, base_url=emu.base_url, timeout=value)
    with pytest.raises(symbl.InvalidArgumentError, match="positive, finite"):
        symbl.Client(emu.credentials, base_url=emu.base_url, poll_interval=value)


def test_sixteen_threads_share_the_pool_without_dropping_connections(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    import threading

    client = symbl.Client(emu.credentials, base_url=emu.base_url)
    client.access_token()
    barrier = threading.Barrier(16)
    failures: list[BaseException] = []

    def call() -> None:
        barrier.wait()
        for _ in range(5):
            try:
                client.Conversations.get_conversation("1")
            except symbl.NotFoundError:
                pass
            except BaseException as exc:  # any other outcome fails the test below
                failures.append(exc)

    with caplog.at_level(logging.WARNING, logger="urllib3"):
        threads = [threading.Thread(target=call) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert failures == []
    assert not [record for record in caplog.records if "pool is full" in record.getMessage()]
