"""`ardesk kpi` and the metrics API router, on the hand-built book of conftest.py."""

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from ninja.testing import TestClient

from ardesk.core.errors import InvalidInput
from ardesk.ledger import services
from ardesk.metrics.api import router

HEADER = (
    "as_of,window_days,basis,currency_mode,by,key,label,currency,open_invoices,open_ar,current,past_due,"
    "over_90,unapplied_cash,open_credits,net_ar,beginning_ar,sales_window,write_offs,"
    "Current,1-30,31-60,61-90,91-120,120+,paid_invoices,pct_current,pct_past_due,pct_over_90,dso,"
    "countback_dso,true_dso,best_possible_dso,add,avg_days_late,cei,adp,adp_weighted,ar_turnover,"
    "bad_debt_ratio"
)


def run(*args):
    out = io.StringIO()
    call_command("kpi", *args, stdout=out)
    return out.getvalue()


def test_cli_csv_by_collector(kbook):
    out = run("--as-of", "2026-03-31", "--by", "collector", "--format", "csv")
    a, b, c = kbook.alice.pk, kbook.bob.pk, kbook.carl.pk
    assert out.splitlines() == [
        HEADER,
        "2026-03-31,90,due,currency,collector,,(unassigned),USD,1,999.00,999.00,0.00,0.00,0.00,0.00,999.00,"
        "0.00,999.00,0.00,999.00,0.00,0.00,0.00,0.00,0.00,0,100.00,0.00,0.00,90.00,31.00,21.00,90.00,0.00,,,,,"
        "2.00,0.00",
        f"2026-03-31,90,due,currency,collector,{a},alice,USD,2,4500.00,3000.00,1500.00,0.00,200.00,0.00,"
        "4300.00,1400.00,5000.00,400.00,3000.00,0.00,1500.00,0.00,0.00,0.00,1,66.67,33.33,0.00,81.00,82.25,"
        "76.00,54.00,27.00,20.00,55.88,50.00,50.00,1.69,8.00",
        f"2026-03-31,90,due,currency,collector,{b},bob,USD,1,800.00,0.00,800.00,800.00,0.00,100.00,700.00,"
        "800.00,1200.00,0.00,0.00,0.00,0.00,0.00,0.00,800.00,1,0.00,100.00,100.00,60.00,49.67,181.00,0.00,"
        "60.00,10.00,60.00,40.00,40.00,1.50,0.00",
        f"2026-03-31,90,due,currency,collector,{c},carl,JPY,2,150000,100000,50000,0,0,0,150000,0,150000,0,"
        "100000,0,50000,0,0,0,0,66.67,33.33,0.00,90.00,90.00,105.00,60.00,30.00,,0.00,,,2.00,0.00",
    ]


def test_cli_csv_options_baseline_and_invoice_basis(kbook):
    kbook.post_april()
    out = run(
        "--as-of", "2026-04-30", "--by", "territory", "--format", "csv", "--window", "30", "--basis", "invoice",
        "--baseline", "2026-03-31", "--user", "walt",
    )  # fmt: skip
    lines = out.splitlines()
    header = lines[0].split(",")
    first = header.index("0-30")
    assert header[first : first + 5] == ["0-30", "31-60", "61-90", "91-120", "120+"]
    assert header[-1] == "past_due_change_pct" and "past_due_baseline" in header
    # walt sees carl (West) and the unassigned customers (East).
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    assert [(r["label"], r["currency"], r["open_ar"], r["window_days"], r["basis"]) for r in rows] == [
        ("East", "USD", "700.00", "30", "invoice"),
        ("West", "JPY", "100000", "30", "invoice"),
    ]
    west = rows[1]
    assert (
        west["past_due_baseline"],
        west["past_due"],
        west["past_due_change"],
        west["past_due_change_pct"],
    ) == (
        "50000",
        "100000",
        "50000",
        "100.00",
    )


def test_cli_json(kbook):
    doc = json.loads(run("--as-of", "2026-03-31", "--by", "collector", "--format", "json"))
    assert {
        k: doc[k] for k in ("as_of", "by", "window_days", "basis", "currency_mode", "credits_netted")
    } == {
        "as_of": "2026-03-31",
        "by": "collector",
        "window_days": 90,
        "basis": "due",
        "currency_mode": "currency",
        "credits_netted": False,
    }
    assert doc["bucket_labels"] == ["Current", "1-30", "31-60", "61-90", "91-120", "120+"]
    rows = {r["label"]: r for r in doc["rows"]}
    assert list(rows) == ["(unassigned)", "alice", "bob", "carl"]
    alice = rows["alice"]
    assert alice["key"] == str(kbook.alice.pk)
    assert alice["open_ar"] == {"amount": "4500.00", "currency": "USD", "minor": 450000}
    assert alice["buckets"][2] == {"label": "31-60", "amount": "1500.00", "minor": 150000}
    assert (alice["dso"], alice["countback_dso"], alice["cei"], alice["adp"]) == (
        "81.00",
        "82.25",
        "55.88",
        "50.00",
    )
    assert alice["past_due_baseline"] is None
    carl = rows["carl"]
    assert carl["open_ar"] == {"amount": "150000", "currency": "JPY", "minor": 150000}
    assert (carl["adp"], carl["avg_days_late"]) == (None, None)


