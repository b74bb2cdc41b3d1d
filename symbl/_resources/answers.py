"""What a resource method returns, written once for both clients.

A resource method returns what its client's ``send`` returns, which for the asyncio client is
an awaitable (:mod:`.coroutines`). :func:`shaped` keeps that so when the answer is put in shape
(a member taken out, a documented variant made regular): at once, or once it is awaited.
:func:`listed` pages a listing with an iterator, or an async iterator for the asyncio client.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, TypeVar, cast, overload

from symbl._protocol import listing
from symbl._protocol.checks import shown
from symbl._protocol.request import Request
from symbl._transport.async_http import AsyncHttpClient
from symbl._transport.http import HttpClient
from symbl.errors import SymblError

from .listing import async_pages, pages

if TYPE_CHECKING:
    from typing import Concatenate, ParamSpec

    P = ParamSpec("P")

S = TypeVar("S")
T = TypeVar("T")


def shaped(answer: Any, shape: Callable[[Any], T]) -> T:
    """``shape(answer)``; for an awaitable answer, an awaitable of it."""
    if inspect.isawaitable(answer):
        return cast(T, _shaped_later(answer, shape))
    return shape(answer)


async def _shaped_later(answer: Awaitable[Any], shape: Callable[[Any], T]) -> T:
    return shape(await answer)


def member(key: str) -> Callable[[Any], Any]:
    """A shape: the answer's ``key``, e.g. the tracker of ``{"tracker": {...}}`` or the list of
    ``{"trackers": [...]}``. An object answered bare (it has an ``id``) is taken as it is.

    Raises (when applied):
        SymblError: the answer has neither.
    """

    def taken(answer: Any) -> Any:
        if isinstance(answer, Mapping):
            if key in answer:
                return answer[key]
            if "id" in answer:
                return answer
        raise SymblError(f"the service answered without {key!r}: {shown(answer)}")

    return taken


def member_of(client: HttpClient, request: Request, key: str) -> Any:
    """``request`` sent, and the answer's ``key`` (:func:`member`), awaitable for the asyncio
    client."""
    return shaped(client.send(request), member(key))


@overload
def listed(client: AsyncHttpClient, plan: listing.Paging) -> AsyncIterator[Any]: ...


@overload
def listed(client: HttpClient, plan: listing.Paging) -> Iterator[Any]: ...


def listed(
    client: HttpClient | AsyncHttpClient, plan: listing.Paging
) -> Iterator[Any] | AsyncIterator[Any]:
    """The items of a listing whose arguments ``plan`` holds, fetched a page at a time as the
    caller consumes them: an async iterator for the asyncio client."""
    if isinstance(client, AsyncHttpClient):
        return async_pages(client, plan)
    return pages(client, plan)


def async_listing(
    method: Callable[Concatenate[S, P], Iterator[Any]],
) -> Callable[Concatenate[S, P], AsyncIterator[Any]]:
    """A listing method as the asyncio client's resources have it, for type checkers: the same
    arguments, and an async iterator (the very same code gives one there, see :func:`listed`)."""
    return cast("Callable[Concatenate[S, P], AsyncIterator[Any]]", method)
