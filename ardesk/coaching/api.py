"""The coaching API router, mounted by ardesk.api.api."""

from ninja import Router

router = Router(tags=["coaching"])
