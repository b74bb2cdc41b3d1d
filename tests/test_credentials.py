"""Where credentials and the base URL come from, and in which order."""

from __future__ import annotations

import configparser
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

import symbl
from symbl._transport.credentials import (
    DEFAULT_BASE_URL,
    Credentials,
    forget_remembered_credentials,
    remember_accepted,
    resolve_base_url,
    resolve_credentials,
    resolve_credentials_and_base_url,
    websocket_base_url,
)
from symbl._transport.http import client_for


@pytest.fixture(autouse=True)
def no_remembered_credentials() -> Iterator[None]:
    """No credentials given earlier in the process, by another test, before or after."""
    forget_remembered_credentials()
    yield
    forget_remembered_credentials()


def write_conf(folder: Path, text: str) -> Path:
    path = folder / "symbl.conf"
    path.write_text(text, encoding="utf-8")
    return path


def test_explicit_credentials_win_over_everything(
    monkeypatch: pytest.MonkeyPatch, sealed_environment: Path
) -> None:
    monkeypatch.setenv("SYMBL_APP_ID", "env-id")
    monkeypatch.setenv("SYMBL_APP_SECRET", "env-secret")
    write_conf(sealed_environment, "[credentials]\napp_id=cwd-id\napp_secret=cwd-secret\n")
    found = resolve_credentials({"app_id": "given-id", "app_secret": "given-secret"})
    assert (found.app_id, found.app_secret) == ("given-id", "given-secret")


def test_camel_case_keys_are_accepted_in_explicit_credentials() -> None:
    found = resolve_credentials({"appId": "a", "appSecret": "b"})
    assert (found.app_id, found.app_secret) == ("a", "b")


def test_environment_wins_over_conf_files(
    monkeypatch: pytest.MonkeyPatch, sealed_environment: Path
) -> None:
    monkeypatch.setenv("SYMBL_APP_ID", "env-id")
    monkeypatch.setenv("SYMBL_APP_SECRET", "env-secret")
    write_conf(sealed_environment, "[credentials]\napp_id=cwd-id\napp_secret=cwd-secret\n")
    found = resolve_credentials()
    assert (found.app_id, found.app_secret, found.source) == (
        "env-id",
        "env-secret",
        "the environment",
    )


def test_working_directory_conf_wins_over_home(sealed_environment: Path) -> None:
    write_conf(sealed_environment, "[credentials]\napp_id=cwd-id\napp_secret=cwd-secret\n")
    write_conf(Path.home(), "[credentials]\napp_id=home-id\napp_secret=home-secret\n")
    found = resolve_credentials()
    assert (found.app_id, found.app_secret) == ("cwd-id", "cwd-secret")
    assert found.source == str(sealed_environment / "symbl.conf")


def test_home_conf_is_the_last_resort() -> None:
    write_conf(Path.home(), "[credentials]\napp_id=home-id\napp_secret=home-secret\n")
    found = resolve_credentials()
    assert (found.app_id, found.app_secret) == ("home-id", "home-secret")


def test_conf_without_credentials_section_falls_through_to_home(sealed_environment: Path) -> None:
    write_conf(sealed_environment, "[api]\nbase_url=http://127.0.0.1:9\n")
    write_conf(Path.home(), "[credentials]\napp_id=home-id\napp_secret=home-secret\n")
    assert resolve_credentials().app_id == "home-id"


def test_secret_with_percent_sign_is_read_verbatim() -> None:
    write_conf(Path.home(), "[credentials]\napp_id=id\napp_secret=50%off%(x)s\n")
    assert resolve_credentials().app_secret == "50%off%(x)s"


def test_missing_credentials_names_every_place_searched(sealed_environment: Path) -> None:
    with pytest.raises(symbl.ConfigurationError) as caught:
        resolve_credentials()
    message = str(caught.value)
    for place in (
        "credentials=",
        "SYMBL_APP_ID",
        "SYMBL_APP_SECRET",
        str(sealed_environment / "symbl.conf"),
        str(Path.home() / "symbl.conf"),
        "credentials given earlier in this process (there were none)",
    ):
        assert place in message


def accepted(app_id: str, base_url: str = "http://127.0.0.1:7") -> Credentials:
    """Explicit credentials, as if the service at ``base_url`` had generated a token for them."""
    given = resolve_credentials({"app_id": app_id, "app_secret": app_id + "-secret"})
    remember_accepted(given, base_url)
    return given


