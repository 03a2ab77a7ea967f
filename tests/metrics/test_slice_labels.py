"""Customer labels are looked up in chunks, so a whole book's ids never exceed SQLite's variable limit."""

from ardesk.metrics import selectors
from tests.factories import ledger as lf


def test_customer_labels_cover_every_chunk(db, monkeypatch):
    customers = [lf.customer(f"C-{i:03d}", f"Name {i}") for i in range(5)]
    monkeypatch.setattr(selectors, "LABEL_CHUNK", 2)  # 5 ids -> chunks of 2, 2, 1
    keys = {str(c.pk) for c in customers} | {None}
    labels = selectors.slice_labels("customer", keys)
    assert {labels[str(c.pk)] for c in customers} == {f"C-{i:03d} Name {i}" for i in range(5)}
    assert labels[None] == "(none)"
