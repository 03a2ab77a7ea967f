"""The demo portfolio: a realistic, deterministic AR book for trying ardesk out.

`generate(config)` is a pure function of (seed, customers, years, as_of): it reads no clock, no database and
no global random state, and yields the book in chunks of customers, each chunk holding the rows of those
customers (customers, assignments, contacts, invoices, receipts, credit memos, applications, write-offs)
with references as positions inside the chunk. `build(config)` writes the organization, entities, terms,
teams and demo users, then streams the chunks through the bulk path (`ledger.bulk.insert_rows`) with ids
reserved up front, so memory stays bounded by one chunk however many customers are asked for.

Every customer follows one paying behaviour:

- prompt: pays on or near the due date (and takes the cash discount on 2/10 Net 30 terms);
- chronic_late: pays 20-45 days late, sometimes in two instalments;
- seasonal: late (30-75 days) on invoices falling due in its slow months, on time otherwise;
- deteriorating: pays later and later; its recent invoices are unpaid or only partly paid;
- disputer: short-pays some invoices; most disputes end in a credit memo, some are paid, some are open;
- goes_bad: stops paying on a default date, is put on credit hold, and its old invoices are written off.

Derived figures are exact as of `as_of`: nothing is dated after it, every invoice's `open_minor` equals
amount - applications - write-offs, and status/closed_on follow from the last event that closed it.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from graphlib import TopologicalSorter
from typing import Any, NamedTuple

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import connection, models, transaction

from ardesk.core.models import AuditLog, CollectorProfile, Team
from ardesk.core.money import quantize_minor
from ardesk.core.roles import ROLE_LABELS, Role

from . import bulk, services
from .models import (
    Application,
    Contact,
    CreditMemo,
    Customer,
    FxRate,
    Invoice,
    LegalEntity,
    Organization,
    Payment,
    PaymentTerms,
    PortfolioAssignment,
    WriteOff,
)

PASSWORD = "ardesk-demo"  # the published password of every demo login
ADMIN_USERNAME = "ada"
EMAIL_DOMAIN = "ardesk-demo.example"
CHUNK_CUSTOMERS = 1000
MAX_CUSTOMERS = 1_000_000
MAX_YEARS = 20

BEHAVIOURS = ("prompt", "chronic_late", "seasonal", "deteriorating", "disputer", "goes_bad")
_BEHAVIOUR_WEIGHTS = (40, 20, 10, 10, 12, 8)


# --- configuration and people ------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoConfig:
    seed: int
    customers: int
    years: int
    as_of: dt.date

    def __post_init__(self) -> None:
        if not 1 <= self.customers <= MAX_CUSTOMERS:
            raise ValueError(f"customers must be between 1 and {MAX_CUSTOMERS:,}")
        if not 1 <= self.years <= MAX_YEARS:
            raise ValueError(f"years must be between 1 and {MAX_YEARS}")

    @property
    def start(self) -> dt.date:
        return self.as_of - dt.timedelta(days=365 * self.years + self.years // 4)


@dataclass(frozen=True)
class DemoUser:
    username: str
    name: str
    role: Role
    team: str = ""
    title: str = ""
    territory: str = ""
    tier: str = ""
    tenure_days: int = 0

    @property
    def label(self) -> str:
        return " / ".join(x for x in (self.team, self.title, self.territory) if x)

    @property
    def manager(self) -> str:
        return TEAMS.get(self.team, "") if self.role == Role.COLLECTOR else ""


TEAMS = {"East": "mona", "West": "walt", "Strategic": "stella"}  # team -> its AR manager
_T = CollectorProfile.Tier


def _collector(
    username: str, name: str, team: str, title: str, territory: str, tier: str, days: int
) -> DemoUser:
    return DemoUser(username, name, Role.COLLECTOR, team, title, territory, tier, days)


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("ada", "Ada Okafor", Role.ADMIN, title="Controller"),
    DemoUser("mona", "Mona Reyes", Role.AR_MANAGER, team="East", title="AR Manager"),
    DemoUser("walt", "Walter Lindqvist", Role.AR_MANAGER, team="West", title="AR Manager"),
    DemoUser("stella", "Stella Brandt", Role.AR_MANAGER, team="Strategic", title="AR Manager"),
    _collector("alice", "Alice Moreau", "East", "Senior Collector", "Northeast", _T.TOP, 2400),
    _collector("bob", "Bob Kowalski", "East", "AR Specialist", "Northeast", _T.NEW, 75),
    _collector("dana", "Dana Whitaker", "East", "AR Analyst", "Southeast", _T.CORE, 1300),
    _collector("eli", "Eli Navarro", "East", "AR Specialist", "Southeast", _T.DEVELOPING, 400),
    _collector("carl", "Carl Jensen", "West", "Collections Lead", "West", _T.TOP, 3100),
    _collector("fay", "Fay Osei", "West", "AR Specialist", "Central", _T.CORE, 900),
    _collector("gus", "Gus Tremblay", "West", "AR Analyst", "Canada", _T.DEVELOPING, 520),
    _collector("hana", "Hana Sato", "West", "AR Specialist", "West", _T.NEW, 120),
    _collector("ivan", "Ivan Petrov", "Strategic", "Senior Collector", "National", _T.TOP, 2000),
    _collector("jules", "Jules Fischer", "Strategic", "AR Analyst", "EMEA", _T.CORE, 1100),
    DemoUser("cora", "Cora Whitfield", Role.CREDIT_ANALYST, title="Credit Analyst"),
    DemoUser("cash", "Cassius Nakamura", Role.CASH_APP, title="Cash Application Clerk"),
    DemoUser("audrey", "Audrey Feld", Role.AUDITOR, title="Internal Auditor"),
    # dispute owners in other departments (the disputes demo assigns them work)
    DemoUser("rita", "Rita Moreno", Role.RESOLVER, title="Billing Specialist"),
    DemoUser("sam", "Sam Okoye", Role.RESOLVER, title="Shipping Coordinator"),
)

# Which collectors work which territory (Enterprise accounts go to the Strategic team).
_TERRITORY_COLLECTORS: dict[str, tuple[str, ...]] = {
    "Northeast": ("alice", "alice", "bob"),
    "Southeast": ("dana", "dana", "eli"),
    "Central": ("fay",),
    "West": ("carl", "carl", "hana"),
    "Canada": ("gus",),
    "DACH": ("jules",),
}

ENTITIES = (
    ("US01", "Ardesk Demo Industries Inc.", "USD"),
    ("CA01", "Ardesk Demo Canada Ltd.", "CAD"),
    ("DE01", "Ardesk Demo GmbH", "EUR"),
)
_ENTITY_WEIGHTS = (75, 15, 10)
_COUNTRY = {"US01": "US", "CA01": "CA", "DE01": "DE"}
_CURRENCY = {code: cur for code, _, cur in ENTITIES}

# code, name, net days, discount days, discount percent
TERMS: tuple[tuple[str, str, int, int, Decimal], ...] = (
    ("NET30", "Net 30", 30, 0, Decimal(0)),
    ("NET45", "Net 45", 45, 0, Decimal(0)),
    ("NET60", "Net 60", 60, 0, Decimal(0)),
    ("2-10N30", "2/10 Net 30", 30, 10, Decimal("2.00")),
)
_TERMS = {t[0]: t for t in TERMS}

# --- word lists (names are made here, nothing is downloaded) -----------------------------------------


def _words(text: str) -> tuple[str, ...]:
    """Space-separated words; an underscore stands for a space inside a name."""
    return tuple(w.replace("_", " ") for w in text.split())


_SURNAMES = _words(
    "Abbott Ashford Barlow Beckett Bishop Blackwell Brennan Calloway Carver Cheng Dalton Delgado Donovan "
    "Ellison Everett Fairbanks Fenwick Galloway Garrison Granger Halvorsen Harrington Hastings Holloway "
    "Iverson Jacobsen Keller Kessler Kincaid Langford Lockhart Lowell Mercer Morrow Nakamura Nolan Oakley "
    "Okafor Pendleton Prescott Quincy Radcliffe Ramsey Redmond Sinclair Stanton Sterling Sullivan Thornton "
    "Underwood Vance Voss Wakefield Whitmore Winslow Yardley Zimmer"
)
_PLACES = _words(
    "Atlantic Bayside Blue_Ridge Cedar Coastal Copper Crescent Eagle Evergreen Frontier Golden Granite "
    "Great_Lakes Harbor Heartland Highland Iron Keystone Lakeshore Liberty Meridian Midland Northern "
    "Oak_Valley Pacific Pinnacle Prairie Redwood Riverbend Silver Summit Sunbelt Tidewater Union Westfield"
)
_NOUNS = {
    "Manufacturing": ("Tooling", "Fabrication", "Machine Works", "Components", "Metalworks", "Plastics"),
    "Wholesale Distribution": ("Supply", "Distributors", "Wholesale", "Trading", "Supply House"),
    "Construction": ("Builders", "Contracting", "Construction", "Concrete", "Roofing"),
    "Healthcare": ("Medical", "Health Partners", "Clinics", "Labs", "Care Group"),
    "Retail": ("Stores", "Outfitters", "Market", "Home Centers", "Retail Group"),
    "Logistics": ("Logistics", "Freight", "Transport", "Carriers", "Warehousing"),
    "Technology": ("Systems", "Technologies", "Data", "Networks", "Software"),
    "Food & Beverage": ("Foods", "Provisions", "Beverages", "Farms", "Bakeries"),
    "Energy": ("Energy", "Power", "Fuels", "Solar", "Utilities"),
    "Automotive": ("Auto Parts", "Motors", "Fleet Services", "Automotive"),
    "Professional Services": ("Consulting", "Partners", "Advisors", "Services"),
}
_INDUSTRIES = tuple(_NOUNS)
_SUFFIXES = {
    "US": ("Inc.", "LLC", "Corp.", "Co.", "Inc."),
    "CA": ("Ltd.", "Inc.", "Corp."),
    "DE": ("GmbH", "AG", "GmbH & Co. KG", "GmbH"),
}
_DIVISIONS = (
    "Logistics",
    "Services",
    "Manufacturing",
    "Distribution",
    "Retail",
    "Energy",
    "Health",
    "Technologies",
    "Supply",
)
_FIRST_NAMES = _words(
    "Aaron Abigail Adrian Aisha Alan Amelia Andre Anika Ben Bianca Brian Camille Carlos Chloe Daniel Dmitri "
    "Elena Emma Farah Felix Fiona Gabriel Grace Hannah Henrik Ines Isaac Jamal Jana Jasmine Jonas Julia "
    "Karen Kenji Laura Liam Lena Lucas Maria Marcus Maya Mei Nadia Nathan Nina Olivia Omar Paul Priya Rafael "
    "Rosa Samuel Sara Sean Sofia Stefan Tanya Thomas Uma Victor Wei Yusuf Zoe"
)
_STREETS = (
    "Main",
    "Oak",
    "Maple",
    "Industrial",
    "Commerce",
    "Market",
    "Lake",
    "Park",
    "Cedar",
    "Elm",
    "Washington",
    "Harbor",
    "Mill",
    "Station",
    "River",
    "Airport",
    "Enterprise",
    "Gateway",
)
_STREET_TYPES = {
    "US": ("St", "Ave", "Blvd", "Pkwy", "Dr", "Rd"),
    "CA": ("St", "Ave", "Blvd", "Rd"),
    "DE": ("straße", "weg", "allee", "ring"),
}
_DE_STREETS = ("Haupt", "Industrie", "Bahnhof", "Garten", "Hafen", "Linden", "Markt", "Werk", "Kirch")

# territory -> (city, state/province, postal prefix, phone area code, time zone)
_CITIES: dict[str, tuple[tuple[str, str, str, str, str], ...]] = {
    "Northeast": (
        ("New York", "NY", "100", "212", "America/New_York"),
        ("Boston", "MA", "021", "617", "America/New_York"),
        ("Philadelphia", "PA", "191", "215", "America/New_York"),
        ("Hartford", "CT", "061", "860", "America/New_York"),
        ("Newark", "NJ", "071", "973", "America/New_York"),
        ("Pittsburgh", "PA", "152", "412", "America/New_York"),
        ("Albany", "NY", "122", "518", "America/New_York"),
    ),
    "Southeast": (
        ("Atlanta", "GA", "303", "404", "America/New_York"),
        ("Charlotte", "NC", "282", "704", "America/New_York"),
        ("Miami", "FL", "331", "305", "America/New_York"),
        ("Tampa", "FL", "336", "813", "America/New_York"),
        ("Nashville", "TN", "372", "615", "America/Chicago"),
        ("Richmond", "VA", "232", "804", "America/New_York"),
        ("Raleigh", "NC", "276", "919", "America/New_York"),
    ),
    "Central": (
        ("Chicago", "IL", "606", "312", "America/Chicago"),
        ("Dallas", "TX", "752", "214", "America/Chicago"),
        ("Houston", "TX", "770", "713", "America/Chicago"),
        ("Minneapolis", "MN", "554", "612", "America/Chicago"),
        ("St. Louis", "MO", "631", "314", "America/Chicago"),
        ("Denver", "CO", "802", "303", "America/Denver"),
        ("Detroit", "MI", "482", "313", "America/Detroit"),
        ("Columbus", "OH", "432", "614", "America/New_York"),
    ),
    "West": (
        ("Los Angeles", "CA", "900", "213", "America/Los_Angeles"),
        ("San Francisco", "CA", "941", "415", "America/Los_Angeles"),
        ("Seattle", "WA", "981", "206", "America/Los_Angeles"),
        ("Portland", "OR", "972", "503", "America/Los_Angeles"),
        ("Phoenix", "AZ", "850", "602", "America/Phoenix"),
        ("Salt Lake City", "UT", "841", "801", "America/Denver"),
        ("San Diego", "CA", "921", "619", "America/Los_Angeles"),
    ),
    "Canada": (
        ("Toronto", "ON", "M5V", "416", "America/Toronto"),
        ("Montréal", "QC", "H2Y", "514", "America/Toronto"),
        ("Vancouver", "BC", "V6B", "604", "America/Vancouver"),
        ("Calgary", "AB", "T2P", "403", "America/Edmonton"),
        ("Ottawa", "ON", "K1P", "613", "America/Toronto"),
        ("Winnipeg", "MB", "R3C", "204", "America/Winnipeg"),
    ),
    "DACH": (
        ("Berlin", "BE", "10", "30", "Europe/Berlin"),
        ("München", "BY", "80", "89", "Europe/Berlin"),
        ("Hamburg", "HH", "20", "40", "Europe/Berlin"),
        ("Frankfurt am Main", "HE", "60", "69", "Europe/Berlin"),
        ("Köln", "NW", "50", "221", "Europe/Berlin"),
        ("Stuttgart", "BW", "70", "711", "Europe/Berlin"),
        ("Leipzig", "SN", "04", "341", "Europe/Berlin"),
    ),
}
_US_TERRITORIES = ("Northeast", "Southeast", "Central", "West")
_REGION = {"US": "North America", "CA": "North America", "DE": "EMEA"}

_SEGMENTS = ("Enterprise", "Mid-Market", "Small Business")
_SEGMENT_WEIGHTS = (8, 35, 57)
# Median invoice in minor units and the range of days between invoices, by segment.
_MEDIAN_MINOR = {"Enterprise": 2_500_000, "Mid-Market": 650_000, "Small Business": 120_000}
_GAP_DAYS = {"Enterprise": (10, 30), "Mid-Market": (20, 60), "Small Business": (30, 90)}
_TAX_BP = {"US": (0, 0, 600, 625, 700, 825), "CA": (500, 1300), "DE": (1900,)}  # basis points, tax-inclusive

_DISPUTE_REASONS = (
    "Pricing dispute",
    "Damaged goods",
    "Short shipment",
    "Returned goods",
    "Duplicate billing",
    "Freight charge disputed",
)
_DISCOUNT_REASON = "Early-payment discount"
_REBATE_REASON = "Volume rebate"
_WRITE_OFF_REASON = "Uncollectible: customer ceased paying; sent to agency"
_METHODS = {
    "US": (("ach", 50), ("check", 35), ("wire", 10), ("card", 5)),
    "CA": (("ach", 60), ("check", 30), ("wire", 10)),
    "DE": (("wire", 100),),
}
_RISK = {
    "prompt": ("low", "low", "low", "medium"),
    "chronic_late": ("medium", "medium", "high"),
    "seasonal": ("low", "medium", "medium"),
    "deteriorating": ("medium", "high", "high"),
    "disputer": ("medium", "medium", "high"),
    "goes_bad": ("high", "severe", "severe"),
}


# --- rows --------------------------------------------------------------------------------------------
# References between rows are positions in the same chunk's lists (customer, invoice, payment, memo).
# Each row lists its references (and what is not stored) first; the fields after them are the model's
# columns of the same name, in order.


class CustomerRow(NamedTuple):
    entity: str  # LegalEntity.code
    parent: int | None
    terms: str  # PaymentTerms.code
    collector: str | None  # username
    behaviour: str  # not stored: the ground truth behind the generated history
    since: dt.date  # not stored: when the account opened (its rows' created_at)
    account_number: str
    name: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    country: str
    tax_id: str
    territory: str
    region: str
    industry: str
    segment: str
    currency: str
    credit_limit_minor: int | None
    risk_class: str
    status: str


class AssignmentRow(NamedTuple):
    customer: int
    collector: str
    assigned_by: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    reason: str


class ContactRow(NamedTuple):
    customer: int
    name: str
    role: str
    email: str
    phone: str
    preferred_channel: str
    time_zone: str
    is_primary: bool
    opt_out_email: bool
    opt_out_phone: bool
    opt_out_sms: bool


class InvoiceRow(NamedTuple):
    customer: int
    terms: str
    number: str
    invoice_date: dt.date
    due_date: dt.date
    currency: str
    amount_minor: int
    tax_minor: int
    open_minor: int
    po_number: str
    status: str
    closed_on: dt.date | None


class PaymentRow(NamedTuple):
    customer: int
    reference: str
    payment_date: dt.date
    currency: str
    amount_minor: int
    unapplied_minor: int
    method: str


class CreditMemoRow(NamedTuple):
    customer: int
    original_invoice: int | None
    number: str
    memo_date: dt.date
    currency: str
    amount_minor: int
    unapplied_minor: int
    reason: str


class ApplicationRow(NamedTuple):
    invoice: int
    payment: int | None
    credit_memo: int | None
    amount_minor: int
    applied_date: dt.date


class WriteOffRow(NamedTuple):
    invoice: int
    amount_minor: int
    written_off_on: dt.date
    reason: str


class FxRow(NamedTuple):
    rate_date: dt.date
    base: str
    quote: str
    rate: Decimal


@dataclass
class Chunk:
    customers: list[CustomerRow] = field(default_factory=list)
    assignments: list[AssignmentRow] = field(default_factory=list)
    contacts: list[ContactRow] = field(default_factory=list)
    invoices: list[InvoiceRow] = field(default_factory=list)
    payments: list[PaymentRow] = field(default_factory=list)
    credit_memos: list[CreditMemoRow] = field(default_factory=list)
    applications: list[ApplicationRow] = field(default_factory=list)
    write_offs: list[WriteOffRow] = field(default_factory=list)


# --- the generator -----------------------------------------------------------------------------------
# Inside a customer's history dates are day ordinals (ints): cheap to add and compare; they become
# `datetime.date`s only on the rows.

_PAY, _MEMO = 0, 1


class _Event(NamedTuple):
    day: int  # ordinal
    kind: int  # _PAY or _MEMO
    invoice: int  # position in the chunk
    amount: int
    reason: str


@dataclass(slots=True)
class _Profile:
    """What drives one customer's history (none of it is stored except through the rows)."""

    behaviour: str
    entity: str
    country: str
    currency: str
    segment: str
    terms: str
    net_days: int
    discount_days: int
    discount_pct: Decimal
    median_minor: int
    sigma: float
    gap: int
    tax_bp: int
    uses_po: bool
    method: str
    pay_run: str
    run_weekday: int
    since: int
    stop_invoicing: int
    default_on: int | None
    write_off_on: int | None
    slow_months: frozenset[int]
    unpaid_after: int