def test_cli_table(kbook):
    out = run("--as-of", "2026-03-31", "--by", "collector", "--format", "table")
    assert "KPIs as of 2026-03-31 · by collector · window 90 days · due-date aging · by currency" in out
    alice = next(line for line in out.splitlines() if "alice" in line)
    cells = [c.strip() for c in alice.strip("│ ").split("│")]
    assert cells == [
        "alice",
        "USD",
        "4,500.00",
        "3,000.00",
        "1,500.00",
        "33.33",
        "0.00",
        "81.00",
        "82.25",
        "54.00",
        "27.00",
        "55.88",
        "50.00",
    ]


def test_cli_base_currency_and_errors(kbook):
    with pytest.raises(CommandError, match="no FX rate JPY->USD"):
        run("--as-of", "2026-03-31", "--currency", "base", "--format", "csv")
    with pytest.raises(CommandError, match="no user 'zed'"):
        run("--user", "zed")
    with pytest.raises(CommandError, match="not a date"):
        run("--as-of", "31/03/2026")
    with pytest.raises(CommandError, match="the window must be"):
        run("--as-of", "2026-03-31", "--window", "0")


# --- API -----------------------------------------------------------------------------------------------


@pytest.fixture
def client():
    return TestClient(router)


def test_api_kpis_scoped_to_the_user(kbook, client):
    res = client.get("/kpis?as_of=2026-03-31&by=collector", user=kbook.mona)
    assert res.status_code == 200
    doc = res.json()
    assert (doc["as_of"], doc["by"], doc["window_days"], doc["basis"], doc["currency_mode"]) == (
        "2026-03-31",
        "collector",
        90,
        "due",
        "currency",
    )
    assert [r["label"] for r in doc["rows"]] == ["(unassigned)", "alice", "bob"]
    bob = doc["rows"][2]
    assert bob["open_credits"] == {"amount": "100.00", "currency": "USD", "minor": 10000}
    assert (bob["dso"], bob["countback_dso"], bob["true_dso"], bob["pct_over_90"]) == (
        "60.00",
        "49.67",
        "181.00",
        "100.00",
    )
    mine = client.get("/kpis?as_of=2026-03-31", user=kbook.alice).json()["rows"]
    assert [(r["label"], r["open_ar"]["minor"], r["cei"]) for r in mine] == [("All", 450000, "55.88")]


def test_api_kpis_window_and_base_currency(kbook, client):
    services.set_fx_rate(actor=None, rate_date=dt.date(2026, 3, 31), base="JPY", quote="USD", rate="0.0067")
    doc = client.get("/kpis?as_of=2026-03-31&window=30&currency=base&by=territory", user=kbook.ada).json()
    assert (doc["window_days"], doc["currency_mode"]) == (30, "base")
    assert [(r["label"], r["currency"], r["open_ar"]["amount"]) for r in doc["rows"]] == [
        ("East", "USD", "6299.00"),
        ("West", "USD", "1005.00"),
    ]


def test_api_aging(kbook, client):
    doc = client.get("/aging?as_of=2026-03-31&by=customer&basis=invoice", user=kbook.walt).json()
    assert (doc["basis"], doc["credits_netted"], doc["bucket_labels"][0]) == ("invoice", False, "0-30")
    assert [(r["label"], [b["minor"] for b in r["buckets"]], r["net_ar"]["amount"]) for r in doc["rows"]] == [
        ("C-400 Delta Inc", [99900, 0, 0, 0, 0], "999.00"),
        ("C-500 Kappa KK", [100000, 0, 50000, 0, 0], "150000"),
    ]


def test_api_nobody_sees_nothing_and_bad_options_are_refused(kbook, client):
    rows = client.get("/kpis?as_of=2026-03-31", user=kbook.nobody).json()["rows"]
    assert [(r["open_ar"]["minor"], r["dso"]) for r in rows] == [(0, None)]
    # InvalidInput is mapped to 422 by the API the router is mounted on.
    with pytest.raises(InvalidInput, match="unknown dimension"):
        client.get("/kpis?as_of=2026-03-31&by=planet", user=kbook.ada)
    assert client.get("/aging?as_of=not-a-date", user=kbook.ada).status_code == 422
