"""The emulator's doors, over real loopback sockets: the admin token, a request log without
secrets, bodies limited as they stream in, the Host check, JSON content types, allowed media
hosts, malformed input that never makes a 500, and the ``symbl emulator`` command (child
processes where a signal or memory is the point)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket
from websocket import ABNF, WebSocket, create_connection

from symbl.emulator import ADMIN_TOKEN_HEADER, Emulator, RecordedRequest, create_app, fingerprint
from symbl.emulator.stores.requestlog import RequestLog

from helpers import MEETING, PYTHON, TRANSCRIPT, admin_http, make_wav, wait_until

PSTN = {"operation": "start", "endpoint": {"type": "pstn", "phoneNumber": "+14155550100"}}
START_REQUEST = {
    "type": "start_request",
    "config": {"speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": 16000}},
}
GIB = 1 << 30
SYMBL = str(Path(sys.executable).with_name("symbl"))
COMMANDS = {"module": [PYTHON, "-m", "symbl.emulator"], "symbl": [SYMBL, "emulator"]}


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def sockets() -> Iterator[list[WebSocket]]:
    """Websockets a test opened, closed at its end whatever happened."""
    opened: list[WebSocket] = []
    yield opened
    for ws in opened:
        ws.close(timeout=0.5)
        ws.shutdown()


@pytest.fixture
def emulator_errors(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Errors the emulator logs during the test (a handler that failed: the 500 of a socket)."""
    with caplog.at_level(logging.ERROR, logger="symbl.emulator"):
        errors: list[logging.LogRecord] = []
        yield errors
        errors.extend(r for r in caplog.records if r.name.startswith("symbl.emulator"))


def connect(emu: Emulator, path: str, token: str, opened: list[WebSocket]) -> WebSocket:
    url = emu.base_url.replace("http://", "ws://") + path
    ws = create_connection(url, header={"x-api-key": token}, timeout=5)
    opened.append(ws)
    return ws


def answers_until_pong(ws: WebSocket) -> tuple[list[Any], int | None]:
    """Every frame the socket sends until it answers a ``__PING__`` sent now, and the close
    code if it closed instead."""
    frames: list[Any] = []
    try:
        ws.send("__PING__")
        while True:
            opcode, data = ws.recv_data()
            if opcode == ABNF.OPCODE_CLOSE:
                return frames, int.from_bytes(data[:2], "big")
            if data == b"__PONG__":
                return frames, None
            frames.append(json.loads(data))
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        return frames, 1006


def is_internal_error(frame: Any) -> bool:
    message = frame.get("message", {}) if isinstance(frame, dict) else {}
    return isinstance(message, dict) and message.get("message") == "Internal error"


def start_call(emu: Emulator, token: str) -> str:
    answer = requests.post(
        emu.base_url + "/v1/endpoint:connect", json=PSTN, headers={"x-api-key": token}, timeout=5
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["connectionId"])


def text_conversation(emu: Emulator, token: str) -> str:
    answer = requests.post(
        emu.base_url + "/v1/process/text",
        json={"messages": MEETING["messages"][:2]},
        headers={"x-api-key": token},
        timeout=5,
    )
    job = answer.json()
    wait_until(lambda: emu.state.jobs.get(emu.app_id, job["jobId"]).status == "completed")
    return str(job["conversationId"])


# --- malformed input never makes a 500 ----------------------------------------------------------

JSON_TYPE = {"Content-Type": "application/json"}
MALFORMED_BODIES = {
    "not-json": b"{nope",
    "empty": b"",
    "truncated": b'{"messages": [',
    "a-list": b"[]",
    "null": b"null",
    "a-number": b"123",
    "a-string": b'"text"',
    "nan": b'{"confidenceThreshold": NaN, "tokenLifetime": NaN}',
    "infinity": b'{"confidenceThreshold": Infinity}',
    "huge-float": b'{"confidenceThreshold": 1e999, "limit": 1e999, "tokenLifetime": 1e999}',
    "huge-integer": b'{"confidenceThreshold": ' + b"9" * 4000 + b"}",
    "long-integer": b'{"tokenLifetime": ' + b"9" * 30 + b', "duration": ' + b"9" * 30 + b"}",
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "deep-object": b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
    "invalid-utf8": b'{"name": "\xff\xfe"}',
    "lone-surrogate": b'{"name": "\\ud800", "messages": [{"payload": {"content": "\\udfff"}}]}',
    "wrong-types": json.dumps(
        {
            "messages": "hello",
            "url": 5,
            "name": ["x"],
            "operation": 7,
            "metadata": 1,
            "speakerEvents": {},
            "contentType": 3,
            "transcript": "x",
            "path": 1,
            "appId": 1,
            "appSecret": None,
            "type": [],
        }
    ).encode(),
    "wrong-nested-types": json.dumps(
        {
            "messages": [{"payload": 5, "from": "x", "duration": []}],
            "endpoint": [],
            "actions": "x",
            "data": {"session": 5},
            "speakerEvents": [{"type": 5, "user": [], "offset": "x"}],
            "phrases": 1,
            "transcript": [{"text": 5, "start": "a", "end": None}],
        }
    ).encode(),
    "huge-values": json.dumps(
        {
            "messages": [
                {
                    "payload": {"content": "Hi."},
                    "duration": {"startTime": "9999-99-99T99:99:99Z", "endTime": "x"},
                }
            ],
            "confidenceThreshold": 1e308,
            "diarizationSpeakerCount": 10**18,
            "tokenLifetime": 1e308,
            "telephonySpeed": 1e-320,
            "seconds": 1e308,
            "code": 10**18,
            "offset": {"seconds": 1e308, "nanos": 10**18},
        }
    ).encode(),
    "missing-fields": b"{}",
}
BAD_QUERIES = [
    "limit=abc&offset=-1&order=x",
    "limit=1e999&offset=99999999999999999999999999",
    "verbose=maybe&sentiment=1&parentRefs=%ff",
    "%ff%fe=%fe%ff&a=%zz&=&&b",
    "customTopicVocabulary=" + "%5B" * 2000,  # deeper than Python's recursion limit
    "customVocabulary=%ff&customVocabulary=%5B",
    "entities=" + "%5B" * 2000 + "&trackers=%7B",
    "metadata=" + "%5B" * 2000,
    "customVocabulary=" + "&customVocabulary=%5B" * 300,
    "confidenceThreshold=1e999&diarizationSpeakerCount=" + "9" * 4000,
    "name=%00%01&webhookUrl=javascript:alert(1)&mode=" + "x" * 4000,
    "includeCallScore=%ff&refresh=",
]


