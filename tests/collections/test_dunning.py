"""The daily run on a real database: steps by day (time-machine), blocks, promises, assignment, languages."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command

from ardesk.activities import services as acts
from ardesk.collections import selectors
from ardesk.collections import services as cs
from ardesk.collections.models import OutboxMessage
from ardesk.core.money import Money
from ardesk.ledger import services as ls
from tests.factories import ledger as lf

D = dt.date
DUE = D(2026, 3, 1)
EXPECTED = {
    -4: [],
    -3: ["email:reminder"],
    -1: [],
    0: [],
    1: ["email:notice"],
    2: [],
    10: ["call:"],
    19: [],
    20: ["email:final"],
    30: ["email:", "escalate:"],  # the escalation task and the email to bob's manager (mona)
    45: ["credit_hold:"],
    46: [],
}


def test_each_day_around_the_due_date_with_the_clock_moving(book, dunning):
    """`ardesk dunning run` without --as-of takes today's date: travel through the days."""
    lf.invoice(book.customers["beta"], "B-1", "75.50", date=D(2026, 2, 1), due=DUE)
    for day, expected in sorted(EXPECTED.items()):
        with time_machine.travel(
            dt.datetime.combine(DUE + dt.timedelta(days=day), dt.time(9), tzinfo=dt.UTC), tick=False
        ):
            out = io.StringIO()
            call_command("dunning", "run", stdout=out)
            rows = OutboxMessage.objects.filter(run_date=DUE + dt.timedelta(days=day))
            assert [f"{r.action}:{r.template_code}" for r in rows] == expected, day
    assert OutboxMessage.objects.count() == 7
    assert OutboxMessage.objects.get(action="email", template_code="").to_email == "mona@example.com"


def test_branch_letter_when_the_last_call_went_unanswered(book, dunning):
    beta = book.customers["beta"]
    lf.invoice(beta, "B-1", "75.50", date=D(2026, 2, 1), due=DUE)
    acts.log_activity(
        actor=None,
        customer=beta,
        kind="call",
        outcome="no_answer",
        occurred_at=dt.datetime(2026, 3, 15, 10, tzinfo=dt.UTC),
    )
    cs.run_dunning(actor=None, as_of=D(2026, 3, 21))
    assert list(OutboxMessage.objects.values_list("action", "status")) == [("letter", "open")]


def test_blocks_promises_and_disputes_leave_invoices_out(book, dunning):
    acme, beta, gamma = (book.customers[k] for k in ("acme", "beta", "gamma"))
    a1 = lf.invoice(acme, "A-1", "100.00", date=D(2026, 2, 1), due=DUE)
    a2 = lf.invoice(acme, "A-2", "200.00", date=D(2026, 1, 1), due=D(2026, 2, 20))
    lf.invoice(beta, "B-1", "75.50", date=D(2026, 2, 1), due=DUE)
    g1 = lf.invoice(gamma, "G-1", "10.00", date=D(2026, 2, 1), due=DUE)
    g2 = lf.invoice(gamma, "G-2", "20.00", date=D(2026, 2, 1), due=DUE)
    cs.add_block(
        actor=book.mona, customer=beta, reason="in legal review", on_date=D(2026, 2, 1), until=D(2026, 3, 31)
    )
    cs.add_block(
        actor=book.mona, customer=gamma, invoice=g2, reason="credit note coming", on_date=D(2026, 2, 1)
    )
    acts.take_promise(
        actor=None,
        customer=acme,
        amount=Money(20000, "USD"),
        promised_date=D(2026, 3, 10),
        invoices=[a2],
        occurred_at=dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC),
    )
    ticks: list[tuple[int, int]] = []
    summary = cs.run_dunning(
        actor=None,
        as_of=D(2026, 3, 2),
        chunk_size=2,
        progress=lambda done, total: ticks.append((done, total)),
    )
    assert (summary.candidates, summary.created, summary.blocked) == (3, 2, 1)
    assert ticks == [(2, 3), (3, 3)]  # one tick per chunk of candidate customers, for the progress bar
    rows = {
        r.customer.account_number: r.invoice_ids for r in OutboxMessage.objects.select_related("customer")
    }
    assert rows == {"C-100": [a1.pk], "C-300": [g1.pk]}  # A-2 promised, G-2 blocked, beta blocked
    # once the block is lifted, beta is dunned again
    state = selectors.dunning_state(beta, D(2026, 3, 2))
    assert state.blocks[0].reason == "in legal review"
    cs.lift_block(actor=book.mona, block=state.blocks[0], on_date=D(2026, 3, 5))
    assert cs.run_dunning(actor=None, as_of=D(2026, 3, 11)).by_action == {"call": 3}


