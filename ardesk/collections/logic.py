"""Pure functions of collections (no database): step selection, worklist scoring, contact windows,
the champion/challenger split and its statistics, the sandboxed merge-field renderer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Lexer, TokenType

from ardesk.core.money import format_minor, minor_units

# --- strategy steps ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepSpec:
    id: int
    offset_days: int
    action: str
    branch: str = ""  # "" any, "no_answer", "promise", "dispute"
    position: int = 0
    template_code: str = ""
    name: str = ""


def select_steps(
    steps: Sequence[StepSpec], due_dates: Iterable[dt.date], as_of: dt.date, last_outcome: str = ""
) -> list[StepSpec]:
    """The steps that fire on `as_of`: a step at offset N fires when some demandable invoice's due date + N
    is `as_of`. Several steps at one offset: the first (by position) whose branch equals the last outcome,
    else the first without a branch; a step of another branch never fires."""
    offsets = {(as_of - d).days for d in due_dates}
    chosen: list[StepSpec] = []
    by_offset: dict[int, list[StepSpec]] = {}
    for s in sorted(steps, key=lambda s: (s.offset_days, s.position, s.id)):
        by_offset.setdefault(s.offset_days, []).append(s)
    for offset in sorted(by_offset):
        if offset not in offsets:
            continue
        group = by_offset[offset]
        match = next((s for s in group if s.branch and s.branch == last_outcome), None)
        match = match or next((s for s in group if not s.branch), None)
        if match is not None:
            chosen.append(match)
    return chosen


def demanded(invoice_due: dict[int, dt.date], step: StepSpec, as_of: dt.date) -> list[int]:
    """Invoices a consolidated message of `step` lists: before the due date, the invoices it reminds of
    (due date + offset = as_of); from the due date on, every demandable invoice due by `as_of`."""
    if step.offset_days < 0:
        return sorted(i for i, d in invoice_due.items() if (as_of - d).days == step.offset_days)
    return sorted(i for i, d in invoice_due.items() if d <= as_of)


def dedup_key(customer_id: int, step_key: str, invoice_ids: Iterable[int], run_date: dt.date) -> str:
    """sha256 of (customer, step, invoice set, date): the outbox's unique deduplication key."""
    ids = ",".join(str(i) for i in sorted(set(invoice_ids)))
    raw = f"{customer_id}|{step_key}|{ids}|{run_date.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()


def last_outcome(kinds_outcomes: Sequence[tuple[str, str]]) -> str:
    """The branch value of the newest outcome-bearing activity ((kind, call outcome), newest first)."""
    for kind, outcome in kinds_outcomes:
        if kind == "promise":
            return "promise"
        if kind == "dispute":
            return "dispute"
        if kind == "call":
            return "no_answer" if outcome in ("no_answer", "voicemail") else "contacted"
    return ""


# --- champion / challenger ----------------------------------------------------------------------------


def arm(customer_id: int, salt: str) -> str:
    """Deterministic half split: "champion" or "challenger" from a hash of the customer id and salt."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return "challenger" if digest[0] & 1 else "champion"


def _betacf(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > 1e-300 else 1e-300
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > 1e-300 else 1e-300
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-14:
            break
    return h


def _betai(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(lbeta + a * math.log(x) + b * math.log(1.0 - x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p-value of Student's t with `df` degrees of freedom."""
    return _betai(df / 2.0, 0.5, df / (df + t * t))


@dataclass(frozen=True)
class Welch:
    mean_a: float
    mean_b: float
    diff: float  # b - a
    t: float
    df: float
    p: float

    def statement(
        self, what: str, confidence: float = 0.95, unit: Callable[[float], str] | None = None
    ) -> str:
        """One sentence for the page. `unit` formats the means and the difference (money: see
        `money_unit`); by default two decimals."""
        show = unit or (lambda x: f"{x:.2f}")
        sig = self.p < 1 - confidence
        verdict = "significant" if sig else "not significant"
        sign = "+" if self.diff >= 0 else "-"
        return (
            f"{what}: challenger {show(self.mean_b)} vs champion {show(self.mean_a)} "
            f"(difference {sign}{show(abs(self.diff))}, Welch t = {self.t:.2f}, df = {self.df:.1f}, "
            f"p = {self.p:.3f}; {verdict} at {confidence:.0%})"
        )


