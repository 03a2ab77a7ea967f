"""Customer labels: a few ids in one IN list, many by one scan of the customers, so a whole book's ids
never exceed SQLite's variable limit (and no long IN list is planned on PostgreSQL)."""

from ardesk.metrics import selectors
from tests.factories import ledger as lf


def test_customer_labels_by_scan_when_many(db, monkeypatch, django_assert_num_queries):
    customers = [lf.customer(f"C-{i:03d}", f"Name {i}") for i in range(5)]
    lf.customer("C-999", "Not asked for")
    monkeypatch.setattr(selectors, "LABEL_CHUNK", 2)  # 5 ids > 2: one scan
    keys = {str(c.pk) for c in customers} | {None}
    with django_assert_num_queries(1):
        labels = selectors.slice_labels("customer", keys)
    assert labels == {
        **{str(c.pk): f"C-{i:03d} Name {i}" for i, c in enumerate(customers)},
        None: "(none)",
    }


def test_customer_labels_by_id_when_few(db, django_assert_num_queries):
    customers = [lf.customer(f"C-{i:03d}", f"Name {i}") for i in range(3)]
    keys = {str(customers[0].pk), str(customers[2].pk), "999999"}
    with django_assert_num_queries(1):
        labels = selectors.slice_labels("parent", keys)
    assert labels == {
        str(customers[0].pk): "C-000 Name 0",
        str(customers[2].pk): "C-002 Name 2",
        "999999": "(none)",
    }
