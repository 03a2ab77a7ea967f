"""Demo activity history: how each demo collector worked their past-due accounts over the last year.

Called by `ardesk demo` (settings.ARDESK_DEMO_EXTENSIONS) inside the demo's transaction, after the ledger
book is built. Deterministic: every choice comes from a random generator seeded with (cfg.seed, account
number); the only date is cfg.as_of.

An *episode* is a customer's invoices (in its own currency) falling due in one month that went past due.
The customer's collector works it from a few days after the due date until it is paid (or until as_of):
calls with an outcome, emails, now and then a letter, a visit or a note; on a right-party call they may take
a promise to pay, whose date depends on how well the collector reads the customer. The promises are then
judged against the real demo payments by `services.evaluate_promises`, so a kept rate is a fact of the
ledger, not a number drawn here. Collectors differ (by username, else by tier):

- the star (alice): reaches the right party often, promises dated when the customer really pays;
- the new hire (bob, hana): few contacts, and only since they joined;
- the busy caller who converts little (eli): many calls, few right-party contacts, hopeful promise dates
  (so many are broken), follow-ups left undone;
- the others in between (top performers close to the star, core and developing collectors between).

Only the last 12 months (and each collector's tenure) get activity, which is what the reports look at and
keeps 10k customers fast; payments received are recorded as activities for the last 90 days.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F

from ardesk.core.models import CollectorProfile
from ardesk.core.money import Money
from ardesk.ledger import bulk
from ardesk.ledger.models import Contact, Customer, Invoice, Organization

from . import services
from .models import Activity, Kind, Outcome, PromiseToPay, Source

HISTORY_DAYS = 365
PAYMENT_ACTIVITY_DAYS = 90


@dataclass(frozen=True)
class Style:
    delay: tuple[int, int]  # days after the due date before the first touch
    calls: tuple[int, int]  # call attempts per episode
    emails: tuple[int, int]
    rpc: float  # chance a call reaches the right party
    ptp: float  # chance a right-party call ends with a promise
    accuracy: float  # chance the promised date is when the customer really pays
    max_promises: int
    diligence: float  # share of follow-ups done
    work_share: float  # share of past-due episodes worked at all


STAR = Style((2, 4), (1, 3), (1, 2), 0.62, 0.8, 0.92, 1, 0.97, 0.95)
TOP = Style((3, 6), (1, 3), (1, 2), 0.5, 0.7, 0.8, 1, 0.92, 0.9)
CORE = Style((5, 10), (1, 3), (0, 2), 0.38, 0.6, 0.6, 1, 0.85, 0.8)
DEVELOPING = Style((6, 12), (1, 3), (0, 1), 0.3, 0.5, 0.45, 1, 0.75, 0.7)
NEW_HIRE = Style((10, 20), (0, 1), (0, 1), 0.33, 0.45, 0.5, 1, 0.8, 0.35)
BUSY_CALLER = Style((2, 5), (4, 8), (0, 1), 0.12, 0.85, 0.1, 2, 0.55, 1.0)

BY_USERNAME = {"alice": STAR, "eli": BUSY_CALLER, "bob": NEW_HIRE}
BY_TIER = {
    CollectorProfile.Tier.TOP: TOP,
    CollectorProfile.Tier.CORE: CORE,
    CollectorProfile.Tier.DEVELOPING: DEVELOPING,
    CollectorProfile.Tier.NEW: NEW_HIRE,
}
OTHER_OUTCOMES = (Outcome.OTHER_PARTY, Outcome.VOICEMAIL, Outcome.NO_ANSWER, Outcome.WRONG_NUMBER)
OTHER_WEIGHTS = (25, 40, 30, 5)

ACTIVITY_FIELDS = [
    "id",
    "customer_id",
    "contact_id",
    "kind",
    "source",
    "outcome",
    "duration_seconds",
    "collector_id",
    "actor_id",
    "occurred_at",
    "occurred_on",
    "subject",
    "notes",
    "follow_up_on",
    "follow_up_done_at",
    "dedupe_key",
]
PROMISE_FIELDS = [
    "id",
    "customer_id",
    "contact_id",
    "activity_id",
    "collector_id",
    "amount_minor",
    "currency",
    "taken_on",
    "promised_date",
    "grace_days",
    "status",
    "paid_minor",
    "notes",
]
CALL_NOTES = {
    Outcome.RIGHT_PARTY: ("Spoke with AP", "Confirmed invoices received", "Discussed the past-due balance"),
    Outcome.OTHER_PARTY: ("Spoke with reception, AP out", "Left a message with a colleague"),
    Outcome.VOICEMAIL: ("Left voicemail",),
    Outcome.NO_ANSWER: ("",),
    Outcome.WRONG_NUMBER: ("Number no longer in service",),
}


@dataclass
class _Episode:
    customer_id: int
    account: str
    collector_id: int
    currency: str
    invoices: list[tuple[int, str, dt.date, int, dt.date | None]]  # id, number, due, amount, paid on
    paid_on: dt.date | None  # the day the last of them was paid (None: not all paid by as_of)


class _Rows:
    def __init__(self, tz: zoneinfo.ZoneInfo) -> None:
        self.tz = tz
        self.activities: list[list[Any]] = []
        self.activity_invoices: list[tuple[int, int]] = []
        self.promises: list[list[Any]] = []
        self.promise_invoices: list[tuple[int, int]] = []

    def moment(self, day: dt.date, rng: random.Random) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(rng.randint(8, 16), rng.randint(0, 59)), tzinfo=self.tz)
        return local.astimezone(dt.UTC)

    def activity(self, **values: Any) -> int:
        row = [values.get(f) for f in ACTIVITY_FIELDS[1:]]
        self.activities.append(row)
        return len(self.activities) - 1  # position; ids are given when written


def _workday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _style(username: str, tier: str) -> Style:
    return BY_USERNAME.get(username) or BY_TIER.get(tier, CORE)  # type: ignore[call-overload]


def _episodes(as_of: dt.date, since: dt.date) -> list[_Episode]:
    customers = {
        pk: (account, collector, currency)
        for pk, account, collector, currency in Customer.objects.filter(collector__isnull=False)
        .order_by("id")
        .values_list("id", "account_number", "collector_id", "currency")
    }
    groups: dict[tuple[int, int, int], list[tuple[int, str, dt.date, int, dt.date | None]]] = defaultdict(
        list
    )
    unpaid: set[tuple[int, int, int]] = set()
    rows = (
        Invoice.objects.filter(customer__collector__isnull=False, due_date__gte=since - dt.timedelta(days=60))
        .filter(due_date__lt=as_of, currency=F("customer__currency"))
        .exclude(status=Invoice.Status.CANCELLED)
        .order_by("customer_id", "due_date", "id")
        .values_list("id", "number", "customer_id", "due_date", "amount_minor", "status", "closed_on")
    )
    for pk, number, cid, due, amount, status, closed in rows:
        key = (cid, due.year, due.month)
        paid_on = closed if status == Invoice.Status.PAID else None
        if paid_on is None:
            unpaid.add(key)
        groups[key].append((pk, number, due, amount, paid_on))
    out = []
    for key, invoices in groups.items():
        account, collector, currency = customers[key[0]]
        paid = None if key in unpaid else max(i[4] for i in invoices if i[4] is not None)
        out.append(_Episode(key[0], account, collector, currency, invoices, paid))
    return out


def _work(
    ep: _Episode,
    style: Style,
    rng: random.Random,
    rows: _Rows,
    *,
    start_limit: dt.date,
    as_of: dt.date,
    contact_id: int | None,
) -> None:
    first_due = min(i[2] for i in ep.invoices)
    start = _workday(max(first_due + dt.timedelta(days=rng.randint(*style.delay)), start_limit))
    end = min(ep.paid_on - dt.timedelta(days=1) if ep.paid_on else as_of, as_of)
    if start > end or rng.random() > style.work_share:
        return
    span = (end - start).days
    calls = rng.randint(*style.calls)
    emails = rng.randint(*style.emails)
    days = sorted(_workday(start + dt.timedelta(days=rng.randint(0, span))) for _ in range(calls + emails))
    days = [d for d in days if d <= as_of]
    kinds = [Kind.CALL] * calls + [Kind.EMAIL_SENT] * emails
    rng.shuffle(kinds)
    promises = 0
    numbers = ", ".join(i[1] for i in ep.invoices)
    for day, kind in zip(days, kinds, strict=False):
        base = {
            "customer_id": ep.customer_id,
            "contact_id": contact_id,
            "source": Source.MANUAL,
            "collector_id": ep.collector_id,
            "actor_id": ep.collector_id,
            "occurred_at": rows.moment(day, rng),
            "occurred_on": day,
            "notes": "",
            "outcome": "",
        }
        if kind == Kind.EMAIL_SENT:
            pos = rows.activity(**base, kind=kind, subject=f"Past-due reminder: {numbers}"[:200])
            rows.activity_invoices += [(pos, i[0]) for i in ep.invoices]
            continue
        right = rng.random() < style.rpc
        outcome = Outcome.RIGHT_PARTY if right else rng.choices(OTHER_OUTCOMES, OTHER_WEIGHTS)[0]
        duration = (
            rng.randint(180, 900)
            if right
            else (None if outcome == Outcome.NO_ANSWER else rng.randint(20, 90))
        )
        follow = None
        done = None
        if not right:
            follow = _workday(day + dt.timedelta(days=rng.randint(2, 4)))
            if follow < as_of - dt.timedelta(days=2) and rng.random() < style.diligence:
                done = rows.moment(follow, rng)
        pos = rows.activity(
            **{**base, "outcome": outcome, "notes": rng.choice(CALL_NOTES[outcome])},
            kind=Kind.CALL,
            duration_seconds=duration,
            subject=f"Call about {numbers}"[:200],
            follow_up_on=follow,
            follow_up_done_at=done,
        )
        if right:  # the invoices discussed; an unanswered call is about the account
            rows.activity_invoices += [(pos, i[0]) for i in ep.invoices]
        if right and promises < style.max_promises and rng.random() < style.ptp:
            if ep.paid_on is None and rng.random() < style.accuracy:
                continue  # a collector who reads customers well does not take a promise that will not be kept
            open_items = [i for i in ep.invoices if i[4] is None or i[4] > day]
            amount = sum(i[3] for i in open_items)
            if amount <= 0:
                continue
            if ep.paid_on is not None and rng.random() < style.accuracy:
                promised = max(day + dt.timedelta(days=1), ep.paid_on - dt.timedelta(days=rng.randint(0, 2)))
            else:
                promised = day + dt.timedelta(days=rng.randint(1, 5))
            promises += 1
            ppos = rows.activity(
                **base,
                kind=Kind.PROMISE,
                subject=f"Promise to pay {Money(amount, ep.currency)} by {promised}",
            )
            rows.activity_invoices += [(ppos, i[0]) for i in open_items]
            rows.promises.append(
                [ep.customer_id, contact_id, ppos, ep.collector_id, amount, ep.currency, day, promised, 3]
            )
            rows.promise_invoices += [(len(rows.promises) - 1, i[0]) for i in open_items]


def _write(rows: _Rows) -> tuple[int, int]:
    def adapt(value: dt.datetime) -> Any:
        """SQLite stores datetimes as naive UTC text (as the ORM writes them); PostgreSQL takes them."""
        if connection.vendor == "postgresql":
            return value
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")  # as the ORM stores it

    act_ids = bulk.reserve_ids(Activity, len(rows.activities)) if rows.activities else []
    bulk.insert_rows(
        Activity,
        ACTIVITY_FIELDS,
        (
            (
                act_ids[i],
                r[0],
                r[1],
                str(r[2]),
                str(r[3]),
                str(r[4] or ""),
                r[5],
                r[6],
                r[7],
                adapt(r[8]),
                r[9],
                r[10] or "",
                r[11] or "",
                r[12],
                None if r[13] is None else adapt(r[13]),
                None,
            )
            for i, r in enumerate(rows.activities)
        ),
    )
    through = Activity.invoices.through
    bulk.insert_rows(
        through, ["activity_id", "invoice_id"], ((act_ids[a], inv) for a, inv in rows.activity_invoices)
    )
    ptp_ids = bulk.reserve_ids(PromiseToPay, len(rows.promises)) if rows.promises else []
    bulk.insert_rows(
        PromiseToPay,
        PROMISE_FIELDS,
        (
            (ptp_ids[i], p[0], p[1], act_ids[p[2]], p[3], p[4], p[5], p[6], p[7], p[8], "open", 0, "")
            for i, p in enumerate(rows.promises)
        ),
    )
    bulk.insert_rows(
        PromiseToPay.invoices.through,
        ["promisetopay_id", "invoice_id"],
        ((ptp_ids[p], inv) for p, inv in rows.promise_invoices),
    )
    bulk.reset_sequences(Activity, PromiseToPay, through, PromiseToPay.invoices.through)
    return len(rows.activities), len(rows.promises)


def build(*, cfg: Any, console: Any = None, verbose: bool = False) -> str:
    as_of: dt.date = cfg.as_of
    since = max(cfg.start, as_of - dt.timedelta(days=HISTORY_DAYS))
    org = Organization.objects.filter(pk=1).first()
    tz = zoneinfo.ZoneInfo(org.time_zone if org else "UTC")
    profiles = {
        p.user_id: (p.user.username, p.tier, p.user.date_joined.date())
        for p in CollectorProfile.objects.select_related("user")
    }
    contacts: dict[int, int] = {}
    for cid, pk in Contact.objects.order_by("customer_id", "-is_primary", "id").values_list(
        "customer_id", "id"
    ):
        contacts.setdefault(cid, pk)
    rows = _Rows(tz)
    for ep in _episodes(as_of, since):
        username, tier, joined = profiles.get(ep.collector_id, ("", CollectorProfile.Tier.CORE, since))
        rng = random.Random(f"{cfg.seed}:{ep.account}:{ep.invoices[0][2]}")
        _work(
            ep,
            _style(username, tier),
            rng,
            rows,
            start_limit=max(since, joined),
            as_of=as_of,
            contact_id=contacts.get(ep.customer_id),
        )
    n_activities, n_promises = _write(rows)
    payments = services.record_payments_received(
        since=as_of - dt.timedelta(days=PAYMENT_ACTIVITY_DAYS), until=as_of
    )
    summary = services.evaluate_promises(as_of=as_of)
    # follow-ups of promises broken long ago were worked at the time (the busy caller lets some slide)
    stale = Activity.objects.filter(
        dedupe_key__startswith="ptp:", follow_up_on__lt=as_of - dt.timedelta(days=14), follow_up_done_at=None
    )
    busy = [uid for uid, (name, _t, _j) in profiles.items() if BY_USERNAME.get(name) is BUSY_CALLER]
    stale.exclude(collector_id__in=busy).update(follow_up_done_at=F("occurred_at") + dt.timedelta(days=1))
    stale.filter(collector_id__in=busy, follow_up_on__lt=as_of - dt.timedelta(days=60)).update(
        follow_up_done_at=F("occurred_at") + dt.timedelta(days=3)
    )
    return (
        f"activities: {n_activities:,} activities, {payments:,} payments received, {n_promises:,} promises "
        f"({summary.kept:,} kept, {summary.partial:,} partially kept, {summary.broken:,} broken, "
        f"{summary.still_open:,} open)"
    )
