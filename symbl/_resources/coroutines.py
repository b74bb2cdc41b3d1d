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
import inspect
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from typing import Concatenate, ParamSpec

    P = ParamSpec("P")

S = TypeVar("S")
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


def awaited(
    method: Callable[Concatenate[S, P], Any], returns: type[T]
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
    """``method`` as a coroutine method whose result is a ``returns`` (the asyncio client's
    own object, e.g. an AsyncConversation), for type checkers as well: ``await
    client.Text.process(...)`` is known to give an AsyncConversation, with the arguments of
    ``symbl.Text.process`` checked. Assign it in a class body; the class renames it after
    itself (:func:`name_coroutines`)."""
    function = coroutine_method(method, "?")
    signature = inspect.signature(method).replace(return_annotation=returns.__name__)
    function.__signature__ = signature  # type: ignore[attr-defined]
    return function


def name_coroutines(cls: type[T]) -> type[T]:
    """A class decorator: the coroutine methods made by :func:`awaited` in ``cls`` get
    their qualified name from it (``AsyncText.process``)."""
    for name, value in vars(cls).items():
        if getattr(value, "__qualname__", None) == f"?.{name}":
            value.__qualname__ = f"{cls.__name__}.{name}"
    return cls


def with_coroutines(base: type, names: tuple[str, ...]) -> Callable[[type[T]], type[T]]:
    """A class decorator: the methods ``names`` of ``base``, as coroutine methods of the class."""

    def decorate(cls: type[T]) -> type[T]:
        for name in names:
            setattr(cls, name, coroutine_method(getattr(base, name), cls.__name__))
        return cls

    return decorate