def created_id(emu: Emulator, token: str, path: str, body: dict[str, Any], key: str = "") -> str:
    """The id of what a POST to ``path`` created (found under ``key`` of the answer, if any)."""
    answer = requests.post(emu.base_url + path, json=body, headers={"x-api-key": token}, timeout=5)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    return str((made[key] if key else made)["id"])


def concrete_routes(emu: Emulator, token: str) -> list[tuple[str, str]]:
    """Every route of the emulator (from its routing table), with real ids filled in."""
    conversation_id = text_conversation(emu, token)
    (job,) = [j for j in emu.state.jobs.all() if j.conversation_id == conversation_id]
    members = emu.state.conversations.get(emu.app_id, conversation_id).members
    values = {
        "conversation_id": conversation_id,
        "job_id": job.id,
        "connection_id": start_call(emu, token),
        "media": "audio",
        "member_id": next(iter(members)),
        "group_id": created_id(
            emu,
            token,
            "/v1/manage/group",
            {"name": "Calls by John", "criteria": "conversation.metadata.agentId==john"},
            "group",
        ),
        "bookmark_id": created_id(
            emu,
            token,
            f"/v1/conversations/{conversation_id}/bookmarks",
            {
                "label": "Pricing",
                "description": "The price",
                "user": {"name": "John", "userId": "john@example.com"},
                "beginTimeOffset": 0,
                "duration": 1,
            },
        ),
        "tracker_id": created_id(
            emu,
            token,
            "/v1/manage/tracker",
            {"name": "Promotion", "vocabulary": ["discount"]},
            "tracker",
        ),
    }
    app = create_app(emu.state, None)
    routes = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        pattern = info.get("path") or info.get("formatter", "")
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: values[m.group(1)], pattern)
        if route.method != "HEAD":
            routes.append((route.method, path))

    # The service's routes first, the admin API's after; what forgets or ends things last,
    # the deepest first (a bookmark before its conversation).
    def order(route: tuple[str, str]) -> tuple[bool, bool, int, tuple[str, str]]:
        method, path = route
        ends = method == "DELETE" or path.endswith(("/reset", ":revoke", ":hangup"))
        return path.startswith("/_emulator/"), ends, -path.count("/") if ends else 0, route

    return sorted(set(routes), key=order)