def money_unit(currency: str) -> Callable[[float], str]:
    """Formats a statistic of amounts in minor units (a mean, a difference) as money: rounded once to the
    nearest minor unit, half to even, then shown with the currency code."""

    def show(minor: float) -> str:
        rounded = int(Decimal(repr(minor)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        return f"{format_minor(rounded, currency)} {currency}"

    return show


def welch(a: Sequence[float], b: Sequence[float]) -> Welch | None:
    """Welch's unequal-variance t-test of mean(b) - mean(a); None with fewer than 2 values per arm."""
    if len(a) < 2 or len(b) < 2:
        return None
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1)
    se2 = va / len(a) + vb / len(b)
    if se2 == 0:
        return Welch(
            ma, mb, mb - ma, 0.0 if ma == mb else math.inf, len(a) + len(b) - 2.0, 1.0 if ma == mb else 0.0
        )
    t = (mb - ma) / math.sqrt(se2)
    df = se2**2 / ((va / len(a)) ** 2 / (len(a) - 1) + (vb / len(b)) ** 2 / (len(b) - 1))
    return Welch(ma, mb, mb - ma, t, df, t_two_sided_p(t, df))


# --- contact windows ----------------------------------------------------------------------------------


def next_allowed(now: dt.datetime, tz_name: str, start_hour: int, end_hour: int) -> dt.datetime | None:
    """None when `now` is inside [start_hour, end_hour) in the zone `tz_name`; else the next moment the
    window opens (aware, UTC)."""
    try:
        tz = zoneinfo.ZoneInfo(tz_name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    local = now.astimezone(tz)
    if start_hour <= local.hour < end_hour:
        return None
    day = local.date() if local.hour < start_hour else local.date() + dt.timedelta(days=1)
    opens = dt.datetime.combine(day, dt.time(start_hour), tzinfo=tz)
    return opens.astimezone(dt.UTC)


# --- worklist scoring ---------------------------------------------------------------------------------


@dataclass
class AccountFacts:
    customer_id: int
    name: str
    account_number: str
    currency: str
    risk_class: str
    open_minor: int = 0
    past_due_minor: int = 0
    max_days_past_due: int = 0
    broken_promises: int = 0
    promise_due_minor: int = 0  # open promises falling due within 2 days (or overdue, not yet evaluated)
    promise_pending: tuple[int, dt.date] | None = None  # an open promise not yet due: (amount, date)
    last_touch: dt.date | None = None
    open_disputes: int = 0
    disputed_minor: int = 0
    blocked: str = ""
    snoozed_until: dt.date | None = None
    call_cap: str = ""  # the contact policy's call cap is reached, e.g. "7 calls in 7 days"
    collector_id: int | None = None
    collector_name: str = ""


@dataclass
class Scored:
    facts: AccountFacts
    score: int
    reasons: list[str] = field(default_factory=list)
    demoted: str = ""

    @property
    def sort_key(self) -> tuple[int, int, str, int]:
        return (1 if self.demoted else 0, -self.score, self.facts.name, self.facts.customer_id)


def _money(minor: int, currency: str) -> str:
    return f"{format_minor(minor, currency)} {currency}"


def score_account(f: AccountFacts, w: Any, as_of: dt.date) -> Scored:
    """Points for each reason (integers); the reasons in words, largest first. An account with an open
    promise not yet due, a dispute covering its past due, a dunning block or a snooze is demoted below
    every other account, with the reason."""
    parts: list[tuple[int, str]] = []
    if f.past_due_minor > 0:
        unit = 1000 * 10 ** minor_units(f.currency)
        pts = min(w.past_due_per_1000 * f.past_due_minor // unit, w.past_due_cap)
        parts.append((pts, f"{_money(f.past_due_minor, f.currency)} past due"))
    if f.max_days_past_due > 0:
        pts = w.per_day_past_due * min(f.max_days_past_due, w.days_cap)
        parts.append((pts, f"oldest item {f.max_days_past_due} days past due"))
    risk_pts = getattr(w, f"risk_{f.risk_class}", 0)
    if risk_pts:
        parts.append((risk_pts, f"{f.risk_class} risk"))
    if f.broken_promises:
        n = f.broken_promises
        parts.append((w.per_broken_promise * n, f"{n} broken promise{'s' if n != 1 else ''} in 90 days"))
    if f.promise_due_minor:
        parts.append((w.promise_due, f"promise of {_money(f.promise_due_minor, f.currency)} falls due"))
    if f.past_due_minor > 0:
        if f.last_touch is None:
            parts.append((w.per_day_untouched * w.untouched_cap // 3, "never contacted"))
        else:
            days = (as_of - f.last_touch).days
            if days > 0:
                pts = w.per_day_untouched * min(days, w.untouched_cap)
                parts.append((pts, f"last touched {days} day{'s' if days != 1 else ''} ago"))
    if f.open_disputes:
        n = f.open_disputes
        parts.append((w.per_open_dispute * n, f"{n} open dispute{'s' if n != 1 else ''}"))
    parts.sort(key=lambda p: -p[0])
    score = sum(p for p, _ in parts)
    demoted = ""
    if f.snoozed_until is not None and f.snoozed_until >= as_of:
        demoted = f"snoozed until {f.snoozed_until.isoformat()}"
    elif f.blocked:
        demoted = f"dunning blocked: {f.blocked}"
    elif f.call_cap:
        demoted = f"call cap reached ({f.call_cap})"
    elif f.promise_pending is not None:
        amount, date = f.promise_pending
        demoted = f"promise to pay {_money(amount, f.currency)} by {date.isoformat()}"
    elif f.disputed_minor > 0 and f.disputed_minor >= f.past_due_minor:
        demoted = f"open dispute covers the past due ({_money(f.disputed_minor, f.currency)})"
    return Scored(f, score - (w.demoted_penalty if demoted else 0), [r for _, r in parts], demoted)


def rank(facts: Iterable[AccountFacts], w: Any, as_of: dt.date) -> list[Scored]:
    return sorted((score_account(f, w, as_of) for f in facts), key=lambda s: s.sort_key)


# --- merge fields ---------------------------------------------------------------------------------------

ALLOWED_TAGS = frozenset(
    {
        "if",
        "elif",
        "else",
        "endif",
        "for",
        "empty",
        "endfor",
        "with",
        "endwith",
        "firstof",
        "cycle",
        "comment",
        "endcomment",
        "spaceless",
        "endspaceless",
        "filter",
        "endfilter",
    }
)
MERGE_FIELDS = [
    "customer.name",
    "customer.account_number",
    "contact.name",
    "collector.name",
    "collector.email",
    "invoices (each: number, invoice_date, due_date, days_past_due, open, currency)",
    "total",
    "as_of",
    "unsubscribe_url",
    "company",
]
_ENGINE = Engine(debug=False, autoescape=False, libraries={})


def check_template(source: str, where: str) -> None:
    """Refuse tags outside the allow-list (no load, include, extends, debug, url...) and syntax errors."""
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            tag = token.contents.split()[0] if token.contents.split() else ""
            if tag not in ALLOWED_TAGS:
                raise ValueError(f"{where}: the tag {{% {tag} %}} is not allowed in a message template")
    try:
        _ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"{where}: {exc}") from None


def render_merge(source: str, context: dict[str, Any], where: str = "template") -> str:
    """Render with a prepared dict of plain values only (no model objects reach the template)."""
    check_template(source, where)
    return _ENGINE.from_string(source).render(Context(context, autoescape=False))


def money_text(minor: int, currency: str) -> str:
    return format_minor(minor, currency)
