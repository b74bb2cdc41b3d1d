"""Bookmarks on the wire (PROTOCOL.md §11.4): the REST requests and the checks of a bookmark.

A bookmark marks a part of a conversation, given either as a time span (``beginTimeOffset``
and ``duration``, seconds from the start) or as the messages it holds (``messageRefs``), with
a ``label``, a ``description`` and the ``user`` who made it. The SDK builds each request here;
the emulator checks what arrives with the same functions (``lenient=True`` also admits the
``{"bookmarks": [...]}`` form of a bulk body). The streaming ``bookmark_request`` frame uses the
same checks (:mod:`symbl._protocol.streaming`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .checks import check_json, field, is_number, non_empty_string, require_object, shown
from .conversations import conversation_path
from .errors import ProtocolError
from .names import camel_case
from .request import Request, segment

BOOKMARKS_SUFFIX = "/bookmarks"
BULK_SUFFIX = BOOKMARKS_SUFFIX + "/bulk"
BOOKMARK_SUFFIX = BOOKMARKS_SUFFIX + "/{bookmark_id}"
SUMMARY_SUFFIX = BOOKMARK_SUFFIX + "/summary"
SUMMARIES_SUFFIX = "/bookmarks-summary"
#: What identifies the user who made a bookmark (at least one of them).
USER_FIELDS = ("name", "userId", "email")
#: The two content forms: a time span, or the messages themselves.
SPAN_FIELDS = ("beginTimeOffset", "duration")
MESSAGE_REFS = "messageRefs"
EXAMPLE = (
    "{'label': 'Pricing', 'description': 'Customer asks about the price', "
    "'user': {'name': 'John', 'userId': 'john@example.com'}, 'beginTimeOffset': 300, "
    "'duration': 30}"
)


def bookmark_path(conversation_id: str, bookmark_id: str | None = None, suffix: str = "") -> str:
    """``/v1/conversations/{id}/bookmarks[/{bookmarkId}]``, or what ``suffix`` names below
    the conversation (one of the ``*_SUFFIX`` constants)."""
    if bookmark_id is None:
        return conversation_path(conversation_id, suffix or BOOKMARKS_SUFFIX)
    return conversation_path(
        conversation_id, (suffix or BOOKMARK_SUFFIX).format(bookmark_id=segment(bookmark_id))
    )


# --- requests -----------------------------------------------------------------------------------


def creation(conversation_id: str, bookmark: Any, where: str = "the bookmark") -> Request:
    """``POST …/bookmarks`` with one checked bookmark.

    Raises:
        ProtocolError: the bookmark breaks §11.4 (see :func:`check_bookmark`).
    """
    body = check_bookmark(bookmark, where)
    return Request("POST", bookmark_path(conversation_id), json=body)


def bulk_creation(conversation_id: str, bookmarks: Any, where: str = "bookmarks") -> Request:
    """``POST …/bookmarks/bulk`` with a JSON array of checked bookmarks.

    Raises:
        ProtocolError: not a non-empty list, or a bookmark in it breaks §11.4.
    """
    body = check_bulk(bookmarks, where)
    return Request("POST", bookmark_path(conversation_id, suffix=BULK_SUFFIX), json=body)


def listing(conversation_id: str) -> Request:
    """``GET …/bookmarks``: every bookmark of the conversation."""
    return Request("GET", bookmark_path(conversation_id))


def reading(conversation_id: str, bookmark_id: str) -> Request:
    """``GET …/bookmarks/{bookmarkId}``."""
    return Request("GET", bookmark_path(conversation_id, bookmark_id))


def update(
    conversation_id: str, bookmark_id: str, bookmark: Any, where: str = "the bookmark"
) -> Request:
    """``PUT …/bookmarks/{bookmarkId}``: the complete bookmark, which replaces the stored one
    (a field left out is removed).

    Raises:
        ProtocolError: the bookmark breaks §11.4.
    """
    body = check_bookmark(bookmark, where)
    return Request("PUT", bookmark_path(conversation_id, bookmark_id), json=body)


def deletion(conversation_id: str, bookmark_id: str) -> Request:
    """``DELETE …/bookmarks/{bookmarkId}`` (answered 204, with no body)."""
    return Request("DELETE", bookmark_path(conversation_id, bookmark_id))


def summary(conversation_id: str, bookmark_id: str) -> Request:
    """``GET …/bookmarks/{bookmarkId}/summary``."""
    return Request("GET", bookmark_path(conversation_id, bookmark_id, SUMMARY_SUFFIX))


def summaries(conversation_id: str) -> Request:
    """``GET …/bookmarks-summary``: the summary of every bookmark (no query: §11.4 (d))."""
    return Request("GET", bookmark_path(conversation_id, suffix=SUMMARIES_SUFFIX))


# --- checks -------------------------------------------------------------------------------------


def bookmark_fields(
    label: Any,
    description: Any,
    user: Any,
    begin_time_offset: Any = None,
    duration: Any = None,
    message_refs: Any = None,
) -> dict[str, Any]:
    """A bookmark from Python arguments, unchecked (see :func:`check_bookmark`): the content
    fields only when given, and message ids given as plain strings as ``{"id": ...}``."""
    body: dict[str, Any] = {"label": label, "description": description, "user": user}
    if begin_time_offset is not None:
        body["beginTimeOffset"] = begin_time_offset
    if duration is not None:
        body["duration"] = duration
    if message_refs is not None:
        body[MESSAGE_REFS] = _references(message_refs)
    return body


def check_bookmark(body: Any, where: str = "the bookmark", prefix: str = "") -> dict[str, Any]:
    """A bookmark request (§11.4), its keys in camelCase (snake_case names are accepted).

    Fields beyond the documented ones are kept as given (the service adds fields over time).

    Args:
        body: the bookmark.
        where: what to call it in messages.
        prefix: the path of the bookmark in a larger message (``bookmarks[2]``), for the field
            an error names.

    Raises:
        ProtocolError: ``label``, ``description`` or ``user`` missing or empty, not exactly one
            content form, a negative or non-numeric offset or duration, or malformed message
            references.
    """
    given = require_object(body, prefix or where, EXAMPLE)
    bookmark = {
        camel_case(key) if isinstance(key, str) else key: value for key, value in given.items()
    }
    check_json(bookmark, prefix)
    for name in ("label", "description"):
        if name not in bookmark:
            raise ProtocolError(f"{where} needs a {name!r}, e.g. {EXAMPLE}", field(prefix, name))
        if not isinstance(bookmark[name], str) or not bookmark[name].strip():
            raise ProtocolError(
                f"{field(prefix, name)} must be a non-empty string, not {shown(bookmark[name])}",
                field(prefix, name),
            )
    _check_user(bookmark.get("user"), field(prefix, "user"), where)
    _check_content(bookmark, prefix, where)
    return bookmark


def check_bulk(
    body: Any, where: str = "bookmarks", *, lenient: bool = False
) -> list[dict[str, Any]]:
    """The body of a bulk creation: a non-empty JSON array of bookmarks; leniently (the
    emulator, §11.4 (c)) also ``{"bookmarks": [...]}``.

    Raises:
        ProtocolError: naming the bookmark and field at fault.
    """
    if lenient and isinstance(body, Mapping) and set(body) == {"bookmarks"}:
        body = body["bookmarks"]
    if not isinstance(body, (list, tuple)) or not body:
        raise ProtocolError(
            f"{where} must be a non-empty list of bookmarks like {EXAMPLE}, not {shown(body)}", ""
        )
    return [
        check_bookmark(item, f"bookmark {index} of {where}", field("", index))
        for index, item in enumerate(body)
    ]


def _check_user(user: Any, path: str, where: str) -> None:
    if user is None:
        raise ProtocolError(
            f"{where} needs a 'user' who made it: {{'name': ..., 'userId': ..., 'email': ...}}",
            path,
        )
    user = require_object(user, path, "{'name': 'John', 'userId': 'john@example.com'}")
    for name in USER_FIELDS:
        if name in user and not isinstance(user[name], str):
            raise ProtocolError(
                f"{path}.{name} must be a string, not {shown(user[name])}", f"{path}.{name}"
            )
    if not any(isinstance(user.get(name), str) and user[name].strip() for name in USER_FIELDS):
        raise ProtocolError(
            f"{path} must name the user: one of {', '.join(USER_FIELDS)} at least", path
        )


def _check_content(bookmark: Mapping[str, Any], prefix: str, where: str) -> None:
    span = [name for name in SPAN_FIELDS if name in bookmark]
    has_refs = MESSAGE_REFS in bookmark
    forms = "either beginTimeOffset and duration (seconds) or messageRefs ([{'id': ...}])"
    if span and has_refs:
        raise ProtocolError(
            f"{where} has both a time span and messageRefs; give {forms}", field(prefix, span[0])
        )
    if not span and not has_refs:
        raise ProtocolError(f"{where} has no content; give {forms}", prefix)
    if span:
        missing = [name for name in SPAN_FIELDS if name not in bookmark]
        if missing:
            raise ProtocolError(
                f"{where} has {span[0]} but no {missing[0]}; a time span needs both",
                field(prefix, missing[0]),
            )
        for name in SPAN_FIELDS:
            value = bookmark[name]
            if not is_number(value) or value < 0:
                raise ProtocolError(
                    f"{field(prefix, name)} must be a number of seconds from 0 up, not "
                    + shown(value),
                    field(prefix, name),
                )
        return
    _check_references(bookmark[MESSAGE_REFS], field(prefix, MESSAGE_REFS))


def _check_references(refs: Any, path: str) -> None:
    if not isinstance(refs, (list, tuple)) or not refs:
        raise ProtocolError(
            f"{path} must be a non-empty list like [{{'id': '<messageId>'}}], not {shown(refs)}",
            path,
        )
    for index, ref in enumerate(refs):
        at = field(path, index)
        ref = require_object(ref, at, "{'id': '<messageId>'}")
        non_empty_string(f"{at}.id", ref.get("id"))


def _references(refs: Any) -> Any:
    """Message references as the wire has them: a plain id becomes ``{"id": id}``; anything
    else stays as it is, for :func:`check_bookmark` to judge."""
    if isinstance(refs, (list, tuple)):
        return [{"id": ref} if isinstance(ref, str) else ref for ref in refs]
    return refs
