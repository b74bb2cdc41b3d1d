"""The emulator's one routing table: every area's routes, in one place."""

from __future__ import annotations

from aiohttp import web

from . import admin, auth, conversations, jobs, streaming, telephony

ROUTES: list[web.AbstractRouteDef] = [
    *auth.routes,
    *admin.routes,
    *jobs.routes,
    *conversations.routes,
    *telephony.routes,
    *streaming.routes,
]
