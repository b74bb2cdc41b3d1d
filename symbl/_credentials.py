"""Where credentials and the base URL come from, in one stated order.

Credentials: explicit ``credentials={'app_id': ..., 'app_secret': ...}`` → the ``SYMBL_APP_ID`` /
``SYMBL_APP_SECRET`` environment variables → ``./symbl.conf`` → ``~/symbl.conf``.

Base URL: explicit → ``SYMBL_BASE_URL`` → ``[api] base_url`` in the first symbl.conf that sets it →
``https://api.symbl.ai``. Websocket URLs are derived from it (http → ws, https → wss).

Nothing here is cached: every call looks again, so a changed environment or a newly written
symbl.conf is seen by the next call. That costs a few ``stat`` calls, far below one request.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigurationError, InvalidArgumentError

DEFAULT_BASE_URL = "https://api.symbl.ai"
CONF_NAME = "symbl.conf"
ENV_APP_ID = "SYMBL_APP_ID"
ENV_APP_SECRET = "SYMBL_APP_SECRET"
ENV_BASE_URL = "SYMBL_BASE_URL"

# Keys allowed in each section of symbl.conf; anything else is reported as a likely typo.
_CONF_KEYS = {"credentials": ("app_id", "app_secret"), "api": ("base_url",)}
# Spellings accepted in an explicit credentials mapping, mapped to our field names.
_CREDENTIAL_KEYS = {
    "app_id": "app_id",
    "appId": "app_id",
    "app_secret": "app_secret",
    "appSecret": "app_secret",
}


@dataclass(frozen=True)
class Credentials:
    """An app id and app secret, with the place they were found.

    The secret never appears in ``repr`` or ``str``.
    """

    app_id: str
    app_secret: str = field(repr=False)
    source: str = field(default="explicit credentials", compare=False)

    def __repr__(self) -> str:
        return f"Credentials(app_id={self.app_id!r}, app_secret='***', source={self.source!r})"


def conf_paths() -> list[Path]:
    """Return the symbl.conf locations searched, in order: working directory, then home."""
    return [Path.cwd() / CONF_NAME, Path.home() / CONF_NAME]


def resolve_credentials(
    explicit: Mapping[str, Any] | Credentials | None = None,
) -> Credentials:
    """Find credentials in the documented order.

    Args:
        explicit: the ``credentials=`` mapping a caller passed (or already resolved
            :class:`Credentials`), or None to search the environment and symbl.conf files.

    Raises:
        ConfigurationError: nothing was found (the message lists every place searched), or a
            source is incomplete or malformed (the message names it and what is wrong).
        InvalidArgumentError: ``explicit`` is not a mapping with ``app_id`` and ``app_secret``.
    """
    if isinstance(explicit, Credentials):
        return explicit
    if explicit is not None:
        return _from_mapping(explicit)
    found = _from_environment()
    if found is not None:
        return found
    for path in conf_paths():
        parser = _read_conf(path)
        if parser is not None and parser.has_section("credentials"):
            return _from_conf_section(parser, path)
    searched = ["the credentials= argument", f"{ENV_APP_ID} / {ENV_APP_SECRET}"]
    searched += [str(path) for path in conf_paths()]
    raise ConfigurationError(
        "No Symbl credentials found. Searched, in order: "
        + "; ".join(searched)
        + ". Pass credentials={'app_id': ..., 'app_secret': ...}, set "
        + f"{ENV_APP_ID} and {ENV_APP_SECRET}, or write a symbl.conf with a [credentials] "
        + "section (see symbl.conf.example)."
    )


def resolve_base_url(explicit: str | None = None) -> str:
    """Return the REST base URL in the documented order, without a trailing slash.

    Raises:
        ConfigurationError: the URL found is not an absolute http(s) URL.
    """
    if explicit is not None:
        return _clean_base_url(explicit, "the base_url argument")
    from_env = os.environ.get(ENV_BASE_URL)
    if from_env:
        return _clean_base_url(from_env, ENV_BASE_URL)
    for path in conf_paths():
        parser = _read_conf(path)
        value = parser["api"].get("base_url", "") if parser and parser.has_section("api") else ""
        if value:
            return _clean_base_url(value, f"[api] base_url in {path}")
    return DEFAULT_BASE_URL


def websocket_base_url(base_url: str) -> str:
    """Turn a REST base URL into the websocket base URL (http → ws, https → wss)."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


