"""How the asyncio client's resources are the synchronous ones, written once.

A resource method checks its arguments, builds the request with the protocol core and returns
what its client's ``send`` returns. Bound to an :class:`~symbl._transport.async_http.
AsyncHttpClient`, whose ``send`` is a coroutine, the very same method returns an awaitable
after the very same checks. :func:`coroutine_method` turns such a method into a real coroutine
function (``inspect.iscoroutinefunction`` is true) with the same name, signature and
docstring, so ``await client.Conversations.get_messages(...)`` runs the synchronous code path
up to the I/O, and only the I/O differs.
"""

from __future__ import annotations

import functools
from collections.abc import Coroutine
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def coroutine_method(
    method: Callable[..., Any], owner: str
) -> Callable[..., Coroutine[Any, Any, Any]]:
    """``method`` (whose result, for an asyncio client, is awaitable) as an ``async def``
    method of the class named ``owner``."""

    @functools.wraps(method)
    async def awaited(*args: Any, **kwargs: Any) -> Any:
        return await method(*args, **kwargs)

    awaited.__qualname__ = f"{owner}.{method.__name__}"
    return awaited


def with_coroutines(base: type, names: tuple[str, ...]) -> Callable[[type[T]], type[T]]:
    """A class decorator: the methods ``names`` of ``base``, as coroutine methods of the class."""

    def decorate(cls: type[T]) -> type[T]:
        for name in names:
            setattr(cls, name, coroutine_method(getattr(base, name), cls.__name__))
        return cls

    return decorate
