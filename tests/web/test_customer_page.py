"""The customer page and the contact editor: scope (404), capability (403), exact figures."""

from __future__ import annotations

import re
from typing import Any

from ardesk.core.models import AuditLog
from ardesk.ledger import services
from ardesk.ledger.models import Contact

from .helpers import table_rows

CONTACT = {"name": "Pat Payables", "role": "ap_clerk", "email": "pat@acme.test", "preferred_channel": "email"}


def page(client: Any, customer: Any) -> str:
    response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def fact(html: str, label: str) -> str:
    match = re.search(rf"<dt>{label}</dt><dd[^>]*>(.*?)</dd>", html, re.S)
    assert match, label
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_header_exposure_and_credit_use(ar: Any, as_user: Any) -> None:
    html = page(as_user(ar.alice), ar.customers["acme"])
    assert "<h1>Acme Corp" in html
    assert fact(html, "Account") == "C-100"
    assert fact(html, "Parent") == "–"
    assert fact(html, "Children") == "C-110 Acme West"
    assert fact(html, "Collector") == "alice"
    assert fact(html, "Terms") == "Net 30"
    assert fact(html, "Risk class") == "Medium"
    assert fact(html, "Credit limit") == "5,000.00 USD"
    # Exposure includes the child C-110: 1,650.00 + 300.00 = 1,950.00, 39.0% of 5,000.00.
    assert table_rows(html, "exposure") == [
        ["Open AR", "1,950.00"],
        ["Past due", "1,450.00"],
        ["Unapplied cash", "200.00"],
        ["Open credits", "0.00"],
        ["Net", "1,750.00"],
    ]
    assert '<strong data-field="credit_used">39.0%</strong>' in html


def test_open_items_aging_and_timeline(ar: Any, as_user: Any) -> None:
    html = page(as_user(ar.alice), ar.customers["acme"])
    assert table_rows(html, "open-items") == [
        ["INV-103", "2025-10-01", "2025-10-31", "121", "120+", "Open", "250.00 USD", "250.00 USD"],
        ["INV-101", "2026-01-01", "2026-01-31", "29", "1-30", "Open", "1,000.00 USD", "900.00 USD"],
        ["INV-102", "2026-02-15", "2026-03-17", "–", "Current", "Open", "500.00 USD", "500.00 USD"],
    ]
    assert table_rows(html, "aging") == [["USD", "500.00", "900.00", "0.00", "0.00", "0.00", "250.00"]]
    timeline = re.findall(r"<time[^>]*>([^<]+)</time>\s*<span class=\"tl-kind\">([^<]+)</span>", html)
    assert timeline == [
        ("2026-02-15", "Invoice"),
        ("2026-02-01", "Payment"),
        ("2026-01-01", "Invoice"),
        ("2025-10-01", "Invoice"),
    ]


def test_child_page_links_to_parent(ar: Any, as_user: Any) -> None:
    acme = ar.customers["acme"]
    html = page(as_user(ar.alice), ar.customers["west"])
    assert f'<a href="/customers/{acme.pk}/">C-100 Acme Corp</a>' in html
    assert table_rows(html, "exposure") == [
        ["Open AR", "300.00"],
        ["Past due", "300.00"],
        ["Unapplied cash", "0.00"],
        ["Open credits", "0.00"],
        ["Net", "300.00"],
    ]
    assert "Credit limit used" not in html  # no limit set


def test_multi_currency_exposure_is_per_currency(ar: Any, as_user: Any) -> None:
    from tests.factories import ledger as lf

    lf.invoice(ar.customers["acme"], "INV-EUR", "80.00", currency="EUR")
    html = page(as_user(ar.alice), ar.customers["acme"])
    assert '<th class="num">EUR</th><th class="num">USD</th>' in html
    assert table_rows(html, "exposure") == [
        ["Open AR", "80.00", "1,950.00"],
        ["Past due", "80.00", "1,450.00"],
        ["Unapplied cash", "0.00", "200.00"],
        ["Open credits", "0.00", "0.00"],
        ["Net", "80.00", "1,750.00"],
    ]
    assert '<strong data-field="credit_used">39.0%</strong>' in html


def test_collector_gets_404_outside_her_portfolio(ar: Any, as_user: Any) -> None:
    response = as_user(ar.alice).get(f"/customers/{ar.customers['beta'].pk}/")
    assert response.status_code == 404
    assert "error.html" in [t.name for t in response.templates]
    assert as_user(ar.alice).get("/customers/999999/").status_code == 404


def test_manager_sees_team_customers_not_other_teams(ar: Any, as_user: Any) -> None:
    client = as_user(ar.mona)
    for key in ["acme", "beta", "delta"]:
        assert client.get(f"/customers/{ar.customers[key].pk}/").status_code == 200
    assert client.get(f"/customers/{ar.customers['gamma'].pk}/").status_code == 404


