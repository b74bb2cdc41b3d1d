"""Shared fixtures: one emulator per test session, reset before every test, and a sealed
environment so no test reads the developer's real credentials or home directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import symbl
from symbl.emulator import Emulator

SYMBL_VARIABLES = ("SYMBL_APP_ID", "SYMBL_APP_SECRET", "SYMBL_BASE_URL")


def pytest_sessionstart(session: pytest.Session) -> None:
    """When the suite runs from scripts/test, prove it tests the installed package."""
    if os.environ.get("SYMBL_TEST_INSTALLED") == "1":
        source_tree = Path(__file__).resolve().parent.parent / "symbl"
        imported = Path(symbl.__file__).resolve().parent
        if imported == source_tree:
            raise pytest.UsageError(
                f"symbl was imported from the source tree ({imported}), not the installed wheel"
            )


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """A running emulator shared by the whole session (reset before each test).

    Jobs take 0.1 s here (tests about timing set their own), and streamed audio is kept for
    ``stream_audio``.
    """
    with Emulator(job_queue_seconds=0.0, job_processing_seconds=0.1, keep_stream_audio=True) as emu:
        yield emu


@pytest.fixture(autouse=True)
def sealed_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """An empty working directory and HOME, no SYMBL_ variables and no credentials remembered
    from an earlier test, for every test."""
    from symbl._transport.credentials import forget_remembered_credentials

    forget_remembered_credentials()
    home = tmp_path_factory.mktemp("home")
    work = tmp_path_factory.mktemp("work")
    for name in SYMBL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The session emulator, freshly reset, and no token or client cached from earlier tests."""
    emulator.reset()
    forget_shared_clients()
    return emulator


def forget_shared_clients() -> None:
    """Drop the SDK's process-wide clients and tokens (the emulator forgot its tokens)."""
    from symbl._transport.http import reset_shared_clients

    reset_shared_clients()


@pytest.fixture
def emu_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The emulator, with SYMBL_ variables pointing the default clients at it."""
    for name, value in emu.environ().items():
        monkeypatch.setenv(name, value)
    return emu


@pytest.fixture
def client(emu: Emulator) -> Iterator[symbl.Client]:
    """A client of the emulator with fast retries."""
    with symbl.Client(emu.credentials, base_url=emu.base_url, retry_backoff=0.01) as made:
        yield made
