"""Customers and contacts: created, updated field by field with one audit row per changed record,
unchanged on re-import."""

from __future__ import annotations

from ardesk.core.models import AuditLog
from ardesk.imports.services import run_import
from ardesk.ledger.models import Contact, Customer, PortfolioAssignment
from tests.factories import ledger as lf

from .conftest import ledger_counts

CUST_HEAD = "account_number,name,city,country,payment_terms,credit_limit,risk_class,collector,parent\n"


def errors(report):
    return [(e.row, e.column, e.reason) for e in report.errors]


def test_customers_create_update_and_reimport(book, write):
    lf.terms("NET60", 60)
    path = write(
        "cust.csv",
        CUST_HEAD + 'C-100,Acme Corporation,Boston,us,NET60,"50,000.00",high,alice,\n'  # update 5 fields
        "C-200,Beta LLC,,,NET30,,,bob,\n"  # unchanged
        "C-900,Newco,Paris,FR,NET30,1000,low,carl,C-901\n"  # new, parent in the same file
        "C-901,Newco Holding,Paris,FR,NET30,,,,\n",
    )
    audit_before = AuditLog.objects.count()
    report = run_import(actor=book.mona, kind="customers", path=path)
    assert report.ok, report.errors
    assert report.counts == {"customers": {"updated": 1, "unchanged": 1, "created": 2}}
    acme = Customer.objects.get(account_number="C-100")
    assert (
        acme.name,
        acme.city,
        acme.country,
        acme.payment_terms.code,
        acme.credit_limit_minor,
        acme.risk_class,
    ) == (
        "Acme Corporation",
        "Boston",
        "US",
        "NET60",
        5_000_000,
        "high",
    )
    newco = Customer.objects.get(account_number="C-900")
    assert (newco.parent.account_number, newco.collector.username, newco.entity.code, newco.currency) == (
        "C-901",
        "carl",
        "US01",
        "USD",
    )
    assert PortfolioAssignment.objects.filter(customer=newco, ended_at=None).get().collector == book.carl
    updates = AuditLog.objects.filter(action="customer.update")
    assert updates.count() == 1
    upd = updates.get()
    assert (upd.actor, upd.object_id) == (book.mona, str(acme.pk))
    assert upd.before == {
        "name": "Acme Corp",
        "city": "",
        "country": "",
        "risk_class": "medium",
        "payment_terms_id": lf.terms().pk,
        "credit_limit_minor": None,
    }
    assert upd.after == {
        "name": "Acme Corporation",
        "city": "Boston",
        "country": "US",
        "risk_class": "high",
        "payment_terms_id": lf.terms("NET60", 60).pk,
        "credit_limit_minor": 5_000_000,
    }
    assert AuditLog.objects.count() == audit_before + 2  # the update and the batch

    before = ledger_counts()
    again = run_import(actor=book.mona, kind="customers", path=path)
    assert again.counts == {"customers": {"unchanged": 4, "created": 0}}
    assert ledger_counts() == before


def test_customer_collector_change_keeps_the_assignment_history(book, write):
    path = write("cust.csv", "account_number,name,collector\nC-100,Acme Corp,bob\n")
    report = run_import(actor=book.mona, kind="customers", path=path)
    assert report.counts == {"customers": {"updated": 1, "created": 0}}
    history = list(
        PortfolioAssignment.objects.filter(customer=book.customers["acme"])
        .order_by("started_at", "id")
        .values_list("collector__username", "ended_at")
    )
    assert [h[0] for h in history] == ["alice", "bob"]
    assert history[0][1] is not None and history[1][1] is None
    assert Customer.objects.get(account_number="C-100").collector == book.bob


