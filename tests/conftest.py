"""Shared fixtures: a small book with named personas.

Team East (manager mona): collectors alice and bob. Team West (manager walt): collector carl.
ada is admin, audrey auditor, cora credit analyst, cash a cash-application clerk; rita and sam own disputes
in other departments (billing and shipping; they see only the disputes assigned to them).
Customers: C-100 (alice), C-200 (bob), C-300 (carl), C-400 (unassigned).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest

os.environ.setdefault("ARDESK_TESTING", "1")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")  # Playwright's sync API runs an event loop

# Property tests: no wall-clock deadline (CI machines are shared and noisy, and a slow example is not a
# wrong one) and a fixed example sequence, so a failure in CI reproduces locally.
hypothesis.settings.register_profile("ardesk", deadline=None, derandomize=True)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ardesk"))


@dataclass
class Book:
    users: dict[str, Any]
    customers: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        if name in self.users:
            return self.users[name]
        raise AttributeError(name)


@pytest.fixture
def book(db: Any) -> Book:
    from ardesk.core.models import Team
    from ardesk.core.roles import Role
    from tests.factories import ledger as lf
    from tests.factories.people import make_collector, make_user

    mona = make_user("mona", Role.AR_MANAGER)
    walt = make_user("walt", Role.AR_MANAGER)
    east = Team.objects.create(name="East", manager=mona)
    west = Team.objects.create(name="West", manager=walt)
    alice = make_collector("alice", team=east, manager=mona, title="AR Specialist", tier="top")
    bob = make_collector("bob", team=east, manager=mona, title="AR Analyst", tier="new")
    carl = make_collector("carl", team=west, manager=walt, territory="West", title="Senior Collector")
    users = {
        "ada": make_user("ada", Role.ADMIN),
        "mona": mona,
        "walt": walt,
        "alice": alice,
        "bob": bob,
        "carl": carl,
        "audrey": make_user("audrey", Role.AUDITOR),
        "cora": make_user("cora", Role.CREDIT_ANALYST),
        "cash": make_user("cash", Role.CASH_APP),
        "rita": make_user("rita", Role.RESOLVER),
        "sam": make_user("sam", Role.RESOLVER),
        "nobody": make_user("nobody"),
    }
    customers = {
        "acme": lf.customer("C-100", "Acme Corp", collector=alice, territory="East", region="NA"),
        "beta": lf.customer("C-200", "Beta LLC", collector=bob, territory="East", region="NA"),
        "gamma": lf.customer("C-300", "Gamma GmbH", collector=carl, territory="West", region="EU"),
        "delta": lf.customer("C-400", "Delta Inc", territory="East", region="NA"),
    }
    return Book(users=users, customers=customers)


@pytest.fixture
def duck_runs(monkeypatch: Any) -> list[str]:
    """The statements the columnar copy's DuckDB ran during the test (so a test can tell it was used)."""
    from ardesk.metrics import columnar

    ran: list[str] = []
    real = columnar.DuckDb.run

    def spy(self: Any, sql: str, params: Any) -> Any:
        ran.append(sql)
        return real(self, sql, params)

    monkeypatch.setattr(columnar.DuckDb, "run", spy)
    return ran
