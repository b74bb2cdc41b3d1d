"""Listings that page (conversations, a group's conversations): the arguments checked at call
time, then the items fetched page by page as the caller consumes them, by the rule of
:class:`symbl._protocol.listing.Paging`, for the synchronous and the asyncio client alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import datetime
from typing import Any, Union

from symbl._protocol import listing
from symbl._protocol.errors import ProtocolError
from symbl._transport.async_http import AsyncHttpClient
from symbl._transport.http import HttpClient
from symbl.errors import InvalidArgumentError, SymblError

from .base import checked_arguments

#: What a listing's time arguments take: ISO-8601 text or a timezone-aware datetime.
TimeArgument = Union[str, datetime, None]
_WIRE_TIMES = {"startTime": "start_time", "endTime": "end_time"}


def paging(
    path: str,
    limit: Any,
    offset: Any,
    filter: Any,
    order: Any,
    sort: Any,
    start_time: Any,
    end_time: Any,
    spellings: Mapping[str, Any],
) -> listing.Paging:
    """The paging of a listing, its arguments checked (nothing is sent).

    Args:
        spellings: the wire spellings of the times (``startTime``, ``endTime``) as given.

    Raises:
        InvalidArgumentError: a bad argument, or a time given in both spellings.
    """
    times = {"start_time": start_time, "end_time": end_time}
    # A message names a time as the caller spelt it.
    aliases = dict(_WIRE_TIMES)
    for spelt, value in spellings.items():
        if value is None:
            continue
        if times[_WIRE_TIMES[spelt]] is not None:
            raise InvalidArgumentError(f"give {_WIRE_TIMES[spelt]} or {spelt}, not both")
        times[_WIRE_TIMES[spelt]] = value
        del aliases[spelt]
    with checked_arguments(aliases):
        query = listing.list_query(limit, offset, filter, order, sort, **times)
    return listing.Paging(path, query)


def pages(client: HttpClient, plan: listing.Paging) -> Iterator[Any]:
    """The items of every page, each page asked for once the one before is used up."""
    while (request := plan.next_request()) is not None:
        yield from _items(plan, client.send(request))


async def async_pages(client: AsyncHttpClient, plan: listing.Paging) -> AsyncIterator[Any]:
    """:func:`pages` for the asyncio client."""
    while (request := plan.next_request()) is not None:
        for item in _items(plan, await client.send(request)):
            yield item


def _items(plan: listing.Paging, answer: Any) -> list[Any]:
    try:
        return plan.received(answer)
    except ProtocolError as exc:
        raise SymblError(f"the service answered a listing with something else: {exc}") from None
