"""Pure functions: step selection for each day around the due date, scoring, windows, split, Welch."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from ardesk.collections import logic
from ardesk.collections.logic import AccountFacts, StepSpec

D = dt.date
STEPS = [
    StepSpec(1, -3, "email", name="Reminder"),
    StepSpec(2, 1, "email", name="Notice"),
    StepSpec(3, 10, "call", name="Call"),
    StepSpec(4, 20, "email", name="Final"),
    StepSpec(5, 20, "letter", branch="no_answer", name="Letter"),
    StepSpec(6, 30, "escalate", name="Escalate"),
    StepSpec(7, 20, "call", branch="promise", position=1, name="Check promise"),
]
DUE = D(2026, 3, 1)
EXPECTED = {
    -4: [],
    -3: ["Reminder"],
    -2: [],
    0: [],
    1: ["Notice"],
    2: [],
    9: [],
    10: ["Call"],
    11: [],
    19: [],
    20: ["Final"],
    21: [],
    30: ["Escalate"],
    31: [],
}


@pytest.mark.parametrize("day", sorted(EXPECTED))
def test_step_for_each_day_around_the_due_date(day):
    as_of = DUE + dt.timedelta(days=day)
    assert [s.name for s in logic.select_steps(STEPS, [DUE], as_of)] == EXPECTED[day]


def test_branch_on_last_outcome():
    as_of = DUE + dt.timedelta(days=20)
    assert [s.name for s in logic.select_steps(STEPS, [DUE], as_of, "no_answer")] == ["Letter"]
    assert [s.name for s in logic.select_steps(STEPS, [DUE], as_of, "promise")] == ["Check promise"]
    assert [s.name for s in logic.select_steps(STEPS, [DUE], as_of, "dispute")] == ["Final"]
    assert logic.last_outcome([("call", "voicemail"), ("promise", "")]) == "no_answer"
    assert logic.last_outcome([("dispute", ""), ("call", "no_answer")]) == "dispute"
    assert logic.last_outcome([("call", "right_party")]) == "contacted"
    assert logic.last_outcome([]) == ""


def test_one_step_fires_for_several_invoices_and_demands_all_due():
    invoices = {10: D(2026, 2, 28), 11: D(2026, 3, 1), 12: D(2026, 3, 20)}
    as_of = D(2026, 3, 2)
    fired = logic.select_steps(STEPS, invoices.values(), as_of)
    assert [s.name for s in fired] == ["Notice"]  # 11 is one day past due; 10 is two (no step)
    assert logic.demanded(invoices, fired[0], as_of) == [10, 11]
    pre = logic.select_steps(STEPS, invoices.values(), D(2026, 3, 17))
    assert [s.name for s in pre] == ["Reminder"] and logic.demanded(invoices, pre[0], D(2026, 3, 17)) == [12]


def test_dedup_key_is_the_customer_step_invoice_set_and_date():
    k = logic.dedup_key(7, "step:2", [11, 10], D(2026, 3, 2))
    assert k == logic.dedup_key(7, "step:2", [10, 11, 10], D(2026, 3, 2))
    assert k != logic.dedup_key(7, "step:2", [10], D(2026, 3, 2))
    assert k != logic.dedup_key(7, "step:2", [10, 11], D(2026, 3, 3))
    assert len(k) == 64


def test_next_allowed_in_the_contacts_time_zone():
    utc = dt.UTC
    assert logic.next_allowed(dt.datetime(2026, 3, 2, 14, 0, tzinfo=utc), "America/New_York", 8, 21) is None
    assert logic.next_allowed(
        dt.datetime(2026, 3, 2, 7, 0, tzinfo=utc), "America/New_York", 8, 21
    ) == dt.datetime(2026, 3, 2, 13, 0, tzinfo=utc)
    # 21:30 in New York (02:30 UTC next day): the window opens at 08:00 the next local day
    assert logic.next_allowed(
        dt.datetime(2026, 3, 3, 2, 30, tzinfo=utc), "America/New_York", 8, 21
    ) == dt.datetime(2026, 3, 3, 13, 0, tzinfo=utc)


def test_champion_challenger_split_is_deterministic_and_roughly_half():
    arms = [logic.arm(i, "cc") for i in range(1, 1001)]
    assert arms == [logic.arm(i, "cc") for i in range(1, 1001)]
    assert arms.count("champion") == 524
    assert logic.arm(1, "cc") == "champion" and logic.arm(1, "other") == logic.arm(1, "other")


def test_welch_t_test_exact_values():
    w = logic.welch([20, 22, 19, 24, 25], [28, 30, 27, 35, 31])
    # by hand: variances 6.5 and 9.7, se^2 = 6.5/5 + 9.7/5 = 3.24, t = 8.2 / 1.8, df = 3.24^2 / 1.3634
    assert (round(w.diff, 4), round(w.t, 4), round(w.df, 4), round(w.p, 6)) == (8.2, 4.5556, 7.6996, 0.002053)
    assert w.statement("days to pay") == (
        "days to pay: challenger 30.20 vs champion 22.00 (difference +8.20, Welch t = 4.56, df = 7.7, "
        "p = 0.002; significant at 95%)"
    )
    # cash in minor units is shown as money, each figure rounded once to the cent (half to even)
    cash = logic.welch([10000, 12050, 9900], [15000, 14001, 16250])
    assert cash.statement("cash collected per customer", unit=logic.money_unit("USD")).startswith(
        "cash collected per customer: challenger 150.84 USD vs champion 106.50 USD (difference +44.34 USD, "
    )
    assert logic.money_unit("USD")(-0.5) == "0.00 USD"  # -0.5 cent rounds to even: zero, no sign
    assert logic.money_unit("JPY")(1234.5) == "1,234 JPY"  # half to even, no decimals for yen
    assert logic.money_unit("USD")(123456.5) == "1,234.56 USD"
    assert logic.welch([1.0], [2.0, 3.0]) is None
    same = logic.welch([1, 2, 3], [1, 2, 3])
    assert (same.t, same.p) == (0.0, 1.0)


W = SimpleNamespace(
    past_due_per_1000=10,
    past_due_cap=400,
    per_day_past_due=2,
    days_cap=180,
    risk_low=0,
    risk_medium=20,
    risk_high=60,
    risk_severe=100,
    per_broken_promise=40,
    promise_due=50,
    per_day_untouched=3,
    untouched_cap=90,
    per_open_dispute=10,
    demoted_penalty=10000,
)
AS_OF = D(2026, 3, 31)


def _f(n: int, name: str, **kw) -> AccountFacts:
    base = {
        "customer_id": n,
        "name": name,
        "account_number": f"C-{n}",
        "currency": "USD",
        "risk_class": "medium",
    }
    return AccountFacts(**{**base, **kw})


def test_exact_worklist_order_with_reasons():
    portfolio = [
        _f(
            1,
            "Big Late",
            past_due_minor=5_000_000,
            open_minor=5_000_000,
            max_days_past_due=60,
            last_touch=D(2026, 3, 21),
        ),
        _f(
            2,
            "Small Risky",
            risk_class="severe",
            past_due_minor=100_000,
            open_minor=100_000,
            max_days_past_due=5,
            broken_promises=2,
            last_touch=D(2026, 3, 30),
        ),
        _f(
            3,
            "Promised",
            past_due_minor=9_000_000,
            open_minor=9_000_000,
            max_days_past_due=90,
            promise_pending=(9_000_000, D(2026, 4, 10)),
        ),
        _f(
            4,
            "Promise Due",
            past_due_minor=200_000,
            open_minor=200_000,
            max_days_past_due=10,
            promise_due_minor=200_000,
            last_touch=D(2026, 3, 25),
        ),
        _f(
            5,
            "Disputed",
            past_due_minor=300_000,
            open_minor=300_000,
            max_days_past_due=40,
            open_disputes=1,
            disputed_minor=300_000,
        ),
        _f(
            6,
            "Snoozed",
            past_due_minor=8_000_000,
            open_minor=8_000_000,
            max_days_past_due=100,
            snoozed_until=D(2026, 4, 2),
        ),
    ]
    ranked = logic.rank(portfolio, W, AS_OF)
    assert [(s.facts.name, s.score) for s in ranked] == [
        ("Big Late", 400 + 120 + 20 + 30),  # past-due points capped at 400
        ("Small Risky", 10 + 10 + 100 + 80 + 3),
        ("Promise Due", 20 + 20 + 20 + 50 + 18),
        ("Snoozed", 400 + 200 + 20 + 90 - 10000),
        ("Promised", 400 + 180 + 20 + 90 - 10000),
        ("Disputed", 30 + 80 + 20 + 90 + 10 - 10000),
    ]
    by = {s.facts.name: s for s in ranked}
    assert by["Big Late"].reasons == [
        "50,000.00 USD past due",
        "oldest item 60 days past due",
        "last touched 10 days ago",
        "medium risk",
    ]
    assert by["Small Risky"].reasons == [
        "severe risk",
        "2 broken promises in 90 days",
        "1,000.00 USD past due",
        "oldest item 5 days past due",
        "last touched 1 day ago",
    ]
    assert by["Promised"].demoted == "promise to pay 90,000.00 USD by 2026-04-10"
    assert by["Disputed"].demoted == "open dispute covers the past due (3,000.00 USD)"
    assert by["Snoozed"].demoted == "snoozed until 2026-04-02"
    assert by["Promise Due"].reasons[0] == "promise of 2,000.00 USD falls due"
    assert by["Disputed"].reasons[-1] == "1 open dispute" and "never contacted" in by["Disputed"].reasons


def test_merge_fields_are_sandboxed():
    ctx = {"customer": {"name": "Acme"}, "invoices": [{"number": "A-1"}]}
    assert logic.render_merge(
        "Hi {{ customer.name }} {% for i in invoices %}{{ i.number }}{% endfor %}", ctx
    ) == ("Hi Acme A-1")
    for bad in ("{% load static %}", "{% include 'base.html' %}", "{% debug %}", "{% url 'login' %}"):
        with pytest.raises(ValueError, match="is not allowed"):
            logic.render_merge(bad, ctx, "body")
    with pytest.raises(ValueError, match="body"):
        logic.render_merge("{% if %}", ctx, "body")
    with pytest.raises(ValueError, match="may not begin with underscores"):
        logic.render_merge("{{ customer.__class__ }}", ctx)
    assert logic.render_merge("[{{ secret }}{{ customer.missing }}]", ctx) == "[]"