def request_everywhere(emu: Emulator, token: str, **options: Any) -> list[str]:
    """Send one kind of request to every route; return what went wrong: 5xx answers, or
    error answers that are not ``{"message": ...}``."""
    wrong = []
    headers = {"x-api-key": token, **emu.admin_headers, **options.pop("headers", {})}
    for method, path in concrete_routes(emu, token):
        answer = requests.request(
            method, emu.base_url + path, headers=headers, timeout=10, **options
        )
        if answer.status_code >= 500:
            wrong.append(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
        elif answer.status_code >= 400 and not isinstance(answer.json().get("message"), str):
            wrong.append(f"{method} {path}: {answer.status_code} without a message")
    return wrong


@pytest.mark.parametrize("name", list(MALFORMED_BODIES))
def test_malformed_bodies_never_make_a_500(
    emu: Emulator, token: str, name: str, emulator_errors: list[logging.LogRecord]
) -> None:
    body = MALFORMED_BODIES[name]
    assert request_everywhere(emu, token, data=body, headers=JSON_TYPE) == []
    assert emulator_errors == []


@pytest.mark.parametrize("query", BAD_QUERIES, ids=range(len(BAD_QUERIES)))
def test_bad_query_strings_never_make_a_500(
    emu: Emulator, token: str, query: str, emulator_errors: list[logging.LogRecord]
) -> None:
    wrong = []
    for method, path in concrete_routes(emu, token):
        answer = requests.request(
            method,
            f"{emu.base_url}{path}?{query}",
            headers={"x-api-key": token, **emu.admin_headers, **JSON_TYPE},
            data=b"{}",
            timeout=10,
        )
        if answer.status_code >= 500:
            wrong.append(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
    assert wrong == []
    assert emulator_errors == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/oauth2/token:generate", b"{nope"),
        ("POST", "/oauth2/token:generate", b'{"type": "application", "appId": 5, "appSecret": 1}'),
        ("POST", "/oauth2/token:generate", b"[" * 10_000),
        ("POST", "/v1/process/text", b'{"messages": NaN}'),
        ("POST", "/v1/process/text", b'{"messages": [{"payload": {"content": 1e999}}]}'),
        ("POST", "/v1/process/text", b'{"messages": "x"}'),
        ("POST", "/v1/process/text", b"{}"),
        ("POST", "/v1/process/audio/url", b'{"url": 5}'),
        ("POST", "/v1/process/audio/url", b'{"url": "https://x.example/a.wav", "name": []}'),
        ("POST", "/v1/endpoint:connect", b'{"operation": "dial"}'),
        ("POST", "/v1/endpoint:connect", b'{"operation": "start", "endpoint": 5}'),
        ("POST", "/v1/endpoint:connect", b'{"operation": "stop", "connectionId": 5}'),
        ("PUT", "/v1/conversations/{cid}", b'{"metadata": 5}'),
        ("POST", "/v1/conversations/{cid}/transcript", b'{"contentType": 5}'),
        ("POST", "/v1/conversations/{cid}/experiences", b'{"name": 5}'),
    ],
)
def test_documented_400s_for_malformed_requests(
    emu: Emulator, token: str, method: str, path: str, body: bytes
) -> None:
    if "{cid}" in path:
        path = path.format(cid=text_conversation(emu, token))
    answer = requests.request(
        method,
        emu.base_url + path,
        data=body,
        headers={"x-api-key": token, **JSON_TYPE},
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    assert isinstance(answer.json()["message"], str)


SOCKET_CASES = {
    "not-json": "{nope",
    "a-list": "[]",
    "null": "null",
    "type-not-a-string": '{"type": 5}',
    "unknown-type": '{"type": "dance"}',
    "config-not-an-object": '{"type": "start_request", "config": "x"}',
    "huge-rate": '{"type": "start_request", "config": {"speechRecognition": '
    '{"sampleRateHertz": 1e308}}}',
    "long-integer": '{"type": "start_request", "noConnectionTimeout": ' + "9" * 4000 + "}",
    "nan": '{"type": "start_request", "noConnectionTimeout": NaN}',
    "deep-json": "[" * 100_000,
    "deep-literal": "{'type': " + "[" * 100_000,
    "long-literal": "{'type': 'stop_request', 'x': [" + "1," * 200_000 + "]}",
    "modify-wrong-types": '{"type": "modify_request", "speechRecognition": "x"}',
    "stop-with-junk": '{"type": "stop_request", "reason": {"a": []}}',
    "speaker-event-wrong": '{"type": "started_speaking", "user": 5, "timestamp": []}',
}


@pytest.mark.parametrize("where", ["streaming", "started-stream", "subscribe", "events"])
@pytest.mark.parametrize("name", list(SOCKET_CASES))
def test_malformed_websocket_messages_are_refused_not_crashed_on(
    emu: Emulator,
    token: str,
    sockets: list[WebSocket],
    where: str,
    name: str,
    emulator_errors: list[logging.LogRecord],
) -> None:
    if where in ("streaming", "started-stream"):
        ws = connect(emu, f"/v1/streaming/{uuid.uuid4()}", token, sockets)
        if where == "started-stream":
            ws.send(json.dumps(START_REQUEST))
    else:
        path = "/session/subscribe/" if where == "subscribe" else "/events/"
        ws = connect(emu, path + start_call(emu, token), token, sockets)
    ws.send(SOCKET_CASES[name])
    frames, closed = answers_until_pong(ws)
    assert not any(is_internal_error(frame) for frame in frames), frames
    # 1008: an invalid start_request ends the session, as documented.
    assert closed in (None, 1000, 1008), closed
    assert emulator_errors == []


@pytest.mark.parametrize("where", ["/v1/streaming/", "/events/"])
def test_text_frames_that_are_not_utf8_close_the_socket_with_1007(
    emu: Emulator, token: str, sockets: list[WebSocket], where: str
) -> None:
    suffix = str(uuid.uuid4()) if where == "/v1/streaming/" else start_call(emu, token)
    ws = connect(emu, where + suffix, token, sockets)
    ws.send(b'{"type": "\xff\xfe"}', opcode=ABNF.OPCODE_TEXT)
    opcode, data = ws.recv_data()
    assert (opcode, int.from_bytes(data[:2], "big")) == (ABNF.OPCODE_CLOSE, 1007)


# --- the admin token ---------------------------------------------------------------------------

ADMIN_ROUTES = [
    ("POST", "/_emulator/reset", None),
    ("GET", "/_emulator/requests", None),
    ("DELETE", "/_emulator/requests", None),
    ("GET", "/_emulator/settings", None),
    ("PATCH", "/_emulator/settings", {"tokenLifetime": 1.0}),
    ("POST", "/_emulator/apps", {"appId": "intruder", "appSecret": "s"}),
    ("POST", "/_emulator/tokens:revoke", None),
    ("POST", "/_emulator/faults", {"path": "*", "status": 500}),
    ("DELETE", "/_emulator/faults", None),
    ("POST", "/_emulator/media", {"url": "https://x.example/a.wav", "transcript": []}),
    ("GET", "/_emulator/conversations", None),
    ("PUT", "/_emulator/live-transcript", {"transcript": []}),
    ("GET", "/_emulator/streams/s1/audio", None),
    ("POST", "/_emulator/calls/c1:hangup", None),
    ("POST", "/_emulator/websockets:drop", None),
    ("POST", "/_emulator/nothing-here", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
@pytest.mark.parametrize("presented", [None, "", "wrong", "bearer"])
def test_the_admin_api_needs_the_admin_token(
    emu: Emulator, method: str, path: str, body: Any, presented: str | None
) -> None:
    headers = {}
    if presented == "bearer":  # the token in another header is no token
        headers["Authorization"] = f"Bearer {emu.admin_token}"
    elif presented is not None:
        headers[ADMIN_TOKEN_HEADER] = presented
    emu.configure(token_lifetime=60.0)
    answer = requests.request(method, emu.base_url + path, json=body, headers=headers, timeout=5)
    assert answer.status_code == 401
    message = answer.json()["message"]
    assert "X-Emulator-Admin-Token" in message and "--json" in message
    assert emu.state.settings.token_lifetime == 60.0  # nothing changed
    assert emu.state.faults.rules() == [] and "intruder" not in emu.state.tokens.apps


def test_with_the_admin_token_the_admin_api_answers(emu: Emulator) -> None:
    url = emu.base_url + "/_emulator/settings"
    answer = requests.patch(
        url, json={"tokenLifetime": 5}, headers={ADMIN_TOKEN_HEADER: emu.admin_token}, timeout=5
    )
    assert answer.json()["tokenLifetime"] == 5.0
    assert admin_http(emu).get(url, timeout=5).json()["tokenLifetime"] == 5.0


def test_the_python_controls_need_no_token_and_each_emulator_has_its_own(emu: Emulator) -> None:
    emu.configure(token_lifetime=2.0)
    emu.add_fault(path="/v1/x", status=503)
    emu.register_media([{"text": "Hi.", "start": 0, "end": 1}], url="https://x.example/a")
    assert [rule.status for rule in emu.state.faults.rules()] == [503]
    with Emulator() as other:
        assert len(other.admin_token) >= 32 and other.admin_token != emu.admin_token
        wrong = requests.get(
            other.base_url + "/_emulator/settings", headers=emu.admin_headers, timeout=5
        )
        assert wrong.status_code == 401


def test_a_chosen_admin_token_and_an_open_admin_api() -> None:
    with Emulator(admin_token="chosen-token") as chosen:
        assert chosen.admin_token == "chosen-token"
        answer = requests.get(
            chosen.base_url + "/_emulator/settings",
            headers={ADMIN_TOKEN_HEADER: "chosen-token"},
            timeout=5,
        )
        assert answer.status_code == 200
    with Emulator(open_admin=True) as open_admin:
        assert requests.get(open_admin.base_url + "/_emulator/settings", timeout=5).ok
    with pytest.raises(ValueError, match="admin_token"):
        Emulator(admin_token="")


# --- the request log keeps no secret -----------------------------------------------------------


def logged_everywhere(emu: Emulator) -> str:
    """Everything the request log holds, in Python and over the admin API, as text."""
    entries = emu.requests()
    over_http = admin_http(emu).get(emu.base_url + "/_emulator/requests", timeout=5).text
    return repr(entries) + over_http


def test_tokens_and_secrets_are_fingerprinted_wherever_they_were_sent(
    emu: Emulator, token: str, sockets: list[WebSocket]
) -> None:
    requests.get(
        f"{emu.base_url}/v1/conversations?access_token={token}&limit=1",
        headers={"Authorization": f"Bearer {token}", "x-api-key": token, **emu.admin_headers},
        timeout=5,
    )
    url = emu.base_url.replace("http://", "ws://") + f"/v1/streaming/{uuid.uuid4()}"
    sockets.append(create_connection(url, subprotocols=[token], timeout=5))
    requests.post(  # a wrong secret is a secret too
        emu.base_url + "/oauth2/token:generate",
        json={"type": "application", "appId": emu.app_id, "appSecret": "my-real-secret"},
        timeout=5,
    )
    text = logged_everywhere(emu)
    for secret in (token, emu.app_secret, "my-real-secret", emu.admin_token):
        assert secret not in text
    generate, listing, handshake, other_generate = emu.requests()
    assert generate.json["appSecret"] == fingerprint(emu.app_secret)
    assert json.loads(generate.body)["appSecret"] == fingerprint(emu.app_secret)
    assert other_generate.json["appSecret"] == fingerprint("my-real-secret")
    assert listing.headers["x-api-key"] == fingerprint(token)
    assert listing.headers["authorization"] == f"Bearer {fingerprint(token)}"
    assert listing.headers[ADMIN_TOKEN_HEADER.lower()] == fingerprint(emu.admin_token)
    assert listing.query_dict() == {"access_token": fingerprint(token), "limit": "1"}
    assert listing.query_string == f"access_token={fingerprint(token)}&limit=1"
    assert listing.app_id == emu.app_id and listing.status == 200
    assert handshake.headers["sec-websocket-protocol"] == fingerprint(token)
    assert fingerprint(token).startswith("sha256:") and len(fingerprint(token)) == 19


def test_the_request_log_is_bounded() -> None:
    log = RequestLog(limit=lambda: 3, body_budget=10)
    entries = [RecordedRequest("GET", f"/{n}", "", [], {}) for n in range(5)]
    for entry in entries:
        log.append(entry)
    assert [entry.path for entry in log.entries()] == ["/2", "/3", "/4"]
    log.set_body(entries[3], b"123456", 6, "")
    log.set_body(entries[4], b"123456", 6, "")
    assert [entry.path for entry in log.entries()] == ["/4"]


# --- bodies are limited as they stream in ------------------------------------------------------


def raw_exchange(base_url: str, head: str, chunks: Iterator[bytes]) -> tuple[int, int]:
    """Send a request head, then body bytes until the server answers (or the body ends);
    return the answer's status and how many body bytes were sent."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    sent = 0
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(head.encode())
        try:
            for chunk in chunks:
                if select.select([conn], [], [], 0)[0]:
                    break  # the answer is here: stop sending
                conn.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = conn.recv(4096)
    return int(answer.split(b" ", 2)[1]), sent


def chunked(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    """``total`` bytes of a chunked body, as framed chunks (and the last chunk)."""
    block = b"\0" * size
    for _ in range(total // size):
        yield f"{size:x}\r\n".encode() + block + b"\r\n"
    yield b"0\r\n\r\n"


def head(path: str, token: str | None = None, *, length: int | None = None, **extra: str) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    if token:
        lines.append(f"x-api-key: {token}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in extra.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


@pytest.mark.parametrize(
    ("path", "content_type", "limit"),
    [
        ("/v1/process/text", "application/json", 8 << 20),
        ("/v1/endpoint:connect", "application/json", 1 << 20),
        ("/oauth2/token:generate", "application/json", 16 << 10),
        ("/v1/process/audio", "audio/wav", 4 << 20),
    ],
)
def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read(
    emu: Emulator, token: str, path: str, content_type: str, limit: int
) -> None:
    emu.configure(max_media_bytes=4 << 20)
    request = head(path, token, length=limit + 1, Content_Type=content_type)
    status, sent = raw_exchange(emu.base_url, request, iter([b""]))
    assert (status, sent) == (413, 0)
    entry = emu.requests(path)[-1]
    assert (entry.status, entry.body_size) == (413, 0)


@pytest.mark.parametrize(
    ("path", "content_type", "limit"),
    [
        ("/v1/process/text", "application/json", 8 << 20),
        ("/_emulator/conversations", "application/json", 16 << 20),
        ("/v1/process/video", "video/mp4", 4 << 20),
    ],
)
def test_a_chunked_body_is_refused_once_it_passes_the_limit(
    emu: Emulator, token: str, path: str, content_type: str, limit: int
) -> None:
    emu.configure(max_media_bytes=4 << 20)
    admin = {"X_Emulator_Admin_Token": emu.admin_token} if path.startswith("/_emulator") else {}
    request = head(path, token, Content_Type=content_type, **admin)
    status, sent = raw_exchange(emu.base_url, request, chunked(64 << 20))
    assert status == 413
    assert limit < sent < limit + (16 << 20)  # it stopped near the limit, not at the end


def test_uploads_up_to_the_media_limit_are_accepted(
    emu: Emulator, token: str, tmp_path: Path
) -> None:
    wav = make_wav(tmp_path / "call.wav").read_bytes()
    emu.configure(max_media_bytes=len(wav))
    url, headers = emu.base_url + "/v1/process/audio", {"x-api-key": token}
    assert requests.post(url, data=wav, headers=headers, timeout=10).status_code == 201
    refused = requests.post(url, data=wav + b"\0", headers=headers, timeout=10)
    assert refused.status_code == 413
    assert "max_media_bytes" in refused.json()["message"]


def peak_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


@pytest.fixture
def emulator_process() -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """``python -m symbl.emulator`` in a child process, with a 64 MiB media limit."""
    process = subprocess.Popen(
        [*COMMANDS["module"], "--port", "0", "--json", "--quiet", "--max-media-bytes", "67108864"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    yield process, json.loads(process.stdout.readline())
    process.terminate()
    process.wait(10)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_two_gigabyte_bodies_are_refused_without_the_memory_growing(
    emulator_process: tuple[subprocess.Popen[str], dict[str, Any]],
) -> None:
    process, started = emulator_process
    base_url = started["baseUrl"]
    token = requests.post(
        base_url + "/oauth2/token:generate",
        json={"type": "application", "appId": started["appId"], "appSecret": "emulator-app-secret"},
        timeout=5,
    ).json()["accessToken"]
    before = peak_kib(process.pid)
    outcomes = [
        raw_exchange(base_url, head("/v1/process/audio"), chunked(2 * GIB)),
        raw_exchange(
            base_url, head("/v1/process/text", Content_Type="text/plain"), chunked(2 * GIB)
        ),
        raw_exchange(base_url, head("/v1/process/audio", token), chunked(2 * GIB)),
        raw_exchange(
            base_url,
            head("/v1/process/text", token, Content_Type="application/json"),
            chunked(2 * GIB),
        ),
        raw_exchange(base_url, head("/v1/process/audio", token, length=2 * GIB), chunked(2 * GIB)),
    ]
    assert [status for status, _ in outcomes] == [401, 401, 413, 413, 413]
    assert all(sent < 256 << 20 for _, sent in outcomes), outcomes
    growth_mib = (peak_kib(process.pid) - before) / 1024
    assert growth_mib < 48, growth_mib
    assert process.poll() is None


# --- the Host header ---------------------------------------------------------------------------


def status_with_host(base_url: str, host: str | None, path: str = "/oauth2/token:generate") -> int:
    """The status of a GET carrying this Host header (None: no Host header at all)."""
    host_line = "" if host is None else f"Host: {host}\r\n"
    request = f"GET {path} HTTP/1.1\r\n{host_line}Connection: close\r\n\r\n"
    status, _ = raw_exchange(base_url, request, iter([]))
    return status


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost", True),
        ("localhost:{port}", True),
        ("LOCALHOST:{port}", True),
        ("127.0.0.1:{port}", True),
        ("127.0.0.1", True),
        ("[::1]:{port}", True),
        ("[::1]", True),
        ("evil.example", False),
        ("evil.example:{port}", False),
        ("localhost.evil.example:{port}", False),
        ("127.0.0.1.evil.example", False),
        ("192.168.1.20:{port}", False),
        ("", False),
        (None, False),
    ],
)
def test_only_loopback_names_reach_the_emulator(
    emu: Emulator, host: str | None, allowed: bool
) -> None:
    port = emu.base_url.rsplit(":", 1)[1]
    status = status_with_host(emu.base_url, None if host is None else host.format(port=port))
    assert (status == 405) == allowed, status  # 405: it got through to the route (POST only)
    if not allowed:
        assert status in (400, 421)


def test_a_foreign_host_is_refused_everywhere_with_421(emu: Emulator, token: str) -> None:
    headers = {"Host": "rebound.example", "x-api-key": token, **emu.admin_headers}
    for method, path in [("GET", "/v1/conversations"), ("GET", "/_emulator/settings")]:
        answer = requests.request(method, emu.base_url + path, headers=headers, timeout=5)
        assert answer.status_code == 421
        assert "--allowed-host" in answer.json()["message"]
    url = emu.base_url.replace("http://", "ws://") + f"/v1/streaming/{uuid.uuid4()}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        create_connection(url, header={"x-api-key": token}, host="rebound.example", timeout=5)
    assert refused.value.status_code == 421
    assert emu.requests() == emu.requests("/oauth2/token:generate")  # none of them logged


def test_allowed_hosts_and_the_listening_address_are_accepted() -> None:
    with Emulator(allowed_hosts=["dev.example", "ci.example:8443"]) as emu:
        assert status_with_host(emu.base_url, "dev.example:1234") == 405
        assert status_with_host(emu.base_url, "ci.example:8443") == 405
        assert status_with_host(emu.base_url, "ci.example:8444") == 421
    with Emulator(allowed_hosts=["*"]) as emu:
        assert status_with_host(emu.base_url, "anything.example") == 405
    with pytest.raises(ValueError, match="port"):
        Emulator(allowed_hosts=["dev.example:http"])


# --- JSON endpoints take JSON ------------------------------------------------------------------

JSON_ENDPOINTS = [
    ("POST", "/oauth2/token:generate"),
    ("POST", "/v1/process/text"),
    ("POST", "/v1/process/audio/url"),
    ("POST", "/v1/endpoint:connect"),
    ("PUT", "/v1/conversations/{cid}"),
    ("POST", "/v1/conversations/{cid}/transcript"),
    ("PATCH", "/_emulator/settings"),
    ("POST", "/_emulator/faults"),
    ("POST", "/_emulator/websockets:drop"),
]
NOT_JSON = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/json",
    None,
]


@pytest.mark.parametrize("content_type", NOT_JSON)
@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
def test_json_endpoints_refuse_other_content_types(
    emu: Emulator, token: str, method: str, path: str, content_type: str | None
) -> None:
    """What a web page can send cross-site without asking first (a "simple" request) is never
    taken for JSON."""
    path = path.format(cid=text_conversation(emu, token) if "{cid}" in path else "")
    emu.configure(token_lifetime=60.0)
    headers = {"x-api-key": token, **emu.admin_headers}
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = b'{"tokenLifetime": 1, "path": "*", "status": 500}'
    answer = requests.request(method, emu.base_url + path, data=body, headers=headers, timeout=5)
    assert answer.status_code == 415, answer.text
    assert "application/json" in answer.json()["message"]
    assert emu.state.settings.token_lifetime == 60.0 and emu.state.faults.rules() == []


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"]
)
def test_json_content_types_are_taken(emu: Emulator, content_type: str) -> None:
    answer = requests.post(
        emu.base_url + "/oauth2/token:generate",
        data=json.dumps({"type": "application", "appId": emu.app_id, "appSecret": emu.app_secret}),
        headers={"Content-Type": content_type},
        timeout=5,
    )
    assert answer.status_code == 200


def test_uploads_keep_the_old_clients_empty_content_type(
    emu: Emulator, token: str, tmp_path: Path
) -> None:
    wav = make_wav(tmp_path / "call.wav").read_bytes()
    for content_type in ("", None):
        headers = {"x-api-key": token}
        if content_type is not None:
            headers["Content-Type"] = content_type
        answer = requests.post(
            emu.base_url + "/v1/process/audio", data=wav, headers=headers, timeout=10
        )
        assert answer.status_code == 201, answer.text


# --- media URLs come only from allowed hosts ---------------------------------------------------


class MediaHost:
    """A local HTTP server that counts the connections it accepts and serves one file."""

    def __init__(self, body: bytes, delay: float = 0.0) -> None:
        self.body = body
        self.delay = delay
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.host = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                conn.recv(65536)
                time.sleep(self.delay)
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(self.body)}\r\n\r\n"
                with contextlib.suppress(OSError):
                    conn.sendall(head.encode() + self.body)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()


@pytest.fixture
def media_host(tmp_path: Path) -> Iterator[MediaHost]:
    host = MediaHost(make_wav(tmp_path / "call.wav").read_bytes())
    yield host
    host.close()


def submit_url(emu: Emulator, token: str, url: str) -> tuple[str, str]:
    """Submit a media URL and wait for the job: its status and failure."""
    answer = requests.post(
        emu.base_url + "/v1/process/audio/url",
        json={"url": url},
        headers={"x-api-key": token},
        timeout=5,
    )
    assert answer.status_code == 201, answer.text
    job_id = answer.json()["jobId"]
    job = emu.state.jobs.get(emu.app_id, job_id)
    assert wait_until(lambda: job.status in ("completed", "failed"), timeout=15)
    return job.status, job.failure or ""


@pytest.mark.parametrize(
    "allowed",
    [
        [],
        ["*"],  # every host, but loopback and private ones must be named
        ["localhost"],  # a name is not its address
        ["127.0.0.1:1"],  # another port
        ["media.example"],
    ],
)
def test_a_host_that_is_not_allowed_fails_the_job_and_is_never_contacted(
    emu: Emulator, token: str, media_host: MediaHost, allowed: list[str]
) -> None:
    emu.configure(allowed_media_hosts=allowed)
    status, failure = submit_url(emu, token, f"http://{media_host.host}/call.wav")
    assert status == "failed"
    assert "allowed_media_hosts" in failure and "--allow-media-host" in failure
    assert media_host.connections == 0


@pytest.mark.parametrize("allowed", [["127.0.0.1"], ["{host}"], ["media.example", "127.0.0.1"]])
def test_an_allowed_host_is_downloaded_from(
    emu: Emulator, token: str, media_host: MediaHost, allowed: list[str]
) -> None:
    emu.configure(allowed_media_hosts=[entry.format(host=media_host.host) for entry in allowed])
    status, failure = submit_url(emu, token, f"http://{media_host.host}/call.wav")
    assert (status, failure) == ("completed", "")
    assert media_host.connections == 1


def test_downloads_are_limited_in_size_and_time(
    emu: Emulator, token: str, media_host: MediaHost
) -> None:
    emu.configure(allowed_media_hosts=[media_host.host], max_media_bytes=1000)
    status, failure = submit_url(emu, token, f"http://{media_host.host}/call.wav")
    assert status == "failed" and "max_media_bytes" in failure
    emu.configure(max_media_bytes=1 << 20, media_fetch_seconds=0.3)
    media_host.delay = 2.0
    started = time.monotonic()
    status, failure = submit_url(emu, token, f"http://{media_host.host}/call.wav")
    assert status == "failed" and "could not download" in failure
    assert time.monotonic() - started < 1.8


def test_registered_urls_need_no_download(emu: Emulator, token: str) -> None:
    url = "https://media.example/call.wav"
    emu.register_media(TRANSCRIPT, url=url, duration=5.0)
    assert submit_url(emu, token, url) == ("completed", "")


# --- the command: symbl emulator / python -m symbl.emulator ------------------------------------


def start_command(command: str, *args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [*COMMANDS[command], "--port", "0", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def stderr_lines(process: subprocess.Popen[str]) -> list[str]:
    """The lines the process writes on stderr, collected as they come (by a thread)."""
    lines: list[str] = []
    stderr = process.stderr
    assert stderr is not None

    def collect() -> None:
        for line in stderr:
            lines.append(line)

    threading.Thread(target=collect, daemon=True).start()
    return lines


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_command_prints_json_logs_requests_and_exits_130_on_ctrl_c(command: str) -> None:
    process, started = start_command(command)
    logged = stderr_lines(process)
    try:
        assert set(started) == {"baseUrl", "adminToken", "adminTokenHeader", "openAdmin", "appId"}
        assert started["adminTokenHeader"] == ADMIN_TOKEN_HEADER and not started["openAdmin"]
        base_url = started["baseUrl"]
        settings = requests.get(
            base_url + "/_emulator/settings",
            headers={ADMIN_TOKEN_HEADER: started["adminToken"]},
            timeout=5,
        )
        assert settings.status_code == 200
        requests.get(base_url + "/v1/conversations?access_token=leaky-token-value", timeout=5)
        assert wait_until(lambda: len([line for line in logged if " GET " in line]) == 2)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(15)
    assert process.returncode == 130
    first, second = [line.rstrip("\n") for line in logged if " GET " in line]
    assert re.search(r" 127.0.0.1 GET /_emulator/settings 200 [\d.]+ ms$", first), first
    assert f"/v1/conversations?access_token={fingerprint('leaky-token-value')} 401" in second
    text = "".join(logged)
    assert "leaky-token-value" not in text and started["adminToken"] not in text


def test_the_command_takes_the_safety_options() -> None:
    process, started = start_command(
        "symbl",
        "--admin-token",
        "from-the-command-line",
        "--allowed-host",
        "dev.example",
        "--allow-media-host",
        "media.example",
        "--max-media-bytes",
        "12345",
        "--quiet",
    )
    try:
        base_url = started["baseUrl"]
        assert started["adminToken"] == "from-the-command-line"
        settings = requests.get(
            base_url + "/_emulator/settings",
            headers={ADMIN_TOKEN_HEADER: "from-the-command-line", "Host": "dev.example"},
            timeout=5,
        ).json()
        assert settings["maxMediaBytes"] == 12345
        assert settings["allowedMediaHosts"] == ["media.example"]
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    assert " GET " not in stderr  # --quiet


def test_the_admin_token_can_come_from_the_environment_and_the_admin_api_can_be_opened() -> None:
    env = {**os.environ, "SYMBL_EMULATOR_ADMIN_TOKEN": "from-the-environment"}
    process = subprocess.Popen(
        [PYTHON, "-m", "symbl.emulator", "--port", "0", "--json", "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    try:
        assert json.loads(process.stdout.readline())["adminToken"] == "from-the-environment"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)
    process, started = start_command("module", "--open-admin", "--quiet")
    try:
        assert started["openAdmin"] is True
        assert requests.get(started["baseUrl"] + "/_emulator/settings", timeout=5).ok
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)


def test_the_banner_shows_the_admin_token() -> None:
    process = subprocess.Popen(
        [PYTHON, "-m", "symbl.emulator", "--port", "0", "--admin-token", "shown-token"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        banner = [process.stdout.readline() for _ in range(5)]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)
    assert banner[0].startswith("Symbl emulator listening on http://127.0.0.1:")
    assert "X-Emulator-Admin-Token: shown-token" in banner[4]


def test_every_option_has_help() -> None:
    result = subprocess.run(
        [SYMBL, "emulator", "--help"], capture_output=True, text=True, timeout=30, check=True
    )
    options = re.findall(r"^\s+(--[\w-]+)", result.stdout, re.MULTILINE)
    assert len(options) >= 12
    for option in options:
        described = re.search(rf"^\s+{option}\b.*\n?(?:\s{{10,}}\S.*\n)*", result.stdout, re.M)
        assert described is not None and len(described.group(0).split()) > 2, option


@pytest.mark.parametrize("args", [["--port", "70000"], ["--allowed-host", "a:b"]])
def test_bad_options_exit_2(args: list[str]) -> None:
    result = subprocess.run(
        [PYTHON, "-m", "symbl.emulator", *args], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("python -m symbl.emulator: error:")


WITHOUT_AIOHTTP = """
import sys

class NoAiohttp:
    def find_spec(self, name, path=None, target=None):
        if name == "aiohttp" or name.startswith("aiohttp."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoAiohttp())
try:
    from symbl.emulator import Emulator
except ImportError as exc:
    print(exc)
"""


def test_without_aiohttp_the_emulator_says_how_to_install_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [PYTHON, "-c", WITHOUT_AIOHTTP],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'symbl[emulator]'" in result.stdout
