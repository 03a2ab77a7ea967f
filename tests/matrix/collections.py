"""Permission-matrix rows for the collections app (see tests/matrix/base.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.matrix.base import Op, Page

P = "/collections"


def _c(o: dict[str, Any]) -> int:
    return o["customer"].pk


PAGES: list[Page] = [
    Page("collections:worklist", "get", lambda o: f"{P}/worklist/", "bob", "audrey", None),
    Page(
        "collections:log_call",
        "post",
        lambda o: f"{P}/worklist/{_c(o)}/call/",
        "bob",
        "audrey",
        "alice",
        {"outcome": "no_answer"},
    ),
    Page(
        "collections:send_email",
        "post",
        lambda o: f"{P}/worklist/{_c(o)}/email/",
        "bob",
        "audrey",
        "alice",
        {"template": "cc-notice"},
    ),
    Page(
        "collections:snooze",
        "post",
        lambda o: f"{P}/worklist/{_c(o)}/snooze/",
        "bob",
        "audrey",
        "alice",
        {"until": ""},
    ),
    # reassigning needs the reassign capability: bob has the customer but not the capability
    Page(
        "collections:reassign",
        "post",
        lambda o: f"{P}/worklist/{_c(o)}/reassign/",
        "mona",
        "bob",
        "walt",
        {"to": "alice"},
    ),
    Page(
        "collections:customer_panel",
        "get",
        lambda o: f"{P}/customers/{_c(o)}/panel/",
        "bob",
        "nobody",
        "alice",
    ),
    Page(
        "collections:block_add",
        "post",
        lambda o: f"{P}/customers/{_c(o)}/blocks/",
        "mona",
        "bob",
        "walt",
        {"reason": "legal review"},
    ),
    Page(
        "collections:account_settings",
        "post",
        lambda o: f"{P}/customers/{_c(o)}/settings/",
        "mona",
        "bob",
        "walt",
        {"language": "de"},
    ),
    Page("collections:blocks", "get", lambda o: f"{P}/blocks/", "mona", "bob", None),
    Page(
        "collections:block_lift",
        "post",
        lambda o: f"{P}/blocks/{o['dunning_block'].pk}/lift/",
        "mona",
        "bob",
        "walt",
    ),
    Page("collections:strategies", "get", lambda o: f"{P}/strategies/", "mona", "bob", None),
    Page("collections:strategy", "get", lambda o: f"{P}/strategies/{o['strategy'].pk}/", "mona", "bob", None),
    Page(
        "collections:step_delete",
        "post",
        lambda o: f"{P}/steps/{o['strategy_step'].pk}/delete/",
        "mona",
        "bob",
        None,
    ),
    Page("collections:templates", "get", lambda o: f"{P}/templates/", "mona", "bob", None),
    Page(
        "collections:template_edit",
        "get",
        lambda o: f"{P}/templates/edit/?code=cc-notice",
        "mona",
        "bob",
        None,
    ),
    Page(
        "collections:template_preview",
        "get",
        lambda o: f"{P}/templates/preview/?code=cc-notice&customer={_c(o)}",
        "mona",
        "bob",
        "walt",
    ),
    Page("collections:weights", "get", lambda o: f"{P}/weights/", "mona", "bob", None),
    Page("collections:outbox", "get", lambda o: f"{P}/outbox/", "bob", "audrey", None),
    Page(
        "collections:letter",
        "get",
        lambda o: f"{P}/outbox/{o['outbox_letter'].pk}/letter.pdf",
        "bob",
        "audrey",
        "alice",
    ),
    Page(
        "collections:task_done",
        "post",
        lambda o: f"{P}/outbox/{o['outbox_call'].pk}/done/",
        "bob",
        "audrey",
        "alice",
    ),
    Page("collections:escalations", "get", lambda o: f"{P}/escalations/", "mona", "bob", None),
    Page(
        "collections:escalation_ack",
        "post",
        lambda o: f"{P}/escalations/{o['escalation'].pk}/ack/",
        "mona",
        "bob",
        "walt",
    ),
    Page(
        "collections:escalation_resolve",
        "post",
        lambda o: f"{P}/escalations/{o['escalation'].pk}/resolve/",
        "mona",
        "bob",
        "walt",
        {"note": "agreed a plan"},
    ),
    Page("collections:holds", "get", lambda o: f"{P}/holds/", "cora", "bob", None),
    Page(
        "collections:hold_accept",
        "post",
        lambda o: f"{P}/holds/{o['hold_referral'].pk}/accept/",
        "cora",
        "bob",
        "walt",
    ),
    Page(
        "collections:hold_dismiss",
        "post",
        lambda o: f"{P}/holds/{o['hold_referral'].pk}/dismiss/",
        "cora",
        "bob",
        "walt",
        {"reason": "insured"},
    ),
    Page(
        "collections:hold_lift",
        "post",
        lambda o: f"{P}/holds/customers/{o['customer'].pk}/lift/",
        "cora",
        "bob",
        "walt",
        {"reason": "paid up"},
    ),
    Page(
        "collections:unsubscribe",
        "get",
        lambda o: f"{P}/unsubscribe/{o['unsubscribe_token']}/",
        "bob",
        None,
        None,
        public=True,
    ),
]
OPS: list[Op] = [
    Op("get", "/collections/worklist", "bob", "audrey", None),
    Op("get", "/collections/outbox", "bob", "audrey", None),
    Op("post", "/collections/bounces", "mona", "bob", None, lambda o: {"email": "gone@beta.example"}),
    Op(
        "post",
        "/collections/customers/{customer_id}/blocks",
        "mona",
        "bob",
        "walt",
        lambda o: {"reason": "legal review"},
    ),
]


def extend(objs: dict[str, Any], book: Any) -> None:
    """Add this app's objects (all on bob's customer C-200) to objs."""
    from ardesk.collections import selectors, services
    from ardesk.collections.models import AccountState, OutboxMessage, Referral

    beta = objs["customer"]
    services.save_template(
        actor=None,
        code="cc-notice",
        language="",
        name="Notice",
        subject="Past due",
        body="{% for i in invoices %}{{ i.number }}{% endfor %}",
    )
    strategy = services.save_strategy(actor=None, name="Matrix", is_default=True)
    step = services.add_step(
        actor=None, strategy=strategy, offset_days=1, action="email", name="Notice", template_code="cc-notice"
    )
    block = services.add_block(actor=None, customer=beta, reason="matrix", on_date=dt.date(2026, 1, 1))
    day = dt.date(2026, 2, 2)
    rows = {}
    for action in ("letter", "call"):
        rows[action] = OutboxMessage.objects.create(
            customer=beta,
            action=action,
            step_key=f"matrix:{action}",
            run_date=day,
            invoice_ids=[objs["invoice"].pk],
            dedup_key=f"matrix-{action}",
            status="open",
        )
    objs.update(
        strategy=strategy,
        strategy_step=step,
        dunning_block=block,
        outbox_letter=rows["letter"],
        outbox_call=rows["call"],
    )
    objs["escalation"] = Referral.objects.create(
        customer=beta, kind="escalation", manager=book.mona, invoice_ids=[objs["invoice"].pk], raised_on=day
    )
    # beta is on credit hold, so that lifting it is possible for the right persona
    AccountState.objects.update_or_create(
        customer=beta, defaults={"credit_hold": True, "credit_hold_since": day}
    )
    objs["hold_referral"] = Referral.objects.create(
        customer=beta, kind="credit_hold", invoice_ids=[objs["invoice"].pk], raised_on=day
    )
    objs["unsubscribe_token"] = selectors.unsubscribe_token("pat@beta.example")
