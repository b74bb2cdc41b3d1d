"""The emulator's doors: what keeps it safe to leave running on a laptop.

- ``Host``: a request must name the emulator by a loopback name (``localhost``,
  ``127.0.0.1``, ``[::1]``, any port), by the address it listens on, or by a name allowed at
  start (``allowed_hosts``); anything else is refused with 421. A web page that rebinds its own
  DNS name to 127.0.0.1 therefore cannot reach the emulator.
- The admin API (``/_emulator/...``) needs the admin token generated at start, in the
  ``X-Emulator-Admin-Token`` header (401 otherwise), unless the emulator was started with the
  admin API open.
- Media URLs are downloaded only from the hosts of the ``allowed_media_hosts`` setting (see
  :func:`check_media_host`).
- :class:`RequestLogger` writes one line per request, its tokens fingerprinted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from yarl import URL

from symbl.emulator.stores.hosts import LOOPBACK_NAMES, HostList, is_internal, split_host
from symbl.emulator.stores.requestlog import ADMIN_TOKEN_HEADER, redact_query_string

from .common import ADMIN_PREFIX, ApiError, Handler, error_response

ADMIN_TOKEN_MISSING = (
    "The admin API needs the emulator's admin token in the X-Emulator-Admin-Token header. The "
    "emulator prints it when it starts (`symbl emulator --json` prints it as JSON, with the "
    "address); from Python it is `Emulator.admin_token`; `--admin-token` chooses it."
)


@dataclass(frozen=True)
class Doors:
    """Who may come in.

    Attributes:
        admin_token: the token the admin API needs; None leaves the admin API open to anyone
            who can reach the port (unsafe).
        allowed_hosts: ``Host`` names allowed besides the loopback names.
    """

    admin_token: str | None
    allowed_hosts: HostList


DOORS = web.AppKey("doors", Doors)


@web.middleware
async def doors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a request with a foreign ``Host``, and an admin request without the token."""
    doors = request.app[DOORS]
    try:
        _check_host(request, doors)
        if doors.admin_token is not None and _is_admin(request):
            presented = request.headers.get(ADMIN_TOKEN_HEADER, "")
            if not secrets.compare_digest(presented.encode(), doors.admin_token.encode()):
                raise ApiError(401, ADMIN_TOKEN_MISSING)
    except ApiError as exc:
        return await error_response(request, exc)
    return await handler(request)


def _is_admin(request: web.Request) -> bool:
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else ""
    return request.path.startswith(ADMIN_PREFIX) or canonical.startswith(ADMIN_PREFIX)


def _check_host(request: web.Request, doors: Doors) -> None:
    header = request.headers.get("Host", "")
    try:
        host, port = split_host(header)
    except ValueError:
        raise ApiError(400, "The request needs a Host header naming the emulator.") from None
    if host in LOOPBACK_NAMES or doors.allowed_hosts.any or doors.allowed_hosts.listed(host, port):
        return
    raise ApiError(
        421,
        f"Host {header!r} is not allowed: the emulator answers to localhost, 127.0.0.1, [::1] "
        "and the address it listens on; allow other names with --allowed-host (or "
        "Emulator(allowed_hosts=[...])).",
    )


def check_media_host(url: str, allowed: tuple[str, ...]) -> None:
    """Refuse to download ``url`` unless its host is allowed: listed in ``allowed`` (by name
    or address, with any port or the URL's), or covered by ``"*"``, which allows every host
    but loopback, private and link-local ones (those must be listed).

    Raises:
        PermissionError: the host is not allowed (nothing was sent to it).
    """
    parsed = URL(url)
    host = (parsed.host or "").lower()
    hosts = HostList(allowed)
    if hosts.listed(host, parsed.port) or (hosts.any and not is_internal(host)):
        return
    raise PermissionError(
        f"the emulator may not download media from {host or url!r}: allow the host with the "
        "allowed_media_hosts setting (Emulator(allowed_media_hosts=[...]), --allow-media-host)"
    )


class RequestLogger(AbstractAccessLogger):
    """One line per request: client, method, path and query (tokens fingerprinted), status
    and time taken."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write the line for a finished request."""
        query = redact_query_string(request.rel_url.raw_query_string)
        target = request.rel_url.raw_path + (f"?{query}" if query else "")
        self.logger.info(
            "%s %s %s %d %.1f ms",
            request.remote or "-",
            request.method,
            target,
            response.status,
            time * 1000,
        )
