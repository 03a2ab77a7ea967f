"""`ardesk disputes import FILE`: all or nothing, a report naming row, column and reason, idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from ardesk.disputes import selectors
from ardesk.disputes.models import Dispute

D = dt.date
HEADER = "reference,customer,invoice,amount,reason,opened_on,owner,status,resolution,root_cause,resolved_on\n"


def _write(tmp_path, body: str):
    path = tmp_path / "disputes.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_import_creates_active_and_history_and_is_idempotent(book, inv, tmp_path, capsys):
    path = _write(
        tmp_path,
        'EXT-1,C-200,INV-A,"1,000.00",pricing,2026-02-01,rita,in_research,,,\n'
        "EXT-1,C-200,INV-B,50.00,pricing,2026-02-01,rita,in_research,,,\n"
        "EXT-2,C-300,INV-G,300.00,damaged,2026-01-10,,resolved,invalid,customer_error,2026-01-30\n",
    )
    call_command("disputes", "import", str(path))
    assert "3 row(s); imported 2 dispute(s); 0 already imported" in capsys.readouterr().out
    d1 = Dispute.objects.get(dedupe_key="import:EXT-1")
    assert (d1.amount_minor, d1.status, d1.owner, d1.channel, d1.due_on) == (
        105000,
        "in_research",
        book.rita,
        "import",
        D(2026, 3, 3),
    )
    d2 = Dispute.objects.get(dedupe_key="import:EXT-2")
    assert (d2.status, d2.resolution, d2.invalid_minor, d2.cycle_days()) == ("resolved", "invalid", 30000, 20)
    assert selectors.held_amounts(invoice_ids=[inv["a"].pk, inv["b"].pk, inv["g"].pk]) == {
        inv["a"].pk: 100000,
        inv["b"].pk: 5000,
    }
    call_command("disputes", "import", str(path))
    assert "imported 0 dispute(s); 2 already imported" in capsys.readouterr().out
    assert Dispute.objects.count() == 2


def test_a_bad_file_imports_nothing_and_names_every_problem(book, inv, tmp_path, capsys):
    path = _write(
        tmp_path,
        "EXT-1,C-200,INV-A,100.00,pricing,2026-02-01,,,,,\n"  # fine on its own
        "EXT-2,C-999,INV-B,50.00,pricing,2026-02-01,,,,,\n"
        "EXT-3,C-200,INV-B,12.345,nope,01/02/2026,ghost,,,,\n"
        "EXT-4,C-200,INV-C,9000.00,tax,2026-02-01,,,,,\n"
        "EXT-5,C-300,INV-G,10.00,tax,2026-02-01,,resolved,,,\n",
    )
    with pytest.raises(CommandError, match="problem"):
        call_command("disputes", "import", str(path))
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "disputes.csv: row 3, column customer ('C-999'): no customer with this account number",
        "disputes.csv: row 4, column amount ('12.345'): 12.345 has more than 2 decimal places for USD",
        "disputes.csv: row 4, column opened_on ('01/02/2026'): '01/02/2026' is not a valid date in the format YYYY-MM-DD",
        "disputes.csv: row 4, column owner ('ghost'): no active user with this username",
        "disputes.csv: row 4, column reason ('nope'): unknown reason code (one of damaged, duplicate, not_received, other, pricing, promotion, returns, service, shortage, tax)",
        "disputes.csv: row 5, column amount ('9000.00'): more than the 250.00 USD open on INV-C",
        "disputes.csv: row 6, column resolution: required when the status is resolved",
        "disputes.csv: row 6, column resolved_on: '' is not a valid date in the format YYYY-MM-DD",
        "disputes.csv: row 6, column root_cause: required when the status is resolved",
    ]
    assert Dispute.objects.count() == 0


def test_unknown_and_missing_columns(book, tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text("reference,customer,colour\nA,C-200,red\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("disputes", "import", str(path))
    err = capsys.readouterr().err
    assert "row 1, column colour: unknown column" in err
    assert "row 1, column invoice: required column is missing" in err


def test_dry_run_changes_nothing(book, inv, tmp_path, capsys):
    path = _write(tmp_path, "EXT-1,C-200,INV-A,100.00,pricing,2026-02-01,,,,,\n")
    call_command("disputes", "import", str(path), "--dry-run")
    assert "would import 1 dispute(s)" in capsys.readouterr().out
    assert Dispute.objects.count() == 0
