"""Host names and the lists that allow them (no HTTP here).

Two lists use this: the names a request's ``Host`` header may carry (DNS-rebinding protection),
and the hosts media URLs may be downloaded from. An entry is ``host`` (any port) or
``host:port``, with IPv6 addresses in brackets when a port follows (``[::1]:8080``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def split_host(spec: str) -> tuple[str, int | None]:
    """``"Example.com:8080"`` → ``("example.com", 8080)``; ``"[::1]"`` → ``("::1", None)``.

    Raises:
        ValueError: an empty host, or a port that is not a number from 0 to 65535.
    """
    if not isinstance(spec, str):
        raise ValueError(f"a host must be a string, not {type(spec).__name__}")
    text = spec.strip().lower()
    port_text = ""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{spec!r} is not a host: an IPv6 address goes in [brackets]")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host = text  # a name, an IPv4 address, or a bare IPv6 address (no port)
    if not host or any(char in host for char in "/?#@ \t"):
        raise ValueError(f"{spec!r} is not a host")
    if port_text == "" and not text.endswith(":"):
        return host.rstrip("."), None
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{spec!r} has no valid port")
    return host.rstrip("."), int(port_text)


def is_internal(host: str) -> bool:
    """Whether a host is this machine or a private network: ``localhost`` (and names under
    it), loopback, private, link-local and other non-global addresses."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


class HostList:
    """Hosts, each with any port or one port, and whether ``"*"`` was among them."""

    def __init__(self, specs: Iterable[str]) -> None:
        specs = list(specs)
        self.any = "*" in specs
        self._entries = {split_host(spec) for spec in specs if spec != "*"}

    def listed(self, host: str, port: int | None) -> bool:
        """Whether ``host`` (IPv6 without brackets) on ``port`` is named in the list."""
        host = host.lower().rstrip(".")
        return (host, None) in self._entries or (host, port) in self._entries
