"""Fixtures of the collections tests: a real SMTP server in the test process, a dunning setup."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

D = dt.date


@dataclass
class Mailbox:
    messages: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"

    def ids(self) -> list[str]:
        return sorted(m["X-Ardesk-Outbox"] for m in self.messages)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """aiosmtpd on a free port; Django's SMTP backend pointed at it."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield box
    controller.stop()


@pytest.fixture
def dunning(book):
    """A default strategy: reminder 3 days before due, first notice 1 day after, call at 10, final notice
    at 20 (a letter instead when the last call went unanswered), escalation at 30, credit hold at 45."""
    from ardesk.collections import services as cs
    from ardesk.ledger import services as ls

    body = (
        "Dear {{ contact.name }},\n{% for i in invoices %}{{ i.number }} due {{ i.due_date }}: {{ i.open }} "
        "{{ i.currency }}\n{% endfor %}Total {{ total }}\nUnsubscribe: {{ unsubscribe_url }}\n"
    )
    for code, subject in (
        ("reminder", "Reminder: {{ customer.name }}"),
        ("notice", "Past due: {{ customer.account_number }}"),
        ("final", "Final notice {{ customer.account_number }}"),
        ("thanks", "Thank you"),
    ):
        cs.save_template(actor=None, code=code, language="", name=code, subject=subject, body=body)
    cs.save_template(
        actor=None,
        code="notice",
        language="de",
        name="Mahnung",
        subject="Zahlungserinnerung {{ customer.name }}",
        body="Sehr geehrte Damen und Herren,\n{% for i in invoices %}{{ i.number }}\n{% endfor %}",
    )
    s = cs.save_strategy(actor=None, name="Standard", is_default=True)
    steps = {
        "reminder": cs.add_step(
            actor=None, strategy=s, offset_days=-3, action="email", name="Reminder", template_code="reminder"
        ),
        "notice": cs.add_step(
            actor=None, strategy=s, offset_days=1, action="email", name="Notice", template_code="notice"
        ),
        "call": cs.add_step(actor=None, strategy=s, offset_days=10, action="call", name="Call"),
        "final": cs.add_step(
            actor=None, strategy=s, offset_days=20, action="email", name="Final", template_code="final"
        ),
        "letter": cs.add_step(
            actor=None, strategy=s, offset_days=20, action="letter", name="Letter", branch="no_answer"
        ),
        "escalate": cs.add_step(actor=None, strategy=s, offset_days=30, action="escalate", name="Escalate"),
        "hold": cs.add_step(actor=None, strategy=s, offset_days=45, action="credit_hold", name="Hold"),
    }
    for key in ("acme", "beta", "gamma", "delta"):
        c = book.customers[key]
        ls.add_contact(actor=None, customer=c, name="AP", email=f"ap@{key}.example", is_primary=True)
    return {"strategy": s, "steps": steps}
