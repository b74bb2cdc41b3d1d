"""The emulator's accounts and access tokens (no HTTP here).

Behaves like the service (PROTOCOL.md §1): generating a token while one is still valid for the
app returns that same token with its remaining lifetime; revoking makes every token invalid.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from .settings import Settings


class InvalidAppCredentialsError(Exception):
    """The app id is unknown or the secret does not match it."""


@dataclass
class IssuedToken:
    """A token the emulator handed out."""

    value: str
    app_id: str
    expires_at: float


class TokenStore:
    """Registered apps and the tokens issued to them."""

    def __init__(
        self,
        apps: dict[str, str],
        settings: Settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.apps = dict(apps)
        self._settings = settings
        self._clock = clock
        self._by_value: dict[str, IssuedToken] = {}
        self._current: dict[str, IssuedToken] = {}
        self.generated: dict[str, int] = {}

    def add_app(self, app_id: str, app_secret: str) -> None:
        """Register (or re-key) an app."""
        self.apps[app_id] = app_secret

    def generate(self, app_id: str, app_secret: str) -> tuple[str, float]:
        """Return ``(token, expires_in)`` for valid app credentials.

        Raises:
            InvalidAppCredentialsError: unknown app id or wrong secret.
        """
        expected = self.apps.get(app_id)
        if expected is None or not secrets.compare_digest(expected, app_secret):
            raise InvalidAppCredentialsError(app_id)
        now = self._clock()
        current = self._current.get(app_id)
        if current is None or current.expires_at <= now:
            lifetime = self._settings.token_lifetime
            current = IssuedToken(self._new_token(app_id, now, lifetime), app_id, now + lifetime)
            self._current[app_id] = current
            self._by_value[current.value] = current
            self.generated[app_id] = self.generated.get(app_id, 0) + 1
        remaining = current.expires_at - now
        # Whole seconds like the service for normal lifetimes; milliseconds for short test ones.
        expires_in = float(int(remaining)) if remaining >= 60 else round(remaining, 3)
        return current.value, expires_in

    def app_for(self, token: str) -> str | None:
        """Return the app a valid token belongs to, or None if it is unknown or expired."""
        issued = self._by_value.get(token)
        if issued is None or issued.expires_at <= self._clock():
            return None
        return issued.app_id

    def revoke_all(self) -> int:
        """Invalidate every token; return how many were valid."""
        now = self._clock()
        valid = sum(1 for issued in self._by_value.values() if issued.expires_at > now)
        self._by_value.clear()
        self._current.clear()
        return valid

    def _new_token(self, app_id: str, now: float, lifetime: float) -> str:
        # Shaped like the service's JWTs, since clients may decode the ``exp`` claim.
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {
            "sub": app_id,
            "iat": int(now),
            "exp": int(now + lifetime),
            "jti": secrets.token_hex(8),
        }
        return ".".join(
            [
                _b64(json.dumps(header).encode()),
                _b64(json.dumps(claims).encode()),
                _b64(secrets.token_bytes(32)),
            ]
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
