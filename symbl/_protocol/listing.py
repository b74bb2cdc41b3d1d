"""Listing conversations (PROTOCOL.md §11.1): the query, its RSQL ``filter``, and the paging rule.

The SDK turns Python arguments into the wire query with :func:`list_query`; both the SDK and
the emulator then check that query with :func:`parse_list_query`, so a query the emulator
refuses is refused by the SDK first. :class:`Paging` states the paging rule once for every
client: it gives the next request and is told each page.

RSQL, as the service takes it: comparisons ``selector operator argument`` joined by ``;`` or
`` and `` (no OR: neither ``,`` nor `` or ``), on at most two distinct selectors. Operators are
``==`` ``!=`` ``=gt=`` ``=ge=`` ``=lt=`` ``=le=`` (and ``>`` ``>=`` ``<`` ``<=``), and ``=in=``
``=out=`` with a parenthesised list; an argument is a bare word or a quoted string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from .checks import shown
from .errors import ProtocolError
from .options import parse_timestamp, utc_text
from .request import Request

MAX_LIMIT = 65536
DEFAULT_LIMIT = 20
ORDERS = ("asc", "desc")
DEFAULT_ORDER = "asc"
DEFAULT_SORT = "conversation.startTime"
#: How far back the window reaches when ``startTime`` is not given (and no ``filter`` is).
DEFAULT_WINDOW = timedelta(days=7)
MAX_FILTER_FIELDS = 2
#: Where the items of a page are in the answer.
PAGE_KEY = "conversations"
#: The operators that compare with one argument, in their canonical spelling.
OPERATORS = {
    "==": "==",
    "!=": "!=",
    "=gt=": "=gt=",
    ">": "=gt=",
    "=ge=": "=ge=",
    ">=": "=ge=",
    "=lt=": "=lt=",
    "<": "=lt=",
    "=le=": "=le=",
    "<=": "=le=",
}
#: The operators that take a parenthesised list of arguments.
LIST_OPERATORS = ("=in=", "=out=")
METADATA_PREFIX = "conversation.metadata."

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<quoted>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<operator>==|!=|=[a-z]+=|<=|>=|<|>)
    | (?P<punctuation>[();,])
    | (?P<word>[^\s"'();,=!<>]+)
    )""",
    re.VERBOSE,
)
_SELECTOR = re.compile(r"[A-Za-z_][\w-]*(?:\.[\w-]+)*")
_ESCAPE = re.compile(r"\\(.)")
_OR_WORDS = ("or",)
_AND_WORDS = ("and",)


@dataclass(frozen=True)
class Comparison:
    """One RSQL comparison: ``selector`` (``conversation.metadata.agentId``), the canonical
    ``operator`` (``==``, ``=gt=``, ``=in=``, ...) and its arguments (one but for lists)."""

    selector: str
    operator: str
    arguments: tuple[str, ...]


