"""Access tokens: generated on first use, cached, refreshed lazily, shared per account.

One :class:`TokenProvider` exists per (base URL, app id, app secret), so every client of one
account in a process shares one token, and two accounts never see each other's token. There are
no timer threads: a token is refreshed by the first call that finds it about to expire.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Callable, NamedTuple

from .credentials import Credentials

# Refresh this long before the server's expiry, capped so short test lifetimes still get used.
_MAX_REFRESH_MARGIN = 60.0
_REFRESH_MARGIN_FRACTION = 0.1


class GeneratedToken(NamedTuple):
    """What ``POST /oauth2/token:generate`` returned."""

    access_token: str
    expires_in: float


class TokenProvider:
    """Holds one account's access token and decides when to generate a new one.

    Thread-safe: when many threads need a token at once, exactly one of them generates it and
    the others wait for that result.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self.generated_count = 0

    def __repr__(self) -> str:
        state = "empty" if self._token is None else "cached"
        return f"<TokenProvider {state}, generated {self.generated_count} time(s)>"

    def token(self, generate: Callable[[], GeneratedToken]) -> str:
        """Return a valid token, calling ``generate`` only when none is cached or it is expiring."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._refresh_at:
                # Take the clock before the request: the server's lifetime starts no later.
                started = time.monotonic()
                generated = generate()
                margin = min(_MAX_REFRESH_MARGIN, generated.expires_in * _REFRESH_MARGIN_FRACTION)
                self._token = generated.access_token
                self._refresh_at = started + generated.expires_in - margin
                self.generated_count += 1
            return self._token

    def invalidate(self, rejected_token: str) -> None:
        """Forget ``rejected_token`` after the server refused it.

        A token another thread has already replaced is left alone, so a burst of 401s causes
        one regeneration, not one per request.
        """
        with self._lock:
            if self._token == rejected_token:
                self._token = None


_providers: dict[tuple[str, str, str], TokenProvider] = {}
_providers_lock = threading.Lock()


def token_provider_for(base_url: str, credentials: Credentials) -> TokenProvider:
    """Return the process-wide provider for this account at this base URL."""
    # The secret is part of the key (hashed, so it does not sit in a dict key in clear): the same
    # app id with a different secret is a different identity and must not reuse a token.
    secret_digest = hashlib.sha256(credentials.app_secret.encode("utf-8")).hexdigest()
    key = (base_url, credentials.app_id, secret_digest)
    with _providers_lock:
        provider = _providers.get(key)
        if provider is None:
            provider = _providers[key] = TokenProvider()
        return provider


def forget_tokens() -> None:
    """Drop every cached token (see ``http.reset_shared_clients``)."""
    with _providers_lock:
        _providers.clear()
