"""Permission-matrix rows for the activities app (see tests/matrix/base.py).

Objects are on bob's customer C-200: a call with a follow-up and a promise taken by bob. alice (a collector
of the same team) is outside bob's portfolio; audrey (auditor) reads but may not log; nobody has no role.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.matrix.base import Op, Page

PAGES: list[Page] = [
    Page("activities:list", "get", lambda o: "/activities/", "bob", "nobody", None),
    Page("activities:report", "get", lambda o: "/activities/report/", "bob", "nobody", None),
    Page("activities:follow_ups", "get", lambda o: "/activities/follow-ups/", "bob", "nobody", None),
    Page(
        "activities:follow_up_done",
        "post",
        lambda o: f"/activities/follow-ups/{o['activity'].pk}/done/",
        "bob",
        "audrey",
        "alice",
    ),
    Page(
        "activities:customer_panel",
        "get",
        lambda o: f"/activities/customers/{o['customer'].pk}/panel/",
        "bob",
        "nobody",
        "alice",
    ),
    Page(
        "activities:log_call",
        "post",
        lambda o: f"/activities/customers/{o['customer'].pk}/calls/",
        "bob",
        "audrey",
        "alice",
        {"outcome": "right_party", "notes": "matrix"},
    ),
    Page(
        "activities:invoice_panel",
        "get",
        lambda o: f"/activities/invoices/{o['invoice'].pk}/panel/",
        "bob",
        "nobody",
        "alice",
    ),
]

OPS: list[Op] = [
    Op("get", "/activities", "bob", "nobody", None),
    Op(
        "post",
        "/activities",
        "bob",
        "audrey",
        "alice",
        lambda o: {"customer_id": o["customer"].pk, "kind": "call", "outcome": "voicemail"},
    ),
    Op("get", "/activities/promises", "bob", "nobody", None),
    Op(
        "post",
        "/activities/promises",
        "bob",
        "audrey",
        "alice",
        lambda o: {
            "customer_id": o["customer"].pk,
            "amount": {"amount": "20.00", "currency": "USD"},
            "promised_date": "2030-01-31",
            "invoice_ids": [o["spare"].pk],
        },
    ),
    Op(
        "post",
        "/activities/promises/{promise_id}/cancel",
        "bob",
        "audrey",
        "alice",
        lambda o: {"reason": "matrix"},
    ),
]


def extend(objs: dict[str, Any], book: Any) -> None:
    """Add this app's objects (all on bob's customer C-200) to objs."""
    from ardesk.activities import services
    from ardesk.core.money import Money

    beta = objs["customer"]
    objs["activity"] = services.log_activity(
        actor=book.bob, customer=beta, kind="call", outcome="no_answer", follow_up_on=dt.date(2026, 2, 5)
    )
    objs["promise"] = services.take_promise(
        actor=book.bob,
        customer=beta,
        amount=Money(1000, "USD"),
        promised_date=dt.date(2030, 1, 31),
        invoices=[objs["spare"]],
    )