def test_credentials_accepted_earlier_are_the_last_resort(
    monkeypatch: pytest.MonkeyPatch, sealed_environment: Path
) -> None:
    accepted("first-id")
    resolve_credentials({"app_id": "refused-id", "app_secret": "x"})  # never accepted
    accepted("given-id")
    found = resolve_credentials()
    assert (found.app_id, found.app_secret) == ("given-id", "given-id-secret")
    assert found.source == "credentials given earlier in this process"
    assert "given-secret" not in repr(found)
    write_conf(Path.home(), "[credentials]\napp_id=home-id\napp_secret=home-secret\n")
    assert resolve_credentials().app_id == "home-id"
    write_conf(sealed_environment, "[credentials]\napp_id=cwd-id\napp_secret=cwd-secret\n")
    assert resolve_credentials().app_id == "cwd-id"
    monkeypatch.setenv("SYMBL_APP_ID", "env-id")
    monkeypatch.setenv("SYMBL_APP_SECRET", "env-secret")
    assert resolve_credentials().app_id == "env-id"
    explicit = resolve_credentials({"app_id": "other-id", "app_secret": "other-secret"})
    assert explicit.app_id == "other-id"


def test_credentials_are_remembered_only_once_accepted_and_only_explicit_ones() -> None:
    with pytest.raises(symbl.InvalidArgumentError):
        resolve_credentials({"app_id": "x"})
    given = resolve_credentials({"app_id": "given-id", "app_secret": "given-secret"})
    remember_accepted(Credentials("env-id", "env-secret", "the environment"), "http://h:1")
    with pytest.raises(symbl.ConfigurationError, match="there were none"):
        resolve_credentials()
    remember_accepted(given, "http://h:1")
    assert resolve_credentials() == given


def test_remembered_credentials_bring_their_base_url_when_nothing_else_gives_one(
    monkeypatch: pytest.MonkeyPatch, sealed_environment: Path
) -> None:
    given = accepted("given-id", "http://127.0.0.1:7/prefix")
    assert resolve_credentials_and_base_url() == (given, "http://127.0.0.1:7/prefix")
    assert resolve_credentials_and_base_url(None, "http://other:2")[1] == "http://other:2"
    other = {"app_id": "other-id", "app_secret": "other-secret"}
    assert resolve_credentials_and_base_url(other)[1] == DEFAULT_BASE_URL
    assert resolve_base_url() == DEFAULT_BASE_URL  # it cannot tell whose URL it is
    with symbl.Client() as client:
        assert (client.credentials, client.base_url) == (given, "http://127.0.0.1:7/prefix")
    monkeypatch.setenv("SYMBL_BASE_URL", "http://env:3")
    assert resolve_credentials_and_base_url() == (given, "http://env:3")


def test_half_set_environment_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMBL_APP_ID", "env-id")
    with pytest.raises(symbl.ConfigurationError, match="SYMBL_APP_SECRET is not"):
        resolve_credentials()


MALFORMED_CONFS = [
    ("app_id=x\napp_secret=y\n", "not a valid symbl.conf"),
    ("[credentials]\napp_id=\napp_secret=\n", "no value for app_id and app_secret"),
    ("[credentials]\napp_id=x\n", "no value for app_secret"),
    ("[credentials]\nappid=x\napp_secret=y\n", "unknown key 'appid'"),
    (
        "[api]\nbase_url=ftp://example.com\n[credentials]\napp_id=x\napp_secret=y\n",
        "not an absolute http",
    ),
]


@pytest.mark.parametrize(("text", "complaint"), MALFORMED_CONFS)
def test_malformed_conf_names_the_file_and_the_problem(
    sealed_environment: Path, text: str, complaint: str
) -> None:
    path = write_conf(sealed_environment, text)
    with pytest.raises(symbl.ConfigurationError) as caught:  # noqa: PT012 - either may complain
        resolve_credentials()
        resolve_base_url()
    assert complaint in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ("id:secret", "must be a dict"),
        ({"app_id": "x"}, "missing 'app_secret'"),
        ({"app_id": "x", "app_secret": ""}, "non-empty string"),
        ({"app_id": "x", "app_secret": "y", "region": "eu"}, "unknown key 'region'"),
    ],
)
def test_bad_explicit_credentials_are_typed_errors(given: object, complaint: str) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match=complaint):
        resolve_credentials(given)  # type: ignore[arg-type]


def test_base_url_order(monkeypatch: pytest.MonkeyPatch, sealed_environment: Path) -> None:
    assert resolve_base_url() == DEFAULT_BASE_URL
    write_conf(Path.home(), "[api]\nbase_url=http://home.example:1/\n")
    assert resolve_base_url() == "http://home.example:1"
    write_conf(sealed_environment, "[api]\nbase_url=http://cwd.example:2\n")
    assert resolve_base_url() == "http://cwd.example:2"
    monkeypatch.setenv("SYMBL_BASE_URL", "http://env.example:3")
    assert resolve_base_url() == "http://env.example:3"
    assert resolve_base_url("https://given.example/prefix/") == "https://given.example/prefix"


