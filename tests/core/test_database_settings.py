"""The database connection as ardesk configures it."""

import pytest
from django.db import connection


@pytest.mark.django_db
def test_postgresql_runs_without_jit():
    """JIT compiling the KPI statements cost more than running them (0.5-1.2 s each): it is off."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cur:
        cur.execute("SHOW jit")
        assert cur.fetchone() == ("off",)


@pytest.mark.django_db
def test_sqlite_enforces_foreign_keys():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cur:
        cur.execute("PRAGMA foreign_keys")
        assert cur.fetchone() == (1,)