def _clean_base_url(value: str, source: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{source} is {value!r}, which is not an absolute http(s) URL; "
            "expected something like https://api.symbl.ai or http://127.0.0.1:8080"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{source} must not carry a query or fragment: {value!r}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _from_mapping(explicit: Mapping[str, Any]) -> Credentials:
    if not isinstance(explicit, Mapping):
        raise InvalidArgumentError(
            "credentials must be a dict like {'app_id': '...', 'app_secret': '...'}, "
            f"not {type(explicit).__name__}"
        )
    values: dict[str, str] = {}
    for key, value in explicit.items():
        name = _CREDENTIAL_KEYS.get(key)
        if name is None:
            raise InvalidArgumentError(
                f"credentials has an unknown key {key!r}; expected 'app_id' and 'app_secret'"
            )
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgumentError(f"credentials[{key!r}] must be a non-empty string")
        values[name] = value.strip()
    missing = [name for name in ("app_id", "app_secret") if name not in values]
    if missing:
        raise InvalidArgumentError(f"credentials is missing {' and '.join(map(repr, missing))}")
    return Credentials(values["app_id"], values["app_secret"], "the credentials= argument")


def _from_environment() -> Credentials | None:
    app_id = os.environ.get(ENV_APP_ID, "").strip()
    app_secret = os.environ.get(ENV_APP_SECRET, "").strip()
    if not app_id and not app_secret:
        return None
    if not app_id or not app_secret:
        present, absent = (ENV_APP_ID, ENV_APP_SECRET) if app_id else (ENV_APP_SECRET, ENV_APP_ID)
        raise ConfigurationError(
            f"{present} is set but {absent} is not; set both, or unset {present} to use symbl.conf"
        )
    return Credentials(app_id, app_secret, "the environment")


def _read_conf(path: Path) -> configparser.ConfigParser | None:
    """Parse a symbl.conf, or return None when there is no file at ``path``."""
    if not path.is_file():
        return None
    # No interpolation: a secret may contain '%', which the default interpolation rejects.
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except (configparser.Error, UnicodeDecodeError) as exc:
        detail = str(exc).splitlines()[0]
        raise ConfigurationError(
            f"{path} is not a valid symbl.conf: {detail}. It needs INI sections, for example "
            "'[credentials]' followed by 'app_id=...' and 'app_secret=...' lines"
        ) from exc
    except OSError as exc:
        raise ConfigurationError(f"{path} could not be read: {exc.strerror}") from exc
    for section in parser.sections():
        allowed = _CONF_KEYS.get(section)
        if allowed is None:
            continue
        for key in parser[section]:
            if key not in allowed:
                raise ConfigurationError(
                    f"{path}: unknown key {key!r} in [{section}]; expected "
                    + " or ".join(repr(name) for name in allowed)
                )
    return parser


def _from_conf_section(parser: configparser.ConfigParser, path: Path) -> Credentials:
    section = parser["credentials"]
    app_id = section.get("app_id", "").strip()
    app_secret = section.get("app_secret", "").strip()
    empty = [key for key, value in (("app_id", app_id), ("app_secret", app_secret)) if not value]
    if empty:
        raise ConfigurationError(
            f"{path}: [credentials] has no value for {' and '.join(empty)}; "
            "fill in the values from your Symbl platform account"
        )
    return Credentials(app_id, app_secret, str(path))