def test_websocket_url_is_derived_from_base_url() -> None:
    assert websocket_base_url("https://api.symbl.ai") == "wss://api.symbl.ai"
    assert websocket_base_url("http://127.0.0.1:8080") == "ws://127.0.0.1:8080"


def test_secret_is_not_in_repr() -> None:
    found = resolve_credentials({"app_id": "visible-id", "app_secret": "hidden-secret"})
    assert "hidden-secret" not in repr(found)
    assert "hidden-secret" not in str(found)
    assert "visible-id" in repr(found)


def test_client_uses_conf_base_url_and_credentials(emu, sealed_environment: Path) -> None:
    write_conf(
        sealed_environment,
        f"[credentials]\napp_id={emu.app_id}\napp_secret={emu.app_secret}\n"
        f"[api]\nbase_url={emu.base_url}\n",
    )
    client = symbl.Client()
    assert client.base_url == emu.base_url
    assert client.websocket_url == emu.base_url.replace("http://", "ws://")
    assert client.access_token()
    assert emu.requests("/oauth2/token:generate")[0].json["appId"] == emu.app_id


# -- symbl.conf is parsed once per version of the file ------------------------------------------


def conf_text(secret: str, port: int) -> str:
    return (
        f"[credentials]\napp_id=conf-id\napp_secret={secret}\n"
        f"[api]\nbase_url=http://127.0.0.1:{port}\n"
    )


def backdate(path: Path, seconds: float = 60.0) -> None:
    """Set the file's times a minute back: old enough to be trusted on its stat identity."""
    when = time.time() - seconds
    os.utime(path, (when, when))


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The source of every INI parse from now on (configparser's own method, counted)."""
    seen: list[str] = []
    read_file = configparser.ConfigParser.read_file

    def counted(self: configparser.ConfigParser, f: IO[str], source: str | None = None) -> Any:
        seen.append(str(source))
        return read_file(self, f, source)

    monkeypatch.setattr(configparser.ConfigParser, "read_file", counted)
    return seen


@pytest.mark.parametrize("backdated", [False, True], ids=["fresh", "backdated"])
def test_conf_is_parsed_once_across_many_calls(
    sealed_environment: Path, parses: list[str], backdated: bool
) -> None:
    path = write_conf(sealed_environment, conf_text("secret-1", 1))
    if backdated:
        backdate(path)
    expected = (Credentials("conf-id", "secret-1"), "http://127.0.0.1:1")
    for _ in range(50):
        assert resolve_credentials_and_base_url() == expected
        assert resolve_credentials() == expected[0]
        assert resolve_base_url() == expected[1]
    assert parses == [str(path)]


def test_default_client_resolution_parses_the_conf_once(
    sealed_environment: Path, parses: list[str]
) -> None:
    path = write_conf(sealed_environment, conf_text("secret-1", 1))
    clients = {id(client_for()) for _ in range(50)}
    assert len(clients) == 1
    assert client_for().base_url == "http://127.0.0.1:1"
    assert client_for().credentials.source == str(path)
    assert parses == [str(path)]


@pytest.mark.parametrize("backdated", [False, True], ids=["same-tick", "backdated"])
def test_edited_conf_is_seen_by_the_next_call(
    sealed_environment: Path, parses: list[str], backdated: bool
) -> None:
    # Same length each time: only the bytes, and perhaps the mtime, tell the versions apart.
    path = write_conf(sealed_environment, conf_text("secret-1", 1))
    if backdated:
        backdate(path)
    assert resolve_credentials_and_base_url() == (
        Credentials("conf-id", "secret-1"),
        "http://127.0.0.1:1",
    )
    write_conf(sealed_environment, conf_text("secret-2", 2))
    assert resolve_credentials_and_base_url() == (
        Credentials("conf-id", "secret-2"),
        "http://127.0.0.1:2",
    )
    assert resolve_credentials().app_secret == "secret-2"
    assert resolve_base_url() == "http://127.0.0.1:2"
    assert client_for().base_url == "http://127.0.0.1:2"
    assert client_for().credentials.app_secret == "secret-2"
    assert parses == [str(path), str(path)]


def test_rewrite_within_one_timestamp_tick_is_seen(
    sealed_environment: Path, parses: list[str]
) -> None:
    # On a file system with coarse timestamps (1 or 2 s) a quick rewrite of the same size keeps
    # the file's stat identity; restoring the mtime makes that happen here too.
    path = write_conf(sealed_environment, conf_text("secret-1", 1))
    before = os.stat(path)
    assert resolve_credentials().app_secret == "secret-1"
    write_conf(sealed_environment, conf_text("secret-2", 2))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_mtime_ns, after.st_size, after.st_ino) == (
        before.st_mtime_ns,
        before.st_size,
        before.st_ino,
    )
    assert resolve_credentials_and_base_url() == (
        Credentials("conf-id", "secret-2"),
        "http://127.0.0.1:2",
    )
    assert parses == [str(path), str(path)]


