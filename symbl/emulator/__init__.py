"""A local emulator of the Symbl API: REST and both websockets, on loopback, with no account.

It serves the same paths, headers and bodies as the real service (see the protocol notes in the
docs), with deterministic behaviour and test controls under ``/_emulator/``. It needs the
``emulator`` extra: ``pip install 'symbl[emulator]'``.

Example:
    >>> import symbl
    >>> from symbl.emulator import Emulator
    >>> with Emulator() as emu:
    ...     client = symbl.Client(emu.credentials, base_url=emu.base_url)

From a shell: ``python -m symbl.emulator --port 8080``.
"""

from __future__ import annotations

from .server import Emulator, create_app
from .stores.faults import FaultRule
from .stores.requestlog import RecordedRequest
from .stores.settings import DEFAULT_APP_ID, DEFAULT_APP_SECRET, Settings

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_APP_SECRET",
    "Emulator",
    "FaultRule",
    "RecordedRequest",
    "Settings",
    "create_app",
]
