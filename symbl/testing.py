"""A pytest plugin for your own tests: the ``symbl_emulator`` fixture.

Installed with the package (registered through the ``pytest11`` entry point), it gives each
test a fresh emulator of the Symbl API and points the SDK at it: the ``SYMBL_BASE_URL``,
``SYMBL_APP_ID`` and ``SYMBL_APP_SECRET`` environment variables are set for the test, so
``symbl.Audio``, ``symbl.Conversations`` and every other default client (and any subprocess
the test starts) talk to the emulator. One emulator serves the whole session and is reset
before each test, which is much faster than starting one per test.

Example:
    >>> def test_my_summary(symbl_emulator):
    ...     conversation = symbl.Text.process(payload={"messages": [...]})
    ...     assert my_code(conversation) == ...
    ...     assert symbl_emulator.requests("/v1/process/text")

It needs the emulator extra: ``pip install 'symbl[emulator]'``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from ._transport.credentials import forget_remembered_credentials
from ._transport.http import reset_shared_clients

if TYPE_CHECKING:
    from .emulator import Emulator


@pytest.fixture(scope="session")
def _symbl_emulator_server() -> Iterator[Emulator]:
    try:
        from .emulator import Emulator
    except ImportError as exc:
        pytest.fail(
            f"symbl_emulator needs the emulator extra: pip install 'symbl[emulator]' ({exc})"
        )
    # A test may inspect what a stream sent (stream_audio): the fixture's emulator keeps it.
    with Emulator(keep_stream_audio=True) as emulator:
        yield emulator


@pytest.fixture
def symbl_emulator(
    _symbl_emulator_server: Emulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Emulator]:
    """A fresh emulator of the Symbl API, with the SDK pointed at it for this test.

    Yields the :class:`~symbl.emulator.Emulator`: its test controls (``requests()``,
    ``configure()``, ``add_fault()``, ``set_live_transcript()``, ...) are yours to use, and
    its ``admin_token`` (``admin_headers``) opens its admin API over HTTP.
    """
    emulator = _symbl_emulator_server
    emulator.reset()
    _forget_clients_and_credentials()
    for name, value in emulator.environ().items():
        monkeypatch.setenv(name, value)
    yield emulator
    _forget_clients_and_credentials()


def _forget_clients_and_credentials() -> None:
    """Start and leave a test with no shared client, cached token or remembered credentials:
    credentials a test gave never reach the next test, nor another test's emulator."""
    reset_shared_clients()
    forget_remembered_credentials()
