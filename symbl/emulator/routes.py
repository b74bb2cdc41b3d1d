"""The emulator's one routing table: every area's routes, in one place."""

from __future__ import annotations

from aiohttp import web

from . import http_admin, http_async, http_auth, http_conversations, http_telephony, ws_streaming

ROUTES: list[web.AbstractRouteDef] = [
    *http_auth.routes,
    *http_admin.routes,
    *http_async.routes,
    *http_conversations.routes,
    *http_telephony.routes,
    *ws_streaming.routes,
]
