"""Permission-matrix rows for the disputes app (see tests/matrix/base.py).

The objects sit on bob's customer C-200: `dispute` (20.00 of INV-B1, owned by rita, a resolver in
billing), `dispute_done` (resolved invalid, owned by rita) and `dispute_file` (an attachment of `dispute`).
rita sees them as the assigned resolver; sam, a resolver they are not assigned to, gets 404; alice (another
portfolio) gets 404; audrey (auditor) reads but may not work them (403); bob (collector) works them but may
not resolve (403); a resolver gets 403 on the customer panel (no ledger access).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.matrix.base import Op, Page

D = dt.date


class _Pdf:
    """An upload the test client can send again and again (a real file would be read once)."""

    name = "pod.pdf"

    def read(self) -> bytes:
        return b"%PDF-1.4 proof of delivery"


def _d(o: dict[str, Any]) -> int:
    return o["dispute"].pk


PAGES: list[Page] = [
    Page("disputes:queue", "get", lambda o: "/disputes/", "bob", "nobody", None),
    Page("disputes:reports", "get", lambda o: "/disputes/reports/", "bob", "nobody", None),
    Page("disputes:detail", "get", lambda o: f"/disputes/{_d(o)}/", "rita", "nobody", "sam"),
    Page(
        "disputes:open", "get", lambda o: f"/disputes/open/?invoice={o['spare'].pk}", "bob", "audrey", "alice"
    ),
    Page(
        "disputes:assign",
        "post",
        lambda o: f"/disputes/{_d(o)}/assign/",
        "bob",
        "audrey",
        "alice",
        {"owner": "", "department": "billing"},
    ),
    Page(
        "disputes:status",
        "post",
        lambda o: f"/disputes/{_d(o)}/status/",
        "rita",
        "audrey",
        "sam",
        {"status": "in_research", "note": ""},
    ),
    Page(
        "disputes:note",
        "post",
        lambda o: f"/disputes/{_d(o)}/note/",
        "rita",
        "audrey",
        "sam",
        {"body": "matrix"},
    ),
    Page(
        "disputes:attach",
        "post",
        lambda o: f"/disputes/{_d(o)}/attach/",
        "rita",
        "audrey",
        "sam",
        {"file": _Pdf()},
    ),
    Page(
        "disputes:attachment",
        "get",
        lambda o: f"/disputes/attachments/{o['dispute_file'].pk}/",
        "rita",
        "nobody",
        "sam",
    ),
    Page(
        "disputes:resolve",
        "post",
        lambda o: f"/disputes/{_d(o)}/resolve/",
        "rita",
        "bob",
        "sam",
        {
            "resolution": "invalid",
            "root_cause": "customer_error",
            "valid_amount": "",
            "on_date": "2026-02-10",
            "note": "",
        },
    ),
    Page(
        "disputes:close",
        "post",
        lambda o: f"/disputes/{o['dispute_done'].pk}/close/",
        "rita",
        "bob",
        "sam",
        {},
    ),
    Page(
        "disputes:reopen",
        "post",
        lambda o: f"/disputes/{o['dispute_done'].pk}/reopen/",
        "rita",
        "bob",
        "sam",
        {"reason": "matrix"},
    ),
    Page(
        "disputes:customer_panel",
        "get",
        lambda o: f"/disputes/panels/customer/{o['customer'].pk}/",
        "bob",
        "rita",
        "alice",
    ),
    Page(
        "disputes:invoice_panel",
        "get",
        lambda o: f"/disputes/panels/invoice/{o['invoice'].pk}/",
        "rita",
        "nobody",
        "sam",
    ),
]

ON = "2026-02-10"
OPS: list[Op] = [
    Op("get", "/disputes", "bob", "nobody", None),
    Op(
        "post",
        "/disputes",
        "bob",
        "audrey",
        "alice",
        lambda o: {
            "customer_id": o["customer"].pk,
            "lines": [{"invoice_id": o["spare"].pk, "amount": {"amount": "5.00", "currency": "USD"}}],
            "reason": "pricing",
            "opened_on": ON,
        },
    ),
    Op("get", "/disputes/{dispute_id}", "rita", "nobody", "sam"),
    Op(
        "post",
        "/disputes/{dispute_id}/assign",
        "bob",
        "audrey",
        "alice",
        lambda o: {"owner": "sam", "on_date": ON},
    ),
    Op(
        "post",
        "/disputes/{dispute_id}/status",
        "rita",
        "audrey",
        "sam",
        lambda o: {"status": "in_research", "on_date": ON},
    ),
    Op(
        "post",
        "/disputes/{dispute_id}/resolve",
        "rita",
        "bob",
        "sam",
        lambda o: {"resolution": "invalid", "root_cause": "customer_error", "on_date": ON},
    ),
]


def extend(objs: dict[str, Any], book: Any) -> None:
    """Add this app's objects (all on bob's customer C-200) to objs."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ardesk.core.money import Money
    from ardesk.disputes import services

    beta = objs["customer"]
    dispute = services.open_dispute(
        actor=book.bob,
        customer=beta,
        lines=[services.LineIn(objs["invoice"], Money(2000, "USD"))],
        reason="pricing",
        opened_on=D(2026, 2, 5),
        owner=book.rita,
        department="billing",
    )
    done = services.open_dispute(
        actor=book.bob,
        customer=beta,
        lines=[services.LineIn(objs["invoice"], Money(1000, "USD"))],
        reason="tax",
        opened_on=D(2026, 2, 5),
        owner=book.rita,
    )
    services.resolve(
        actor=book.rita,
        dispute=done,
        resolution="invalid",
        root_cause="customer_error",
        on_date=D(2026, 2, 6),
    )
    upload = SimpleUploadedFile("claim.pdf", b"%PDF-1.4 claim", content_type="application/pdf")
    objs["dispute"] = dispute
    objs["dispute_done"] = done
    objs["dispute_file"] = services.add_attachment(
        actor=book.bob, dispute=dispute, upload=upload, on_date=D(2026, 2, 5)
    )