def test_assignment_by_rule_override_and_champion_challenger(book, dunning):
    high = cs.save_strategy(actor=None, name="High risk")
    cs.add_step(actor=None, strategy=high, offset_days=1, action="call", name="Call at once")
    cs.add_rule(actor=None, strategy=high, priority=10, risk_class="high")
    gentle = cs.save_strategy(actor=None, name="Gentle")
    cs.add_step(
        actor=None, strategy=gentle, offset_days=5, action="email", name="Soft", template_code="reminder"
    )
    book_ = selectors.StrategyBook.load()
    acme = book.customers["acme"]
    assert book_.assign(acme, 0) == (dunning["strategy"].pk, "default")
    ls.update_customer(actor=None, customer=acme, risk_class="high")
    acme.refresh_from_db()
    assert book_.assign(acme, 0) == (high.pk, "rule 10")
    cs.set_account(actor=book.mona, customer=acme, strategy=gentle, language="DE")
    state = selectors.dunning_state(acme, D(2026, 3, 2))
    assert (state.strategy.name, state.why, state.state.language) == ("Gentle", "set on the account", "de")
    # champion/challenger on the "retail" segment: the hash decides, the same every time
    cs.start_experiment(
        actor=None,
        name="Retail test",
        segment="retail",
        champion=dunning["strategy"],
        challenger=gentle,
        started_on=D(2026, 1, 1),
    )
    arms = {}
    for n in range(6):
        c = lf.customer(f"R-{n}", f"Retail {n}", segment="retail")
        _sid, why = selectors.StrategyBook.load().assign(c, 0)
        arms[c.pk] = why
    assert all(why == f"Retail test: {cs.logic.arm(pk, 'cc')}" for pk, why in arms.items())
    assert {w.split(": ")[1] for w in arms.values()} == {"champion", "challenger"}


def test_language_variant_and_thank_you(book, dunning, smtp):
    from ardesk.collections.models import Strategy

    beta = book.customers["beta"]
    inv = lf.invoice(beta, "B-1", "75.50", date=D(2026, 2, 1), due=DUE)
    cs.set_account(actor=None, customer=beta, language="de")
    Strategy.objects.filter(pk=dunning["strategy"].pk).update(thank_you_template="thanks")
    cs.run_dunning(actor=None, as_of=D(2026, 3, 2))
    cs.send_pending(worker="w", now=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC))
    assert [m["Subject"] for m in smtp.messages] == ["Zahlungserinnerung Beta LLC"]
    pay = lf.payment(beta, "P-1", "75.50", date=D(2026, 3, 4))
    ls.apply(actor=None, invoice=inv, payment=pay, amount=Money(7550, "USD"), applied_date=D(2026, 3, 4))
    assert cs.run_dunning(actor=None, as_of=D(2026, 3, 4)).by_action == {"email": 1}
    cs.send_pending(worker="w", now=dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC))
    assert [m["Subject"] for m in smtp.messages][-1] == "Thank you"


def test_paid_before_sending_cancels_the_message(book, dunning, smtp):
    beta = book.customers["beta"]
    inv = lf.invoice(beta, "B-1", "75.50", date=D(2026, 2, 1), due=DUE)
    cs.run_dunning(actor=None, as_of=D(2026, 3, 2))
    pay = lf.payment(beta, "P-1", "75.50", date=D(2026, 3, 2))
    ls.apply(actor=None, invoice=inv, payment=pay, amount=Money(7550, "USD"), applied_date=D(2026, 3, 2))
    assert cs.send_pending(worker="w", now=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)).cancelled == 1
    assert smtp.messages == []


