"""`ardesk import KIND FILE [--mapping P] [--dry-run]`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from ardesk.imports.models import ImportBatch
from ardesk.ledger.models import Invoice

from .conftest import ledger_counts

GOOD = "number,customer,invoice_date,due_date,amount\nINV-1,C-100,2026-01-01,2026-01-31,100.00\n"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_", *args, stdout=out)
    return out.getvalue()


def test_dry_run_then_import_then_again(book, write):
    path = write("inv.csv", GOOD)
    before = ledger_counts()
    text = run("invoices", str(path), "--dry-run")
    assert "inv.csv: 1 rows of invoices (profile ardesk, utf-8, delimiter ',')" in text
    assert "dry run, nothing written; an import would do this" in text
    assert "  records    created  \n" in text and "  invoices         1  \n" in text
    assert ledger_counts() == before and ImportBatch.objects.count() == 0

    text = run("invoices", str(path), "--user", "mona")
    assert "imported" in text
    assert Invoice.objects.get().number == "INV-1"
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.created_by, batch.counts) == (
        "imported",
        book.mona,
        {"invoices": {"created": 1, "unchanged": 0}},
    )
    text = run("invoices", str(path))
    assert "this file was already imported on" in text
    assert Invoice.objects.count() == 1


def test_errors_exit_non_zero_and_import_nothing(book, write, tmp_path):
    path = write("bad.csv", GOOD + "INV-2,C-999,2026-01-01,2026-01-31,1\n")
    before = ledger_counts()
    report_path = tmp_path / "problems.csv"
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"1 problem in bad\.csv; nothing was imported"):
        call_command("import_", "invoices", str(path), "--errors-csv", str(report_path), stdout=out)
    assert "unknown customer account 'C-999'" in out.getvalue()
    assert (
        report_path.read_text().splitlines()[1] == "bad.csv,3,customer,C-999,unknown customer account 'C-999'"
    )
    counts = ledger_counts()
    assert counts == before
    assert ImportBatch.objects.get().status == "failed"


def test_bad_arguments(book, write, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run("invoices", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="unknown mapping profile 'oracle'"):
        run("invoices", str(write("a.csv", GOOD)), "--mapping", "oracle")
    with pytest.raises(CommandError, match="no active user 'zed'"):
        run("invoices", str(write("a.csv", GOOD)), "--user", "zed")


def test_console_script_maps_import(book, write, capsys):
    from ardesk.cli import main

    main(["import", "invoices", str(write("inv.csv", GOOD)), "--dry-run"])
    assert "dry run, nothing written" in capsys.readouterr().out
