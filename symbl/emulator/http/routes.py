"""The emulator's one routing table: every area's routes, in one place."""

from __future__ import annotations

from aiohttp import web

from . import admin as http_admin
from . import auth as http_auth
from . import conversations as http_conversations
from . import jobs as http_async
from . import streaming as ws_streaming
from . import telephony as http_telephony

ROUTES: list[web.AbstractRouteDef] = [
    *http_auth.routes,
    *http_admin.routes,
    *http_async.routes,
    *http_conversations.routes,
    *http_telephony.routes,
    *ws_streaming.routes,
]
