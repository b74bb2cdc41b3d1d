"""Smoke check run by CI on the oldest and newest Python: import, then one real round trip."""

from __future__ import annotations

import sys

import symbl
from symbl.emulator import Emulator

with Emulator() as emulator:
    client = symbl.Client(emulator.credentials, base_url=emulator.base_url)
    assert client.access_token(), "no token from the emulator"
    try:
        client.request("GET", "/v1/conversations/1")
    except symbl.NotFoundError:
        pass
    else:
        raise AssertionError("an unknown conversation must raise NotFoundError")
print(f"symbl {symbl.__version__} works on Python {sys.version.split()[0]} ({symbl.__file__})")