def _weighted(rng: random.Random, items: tuple[Any, ...], weights: tuple[int, ...]) -> Any:
    return rng.choices(items, weights=weights)[0]


def _slug(text: str) -> str:
    keep = "".join(ch for ch in text.lower() if ch.isascii() and (ch.isalnum() or ch == " "))
    return "-".join(keep.split()[:2]) or "customer"


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


_COLLECTOR_TEAM = {u.username: u.team for u in DEMO_USERS if u.role == Role.COLLECTOR}
_TENURE = {u.username: u.tenure_days for u in DEMO_USERS if u.role == Role.COLLECTOR}


class _Generator:
    def __init__(self, cfg: DemoConfig, chunk_customers: int) -> None:
        self.cfg = cfg
        self.chunk_customers = max(1, chunk_customers)
        self.first = cfg.start.toordinal()
        self.last = cfg.as_of.toordinal()
        # Every date a row can carry: invoice and event dates up to as_of, due dates up to 60 days after.
        self._dates = [dt.date.fromordinal(o) for o in range(self.first, self.last + 120)]

    def date(self, ordinal: int) -> dt.date:
        return self._dates[ordinal - self.first]

    # The corporate families: a parent followed by its children, never split across chunks.
    def plan(self) -> Iterator[tuple[int, int | None, str | None]]:
        """(index, index of the parent or None, family name or None) for every customer, in order."""
        rng = random.Random(f"ardesk-demo/{self.cfg.seed}/plan")
        n, i = self.cfg.customers, 0
        while i < n:
            if n - i >= 3 and rng.random() < 0.06:
                size = min(n - i, rng.randint(3, 6))
                family = f"{rng.choice(_SURNAMES)} {rng.choice(_NOUNS[rng.choice(_INDUSTRIES)])}"
                yield i, None, family
                for j in range(1, size):
                    yield i + j, i, family
                i += size
            else:
                yield i, None, None
                i += 1

    def chunks(self) -> Iterator[Chunk]:
        chunk, first = Chunk(), 0
        for i, parent, family in self.plan():
            if parent is None and len(chunk.customers) >= self.chunk_customers:
                yield chunk
                chunk, first = Chunk(), i
            self.customer(chunk, i, None if parent is None else parent - first, family)
        if chunk.customers:
            yield chunk

    def customer(self, ch: Chunk, i: int, parent: int | None, family: str | None) -> None:
        rng = random.Random(f"ardesk-demo/{self.cfg.seed}/customer/{i}")
        parent_row = None if parent is None else ch.customers[parent]
        p = self._profile(rng, i, parent_row, is_parent=family is not None and parent is None)
        cpos = len(ch.customers)
        territory = (
            rng.choice(_US_TERRITORIES) if p.country == "US" else ("Canada" if p.country == "CA" else "DACH")
        )
        city, state, postal, area, tz = rng.choice(_CITIES[territory])
        industry = rng.choice(_INDUSTRIES)
        name = self._name(rng, p, family, parent_row, industry, city)
        collector = self._collector(rng, i, p, territory)
        if collector is not None:
            self._assignments(rng, ch, cpos, collector, p.since)
        self._contacts(rng, ch, cpos, name, p.country, area, tz)
        last_invoice = self._history(rng, ch, cpos, i + 1, p)
        # Credit: about twice the exposure the terms create, in whole 5,000s; a few accounts have none.
        step = 500_000
        limit: int | None = None
        if rng.random() >= 0.05:
            raw = p.median_minor * 30 // p.gap * (p.net_days + 30) // 30 * rng.randint(10, 30) // 10
            limit = max(step, -(-raw // step) * step)
        line1, postal_code, tax_id = self._address(rng, p.country, postal)
        ch.customers.append(
            CustomerRow(
                since=self.date(p.since),
                account_number=f"C{i + 1:06d}",
                name=name[:200],
                entity=p.entity,
                parent=parent,
                address_line1=line1,
                address_line2=f"Suite {rng.randint(100, 1900)}" if rng.random() < 0.3 else "",
                city=city,
                state=state,
                postal_code=postal_code,
                country=p.country,
                tax_id=tax_id,
                territory=territory,
                region=_REGION[p.country],
                industry=industry,
                segment=p.segment,
                terms=p.terms,
                currency=p.currency,
                credit_limit_minor=limit,
                risk_class=rng.choice(_RISK[p.behaviour]),
                status="dormant" if last_invoice is not None and self.last - last_invoice > 365 else "active",
                collector=collector,
                behaviour=p.behaviour,
            )
        )

    def _profile(
        self, rng: random.Random, i: int, parent: CustomerRow | None, *, is_parent: bool
    ) -> _Profile:
        # The first twelve customers cycle through the behaviours so that even a tiny book shows them all.
        behaviour = BEHAVIOURS[i % 6] if i < 12 else _weighted(rng, BEHAVIOURS, _BEHAVIOUR_WEIGHTS)
        if parent is not None and rng.random() < 0.8:
            entity = parent.entity
        elif parent is not None:
            entity = _weighted(rng, ("US01", "CA01", "DE01"), (2, 5, 3))
        else:
            entity = _weighted(rng, ("US01", "CA01", "DE01"), _ENTITY_WEIGHTS)
        country = _COUNTRY[entity]
        if is_parent:
            segment = "Enterprise"
        elif parent is not None:
            segment = _weighted(rng, _SEGMENTS[:2], (2, 3))
        else:
            segment = _weighted(rng, _SEGMENTS, _SEGMENT_WEIGHTS)
        if country == "DE":
            terms = _weighted(rng, ("NET30", "NET60", "2-10N30"), (6, 3, 1))
        elif segment == "Enterprise":
            terms = _weighted(rng, ("NET30", "NET45", "NET60", "2-10N30"), (3, 3, 4, 1))
        else:
            terms = _weighted(rng, ("NET30", "NET45", "NET60", "2-10N30"), (10, 3, 2, 4))
        _, _, net_days, discount_days, discount_pct = _TERMS[terms]

        # The account's life: most customers predate the history, some join during it; a few churn;
        # a defaulter stops paying, is put on credit hold and is written off months later.
        span = self.last - self.first
        since = self.first
        if parent is None and rng.random() < 0.3:
            since += rng.randint(0, max(0, span - 14))
        stop = self.last
        if behaviour in ("prompt", "chronic_late") and rng.random() < 0.05:
            stop = min(self.last, since + rng.randint(min(60, span), span))
        default_on = write_off_on = None
        if behaviour == "goes_bad":
            default_on = max(self.last - rng.randint(150, 420), since + 90)
            stop = min(stop, default_on + rng.randint(20, 60))
            write_off_on = default_on + rng.randint(150, 240)
        slow = rng.randint(1, 12)
        gap_lo, gap_hi = _GAP_DAYS[segment]
        return _Profile(
            behaviour=behaviour,
            entity=entity,
            country=country,
            currency=_CURRENCY[entity],
            segment=segment,
            terms=terms,
            net_days=net_days,
            discount_days=discount_days,
            discount_pct=discount_pct,
            median_minor=_MEDIAN_MINOR[segment] * rng.randint(50, 200) // 100,
            sigma=rng.uniform(0.5, 1.0),
            gap=rng.randint(gap_lo, gap_hi),
            tax_bp=rng.choice(_TAX_BP[country]),
            uses_po=rng.random() < 0.4,
            method=_weighted(rng, *zip(*_METHODS[country], strict=True)),
            pay_run=_weighted(rng, ("as_due", "weekly", "semi_monthly"), (4, 4, 2)),
            run_weekday=rng.randint(0, 4),
            since=since,
            stop_invoicing=stop,
            default_on=default_on,
            write_off_on=write_off_on,
            slow_months=frozenset((slow + k - 1) % 12 + 1 for k in range(3)),
            unpaid_after=self.last - rng.randint(60, 150),
        )

    @staticmethod
    def _name(
        rng: random.Random,
        p: _Profile,
        family: str | None,
        parent: CustomerRow | None,
        industry: str,
        city: str,
    ) -> str:
        suffix = rng.choice(_SUFFIXES[p.country])
        if family is not None and parent is not None:
            division = city if p.country != parent.country else rng.choice(_DIVISIONS)
            return f"{family} {division} {suffix}"
        if family is not None:
            return f"{family} Holdings {suffix}"
        style, noun = rng.random(), rng.choice(_NOUNS[industry])
        if style < 0.45:
            return f"{rng.choice(_SURNAMES)} {noun} {suffix}"
        if style < 0.85:
            return f"{rng.choice(_PLACES)} {noun} {suffix}"
        return f"{rng.choice(_SURNAMES)} & {rng.choice(_SURNAMES)} {suffix}"

    @staticmethod
    def _collector(rng: random.Random, i: int, p: _Profile, territory: str) -> str | None:
        if rng.random() < 0.03 or i % 40 == 13:
            return None  # a few accounts wait for an owner (at least one in every forty)
        if p.segment == "Enterprise":
            return "jules" if p.country == "DE" else "ivan"
        return rng.choice(_TERRITORY_COLLECTORS[territory])

    def _assignments(self, rng: random.Random, ch: Chunk, cpos: int, collector: str, since: int) -> None:
        """Who held the account: accounts of a collector hired during the history were handed over by a
        teammate; some others were moved in a rebalancing; the rest stayed with one collector."""

        def at(day: int) -> dt.datetime:
            return dt.datetime.combine(self.date(day), dt.time(9), tzinfo=dt.UTC)

        team = _COLLECTOR_TEAM[collector]
        hired = self.last - _TENURE[collector]
        moved_on, reason = None, ""
        if hired > since:
            moved_on, reason = hired + rng.randint(0, 30), "Handed over to a new team member"
        elif rng.random() < 0.15:
            moved_on = since + rng.randint(30, max(30, self.last - since - 30))
            reason = "Portfolio rebalancing"
        earlier = [
            u
            for u, t in _COLLECTOR_TEAM.items()
            if t == team and u != collector and self.last - _TENURE[u] <= since
        ]
        if moved_on is not None and moved_on < self.last and earlier:
            ch.assignments.append(
                AssignmentRow(cpos, rng.choice(earlier), None, at(since), at(moved_on), "Initial assignment")
            )
            ch.assignments.append(AssignmentRow(cpos, collector, TEAMS[team], at(moved_on), None, reason))
        else:
            ch.assignments.append(
                AssignmentRow(cpos, collector, None, at(max(since, hired)), None, "Initial assignment")
            )

    @staticmethod
    def _contacts(
        rng: random.Random, ch: Chunk, cpos: int, company: str, country: str, area: str, tz: str
    ) -> None:
        """AP clerk (primary), AP manager and controller, each with email, phone and opt-outs."""
        domain = f"{_slug(company)}.example"
        used: set[str] = set()
        for role, channel in (("ap_clerk", "email"), ("ap_manager", "phone"), ("controller", "email")):
            name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_SURNAMES)}"
            while name in used:
                name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_SURNAMES)}"
            used.add(name)
            if country == "DE":
                phone = f"+49 {area} {rng.randint(1_000_000, 9_999_999)}"
            else:
                phone = f"+1 {area}-555-{rng.randint(100, 199):04d}"  # 555-01xx is reserved for fiction
            ch.contacts.append(
                ContactRow(
                    customer=cpos,
                    name=name,
                    role=role,
                    email=f"{name.replace(' ', '.')}@{domain}".lower(),
                    phone=phone,
                    preferred_channel=channel if rng.random() < 0.8 else "email",
                    time_zone=tz if rng.random() < 0.95 else rng.choice(("America/Chicago", "Asia/Kolkata")),
                    is_primary=role == "ap_clerk",
                    opt_out_email=rng.random() < 0.04,
                    opt_out_phone=rng.random() < 0.06,
                    opt_out_sms=rng.random() < 0.15,
                )
            )

    @staticmethod
    def _address(rng: random.Random, country: str, postal: str) -> tuple[str, str, str]:
        """(street line, postal code, tax id) in the country's format."""
        if country == "DE":
            street = f"{rng.choice(_DE_STREETS)}{rng.choice(_STREET_TYPES['DE'])} {rng.randint(1, 180)}"
            return (
                street,
                f"{postal}{rng.randint(100, 999):03d}",
                f"DE{rng.randint(100_000_000, 999_999_999)}",
            )
        street = f"{rng.randint(10, 9800)} {rng.choice(_STREETS)} {rng.choice(_STREET_TYPES[country])}"
        if country == "CA":
            code = f"{postal} {rng.randint(1, 9)}{rng.choice('ABCEGHJKLMNPRSTVXY')}{rng.randint(1, 9)}"
            return street, code, f"{rng.randint(100_000_000, 999_999_999)}RT0001"
        return (
            street,
            f"{postal}{rng.randint(0, 99):02d}",
            f"{rng.randint(10, 99)}-{rng.randint(1_000_000, 9_999_999)}",
        )

    def _history(self, rng: random.Random, ch: Chunk, cpos: int, acct: int, p: _Profile) -> int | None:
        """Invoices, receipts, credit memos, applications and write-offs up to as_of, with the derived
        open amounts; returns the ordinal of the last invoice (None without invoices)."""
        first_inv = len(ch.invoices)
        mu = math.log(p.median_minor)  # a parameter of the amount distribution, not money
        span = max(1, self.last - p.since)
        gap_lo, gap_hi = max(1, p.gap // 2), p.gap * 3 // 2
        amounts: list[int] = []
        events: list[_Event] = []
        day, k = p.since + rng.randint(0, p.gap), 0
        while day <= p.stop_invoicing:
            k += 1
            # lognormvariate returns a float: it becomes integer minor units at once, with round() on a
            # value already in minor units (mu is the log of the median amount in minor units).
            amount = min(max(round(rng.lognormvariate(mu, p.sigma)), 1_000), p.median_minor * 40)
            due = day + p.net_days
            pos = len(ch.invoices)
            ch.invoices.append(
                InvoiceRow(
                    customer=cpos,
                    number=f"IN{acct:06d}-{k:04d}",
                    invoice_date=self.date(day),
                    due_date=self.date(due),
                    terms=p.terms,
                    currency=p.currency,
                    amount_minor=amount,
                    tax_minor=amount * p.tax_bp // (10_000 + p.tax_bp),  # prices include tax
                    open_minor=amount,
                    po_number=f"PO-{rng.randint(10_000, 99_999)}" if p.uses_po else "",
                    status="open",
                    closed_on=None,
                )
            )
            amounts.append(amount)
            self._settle(rng, events, p, pos, day, due, amount, (day - p.since) / span)
            day += rng.randint(gap_lo, gap_hi)

        # Payment runs: a customer pays on a schedule, so one receipt often covers several invoices.
        if p.pay_run != "as_due":
            events = [self._to_run(e, p) if e.kind == _PAY and e.day <= self.last else e for e in events]
        events = sorted(e for e in events if e.day <= self.last)

        applied = [0] * len(amounts)
        closed: list[int | None] = [None] * len(amounts)  # ordinal of the last event of each invoice
        n_memo = 0
        receipts: dict[int, list[_Event]] = {}
        for e in events:
            if e.kind == _PAY:
                receipts.setdefault(e.day, []).append(e)
                continue
            n_memo += 1
            memo_pos = len(ch.credit_memos)
            ch.credit_memos.append(
                CreditMemoRow(
                    customer=cpos,
                    original_invoice=e.invoice,
                    number=f"CM{acct:06d}-{n_memo:04d}",
                    memo_date=self.date(e.day),
                    currency=p.currency,
                    amount_minor=e.amount,
                    unapplied_minor=0,
                    reason=e.reason,
                )
            )
            ch.applications.append(ApplicationRow(e.invoice, None, memo_pos, e.amount, self.date(e.day)))
            applied[e.invoice - first_inv] += e.amount
            closed[e.invoice - first_inv] = max(e.day, closed[e.invoice - first_inv] or 0)
        check_no = rng.randint(1000, 90_000)
        methods = _METHODS[p.country]
        for n_pay, (day, group) in enumerate(receipts.items(), start=1):
            total = sum(e.amount for e in group)
            unapplied = 0
            if self.last - day < 5 and rng.random() < 0.3:
                unapplied = total  # received in the last days and not applied yet: work for cash application
            elif rng.random() < 0.01:
                unapplied = rng.randint(100, 50_000)  # an overpayment left on account
                total += unapplied
            method = p.method if rng.random() < 0.9 else _weighted(rng, *zip(*methods, strict=True))
            on = self.date(day)
            if method == "check":
                check_no += 1
                reference = str(check_no)
            else:
                yymmdd = on.year % 100 * 10_000 + on.month * 100 + on.day
                reference = f"{'ACH' if method == 'ach' else 'FT'}{yymmdd:06d}{acct:06d}{n_pay:03d}"
            pay_pos = len(ch.payments)
            ch.payments.append(PaymentRow(cpos, reference, on, p.currency, total, unapplied, method))
            if unapplied == total:
                continue
            for e in group:
                ch.applications.append(ApplicationRow(e.invoice, pay_pos, None, e.amount, on))
                applied[e.invoice - first_inv] += e.amount
                closed[e.invoice - first_inv] = max(day, closed[e.invoice - first_inv] or 0)

        # A volume rebate for a few customers, not yet applied: an open credit on the account.
        if amounts and rng.random() < 0.04:
            memo_day = max(self.last - rng.randint(0, 60), p.since)
            rebate = max(1_000, p.median_minor * rng.randint(10, 60) // 100)
            n_memo += 1
            ch.credit_memos.append(
                CreditMemoRow(
                    customer=cpos,
                    original_invoice=None,
                    number=f"CM{acct:06d}-{n_memo:04d}",
                    memo_date=self.date(memo_day),
                    currency=p.currency,
                    amount_minor=rebate,
                    unapplied_minor=rebate,
                    reason=_REBATE_REASON,
                )
            )

        # Bad debt: what is still open on a defaulter's old invoices is written off in one go.
        written = [0] * len(amounts)
        wo = p.write_off_on
        if wo is not None and wo <= self.last:
            for j, amount in enumerate(amounts):
                last = closed[j]
                remaining = amount - applied[j]
                row = ch.invoices[first_inv + j]
                if remaining > 0 and row.due_date <= self.date(wo - 90) and (last is None or last <= wo):
                    ch.write_offs.append(
                        WriteOffRow(first_inv + j, remaining, self.date(wo), _WRITE_OFF_REASON)
                    )
                    written[j], closed[j] = remaining, wo

        # Derived fields, exact as of as_of.
        for j, amount in enumerate(amounts):
            open_minor = amount - applied[j] - written[j]
            if open_minor < 0:  # pragma: no cover - the plan never applies more than an invoice's amount
                raise AssertionError(f"IN{acct:06d}-{j + 1:04d} over-applied by the generator")
            if open_minor != amount:
                row = ch.invoices[first_inv + j]
                day_closed = closed[j]
                if open_minor == 0 and day_closed is not None:
                    status = "written_off" if written[j] else "paid"
                    ch.invoices[first_inv + j] = row._replace(
                        open_minor=0, status=status, closed_on=self.date(day_closed)
                    )
                else:
                    ch.invoices[first_inv + j] = row._replace(open_minor=open_minor)
        return ch.invoices[-1].invoice_date.toordinal() if amounts else None

    def _to_run(self, e: _Event, p: _Profile) -> _Event:
        """Move a payment to the customer's next payment run (weekly on a weekday, or the 15th / 1st)."""
        if p.pay_run == "weekly":
            weekday = (e.day + 6) % 7  # date.fromordinal(1) is a Monday
            return e._replace(day=e.day + (p.run_weekday - weekday) % 7)
        on = self.date(e.day)
        run = on.replace(day=15) if on.day <= 15 else _next_month(on)
        return e._replace(day=run.toordinal())

    @staticmethod
    def _settle(
        rng: random.Random,
        events: list[_Event],
        p: _Profile,
        inv: int,
        day: int,
        due: int,
        amount: int,
        age: float,
    ) -> None:
        """Plan the payments and credits of one invoice by the customer's behaviour. Days may lie beyond
        as_of (not happened yet); `age` is how far through the customer's history the invoice falls."""

        def pay(on: int, amt: int) -> None:
            events.append(_Event(max(on, day + 1), _PAY, inv, amt, ""))

        def memo(on: int, amt: int, reason: str) -> None:
            events.append(_Event(max(on, day), _MEMO, inv, amt, reason))

        def discount() -> int:
            return quantize_minor(Decimal(amount) * p.discount_pct / 100)

        def instalments(on: int) -> None:
            first = amount * rng.randint(30, 70) // 100
            pay(on - rng.randint(10, 25), first)
            pay(on, amount - first)

        behaviour = p.behaviour
        if behaviour == "prompt":
            if p.discount_days and rng.random() < 0.7:
                on, disc = day + rng.randint(3, p.discount_days), discount()
                pay(on, amount - disc)
                if disc:
                    memo(on, disc, _DISCOUNT_REASON)
            else:
                pay(due + _weighted(rng, (-5, -2, 0, 2, 4, 9), (2, 2, 3, 2, 1, 1)), amount)
        elif behaviour == "chronic_late":
            late = rng.randint(20, 45) if rng.random() < 0.9 else rng.randint(50, 75)
            if p.discount_days and rng.random() < 0.25:
                pay(due + late, amount - discount())  # an unearned discount taken: the rest stays open
            elif rng.random() < 0.12:
                instalments(due + late)
            else:
                pay(due + late, amount)
        elif behaviour == "seasonal":
            month = dt.date.fromordinal(due).month
            pay(due + (rng.randint(30, 75) if month in p.slow_months else rng.randint(-3, 8)), amount)
        elif behaviour == "deteriorating":
            late = int(5 + 80 * age * age) + rng.randint(-5, 10)
            if day > p.unpaid_after:
                if rng.random() < 0.3:  # recent invoices: at best a part payment
                    pay(due + rng.randint(5, 30), amount * rng.randint(20, 60) // 100)
            elif age > 0.5 and rng.random() < 0.3:
                instalments(due + late)
            else:
                pay(due + late, amount)
        elif behaviour == "disputer":
            on, roll = due + rng.randint(0, 20), rng.random()
            if roll < 0.08:
                memo(day + rng.randint(20, 60), amount, "Billing error: invoice credited in full")
            elif roll < 0.38:
                short = max(1, amount * rng.randint(5, 30) // 100)
                pay(on, amount - short)
                outcome = rng.random()
                if outcome < 0.65:
                    memo(on + rng.randint(20, 90), short, rng.choice(_DISPUTE_REASONS))
                elif outcome < 0.85:
                    pay(on + rng.randint(30, 90), short)  # the deduction was not valid: paid after all
                # else the deduction is still open
            else:
                pay(on, amount)
        else:  # goes_bad
            assert p.default_on is not None
            on = due + rng.randint(10, 35)
            if on < p.default_on:
                pay(on, amount)
            elif rng.random() < 0.4:
                part = amount * rng.randint(20, 50) // 100
                if part:
                    pay(max(on, p.default_on) + rng.randint(0, 45), part)

    def fx_rates(self) -> list[FxRow]:
        """Month-start rates to USD over the history: a seeded random walk in millionths."""
        rng = random.Random(f"ardesk-demo/{self.cfg.seed}/fx")
        rows: list[FxRow] = []
        for base, micro in (("CAD", 735_000), ("EUR", 1_085_000)):
            day = self.cfg.start.replace(day=1)
            while day <= self.cfg.as_of:
                rows.append(FxRow(day, base, "USD", Decimal(micro).scaleb(-6)))
                micro = max(micro // 2, micro + rng.randint(-12_000, 12_000))
                day = _next_month(day)
        return rows


def generate(cfg: DemoConfig, *, chunk_customers: int = CHUNK_CUSTOMERS) -> Iterator[Chunk]:
    """The demo book in chunks of about `chunk_customers` customers (a family is never split)."""
    return _Generator(cfg, chunk_customers).chunks()


def fx_rates(cfg: DemoConfig) -> list[FxRow]:
    return _Generator(cfg, CHUNK_CUSTOMERS).fx_rates()


# --- writing it --------------------------------------------------------------------------------------


@dataclass
class BuildResult:
    counts: dict[str, int]
    behaviours: dict[str, int]


Progress = Callable[[str, int], None]


def demo_loaded() -> bool:
    return User.objects.filter(username=ADMIN_USERNAME).exists()


def blocking_data() -> str:
    """Why the demo cannot be loaded without --reset ('' when it can)."""
    if Customer.objects.exists() or Invoice.objects.exists():
        return "the database already holds ledger data"
    taken = list(
        User.objects.filter(username__in=[u.username for u in DEMO_USERS]).values_list("username", flat=True)
    )
    if taken:
        return f"users named like the demo logins already exist ({', '.join(sorted(taken))})"
    return ""


def build(
    cfg: DemoConfig, *, progress: Progress | None = None, chunk_customers: int = CHUNK_CUSTOMERS
) -> BuildResult:
    """Write the demo book in one transaction (all or nothing). The caller checks `demo_loaded()` and
    `blocking_data()` first."""
    tick: Progress = progress or (lambda _kind, _n: None)
    behaviours = dict.fromkeys(BEHAVIOURS, 0)
    with transaction.atomic():
        users = _setup(cfg)
        writer = _Writer(
            dict(LegalEntity.objects.values_list("code", "id")),
            dict(PaymentTerms.objects.values_list("code", "id")),
            users,
        )
        for ch in generate(cfg, chunk_customers=chunk_customers):
            writer.write(ch)
            for c in ch.customers:
                behaviours[c.behaviour] += 1
            tick("customers", len(ch.customers))
            tick("invoices", len(ch.invoices))
        writer.write_fx(fx_rates(cfg))
        note = (
            f"ardesk demo --customers {cfg.customers} --years {cfg.years} --seed {cfg.seed} "
            f"--as-of {cfg.as_of}"
        )
        for key, model in _BATCHES:
            bulk.record_batch(
                actor=None,
                action="demo.load",
                object_type=model._meta.label,
                count=writer.counts[key],
                note=note,
                details={"seed": cfg.seed, "as_of": cfg.as_of.isoformat()},
            )
    return BuildResult(counts=writer.counts, behaviours=behaviours)


_BATCHES: tuple[tuple[str, type[models.Model]], ...] = (
    ("customers", Customer),
    ("assignments", PortfolioAssignment),
    ("contacts", Contact),
    ("invoices", Invoice),
    ("payments", Payment),
    ("credit_memos", CreditMemo),
    ("applications", Application),
    ("write_offs", WriteOff),
    ("fx_rates", FxRate),
)


def _setup(cfg: DemoConfig) -> dict[str, int]:
    """Organization, entities, terms, teams and the demo users; returns {username: id}."""
    org = services.get_organization()
    org.name, org.base_currency, org.time_zone = "Ardesk Demo Industries", "USD", "America/New_York"
    org.save(update_fields=["name", "base_currency", "time_zone"])
    for code, name, currency in ENTITIES:
        if not LegalEntity.objects.filter(code=code).exists():
            services.create_entity(actor=None, code=code, name=name, functional_currency=currency)
    for code, name, net, disc_days, disc_pct in TERMS:
        if not PaymentTerms.objects.filter(code=code).exists():
            services.create_terms(
                actor=None,
                code=code,
                name=name,
                net_days=net,
                discount_days=disc_days,
                discount_percent=disc_pct,
            )

    password = make_password(PASSWORD)  # hashed once: the demo logins share one published password
    groups = {g.name: g for g in Group.objects.filter(name__in=[r.value for r in Role])}
    users: dict[str, User] = {}
    for spec in DEMO_USERS:
        user = User.objects.create(
            username=spec.username,
            first_name=spec.name.split()[0],
            last_name=spec.name.split()[-1],
            email=f"{spec.username}@{EMAIL_DOMAIN}",
            password=password,
            is_staff=spec.role == Role.ADMIN,
            is_superuser=spec.role == Role.ADMIN,
            date_joined=dt.datetime.combine(
                cfg.as_of - dt.timedelta(days=spec.tenure_days or 365 * cfg.years), dt.time(9), tzinfo=dt.UTC
            ),
        )
        group = groups.get(spec.role.value) or Group.objects.get_or_create(name=spec.role.value)[0]
        user.groups.add(group)
        users[spec.username] = user
    teams: dict[str, Team] = {}
    for name, manager in TEAMS.items():
        team, _ = Team.objects.get_or_create(name=name)
        team.manager = users[manager]
        team.save(update_fields=["manager"])
        teams[name] = team
    CollectorProfile.objects.bulk_create(
        [
            CollectorProfile(
                user=users[s.username],
                title=s.title,
                territory=s.territory,
                team=teams[s.team],
                manager=users[s.manager],
                tier=s.tier,
                hired_on=cfg.as_of - dt.timedelta(days=s.tenure_days),
            )
            for s in DEMO_USERS
            if s.role == Role.COLLECTOR
        ]
    )
    bulk.record_batch(
        actor=None,
        action="demo.users",
        object_type="auth.User",
        count=len(users),
        note="demo logins, password " + PASSWORD,
        details={"usernames": sorted(users)},
    )
    return {name: u.pk for name, u in users.items()}


class _Writer:
    """Writes chunks through the bulk path: ids are reserved for the rows others point at, references
    (chunk positions, codes, usernames) become ids, and created_at is the business date of the row (the
    book is history, recorded when it happened) so the rows depend on nothing but the generator."""

    def __init__(self, entity_ids: dict[str, int], terms_ids: dict[str, int], users: dict[str, int]) -> None:
        self.entity_ids, self.terms_ids, self.users = entity_ids, terms_ids, users
        self.counts = {key: 0 for key, _ in _BATCHES}
        self._adapt = connection.ops.adapt_datetimefield_value  # what the ORM stores (naive UTC on SQLite)
        self._stamps: dict[dt.date, Any] = {}

    def stamp(self, day: dt.date) -> Any:
        value = self._stamps.get(day)
        if value is None:
            value = self._stamps[day] = self._adapt(dt.datetime.combine(day, dt.time(17), tzinfo=dt.UTC))
        return value

    def _insert(
        self, key: str, model: type[models.Model], fields: list[str], rows: Iterable[tuple[Any, ...]]
    ) -> None:
        self.counts[key] += bulk.insert_rows(model, fields, rows)

    def write(self, ch: Chunk) -> None:
        users, terms_ids, stamp, adapt = self.users, self.terms_ids, self.stamp, self._adapt
        cust = bulk.reserve_ids(Customer, len(ch.customers))
        ent = [self.entity_ids[c.entity] for c in ch.customers]
        since = [stamp(c.since) for c in ch.customers]
        self._insert(
            "customers",
            Customer,
            [
                "id",
                "entity_id",
                "parent_id",
                "payment_terms_id",
                "collector_id",
                *CustomerRow._fields[6:],
                "erp_reference",
                "created_at",
                "updated_at",
            ],
            (
                (
                    cust[n],
                    ent[n],
                    None if c.parent is None else cust[c.parent],
                    terms_ids[c.terms],
                    None if c.collector is None else users[c.collector],
                    *c[6:],
                    "",
                    since[n],
                    since[n],
                )
                for n, c in enumerate(ch.customers)
            ),
        )
        self._insert(
            "assignments",
            PortfolioAssignment,
            ["customer_id", "collector_id", "assigned_by_id", "started_at", "ended_at", "reason"],
            (
                (
                    cust[a.customer],
                    users[a.collector],
                    None if a.assigned_by is None else users[a.assigned_by],
                    adapt(a.started_at),
                    adapt(a.ended_at),
                    a.reason,
                )
                for a in ch.assignments
            ),
        )
        self._insert(
            "contacts",
            Contact,
            ["customer_id", *ContactRow._fields[1:], "created_at"],
            ((cust[c.customer], *c[1:], since[c.customer]) for c in ch.contacts),
        )
        inv = bulk.reserve_ids(Invoice, len(ch.invoices))
        self._insert(
            "invoices",
            Invoice,
            [
                "id",
                "entity_id",
                "customer_id",
                "terms_id",
                *InvoiceRow._fields[2:],
                "erp_reference",
                "created_at",
            ],
            (
                (
                    inv[n],
                    ent[v.customer],
                    cust[v.customer],
                    terms_ids[v.terms],
                    *v[2:],
                    "",
                    stamp(v.invoice_date),
                )
                for n, v in enumerate(ch.invoices)
            ),
        )
        pay = bulk.reserve_ids(Payment, len(ch.payments))
        self._insert(
            "payments",
            Payment,
            [
                "id",
                "entity_id",
                "customer_id",
                *PaymentRow._fields[1:],
                "erp_reference",
                "reversal_reason",
                "created_at",
            ],
            (
                (pay[n], ent[p.customer], cust[p.customer], *p[1:], "", "", stamp(p.payment_date))
                for n, p in enumerate(ch.payments)
            ),
        )
        memo = bulk.reserve_ids(CreditMemo, len(ch.credit_memos))
        self._insert(
            "credit_memos",
            CreditMemo,
            [
                "id",
                "entity_id",
                "customer_id",
                "original_invoice_id",
                *CreditMemoRow._fields[2:],
                "erp_reference",
                "created_at",
            ],
            (
                (
                    memo[n],
                    ent[m.customer],
                    cust[m.customer],
                    None if m.original_invoice is None else inv[m.original_invoice],
                    *m[2:],
                    "",
                    stamp(m.memo_date),
                )
                for n, m in enumerate(ch.credit_memos)
            ),
        )
        self._insert(
            "applications",
            Application,
            ["invoice_id", "payment_id", "credit_memo_id", *ApplicationRow._fields[3:], "created_at"],
            (
                (
                    inv[a.invoice],
                    None if a.payment is None else pay[a.payment],
                    None if a.credit_memo is None else memo[a.credit_memo],
                    *a[3:],
                    stamp(a.applied_date),
                )
                for a in ch.applications
            ),
        )
        self._insert(
            "write_offs",
            WriteOff,
            ["invoice_id", *WriteOffRow._fields[1:], "created_at"],
            ((inv[w.invoice], *w[1:], stamp(w.written_off_on)) for w in ch.write_offs),
        )

    def write_fx(self, rows: list[FxRow]) -> None:
        self._insert("fx_rates", FxRate, list(FxRow._fields), rows)


# --- reset -------------------------------------------------------------------------------------------


def _references(model: type[models.Model]) -> list[tuple[models.Field[Any, Any], type[models.Model]]]:
    """(field, referenced model) for each foreign key and one-to-one of `model`."""
    out: list[tuple[models.Field[Any, Any], type[models.Model]]] = []
    for f in model._meta.concrete_fields:
        target = f.related_model
        if f.is_relation and isinstance(target, type) and issubclass(target, models.Model):
            out.append((f, target))
    return out


def _ledger_models() -> list[type[models.Model]]:
    """Ledger data models (not the organization's settings), each before the models it points at."""
    ledger = [m for m in apps.get_app_config("ledger").get_models() if m is not Organization]
    graph: TopologicalSorter[type[models.Model]] = TopologicalSorter()
    for model in ledger:
        graph.add(model)
        for _, target in _references(model):
            if target in ledger and target is not model:
                graph.add(target, model)  # the referenced table is emptied after this one
    return list(graph.static_order())


def reset() -> dict[str, int]:
    """Delete the ledger data (and what other apps hang on it), the demo users and their audit rows.

    Ledger tables are emptied with one DELETE each, children before parents; rows of other apps that point
    at ledger rows go through the ORM so their own cascades run (a nullable SET_NULL key is cleared instead).
    """
    deleted: dict[str, int] = {}
    with transaction.atomic():
        ledger = _ledger_models()
        targets = set(ledger)
        for model in apps.get_models(include_auto_created=True):
            if model in targets or model is Organization:
                continue
            fks = [f for f, target in _references(model) if target in targets]
            if not fks:
                continue
            if all(f.null and getattr(f.remote_field, "on_delete", None) is models.SET_NULL for f in fks):
                for f in fks:
                    model._base_manager.filter(**{f"{f.name}__isnull": False}).update(**{f.name: None})
                continue
            q = models.Q()
            for f in fks:
                q |= models.Q(**{f"{f.name}__isnull": False})
            deleted[model._meta.label] = model._base_manager.filter(q).delete()[0]
        with connection.cursor() as cur:
            for model in ledger:
                cur.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
                deleted[model._meta.label] = cur.rowcount
        demo_users = User.objects.filter(username__in=[u.username for u in DEMO_USERS])
        deleted["core.AuditLog"] = AuditLog.objects.filter(actor__in=demo_users).delete()[0]
        Team.objects.filter(name__in=TEAMS, manager__in=demo_users).delete()
        deleted["auth.User"] = demo_users.delete()[1].get("auth.User", 0)
        bulk.record_batch(
            actor=None,
            action="demo.reset",
            object_type="ledger",
            count=sum(deleted.values()),
            details={k: v for k, v in deleted.items() if v},
        )
    return deleted


# --- the logins to print -----------------------------------------------------------------------------


def logins() -> list[tuple[str, str, str]]:
    """(username, role, team / title / territory) of every demo login."""
    return [(u.username, ROLE_LABELS[u.role], u.label) for u in DEMO_USERS]