def test_queue_email_once_a_day_and_bad_input(book, dunning):
    beta = book.customers["beta"]
    lf.invoice(beta, "B-1", "75.50", date=D(2026, 2, 1), due=DUE)
    row = cs.queue_email(actor=book.bob, customer=beta, template_code="notice", as_of=D(2026, 3, 5))
    assert (row.step_key, row.to_email, row.status) == ("manual:notice", "ap@beta.example", "pending")
    with pytest.raises(cs.Conflict, match="already queued today"):
        cs.queue_email(actor=book.bob, customer=beta, template_code="notice", as_of=D(2026, 3, 5))
    with pytest.raises(cs.InvalidInput, match="no template 'nope'"):
        cs.queue_email(actor=book.bob, customer=beta, template_code="nope", as_of=D(2026, 3, 5))
    with pytest.raises(cs.InvalidInput, match=r"the tag \{% load %\} is not allowed"):
        cs.save_template(actor=None, code="x", language="", name="x", subject="s", body="{% load static %}")
    with pytest.raises(cs.InvalidInput, match="an email step needs an existing template"):
        cs.add_step(actor=None, strategy=dunning["strategy"], offset_days=3, action="email", name="x")
    with pytest.raises(cs.InvalidInput, match="is before today"):
        cs.add_block(actor=None, customer=beta, reason="x", on_date=D(2026, 3, 5), until=D(2026, 3, 1))


def test_champion_challenger_kpis_with_a_confidence_statement(book, dunning):
    from ardesk.collections import logic

    gentle = cs.save_strategy(actor=None, name="Gentle")
    made = []
    for n, days in enumerate([20, 25, 30, 35, 22, 40, 28, 33]):
        c = lf.customer(f"R-{n}", f"Retail {n}", segment="retail")
        inv = lf.invoice(c, f"RI-{n}", "100.00", date=D(2026, 1, 1), due=D(2026, 1, 31))
        pay = lf.payment(c, f"RP-{n}", "100.00", date=D(2026, 1, 1) + dt.timedelta(days=days))
        ls.apply(
            actor=None, invoice=inv, payment=pay, amount=Money(10000, "USD"), applied_date=pay.payment_date
        )
        lf.invoice(c, f"RO-{n}", "50.00", date=D(2026, 2, 1), due=D(2026, 3, 3 + n))
        made.append((c.pk, days))
    # a salt that puts the (database-assigned) ids in both halves; the split itself is tested in test_logic
    salt = next(f"s{i}" for i in range(100) if len({logic.arm(pk, f"s{i}") for pk, _ in made}) == 2)
    exp = cs.start_experiment(
        actor=None,
        name="Retail",
        segment="retail",
        champion=dunning["strategy"],
        challenger=gentle,
        started_on=D(2026, 1, 1),
        salt=salt,
    )
    result = selectors.experiment_result(exp, D(2026, 3, 6))
    champ = [d for pk, d in made if logic.arm(pk, salt) == "champion"]  # in invoice (id) order
    chall = [d for pk, d in made if logic.arm(pk, salt) == "challenger"]
    assert result.arms["champion"].days_to_pay == champ
    assert result.arms["challenger"].days_to_pay == chall
    assert result.arms["champion"].cash == [10000] * len(champ)
    # 2026-03-06: RO-0..RO-2 (due 03-03..03-05) are past due, the others not yet: 100% or 0% per customer
    pct = {pk: (100.0 if n < 3 else 0.0) for n, (pk, _) in enumerate(made)}
    assert sorted(result.arms["champion"].pct_past_due) == sorted(
        pct[pk] for pk, _ in made if logic.arm(pk, salt) == "champion"
    )
    # every customer paid 100.00 in the window: the cash test reads in dollars, with no difference
    assert result.tests[0][0] == "cash collected per customer"
    assert result.statements()[0].startswith(
        "cash collected per customer: challenger 100.00 USD vs champion 100.00 USD (difference +0.00 USD, "
    )
    (what, w) = result.tests[1]
    assert what == "days to pay"
    expected = logic.welch([float(d) for d in champ], [float(d) for d in chall])
    if expected is None:
        assert w is None and "too few observations" in result.statements()[1]
    else:
        assert w is not None
        assert (round(w.t, 9), round(w.df, 9), round(w.p, 9)) == (
            round(expected.t, 9),
            round(expected.df, 9),
            round(expected.p, 9),
        )
        assert result.statements()[1] == expected.statement("days to pay")
