"""A local emulator of the Symbl API: REST and both websockets, on loopback, with no account.

It serves the same paths, headers and bodies as the real service (see the protocol notes in the
docs), with deterministic behaviour and test controls under ``/_emulator/`` (behind an admin
token). It needs the ``emulator`` extra: ``pip install 'symbl[emulator]'``.

Example:
    >>> import symbl
    >>> from symbl.emulator import Emulator
    >>> with Emulator() as emu:
    ...     client = symbl.Client(emu.credentials, base_url=emu.base_url)

From a shell: ``python -m symbl.emulator --port 8080``.

The names below are imported when first used, so that a missing aiohttp is reported with the
command that installs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import Emulator, create_app
    from .stores.faults import FaultRule
    from .stores.requestlog import ADMIN_TOKEN_HEADER, RecordedRequest, fingerprint
    from .stores.settings import DEFAULT_APP_ID, DEFAULT_APP_SECRET, Settings

_HOMES = {
    "ADMIN_TOKEN_HEADER": ".stores.requestlog",
    "DEFAULT_APP_ID": ".stores.settings",
    "DEFAULT_APP_SECRET": ".stores.settings",
    "Emulator": ".server",
    "FaultRule": ".stores.faults",
    "RecordedRequest": ".stores.requestlog",
    "Settings": ".stores.settings",
    "create_app": ".server",
    "fingerprint": ".stores.requestlog",
}
__all__ = [
    "ADMIN_TOKEN_HEADER",
    "DEFAULT_APP_ID",
    "DEFAULT_APP_SECRET",
    "Emulator",
    "FaultRule",
    "RecordedRequest",
    "Settings",
    "create_app",
    "fingerprint",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(home, __name__)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "aiohttp":
            raise
        raise ImportError(
            f"the Symbl emulator needs its extra: pip install 'symbl[emulator]' ({exc})",
            name=exc.name,
        ) from exc
    return getattr(module, name)
