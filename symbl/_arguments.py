"""Checks of plain Python arguments that every layer shares (the wire's own checks are in
:mod:`symbl._protocol`)."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar, cast

from ._protocol.checks import shown
from .errors import InvalidArgumentError

F = TypeVar("F", bound=Callable[..., Any])


def checked_flag(name: str, value: Any) -> bool:
    """``value`` if it is True or False; anything else (``"yes"``, 1, None) is refused."""
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be True or False, not {shown(value)}")
    return value


def aliases(**spellings: str) -> Callable[[F], F]:
    """A decorator: the function also takes other spellings of some keyword arguments, as
    ``@aliases(phoneNumber="phone_number")`` lets ``start_pstn(phoneNumber=...)`` mean
    ``start_pstn(phone_number=...)``. The documented pages and the old client spell some
    arguments differently from our names; both work.

    The signature type checkers and ``inspect`` see is the function's own, with our names.

    Raises:
        InvalidArgumentError: (from the decorated function) an argument given under two
            spellings.
    """

    def decorate(function: F) -> F:
        parameters = list(inspect.signature(function).parameters.values())
        positions = {
            parameter.name: index
            for index, parameter in enumerate(parameters)
            if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        }
        unknown = set(spellings.values()) - {parameter.name for parameter in parameters}
        if unknown:
            raise ValueError(f"{function.__qualname__} has no parameter {sorted(unknown)}")

        @functools.wraps(function)
        def accepting(*args: Any, **kwargs: Any) -> Any:
            for alias, name in spellings.items():
                if alias not in kwargs:
                    continue
                if name in kwargs or positions.get(name, len(args)) < len(args):
                    raise InvalidArgumentError(
                        f"{function.__name__}() got {name} twice, as {name} and as {alias} "
                        f"(another spelling of {name}); give it once"
                    )
                kwargs[name] = kwargs.pop(alias)
            return function(*args, **kwargs)

        return cast(F, accepting)

    return decorate
