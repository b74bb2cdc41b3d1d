"""Where credentials and the base URL come from, in one stated order.

Credentials: explicit ``credentials={'app_id': ..., 'app_secret': ...}`` → the ``SYMBL_APP_ID`` /
``SYMBL_APP_SECRET`` environment variables → ``./symbl.conf`` → ``~/symbl.conf`` → the explicit
credentials remembered in this process, as the old client kept the credentials it was given for
the whole process. Explicit credentials (given to any call or client) are remembered, with the
base URL they were used with, once the service generated a token for them: a rejected pair is
never remembered. An explicit ``credentials=`` is used for its call only: remembering it never
makes a later call with other explicit credentials use it.

Base URL: explicit → ``SYMBL_BASE_URL`` → ``[api] base_url`` in the first symbl.conf that sets it →
the remembered base URL, when the credentials are the remembered ones →
``https://api.symbl.ai``. Websocket URLs are derived from it (http → ws, https → wss).

Every call looks again, so a changed environment, or a symbl.conf written, changed or deleted,
is seen by the next call. The environment is read each time; each symbl.conf is parsed once and
the result reused while the file is unchanged: a call runs one ``stat`` per file it needs (far
below one request) and parses a file again only when its modification time, size or inode changed
and its bytes differ. File timestamps can be coarser than a quick rewrite (a new secret of the same
length, written in the same tick), so while a file's modification time is less than 2 s before it
was last read, each call also compares its bytes (still no parse). A file that cannot be read or
parsed is never cached, and an unusable file raises on every call that gets to it, as before.
:func:`resolve_credentials_and_base_url` resolves both in one pass, looking at each file once.
"""

from __future__ import annotations

import configparser
import errno
import io
import os
import re
import stat
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from symbl.errors import ConfigurationError, InvalidArgumentError

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
# The unknown credentials keys an error message shows: short words, never an id or a secret.
_KEY_WORD = re.compile(r"[A-Za-z_-]{1,16}")
# How long after its modification time a symbl.conf may still change without its stat identity
# changing: file timestamps can be this coarse (2 s on FAT, 1 s on ext3 or HFS+).
_RECENT_NS = 2_000_000_000
# How many places conf_paths() searches.
_CONF_PLACES = 2
# What os.stat raises when there is simply no file there (what Path.is_file() ignores).
_ABSENT_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


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


# The source of credentials a caller gave, as a mapping or as a Credentials made by hand.
_EXPLICIT_SOURCES = frozenset({"the credentials= argument", "explicit credentials"})
_REMEMBERED_SOURCE = "credentials given earlier in this process"


@dataclass(frozen=True)
class _Remembered:
    """Explicit credentials the service accepted, and the base URL it accepted them at."""

    credentials: Credentials
    base_url: str


# The last place searched. One reference, replaced whole, so readers need no lock.
_remembered: _Remembered | None = None


def remember_accepted(credentials: Credentials, base_url: str) -> None:
    """Note that the service at ``base_url`` generated a token for ``credentials``: explicit
    ones become the remembered credentials, with that base URL (others are left alone)."""
    global _remembered
    if credentials.source not in _EXPLICIT_SOURCES:
        return
    current = _remembered
    if current is None or current.credentials != credentials or current.base_url != base_url:
        kept = Credentials(credentials.app_id, credentials.app_secret, _REMEMBERED_SOURCE)
        _remembered = _Remembered(kept, base_url)


def forget_remembered_credentials() -> None:
    """Forget the credentials given earlier in this process (for test harnesses that need a
    process with no credentials anywhere)."""
    global _remembered
    _remembered = None


def conf_paths() -> list[Path]:
    """Return the symbl.conf locations searched, in order: working directory, then home."""
    return [_conf_path(index) for index in range(_CONF_PLACES)]


# The symbl.conf Path per working directory and per home directory: building a Path costs more
# than a stat. Two threads racing here only build the same value twice.
_conf_path_in: tuple[dict[str, Path], dict[str, Path]] = ({}, {})