def test_touched_but_unchanged_conf_is_not_parsed_again(
    sealed_environment: Path, parses: list[str]
) -> None:
    path = write_conf(sealed_environment, conf_text("secret-1", 1))
    backdate(path)
    assert resolve_credentials().app_secret == "secret-1"
    os.utime(path)  # a new mtime, the same bytes
    assert resolve_credentials().app_secret == "secret-1"
    assert parses == [str(path)]


def test_deleted_conf_falls_through_and_a_new_one_is_seen(sealed_environment: Path) -> None:
    here = write_conf(sealed_environment, conf_text("cwd-secret", 1))
    home = write_conf(Path.home(), conf_text("home-secret", 2))
    backdate(here)
    found, base_url = resolve_credentials_and_base_url()
    assert (found.app_secret, found.source, base_url) == (
        "cwd-secret",
        str(here),
        "http://127.0.0.1:1",
    )
    here.unlink()
    found, base_url = resolve_credentials_and_base_url()
    assert (found.app_secret, found.source, base_url) == (
        "home-secret",
        str(home),
        "http://127.0.0.1:2",
    )
    home.unlink()
    with pytest.raises(symbl.ConfigurationError, match="No Symbl credentials found"):
        resolve_credentials_and_base_url()
    assert resolve_base_url() == DEFAULT_BASE_URL
    write_conf(sealed_environment, conf_text("new-secret", 3))
    found, base_url = resolve_credentials_and_base_url()
    assert (found.app_secret, base_url) == ("new-secret", "http://127.0.0.1:3")


@pytest.mark.parametrize(("text", "complaint"), MALFORMED_CONFS)
def test_malformed_conf_raises_on_every_call(
    sealed_environment: Path, text: str, complaint: str
) -> None:
    write_conf(sealed_environment, conf_text("secret-1", 1))
    assert resolve_credentials_and_base_url()[0].app_secret == "secret-1"
    path = write_conf(sealed_environment, text)
    for _ in range(3):
        with pytest.raises(symbl.ConfigurationError) as caught:
            resolve_credentials_and_base_url()
        assert complaint in str(caught.value)
        assert str(path) in str(caught.value)
        with pytest.raises(symbl.ConfigurationError) as caught:
            client_for()
        assert complaint in str(caught.value)
    write_conf(sealed_environment, conf_text("secret-2", 2))
    assert resolve_credentials_and_base_url()[0].app_secret == "secret-2"


def test_malformed_conf_is_parsed_again_on_every_call(
    sealed_environment: Path, parses: list[str]
) -> None:
    path = write_conf(sealed_environment, "app_id=x\napp_secret=y\n")
    backdate(path)
    for _ in range(3):
        with pytest.raises(symbl.ConfigurationError, match=r"not a valid symbl\.conf"):
            resolve_credentials()
    assert parses == [str(path)] * 3


def test_credentials_and_base_url_come_from_one_version_under_concurrent_rewrites(
    sealed_environment: Path,
) -> None:
    write_conf(sealed_environment, conf_text("secret-0", 10000))
    answers: list[tuple[str, str]] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def resolve_until_done() -> None:
        try:
            while not done.is_set():
                found, base_url = resolve_credentials_and_base_url()
                answers.append((found.app_secret, base_url))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=resolve_until_done) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        for version in range(1, 60):
            staged = sealed_environment / "symbl.conf.new"
            staged.write_text(conf_text(f"secret-{version}", 10000 + version), encoding="utf-8")
            os.replace(staged, sealed_environment / "symbl.conf")  # as editors save: atomically
            time.sleep(0.002)
    finally:
        done.set()
        for thread in threads:
            thread.join(10)
    assert not failures
    assert answers
    for secret, base_url in answers:
        version = int(secret.removeprefix("secret-"))
        assert base_url == f"http://127.0.0.1:{10000 + version}"
    assert resolve_credentials_and_base_url() == (
        Credentials("conf-id", "secret-59"),
        "http://127.0.0.1:10059",
    )
