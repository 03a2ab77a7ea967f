"""The aggregated measures (`collector_measures`, one statement per kind of fact) against a straightforward
computation: every row read into Python and counted by the definitions of DOMAIN.md / measures.py, on a
hand-built book with the awkward cases (same-day contacts by two collectors, a receipt exactly N and N+1
days after a contact, contacts without a collector, receipts in EUR converted one by one, receipts
reversed inside and after the window, notes that are not contacts, follow-ups done on the window's last
day and after it, promises resolved inside and outside the window)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from ardesk.activities import rules
from ardesk.activities.measures import CollectorMeasures, build_measures, collector_measures
from ardesk.activities.models import CONTACT_KINDS, Activity, PromiseToPay
from ardesk.core.money import Money
from ardesk.ledger.models import FxRate, Payment
from ardesk.ledger.selectors import fx_rate, organization
from tests.factories import ledger as lf

D = dt.date
TZ = dt.UTC


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def _act(customer: Any, collector: Any, kind: str, day: dt.date, **kw: Any) -> Activity:
    return Activity.objects.create(
        customer=customer,
        collector=collector,
        kind=kind,
        occurred_at=_at(day, kw.pop("hour", 10)),
        occurred_on=day,
        **kw,
    )


def _ptp(
    customer: Any, collector: Any, minor: int, cur: str, taken: dt.date, status: str, resolved: Any
) -> None:
    PromiseToPay.objects.create(
        customer=customer,
        collector=collector,
        amount_minor=minor,
        currency=cur,
        taken_on=taken,
        promised_date=taken + dt.timedelta(days=3),
        status=status,
        resolved_on=resolved,
    )


@pytest.fixture
def hand_book(book: Any) -> dict[str, Any]:
    acme, beta, gamma, delta = (book.customers[k] for k in ("acme", "beta", "gamma", "delta"))
    alice, bob, carl, mona = book.alice, book.bob, book.carl, book.mona
    FxRate.objects.create(rate_date=D(2026, 2, 1), base="EUR", quote="USD", rate=Decimal("1.0837"))
    # contacts and other activities, March 2026
    _act(acme, alice, "call", D(2026, 3, 2), outcome="right_party")
    _act(acme, alice, "call", D(2026, 3, 2), outcome="voicemail", hour=11)
    _act(acme, bob, "email_sent", D(2026, 3, 2))  # same day as alice's calls: bob (higher id?) see ties
    _act(acme, alice, "note", D(2026, 3, 9))  # not a contact
    _act(acme, alice, "letter", D(2026, 2, 20))  # before every window's start, inside the lead
    _act(beta, bob, "call", D(2026, 3, 3), outcome="right_party", follow_up_on=D(2026, 3, 4))
    _act(beta, bob, "sms", D(2026, 3, 10), follow_up_on=D(2026, 3, 12), follow_up_done_at=_at(D(2026, 3, 13)))
    _act(
        beta,
        bob,
        "meeting",
        D(2026, 3, 11),
        follow_up_on=D(2026, 3, 11),
        follow_up_done_at=_at(D(2026, 3, 20)),
    )
    _act(beta, mona, "call", D(2026, 3, 12), outcome="other_party")
    _act(beta, bob, "dispute", D(2026, 3, 12))
    _act(gamma, carl, "visit", D(2026, 3, 1))
    _act(gamma, carl, "call", D(2026, 3, 16), outcome="no_answer")
    _act(gamma, carl, "email_received", D(2026, 3, 17))  # not a contact
    _act(delta, None, "email_sent", D(2026, 3, 5), source="dunning")  # no collector: credits nobody
    _act(delta, alice, "call", D(2026, 3, 2), outcome="wrong_number")
    # receipts
    lf.payment(acme, "A-1", "100.00", date=D(2026, 3, 2))  # same day as the tie
    lf.payment(acme, "A-2", "33.33", date=D(2026, 3, 16), currency="EUR")  # 14 days after 03-02
    lf.payment(acme, "A-3", "33.33", date=D(2026, 3, 17), currency="EUR")  # 15 days: not credited at 14
    lf.payment(acme, "A-4", "10.01", date=D(2026, 3, 6), currency="EUR")
    lf.payment(beta, "B-1", "250.00", date=D(2026, 3, 12))  # mona's call and bob's sms/meeting before
    rev_in = lf.payment(beta, "B-2", "75.00", date=D(2026, 3, 13))
    rev_after = lf.payment(beta, "B-3", "80.00", date=D(2026, 3, 14))
    Payment.objects.filter(pk=rev_in.pk).update(reversed_on=D(2026, 3, 15))
    Payment.objects.filter(pk=rev_after.pk).update(reversed_on=D(2026, 4, 20))
    lf.payment(gamma, "G-1", "12.34", date=D(2026, 3, 1))
    lf.payment(gamma, "G-2", "7.77", date=D(2026, 3, 20), currency="EUR")
    lf.payment(delta, "D-1", "5.00", date=D(2026, 3, 6))  # dunning email (no collector) the day before
    lf.payment(delta, "D-2", "6.00", date=D(2026, 3, 2))  # alice's call that day
    # promises
    _ptp(acme, alice, 10000, "USD", D(2026, 3, 2), "kept", D(2026, 3, 4))
    _ptp(acme, alice, 5000, "EUR", D(2026, 3, 3), "broken", D(2026, 3, 10))
    _ptp(beta, bob, 2500, "USD", D(2026, 2, 25), "partial", D(2026, 3, 2))
    _ptp(beta, bob, 1999, "EUR", D(2026, 3, 10), "open", None)
    _ptp(beta, bob, 4000, "USD", D(2026, 3, 11), "cancelled", D(2026, 3, 12))
    _ptp(gamma, carl, 7000, "USD", D(2026, 3, 20), "kept", D(2026, 3, 31))
    return {"book": book}


# --- the straightforward computation ---------------------------------------------------------------------


def _to_base(currency: str, minor: int, on: dt.date) -> int:
    base = organization().base_currency
    if currency == base:
        return minor
    return Money(minor, currency).convert(fx_rate(currency, base, on), base).minor


def reference(ids: list[int], start: dt.date, end: dt.date, days: int) -> dict[int, CollectorMeasures]:
    """Every measure by its definition, row by row in Python."""
    counts: dict[int, dict[str, int]] = {pk: defaultdict(int) for pk in ids}
    amounts: dict[int, dict[str, int]] = {pk: defaultdict(int) for pk in ids}
    activities = list(Activity.objects.all())
    after_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=TZ)
    for a in activities:
        c = counts.get(a.collector_id or 0)
        if c is None:
            continue
        if start <= a.occurred_on <= end:
            c["calls"] += a.kind == "call"
            c["right_party_calls"] += a.kind == "call" and a.outcome == "right_party"
            c["emails_sent"] += a.kind == "email_sent"
            c["contacts"] += a.kind in CONTACT_KINDS
            c["disputes_logged"] += a.kind == "dispute"
        due = a.follow_up_on is not None and a.follow_up_on < end
        if due and (a.follow_up_done_at is None or a.follow_up_done_at >= after_end):
            c["follow_ups_overdue"] += 1
    # promises: taken in the window; resolved (kept, partial, broken) in the window
    taken_by: dict[tuple[int, str], int] = defaultdict(int)
    resolved_by: dict[tuple[int, str, str], int] = defaultdict(int)
    for p in PromiseToPay.objects.all():
        if p.collector_id not in counts:
            continue
        if start <= p.taken_on <= end:
            counts[p.collector_id]["ptps_taken"] += 1
            taken_by[(p.collector_id, p.currency)] += p.amount_minor
        if p.status in ("kept", "partial", "broken") and p.resolved_on and start <= p.resolved_on <= end:
            counts[p.collector_id][f"ptps_{p.status}"] += 1
            resolved_by[(p.collector_id, p.currency, p.status)] += p.amount_minor
    for (cid, cur), minor in taken_by.items():
        counts[cid]["ptps_taken_minor"] += _to_base(cur, minor, end)
    for (cid, cur, status), minor in resolved_by.items():
        amounts[cid][status] += _to_base(cur, minor, end)
    # receipts of the window not reversed by its end
    receipts = [
        p
        for p in Payment.objects.select_related("customer")
        if start <= p.payment_date <= end and (p.reversed_on is None or p.reversed_on > end)
    ]
    cash_by: dict[tuple[int, str], int] = defaultdict(int)
    for p in receipts:
        if p.customer.collector_id in counts:
            cash_by[(p.customer.collector_id, p.currency)] += p.amount_minor
    for (cid, cur), minor in cash_by.items():
        counts[cid]["cash_collected_minor"] += _to_base(cur, minor, end)
    # collected after contact: the latest contact (by anyone) on or before the receipt, within `days`
    contacts = [a for a in activities if a.kind in CONTACT_KINDS and a.collector_id is not None]
    for p in receipts:
        mine = [
            (a.occurred_on, a.collector_id)
            for a in contacts
            if a.customer_id == p.customer_id and a.occurred_on <= p.payment_date
        ]
        if not mine:
            continue
        day, who = max(mine)
        if (p.payment_date - day).days <= days and who in counts:
            counts[who]["collected_after_contact_minor"] += _to_base(p.currency, p.amount_minor, end)
    return {
        pk: build_measures(
            counts=counts[pk],
            contact_days=rules.working_days(start, end),
            kept_amount=amounts[pk]["kept"],
            partial_amount=amounts[pk]["partial"],
            broken_amount=amounts[pk]["broken"],
        )
        for pk in ids
    }


WINDOWS = [
    (D(2026, 3, 1), D(2026, 3, 31)),
    (D(2026, 3, 2), D(2026, 3, 2)),
    (D(2026, 3, 6), D(2026, 3, 19)),
    (D(2026, 3, 13), D(2026, 3, 15)),
    (D(2026, 3, 16), D(2026, 3, 17)),
]


@pytest.mark.parametrize("days", [0, 3, 14, 30])
@pytest.mark.parametrize(("start", "end"), WINDOWS)
def test_same_figures_as_the_straightforward_computation(hand_book, start, end, days):
    b = hand_book["book"]
    ids = [b.alice.pk, b.bob.pk, b.carl.pk, b.mona.pk, b.walt.pk]
    want = reference(ids, start, end, days)
    assert collector_measures(collector_ids=ids, start=start, end=end, collected_after_days=days) == want
    # one or two collectors take the narrower path (their contacted customers' receipts only)
    for few in ([b.alice.pk], [b.bob.pk, b.mona.pk], [b.carl.pk], [b.walt.pk]):
        got = collector_measures(collector_ids=few, start=start, end=end, collected_after_days=days)
        assert got == {pk: want[pk] for pk in few}


def test_subsets_of_collectors_give_each_the_same_figures(hand_book):
    b = hand_book["book"]
    ids = [b.alice.pk, b.bob.pk, b.carl.pk, b.mona.pk]
    start, end = D(2026, 3, 1), D(2026, 3, 31)
    together = collector_measures(collector_ids=ids, start=start, end=end)
    for pk in ids:
        assert collector_measures(collector_ids=[pk], start=start, end=end) == {pk: together[pk]}


def test_known_figures_of_the_hand_book(hand_book):
    """Values worked out by hand, so the reference itself is checked."""
    b = hand_book["book"]
    assert b.alice.pk < b.bob.pk  # 03-02: alice called acme, bob emailed acme; the higher id (bob) wins
    m = collector_measures(
        collector_ids=[b.alice.pk, b.bob.pk, b.carl.pk, b.mona.pk], start=D(2026, 3, 1), end=D(2026, 3, 31)
    )
    # acme, after 03-02's contacts (bob): A-1 100.00 the same day, A-4 10.01 EUR = 10.85 USD (4 days),
    # A-2 33.33 EUR = 36.12 USD (14 days); A-3 (15 days) is not credited
    assert m[b.bob.pk].collected_after_contact_minor == 10000 + 1085 + 3612
    # delta: D-2 6.00 on alice's call day; D-1 5.00 after a dunning email with no collector, which is no
    # one's contact, so alice's call 4 days before is the latest one
    assert m[b.alice.pk].collected_after_contact_minor == 600 + 500
    # beta: B-1 250.00 on mona's call day -> mona; B-2 reversed in the window; B-3 80.00 (reversed after
    # the end) two days after mona's call -> mona
    assert m[b.mona.pk].collected_after_contact_minor == 25000 + 8000
    # cash follows the customer's collector: bob holds beta, alice acme (the EUR receipts summed, 76.67 EUR
    # = 83.09 USD), delta is nobody's
    assert (m[b.bob.pk].cash_collected_minor, m[b.alice.pk].cash_collected_minor) == (25000 + 8000, 18309)
    # carl: G-1 12.34 on 03-01, the visit's day; G-2 7.77 EUR on 03-20, 4 days after the call = 8.42 USD
    assert m[b.carl.pk].collected_after_contact_minor == 1234 + 842
    assert (m[b.bob.pk].follow_ups_overdue, m[b.bob.pk].ptps_partial, m[b.bob.pk].ptps_taken) == (1, 1, 2)
    assert (m[b.alice.pk].ptps_kept, m[b.alice.pk].ptps_broken, m[b.alice.pk].kept_rate_count) == (
        1,
        1,
        Decimal("50.00"),
    )