def _conf_path(index: int) -> Path:
    """``conf_paths()[index]``, alone: the home directory is often not needed."""
    folder = os.getcwd() if index == 0 else os.path.expanduser("~")
    seen = _conf_path_in[index]
    path = seen.get(folder)
    if path is None:
        path = (Path(folder) if index == 0 else Path.home()) / CONF_NAME
        if len(seen) >= 64:
            seen.clear()
        seen[folder] = path
    return path


def resolve_credentials(
    explicit: Mapping[str, Any] | Credentials | None = None,
) -> Credentials:
    """Find credentials in the documented order.

    Args:
        explicit: the ``credentials=`` mapping a caller passed, already resolved
            :class:`Credentials`, or None to search the environment, the symbl.conf files and
            the remembered credentials.

    Raises:
        ConfigurationError: nothing was found (the message lists every place searched), or a
            source is incomplete or malformed (the message names it and what is wrong).
        InvalidArgumentError: ``explicit`` is not a mapping with ``app_id`` and ``app_secret``.
    """
    return _credentials(explicit, _ConfFiles(), _remembered)


def resolve_base_url(explicit: str | None = None) -> str:
    """Return the REST base URL in the documented order, without a trailing slash. It does
    not know which credentials go with it, so it never gives the remembered base URL: use
    :func:`resolve_credentials_and_base_url` for a client.

    Raises:
        ConfigurationError: the URL found is not an absolute http(s) URL, or a symbl.conf
            consulted is malformed.
    """
    return _base_url(explicit, _ConfFiles())


def resolve_credentials_and_base_url(
    credentials: Mapping[str, Any] | Credentials | None = None,
    base_url: str | None = None,
) -> tuple[Credentials, str]:
    """Resolve credentials and the base URL in one pass over the sources.

    The same answers and errors as ``(resolve_credentials(credentials),
    resolve_base_url(base_url))``, credentials first, but each symbl.conf is looked at once for
    both, and remembered credentials come with their base URL when nothing else gives one.
    """
    files = _ConfFiles()
    remembered = _remembered
    found = _credentials(credentials, files, remembered)
    fallback = DEFAULT_BASE_URL
    if remembered is not None and found is remembered.credentials:
        fallback = remembered.base_url
    return found, _base_url(base_url, files, fallback)


