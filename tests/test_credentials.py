"""Where credentials and the base URL come from, and in which order."""

from __future__ import annotations

from pathlib import Path

import pytest

import symbl
from symbl._credentials import (
    DEFAULT_BASE_URL,
    resolve_base_url,
    resolve_credentials,
    websocket_base_url,
)


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
    ):
        assert place in message


def test_half_set_environment_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMBL_APP_ID", "env-id")
    with pytest.raises(symbl.ConfigurationError, match="SYMBL_APP_SECRET is not"):
        resolve_credentials()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("app_id=x\napp_secret=y\n", "not a valid symbl.conf"),
        ("[credentials]\napp_id=\napp_secret=\n", "no value for app_id and app_secret"),
        ("[credentials]\napp_id=x\n", "no value for app_secret"),
        ("[credentials]\nappid=x\napp_secret=y\n", "unknown key 'appid'"),
        (
            "[api]\nbase_url=ftp://example.com\n[credentials]\napp_id=x\napp_secret=y\n",
            "not an absolute http",
        ),
    ],
)
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
