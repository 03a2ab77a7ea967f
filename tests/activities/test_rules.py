"""The pure rules of the activity log: promise verdicts and the activity rates (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ardesk.activities import rules
from ardesk.activities.measures import CollectorMeasures, build_measures

D = dt.date
TAKEN, DEADLINE = D(2026, 3, 2), D(2026, 3, 13)  # promised 2026-03-10 + 3 grace days


def judge(as_of, money, amount=10000):
    return rules.judge_promise(
        amount_minor=amount, taken_on=TAKEN, deadline=DEADLINE, as_of=as_of, money=money
    )


def test_deadline_adds_grace_days():
    assert rules.promise_deadline(D(2026, 3, 10), 3) == D(2026, 3, 13)
    assert rules.promise_deadline(D(2026, 3, 10), 0) == D(2026, 3, 10)


def test_kept_as_soon_as_fully_paid_even_before_the_promised_date():
    v = judge(D(2026, 3, 20), [(D(2026, 3, 4), 6000), (D(2026, 3, 6), 4000)])
    assert v == rules.Verdict("kept", 10000, D(2026, 3, 6))
    assert judge(D(2026, 3, 6), [(D(2026, 3, 4), 6000), (D(2026, 3, 6), 4000)]).status == "kept"


def test_payment_on_the_last_grace_day_counts_the_day_after_does_not():
    assert judge(D(2026, 3, 20), [(D(2026, 3, 13), 10000)]) == rules.Verdict("kept", 10000, D(2026, 3, 13))
    assert judge(D(2026, 3, 20), [(D(2026, 3, 14), 10000)]) == rules.Verdict("broken", 0, D(2026, 3, 14))


def test_open_until_the_deadline_has_passed():
    assert judge(D(2026, 3, 13), [(D(2026, 3, 5), 4000)]) == rules.Verdict("open", 4000, None)
    assert judge(D(2026, 3, 14), [(D(2026, 3, 5), 4000)]) == rules.Verdict("partial", 4000, D(2026, 3, 14))
    assert judge(D(2026, 3, 14), []) == rules.Verdict("broken", 0, D(2026, 3, 14))


def test_money_before_the_promise_or_after_as_of_does_not_count():
    money = [(D(2026, 3, 1), 10000), (D(2026, 3, 9), 10000)]
    assert judge(D(2026, 3, 8), money) == rules.Verdict("open", 0, None)
    assert judge(D(2026, 3, 9), money).status == "kept"


def test_a_reversal_takes_a_kept_promise_back():
    money = [(D(2026, 3, 4), 10000), (D(2026, 3, 5), -10000)]
    assert judge(D(2026, 3, 20), money) == rules.Verdict("broken", 0, D(2026, 3, 14))


def test_status_only_moves_forward():
    assert rules.may_move("open", "broken") and rules.may_move("broken", "partial")
    assert rules.may_move("partial", "kept") and rules.may_move("broken", "kept")
    assert not rules.may_move("broken", "open") and not rules.may_move("partial", "broken")
    assert not rules.may_move("cancelled", "kept") and not rules.may_move("open", "open")


def test_rates_round_half_even_to_a_hundredth():
    assert rules.pct(1, 3) == Decimal("33.33")
    assert rules.pct(2, 3) == Decimal("66.67")
    assert rules.pct(1, 8) == Decimal("12.50")
    assert rules.pct(0, 0) is None
    assert rules.per_day(10, 4) == Decimal("2.50")
    assert rules.per_day(1, 8) == Decimal("0.12")  # 0.125 -> half even
    assert rules.per_day(3, 0) == Decimal("0.00")


def test_working_days():
    assert rules.working_days(D(2026, 3, 2), D(2026, 3, 8)) == 5  # Monday .. Sunday
    assert rules.working_days(D(2026, 3, 1), D(2026, 3, 31)) == 22
    assert rules.working_days(D(2026, 3, 7), D(2026, 3, 8)) == 0  # a weekend
    assert rules.working_days(D(2026, 3, 8), D(2026, 3, 7)) == 0


def test_kept_rates_by_count_and_amount():
    assert rules.kept_rates(3, 1, 1, 30000, 5000, 15000) == (Decimal("60.00"), Decimal("60.00"))
    assert rules.kept_rates(1, 0, 2, 10000, 0, 30000) == (Decimal("33.33"), Decimal("25.00"))
    assert rules.kept_rates(0, 0, 0, 0, 0, 0) == (None, None)


def test_collected_after_contact_goes_to_the_latest_contact_within_the_window():
    contacts = {1: [(D(2026, 3, 1), 7), (D(2026, 3, 10), 8)], 2: [(D(2026, 3, 1), 7)]}
    payments = [
        (1, D(2026, 3, 5), 100),  # after 7's contact (4 days)
        (1, D(2026, 3, 10), 200),  # same day as 8's contact
        (1, D(2026, 3, 25), 400),  # 15 days after 8's: outside 14
        (2, D(2026, 3, 15), 800),  # exactly 14 days after 7's
        (2, D(2026, 2, 28), 1600),  # before any contact
        (3, D(2026, 3, 5), 3200),  # never contacted
    ]
    assert rules.credit_after_contact(payments, contacts, 14) == {7: 900, 8: 200}
    assert rules.credit_after_contact(payments, contacts, 0) == {8: 200}


def test_median_of():
    assert rules.median_of([Decimal("1.00"), None, Decimal("3.00")]) == Decimal("2.00")
    assert rules.median_of([1, 2, 3, 10]) == Decimal("2.50")
    assert rules.median_of([None]) is None


def test_build_measures_from_counts():
    m = build_measures(
        counts={
            "calls": 20,
            "right_party_calls": 7,
            "emails_sent": 10,
            "contacts": 31,
            "ptps_taken": 4,
            "ptps_taken_minor": 90000,
            "ptps_kept": 2,
            "ptps_partial": 1,
            "ptps_broken": 1,
        },
        contact_days=22,
        kept_amount=30000,
        partial_amount=20000,
        broken_amount=10000,
    )
    assert m.right_party_rate == Decimal("35.00")
    assert m.contacts_per_day == Decimal("1.41")  # 31 / 22 = 1.409
    assert (m.kept_rate_count, m.kept_rate_amount) == (Decimal("50.00"), Decimal("50.00"))
    assert (m.cash_collected_minor, m.follow_ups_overdue, m.disputes_logged) == (0, 0, 0)
    assert CollectorMeasures.names()[:3] == ["calls", "right_party_calls", "right_party_rate"]