def websocket_base_url(base_url: str) -> str:
    """Turn a REST base URL into the websocket base URL (http → ws, https → wss)."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


def _credentials(
    explicit: Mapping[str, Any] | Credentials | None,
    files: _ConfFiles,
    remembered: _Remembered | None,
) -> Credentials:
    if isinstance(explicit, Credentials):
        return explicit
    if explicit is not None:
        return _from_mapping(explicit)
    found = _from_environment()
    if found is not None:
        return found
    for index in range(_CONF_PLACES):
        conf = files.get(index)
        if conf is None:
            continue
        if conf.credentials_error:
            raise ConfigurationError(conf.credentials_error)
        if conf.credentials is not None:
            return conf.credentials
    if remembered is not None:
        return remembered.credentials
    searched = ["the credentials= argument", f"{ENV_APP_ID} / {ENV_APP_SECRET}"]
    searched += [str(files.path(index)) for index in range(_CONF_PLACES)]
    searched.append("credentials given earlier in this process (there were none)")
    raise ConfigurationError(
        "No Symbl credentials found. Searched, in order: "
        + "; ".join(searched)
        + ". Pass credentials={'app_id': ..., 'app_secret': ...}, set "
        + f"{ENV_APP_ID} and {ENV_APP_SECRET}, or write a symbl.conf with a [credentials] "
        + "section (see symbl.conf.example)."
    )


def _base_url(explicit: str | None, files: _ConfFiles, fallback: str = DEFAULT_BASE_URL) -> str:
    if explicit is not None:
        if not isinstance(explicit, str):
            raise InvalidArgumentError(
                "base_url must be a URL string such as 'https://api.symbl.ai', not a "
                + type(explicit).__name__
            )
        return _clean_base_url(explicit, "the base_url argument")
    from_env = os.environ.get(ENV_BASE_URL)
    if from_env:
        return _clean_base_url(from_env, ENV_BASE_URL)
    for index in range(_CONF_PLACES):
        conf = files.get(index)
        if conf is None:
            continue
        if conf.base_url_error:
            raise ConfigurationError(conf.base_url_error)
        if conf.base_url:
            return conf.base_url
    return fallback


def _clean_base_url(value: str, source: str) -> str:
    try:
        parts = urlsplit(value.strip())
        absolute = parts.scheme in ("http", "https") and bool(parts.netloc)
    except ValueError:  # not a URL at all, e.g. an unclosed IPv6 bracket
        absolute = False
    if not absolute:
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
                f"credentials has {_unknown_key(key)}; expected the keys 'app_id' and "
                "'app_secret': credentials={'app_id': <app id>, 'app_secret': <app secret>}"
            )
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgumentError(f"credentials[{key!r}] must be a non-empty string")
        values[name] = value.strip()
    missing = [name for name in ("app_id", "app_secret") if name not in values]
    if missing:
        raise InvalidArgumentError(f"credentials is missing {' and '.join(map(repr, missing))}")
    return Credentials(values["app_id"], values["app_secret"], "the credentials= argument")


def _unknown_key(key: Any) -> str:
    """How an error message names a credentials key it does not know. Written the way the
    documentation does (``{app_id: <app_id>, app_secret: <app_secret>}``), a key can be the
    app id or the secret itself, which are long strings of letters and digits: only a short word
    (``'appid'``, ``'region'``) is shown."""
    if not isinstance(key, str):
        return f"a key of type {type(key).__name__} (hidden: it may be a secret)"
    if _KEY_WORD.fullmatch(key):
        return f"an unknown key {key!r}"
    return f"an unknown key of {len(key)} characters (hidden: it may be a secret)"


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


@dataclass(frozen=True)
class _Conf:
    """What one symbl.conf says, checked: each value, or why it is unusable.

    An unusable value raises each time a resolution gets to it, as if the file were read then.
    """

    #: From [credentials]; None when the file has no such section or it is incomplete.
    credentials: Credentials | None
    #: Why [credentials] is unusable; "" when it is fine or absent.
    credentials_error: str
    #: ``[api] base_url``, cleaned; "" when the file does not set it or it is invalid.
    base_url: str
    #: Why ``[api] base_url`` is unusable; "" when it is fine or absent.
    base_url_error: str


@dataclass(frozen=True)
class _Parsed:
    """A parsed symbl.conf, with the bytes and ``stat`` identity it was parsed from."""

    conf: _Conf
    raw: bytes = field(repr=False)  # the whole file, secret included
    #: ``(st_mtime_ns, st_size, st_ino)`` of the file when ``raw`` was read.
    identity: tuple[int, int, int]
    #: ``time.time_ns()`` just before ``raw`` was last read (or re-read and found unchanged).
    read_ns: int


# The last good parse of each symbl.conf path. Entries are replaced whole, under the lock.
_parsed: dict[str, _Parsed] = {}
_parsed_lock = threading.Lock()


class _ConfFiles:
    """The symbl.conf files of one resolution, by their index in :func:`conf_paths`: each is
    located and loaded when first needed, and once."""

    __slots__ = ("_confs", "_paths")

    def __init__(self) -> None:
        self._paths: dict[int, Path] = {}
        self._confs: dict[int, _Conf | None] = {}

    def path(self, index: int) -> Path:
        path = self._paths.get(index)
        if path is None:
            path = self._paths[index] = _conf_path(index)
        return path

    def get(self, index: int) -> _Conf | None:
        """What the file says, or None when there is no file there."""
        if index in self._confs:
            return self._confs[index]
        conf = self._confs[index] = _load_conf(self.path(index))
        return conf


def _load_conf(path: Path) -> _Conf | None:
    """What the symbl.conf at ``path`` says, or None when there is no file there.

    One ``stat``; the file is read only when its identity changed or it changed recently, and
    parsed only when its bytes differ from the last good parse.

    Raises:
        ConfigurationError: the file cannot be read or is not a valid symbl.conf.
    """
    key = str(path)
    status: os.stat_result | None
    try:
        status = os.stat(key)
    except OSError as exc:
        if exc.errno not in _ABSENT_ERRNOS:
            raise
        status = None
    if status is None or not stat.S_ISREG(status.st_mode):
        with _parsed_lock:
            _parsed.pop(key, None)  # forget a deleted file's secret
        return None
    with _parsed_lock:
        cached = _parsed.get(key)
    if (
        cached is not None
        and cached.identity == (status.st_mtime_ns, status.st_size, status.st_ino)
        and cached.read_ns - status.st_mtime_ns >= _RECENT_NS
    ):
        return cached.conf
    read_ns = time.time_ns()
    try:
        with open(key, "rb") as handle:
            status = os.fstat(handle.fileno())
            raw = handle.read()
    except FileNotFoundError:
        return None  # deleted since the stat
    except OSError as exc:
        raise ConfigurationError(f"{path} could not be read: {exc.strerror}") from exc
    # A malformed file raises here, on every call: only good parses are kept.
    conf = cached.conf if cached is not None and cached.raw == raw else _parse_conf(raw, path)
    identity = (status.st_mtime_ns, status.st_size, status.st_ino)
    with _parsed_lock:
        _parsed[key] = _Parsed(conf, raw, identity, read_ns)
    return conf


def _parse_conf(raw: bytes, path: Path) -> _Conf:
    # No interpolation: a secret may contain '%', which the default interpolation rejects.
    parser = configparser.ConfigParser(interpolation=None)
    try:
        # Decoded as a text file opened with encoding="utf-8" would be (same newlines, errors).
        parser.read_file(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"), source=str(path))
    except (configparser.Error, UnicodeDecodeError) as exc:
        detail = str(exc).splitlines()[0]
        raise ConfigurationError(
            f"{path} is not a valid symbl.conf: {detail}. It needs INI sections, for example "
            "'[credentials]' followed by 'app_id=...' and 'app_secret=...' lines"
        ) from exc
    for section in parser.sections():
        allowed = _CONF_KEYS.get(section)
        if allowed is None:
            continue
        for key in parser[section]:
            if key not in allowed:
                raise ConfigurationError(
                    f"{path}: [{section}] has {_unknown_key(key)}; expected "
                    + " or ".join(repr(name) for name in allowed)
                )
    credentials, credentials_error = None, ""
    if parser.has_section("credentials"):
        given = parser["credentials"]
        try:
            credentials = _from_conf_credentials(
                given.get("app_id", "").strip(), given.get("app_secret", "").strip(), path
            )
        except ConfigurationError as exc:
            credentials_error = str(exc)
    base_url, base_url_error = "", ""
    value = parser["api"].get("base_url", "") if parser.has_section("api") else ""
    if value:
        try:
            base_url = _clean_base_url(value, f"[api] base_url in {path}")
        except ConfigurationError as exc:
            base_url_error = str(exc)
    return _Conf(credentials, credentials_error, base_url, base_url_error)


def _from_conf_credentials(app_id: str, app_secret: str, path: Path) -> Credentials:
    empty = [key for key, value in (("app_id", app_id), ("app_secret", app_secret)) if not value]
    if empty:
        raise ConfigurationError(
            f"{path}: [credentials] has no value for {' and '.join(empty)}; "
            "fill in the values from your Symbl platform account"
        )
    return Credentials(app_id, app_secret, str(path))
