"""The KPI pages run on the hand-built book of tests/web/conftest.py (as of 2026-03-01, frozen), whose
figures are worked out by hand in each test. The dashboard's read cache is emptied around every test,
so no figure computed for one test's rows can be served to another."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tests.web.conftest import ar, as_user, frozen_today  # noqa: F401 - fixtures shared with the web tests


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()