@dataclass(frozen=True)
class ListQuery:
    """A checked listing query, parsed (see :func:`parse_list_query`).

    Attributes:
        limit: the page size.
        offset: items skipped before the page.
        order: ``asc`` or ``desc``.
        sort: the selectors to sort by, first first.
        start_time: the window's start, or None when not given.
        end_time: the window's end, or None when not given.
        comparisons: the ``filter``'s comparisons, all of which must hold.
        filtered: whether a ``filter`` was given (then no default window applies).
    """

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    order: str = DEFAULT_ORDER
    sort: tuple[str, ...] = (DEFAULT_SORT,)
    start_time: datetime | None = None
    end_time: datetime | None = None
    comparisons: tuple[Comparison, ...] = ()
    filtered: bool = False

    def window(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """The window on ``startTime`` this query asks for at ``now``: the one given, else
        (when there is no ``filter``) the last 7 days before ``endTime`` or now."""
        if self.filtered:
            return self.start_time, self.end_time
        end = self.end_time or now
        return self.start_time or end - DEFAULT_WINDOW, end


# --- from Python arguments ----------------------------------------------------------------------


def list_query(
    limit: Any = DEFAULT_LIMIT,
    offset: Any = 0,
    filter: Any = None,
    order: Any = None,
    sort: Any = None,
    start_time: Any = None,
    end_time: Any = None,
) -> dict[str, str]:
    """The wire query of a listing, from Python values; only what was given besides ``limit``
    and ``offset``, which are always sent. Times may be ISO-8601 text (sent unchanged) or
    timezone-aware :class:`~datetime.datetime` objects.

    Raises:
        ProtocolError: naming the argument at fault (see :func:`parse_list_query`).
    """
    query = {
        "limit": _whole_number("limit", limit),
        "offset": _whole_number("offset", offset),
    }
    given = {"filter": filter, "order": order, "sort": sort}
    given.update({"startTime": start_time, "endTime": end_time})
    for name, value in given.items():
        if value is None:
            continue
        if name in ("startTime", "endTime"):
            query[name] = _wire_time(name, value)
        elif isinstance(value, str):
            query[name] = value
        else:
            raise ProtocolError(f"{name} must be a string, not {shown(value)}", name)
    parse_list_query(query)
    return query


def _whole_number(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError(
            f"{name} must be a whole number from 0 (an int), not {shown(value)}", name
        )
    return str(value)


def _wire_time(name: str, value: Any) -> str:
    if isinstance(value, datetime):
        return utc_text(name, value)
    if isinstance(value, str):
        return value
    raise ProtocolError(
        f"{name} must be a datetime or ISO-8601 text such as 2021-08-09T18:30:00.000Z, "
        f"not {shown(value)}",
        name,
    )


# --- the wire query -----------------------------------------------------------------------------


def parse_list_query(query: Mapping[str, str], now: datetime | None = None) -> ListQuery:
    """Check a listing's wire query (§11.1) and parse it; keys it does not know are ignored
    (the service adds parameters over time).

    Args:
        query: the query parameters as text.
        now: the time to check the window against (the emulator's clock); None checks only
            that ``startTime`` is before ``endTime`` (a client's clock may be off).

    Raises:
        ProtocolError: ``limit`` not 0 to 65536, ``offset`` below 0, ``order`` not asc or desc,
            a malformed time or window, a malformed ``sort``, or a ``filter`` as
            :func:`parse_filter` refuses.
    """
    limit = _parse_count(query, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    offset = _parse_count(query, "offset", 0, None)
    order = query.get("order", DEFAULT_ORDER)
    if order not in ORDERS:
        raise ProtocolError(f"order must be asc or desc, not {shown(order)}", "order")
    start = _parse_time(query, "startTime")
    end = _parse_time(query, "endTime")
    if start is not None and end is not None and not start < end:
        raise ProtocolError(
            f"the window is empty: it starts at {query['startTime']} and ends at "
            f"{query['endTime']}; the start time must come before the end time",
            "startTime",
        )
    if now is not None and start is not None and not start < now:
        raise ProtocolError("startTime must be in the past", "startTime")
    text = query.get("filter")
    comparisons = () if text is None else parse_filter(text, "filter")
    return ListQuery(
        limit=limit,
        offset=offset,
        order=order,
        sort=_parse_sort(query.get("sort", DEFAULT_SORT)),
        start_time=start,
        end_time=end,
        comparisons=comparisons,
        filtered=text is not None,
    )


def _parse_count(query: Mapping[str, str], name: str, default: int, most: int | None) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or (most is not None and int(text) > most):
        bounds = f"from 0 to {most}" if most is not None else "from 0 up"
        raise ProtocolError(f"{name} must be a whole number {bounds}, not {shown(text)}", name)
    return int(text)


def _parse_time(query: Mapping[str, str], name: str) -> datetime | None:
    text = query.get(name)
    return None if text is None else parse_timestamp(text, name)


def _parse_sort(text: str) -> tuple[str, ...]:
    fields = tuple(part.strip() for part in text.split(","))
    if not all(_SELECTOR.fullmatch(part) for part in fields):
        raise ProtocolError(
            f"sort must name fields such as conversation.name, separated by commas; got "
            f"{shown(text)}",
            "sort",
        )
    return fields


# --- RSQL ---------------------------------------------------------------------------------------


def parse_filter(
    text: Any, name: str = "filter", *, metadata_only: bool = False
) -> tuple[Comparison, ...]:
    """Parse an RSQL ``filter`` (or a group's ``criteria``) as the service takes it: AND only,
    at most :data:`MAX_FILTER_FIELDS` distinct selectors.

    Args:
        text: the RSQL text.
        name: what it is called in messages (``filter``, ``criteria``).
        metadata_only: whether every selector must be ``conversation.metadata.<key>``.

    Raises:
        ProtocolError: not a string, malformed, an OR, or more than two fields.
    """
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError(
            f"{name} must be RSQL text such as conversation.metadata.agentId==johndoe, not "
            + shown(text),
            name,
        )
    tokens = _tokens(text, name)
    comparisons: list[Comparison] = []
    position = 0
    while True:
        comparison, position = _comparison(tokens, position, text, name)
        comparisons.append(comparison)
        if position == len(tokens):
            break
        kind, value = tokens[position]
        word = value.lower() if kind == "word" else ""
        if value == ";" or word in _AND_WORDS:
            position += 1
            continue
        if value == "," or word in _OR_WORDS:
            raise ProtocolError(
                f"{name} {shown(text)} has an OR ({value.strip()!r}); the service takes only "
                "AND (';' or ' and '): list the conversations once per alternative",
                name,
            )
        raise ProtocolError(f"{name} {shown(text)}: expected ';' or ' and ' before {value!r}", name)
    fields = list(dict.fromkeys(comparison.selector for comparison in comparisons))
    if len(fields) > MAX_FILTER_FIELDS:
        raise ProtocolError(
            f"{name} compares {len(fields)} fields ({', '.join(fields)}); the service takes at "
            f"most {MAX_FILTER_FIELDS}",
            name,
        )
    if metadata_only:
        for selector in fields:
            if not selector.startswith(METADATA_PREFIX) or selector == METADATA_PREFIX:
                raise ProtocolError(
                    f"{name} can only compare conversation.metadata.<key> fields, not {selector!r}",
                    name,
                )
    return tuple(comparisons)


def _tokens(text: str, name: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    end = len(text.rstrip())
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise ProtocolError(f"{name} {shown(text)} is not RSQL at {text[position:]!r}", name)
        kind = match.lastgroup
        value = match.group(kind)
        tokens.append((kind, value))
        position = match.end()
    return tokens


def _comparison(
    tokens: Sequence[tuple[str, str]], position: int, text: str, name: str
) -> tuple[Comparison, int]:
    def expected(what: str) -> ProtocolError:
        return ProtocolError(
            f"{name} {shown(text)}: expected {what} (e.g. conversation.metadata.agentId==johndoe)",
            name,
        )

    if position + 1 >= len(tokens):
        raise expected("a comparison")
    (kind, selector), (operator_kind, operator) = tokens[position], tokens[position + 1]
    if kind != "word" or not _SELECTOR.fullmatch(selector):
        raise expected("a field name")
    if operator_kind != "operator" or operator not in (*OPERATORS, *LIST_OPERATORS):
        raise expected("an operator (==, !=, =gt=, =ge=, =lt=, =le=, =in=, =out=)")
    position += 2
    if operator in LIST_OPERATORS:
        arguments, position = _argument_list(tokens, position, expected)
        return Comparison(selector, operator, arguments), position
    if position >= len(tokens) or tokens[position][0] not in ("word", "quoted"):
        raise expected("a value after " + operator)
    return Comparison(selector, OPERATORS[operator], (_value(*tokens[position]),)), position + 1


def _argument_list(
    tokens: Sequence[tuple[str, str]], position: int, expected: Callable[[str], ProtocolError]
) -> tuple[tuple[str, ...], int]:
    if position >= len(tokens) or tokens[position] != ("punctuation", "("):
        raise expected("a list in parentheses, like (a,b)")
    values = []
    position += 1
    while True:
        if position >= len(tokens) or tokens[position][0] not in ("word", "quoted"):
            raise expected("a value in the list")
        values.append(_value(*tokens[position]))
        if position + 1 >= len(tokens):
            raise expected("')' to close the list")
        separator = tokens[position + 1]
        position += 2
        if separator == ("punctuation", ")"):
            return tuple(values), position
        if separator != ("punctuation", ","):
            raise expected("',' or ')' in the list")


def _value(kind: str, text: str) -> str:
    return _ESCAPE.sub(r"\1", text[1:-1]) if kind == "quoted" else text


# --- paging -------------------------------------------------------------------------------------


class Paging:
    """The paging rule of §11.1, without I/O: the same query with ``offset`` = first,
    first + limit, first + 2·limit, ...; a page shorter than ``limit`` (an empty one included)
    is the last, and nothing is asked after it.

    Args:
        path: the listing's path (``/v1/conversations``, or a group's conversations).
        query: the wire query from :func:`list_query` (its ``offset`` is the first item).

    Example:
        >>> paging = Paging("/v1/conversations", list_query(limit=2))
        >>> while (request := paging.next_request()) is not None:
        ...     for item in paging.received(send(request)): ...
    """

    def __init__(self, path: str, query: Mapping[str, str]) -> None:
        self._path = path
        self._query = dict(query)
        self._limit = int(self._query.get("limit", DEFAULT_LIMIT))
        self._offset = int(self._query.get("offset", 0))
        self._done = False

    def next_request(self) -> Request | None:
        """The request for the next page, or None after the last page."""
        if self._done:
            return None
        return Request("GET", self._path, query={**self._query, "offset": str(self._offset)})

    def received(self, answer: Any) -> list[Any]:
        """The items of the page just asked for; decides whether another page follows.

        Raises:
            ProtocolError: the answer has no ``conversations`` list.
        """
        items = answer.get(PAGE_KEY) if isinstance(answer, Mapping) else None
        if not isinstance(items, list):
            raise ProtocolError(
                f"a page of the listing must be {{{PAGE_KEY!r}: [...]}}, not {shown(answer)}",
                PAGE_KEY,
            )
        self._offset += len(items)
        self._done = not items or len(items) < self._limit
        return items
