"""The disputes API router, mounted by ardesk.api.api."""

from ninja import Router

router = Router(tags=["disputes"])