def test_customer_errors(book, write):
    path = write(
        "cust.csv",
        "account_number,name,entity,currency,payment_terms,credit_limit,collector,parent,risk_class,country\n"
        "C-100,Acme,,EUR,,,,,,\n"  # currency of an existing customer
        "C-800,X,ZZ01,,,,,,,\n"  # unknown entity
        "C-801,X,,,NET99,,,,,\n"  # unknown terms
        "C-802,X,,,,-5,,,,\n"  # negative credit limit
        "C-803,X,,,,,zed,,,\n"  # unknown user
        "C-804,X,,,,,,C-404,,\n"  # unknown parent
        "C-805,X,,,,,,C-805,,\n"  # own parent
        "C-806,X,,,,,,,extreme,\n"  # bad choice
        "C-807,X,,,,,,,,USA\n"  # not a country code
        "C-808,X,,,,,,,,\n"
        "C-808,Y,,,,,,,,\n",  # duplicate account
    )
    before = ledger_counts()
    report = run_import(actor=None, kind="customers", path=path)
    assert errors(report) == [
        (2, "currency", "customer C-100 is in USD; its currency cannot be changed by an import"),
        (3, "entity", "unknown legal entity 'ZZ01' (known: US01)"),
        (4, "payment_terms", "unknown payment terms 'NET99' (known: NET30)"),
        (5, "credit_limit", "credit limit cannot be negative"),
        (6, "collector", "unknown user 'zed'"),
        (7, "parent", "unknown parent account 'C-404' (not in the database or in this file)"),
        (8, "parent", "a customer cannot be its own parent"),
        (9, "risk_class", "'extreme' is not one of: low, medium, high, severe"),
        (10, "country", "'USA' is not a two-letter country code (ISO 3166)"),
        (12, "account_number", "duplicate customer account C-808 (first on row 11)"),
    ]
    assert ledger_counts() == before


def test_customer_parent_loop_is_refused(book, write):
    path = write("cust.csv", "account_number,name,parent\nC-100,Acme,C-200\nC-200,Beta,C-100\nC-300,Gamma,\n")
    before = ledger_counts()
    report = run_import(actor=None, kind="customers", path=path)
    assert errors(report) == [
        (2, "parent", "parent accounts form a loop through C-100"),
        (3, "parent", "parent accounts form a loop through C-200"),
    ]
    assert ledger_counts() == before


def test_contacts_create_update_and_reimport(book, write):
    path = write(
        "contacts.csv",
        "customer,name,role,email,phone,is_primary\n"
        "C-100,Ann Payable,AP clerk,ann@acme.example,555-0100,yes\n"
        "C-200,Bob Controller,controller,bob@beta.example,,no\n",
    )
    report = run_import(actor=book.mona, kind="contacts", path=path)
    assert report.counts == {"contacts": {"created": 2}}
    ann = Contact.objects.get(name="Ann Payable")
    assert (ann.customer.account_number, ann.role, ann.email, ann.phone, ann.is_primary) == (
        "C-100",
        "ap_clerk",
        "ann@acme.example",
        "555-0100",
        True,
    )
    changed = write(
        "contacts2.csv",
        "customer,name,role,email,phone,is_primary\n"
        "C-100,Ann Payable,AP manager,ann@acme.example,,yes\n"
        "C-200,Bob Controller,controller,bob@beta.example,,no\n",
    )
    report = run_import(actor=book.mona, kind="contacts", path=changed)
    assert report.counts == {"contacts": {"updated": 1, "unchanged": 1, "created": 0}}
    upd = AuditLog.objects.get(action="contact.update")
    assert (upd.before, upd.after) == (
        {"role": "ap_clerk", "phone": "555-0100"},
        {"role": "ap_manager", "phone": ""},
    )


def test_contact_errors(book, write):
    path = write(
        "contacts.csv",
        "customer,name,email,is_primary\nC-999,Zed,z@x.example,\nC-100,Ann,not-an-email,\nC-100,Bo,,maybe\n"
        "C-100,Cy,,\nC-100,Cy,,\n",
    )
    before = ledger_counts()
    report = run_import(actor=None, kind="contacts", path=path)
    assert errors(report) == [
        (2, "customer", "unknown customer account 'C-999'"),
        (3, "email", "'not-an-email' is not an email address"),
        (4, "is_primary", "'maybe' is not yes or no"),
        (6, "name", "duplicate contact Cy of C-100 (first on row 5)"),
    ]
    assert ledger_counts() == before
