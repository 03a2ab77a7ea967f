"""The KPI pages and the metrics API served from the columnar copy of the ledger (metrics.columnar) show
exactly what they show from the database: the worked tiles of test_overview.py, and the same API document.
Transactional: the copy reads committed rows only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ardesk.metrics import columnar

from .helpers import changes, tiles
from .test_overview import EUR_CHANGES, EUR_TILES, USD_CHANGES, USD_TILES

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def on_copy(tmp_path: Path, settings: Any, duck_runs: list[str]) -> list[str]:
    settings.ARDESK_COLUMNAR_PATH = str(tmp_path / "columnar.duckdb")
    settings.ARDESK_COLUMNAR_MIN_CUSTOMERS = 1
    settings.ARDESK_DASHBOARD_SNAPSHOTS = False
    return duck_runs


def test_overview_from_the_copy(ar: Any, as_user: Any, on_copy: list[str]) -> None:
    columnar.sync()
    html = as_user(ar.ada).get("/").content.decode()
    assert on_copy  # the figures came from DuckDB
    assert tiles(html) == USD_TILES + EUR_TILES
    assert changes(html) == USD_CHANGES + EUR_CHANGES


def test_api_from_the_copy_equals_the_database(
    ar: Any, as_user: Any, on_copy: list[str], settings: Any
) -> None:
    columnar.sync()
    client = as_user(ar.mona)
    url = "/api/v1/metrics/kpis?as_of=2026-03-01&by=collector"
    from_copy = client.get(url)
    assert from_copy.status_code == 200 and on_copy
    settings.ARDESK_COLUMNAR_PATH = ""
    ran = len(on_copy)
    from_db = client.get(url)
    assert len(on_copy) == ran  # the database answered this time
    assert from_copy.json() == from_db.json()
    assert [r["label"] for r in from_copy.json()["rows"]] == ["(unassigned)", "alice", "bob"]
