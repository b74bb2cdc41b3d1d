"""Fixtures for tests that drive the emulator as a server, with raw HTTP and websockets."""

from __future__ import annotations

import pytest
import requests

from symbl.emulator import Emulator


@pytest.fixture
def token(emu: Emulator) -> str:
    """An access token of the emulator's first app, generated with a plain HTTP request."""
    answer = requests.post(
        emu.base_url + "/oauth2/token:generate",
        json={"type": "application", "appId": emu.app_id, "appSecret": emu.app_secret},
        timeout=5,
    )
    return str(answer.json()["accessToken"])
