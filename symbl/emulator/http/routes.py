"""The emulator's one routing table: every area's routes, in one place."""

from __future__ import annotations

from aiohttp import web

from . import admin, auth, bookmarks, conversations, groups, jobs, streaming, telephony, trackers

ROUTES: list[web.AbstractRouteDef] = [
    *auth.routes,
    *admin.routes,
    *jobs.routes,
    *conversations.routes,
    *groups.routes,
    *bookmarks.routes,
    *trackers.routes,
    *telephony.routes,
    *streaming.routes,
]
