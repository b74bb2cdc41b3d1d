"""The emulator's core: tokens, authentication on every route, request log, admin API."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
import requests

from symbl.emulator import Emulator

from helpers import PYTHON, admin_http

TOKEN_PATH = "/oauth2/token:generate"
REJECTED = {"message": "Token validation failed for provided token."}


def generate(emu: Emulator) -> dict:
    answer = requests.post(
        emu.base_url + TOKEN_PATH,
        json={"type": "application", "appId": emu.app_id, "appSecret": emu.app_secret},
        timeout=5,
    )
    assert answer.status_code == 200
    return answer.json()


def get_token(emu: Emulator) -> str:
    body = generate(emu)
    assert body["expiresIn"] == 86400
    assert body["accessToken"].count(".") == 2
    return str(body["accessToken"])


def test_same_token_with_remaining_lifetime_while_valid(emu: Emulator) -> None:
    emu.configure(token_lifetime=30.0)
    first = generate(emu)
    time.sleep(0.05)
    second = generate(emu)
    assert first["accessToken"] == second["accessToken"]
    assert second["expiresIn"] < first["expiresIn"] <= 30


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"type": "application", "appId": "emulator-app-id", "appSecret": "wrong"}, 401),
        ({"type": "application", "appId": "emulator-app-id"}, 400),
        ({"type": "password", "username": "u", "password": "p"}, 400),
        (["not", "an", "object"], 400),
    ],
)
def test_token_generation_errors(emu: Emulator, body: object, status: int) -> None:
    answer = requests.post(emu.base_url + TOKEN_PATH, json=body, timeout=5)
    assert answer.status_code == status
    assert isinstance(answer.json()["message"], str)


def test_malformed_json_is_a_400(emu: Emulator) -> None:
    answer = requests.post(
        emu.base_url + TOKEN_PATH,
        data=b"{nope",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert "not valid JSON" in answer.json()["message"]


@pytest.mark.parametrize("how", ["x-api-key", "X-API-KEY", "bearer", "query"])
def test_every_documented_way_to_present_a_token(emu: Emulator, how: str) -> None:
    token = get_token(emu)
    headers, params = {}, {}
    if how == "bearer":
        headers["Authorization"] = f"Bearer {token}"
    elif how == "query":
        params["access_token"] = token
    else:
        headers[how] = token
    answer = requests.get(
        emu.base_url + "/v1/conversations/1", headers=headers, params=params, timeout=5
    )
    assert answer.status_code == 404  # authenticated, then not found
    assert emu.requests("/v1/conversations/1")[-1].app_id == emu.app_id


@pytest.mark.parametrize("token", [None, "garbage", "a.b.c"])
def test_missing_or_invalid_token_is_the_documented_401(emu: Emulator, token: str | None) -> None:
    headers = {"x-api-key": token} if token else {}
    answer = requests.get(emu.base_url + "/v1/conversations/1", headers=headers, timeout=5)
    assert answer.status_code == 401
    assert answer.json() == REJECTED


def test_expired_token_is_rejected(emu: Emulator) -> None:
    emu.configure(token_lifetime=0.2)
    token = generate(emu)["accessToken"]
    time.sleep(0.3)
    answer = requests.get(
        emu.base_url + "/v1/conversations/1", headers={"x-api-key": token}, timeout=5
    )
    assert answer.status_code == 401


def test_unknown_routes_answer_json(emu: Emulator) -> None:
    token = get_token(emu)
    answer = requests.get(emu.base_url + "/v9/nothing", headers={"x-api-key": token}, timeout=5)
    assert answer.status_code == 404
    assert "message" in answer.json()


def test_request_log_records_what_was_sent(emu: Emulator) -> None:
    token = get_token(emu)
    requests.put(
        emu.base_url + "/v1/conversations/5?x=1&x=2",
        headers={"x-api-key": token, "X-Custom": "yes"},
        json={"a": 1},
        timeout=5,
    )
    (entry,) = emu.requests("/v1/conversations/5")
    assert entry.method == "PUT"
    assert entry.query == [("x", "1"), ("x", "2")]
    assert entry.headers["x-custom"] == "yes"
    assert entry.json == {"a": 1}
    assert entry.body_size == len(b'{"a": 1}')
    assert entry.status == 404


def test_admin_api_over_http(emu: Emulator) -> None:
    admin = emu.base_url + "/_emulator"
    http = admin_http(emu)
    assert http.get(admin + "/settings", timeout=5).json()["tokenLifetime"] == 86400.0
    changed = http.patch(admin + "/settings", json={"tokenLifetime": 5}, timeout=5)
    assert changed.json()["tokenLifetime"] == 5.0
    bad = http.patch(admin + "/settings", json={"tokenLifetime": "soon"}, timeout=5)
    assert bad.status_code == 400
    unknown = http.patch(admin + "/settings", json={"colour": 1}, timeout=5)
    assert unknown.status_code == 400 and "unknown setting" in unknown.json()["message"]

    assert (
        http.post(admin + "/apps", json={"appId": "n", "appSecret": "s"}, timeout=5).status_code
        == 201
    )
    generated = requests.post(
        emu.base_url + TOKEN_PATH,
        json={"type": "application", "appId": "n", "appSecret": "s"},
        timeout=5,
    )
    assert generated.status_code == 200

    fault = http.post(
        admin + "/faults", json={"path": "/v1/x*", "status": 418, "times": 1}, timeout=5
    )
    assert fault.status_code == 201
    assert len(http.get(admin + "/faults", timeout=5).json()["faults"]) == 1
    assert (
        http.post(admin + "/faults", json={"path": "/", "colour": 1}, timeout=5).status_code == 400
    )
    token = generated.json()["accessToken"]
    assert (
        requests.get(emu.base_url + "/v1/xyz", headers={"x-api-key": token}, timeout=5).status_code
        == 418
    )
    assert http.get(admin + "/faults", timeout=5).json()["faults"] == []

    logged = http.get(admin + "/requests", params={"path": "/v1/xyz"}, timeout=5).json()["requests"]
    assert [entry["status"] for entry in logged] == [418]
    assert http.post(admin + "/tokens:revoke", timeout=5).json()["revoked"] >= 1
    assert (
        requests.get(emu.base_url + "/v1/xyz", headers={"x-api-key": token}, timeout=5).status_code
        == 401
    )

    assert http.post(admin + "/reset", timeout=5).status_code == 200
    assert emu.requests() == []
    assert http.get(admin + "/settings", timeout=5).json()["tokenLifetime"] == 86400.0
    assert (
        requests.post(
            emu.base_url + TOKEN_PATH,
            json={"type": "application", "appId": "n", "appSecret": "s"},
            timeout=5,
        ).status_code
        == 401
    )


def test_admin_requests_are_not_logged_and_never_faulted(emu: Emulator) -> None:
    emu.add_fault(path="*", status=500)
    assert admin_http(emu).get(emu.base_url + "/_emulator/settings", timeout=5).status_code == 200
    assert emu.requests("/_emulator") == []


def test_emulators_run_side_by_side_on_free_ports() -> None:
    with Emulator() as first, Emulator() as second:
        assert first.port != second.port
        assert first.running and second.running
    assert not first.running and not second.running
    first.stop()  # stopping twice is harmless


def test_busy_port_is_reported_by_start() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError, match="already in use"):
            Emulator(port=busy.getsockname()[1]).start()


def test_python_dash_m_serves_on_the_given_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [PYTHON, "-m", "symbl.emulator", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        answer = requests.post(
            f"http://127.0.0.1:{port}{TOKEN_PATH}",
            json={
                "type": "application",
                "appId": "emulator-app-id",
                "appSecret": "emulator-app-secret",
            },
            timeout=5,
        )
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(10)