def test_auditor_reads_but_cannot_edit_contacts(ar: Any, as_user: Any) -> None:
    client = as_user(ar.audrey)
    acme = ar.customers["acme"]
    html = page(client, acme)
    assert "Add contact" not in html
    assert client.get(f"/customers/{acme.pk}/contacts/new/").status_code == 403
    response = client.post(f"/customers/{acme.pk}/contacts/new/", CONTACT)
    assert response.status_code == 403
    assert not Contact.objects.exists()


def test_collector_adds_a_contact_without_js(ar: Any, as_user: Any) -> None:
    client = as_user(ar.alice)
    acme = ar.customers["acme"]
    assert "Add contact" in page(client, acme)
    form = client.get(f"/customers/{acme.pk}/contacts/new/")
    assert form.status_code == 200 and "ledger/contact_form.html" in [t.name for t in form.templates]
    assert not Contact.objects.exists()  # GET changes nothing
    response = client.post(f"/customers/{acme.pk}/contacts/new/", CONTACT)
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{acme.pk}/#contacts"
    contact = Contact.objects.get()
    assert (contact.customer_id, contact.name, contact.email) == (acme.pk, "Pat Payables", "pat@acme.test")
    assert (
        AuditLog.objects.filter(action="contact.create", actor=ar.alice, object_id=str(contact.pk)).count()
        == 1
    )
    html = client.get(response["Location"]).content.decode()
    assert "Contact Pat Payables added." in html and "pat@acme.test" in html


def test_collector_adds_a_contact_with_htmx(ar: Any, as_user: Any) -> None:
    client = as_user(ar.alice)
    acme = ar.customers["acme"]
    form = client.get(f"/customers/{acme.pk}/contacts/new/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in form and f'hx-post="/customers/{acme.pk}/contacts/new/"' in form
    response = client.post(f"/customers/{acme.pk}/contacts/new/", CONTACT, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<section class="card" id="contacts"')
    assert "Contact Pat Payables added." in html and "<strong>Pat Payables</strong>" in html


def test_duplicate_contact_name_is_a_form_error(ar: Any, as_user: Any) -> None:
    acme = ar.customers["acme"]
    services.add_contact(actor=ar.alice, customer=acme, name="Pat Payables")
    response = as_user(ar.alice).post(f"/customers/{acme.pk}/contacts/new/", CONTACT, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "C-100 already has a contact named &#x27;Pat Payables&#x27;" in response.content.decode()
    assert Contact.objects.count() == 1


def test_invalid_contact_is_a_form_error(ar: Any, as_user: Any) -> None:
    acme = ar.customers["acme"]
    response = as_user(ar.alice).post(f"/customers/{acme.pk}/contacts/new/", {**CONTACT, "email": "nope"})
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not Contact.objects.exists()


def test_collector_cannot_add_contact_outside_scope(ar: Any, as_user: Any) -> None:
    response = as_user(ar.alice).post(f"/customers/{ar.customers['beta'].pk}/contacts/new/", CONTACT)
    assert response.status_code == 404
    assert not Contact.objects.exists()


def test_edit_contact(ar: Any, as_user: Any) -> None:
    acme = ar.customers["acme"]
    contact = services.add_contact(actor=ar.alice, customer=acme, name="Pat Payables", email="old@acme.test")
    client = as_user(ar.alice)
    form = client.get(f"/contacts/{contact.pk}/edit/").content.decode()
    assert 'value="old@acme.test"' in form
    response = client.post(f"/contacts/{contact.pk}/edit/", {**CONTACT, "is_primary": "on"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.email, contact.is_primary) == ("pat@acme.test", True)
    log = AuditLog.objects.get(action="contact.update")
    assert log.after == {"email": "pat@acme.test", "is_primary": True}


def test_edit_contact_scope_and_capability(ar: Any, as_user: Any) -> None:
    contact = services.add_contact(
        actor=ar.alice, customer=ar.customers["acme"], name="Pat", email="a@b.test"
    )
    assert as_user(ar.bob).post(f"/contacts/{contact.pk}/edit/", CONTACT).status_code == 404
    assert as_user(ar.audrey).post(f"/contacts/{contact.pk}/edit/", CONTACT).status_code == 403
    contact.refresh_from_db()
    assert contact.name == "Pat"


def test_customer_page_query_count_is_bounded(ar: Any, as_user: Any, django_assert_num_queries: Any) -> None:
    from tests.factories import ledger as lf

    client = as_user(ar.alice)
    acme = ar.customers["acme"]
    # Fixed by the page's sections and the depth of the hierarchy (one query per level), not by rows.
    with django_assert_num_queries(18):
        client.get(f"/customers/{acme.pk}/")
    for n in range(20):
        lf.invoice(acme, f"MORE-{n}", "1.00")
        services.add_contact(actor=ar.alice, customer=acme, name=f"Contact {n}")
    with django_assert_num_queries(18):
        client.get(f"/customers/{acme.pk}/")
