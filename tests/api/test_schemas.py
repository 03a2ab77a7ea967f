"""Pure functions of the API edge: money in and out, schema conversion, fingerprints, tokens, limits."""

from __future__ import annotations

import datetime as dt
from typing import get_args

import pytest
from pydantic import ValidationError

from ardesk.api.errors import validation_details
from ardesk.api.idempotency import request_hash
from ardesk.api.pagination import effective_limit
from ardesk.api.services import split_token
from ardesk.core.money import Money
from ardesk.ledger import schemas
from ardesk.ledger.models import Contact, Customer, Invoice, LegalEntity, Payment, PaymentTerms
from ardesk.ledger.schemas import InvoiceIn, MoneyIn, MoneyOut, invoice_out, money_out


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [
        (123450, "USD", "1234.50"),
        (0, "USD", "0.00"),
        (-6000, "USD", "-60.00"),
        (1000, "JPY", "1000"),
        (5, "KWD", "0.005"),
        (10**15, "USD", "10000000000000.00"),
    ],
)
def test_money_out(minor, currency, amount):
    assert money_out(minor, currency) == MoneyOut(amount=amount, currency=currency, amount_minor=minor)


def test_money_in_parses_exactly():
    assert MoneyIn(amount="1234.5", currency="USD").money() == Money(123450, "USD")
    assert MoneyIn(amount="0.001", currency="KWD").money() == Money(1, "KWD")
    for bad in ({"amount": "0.001", "currency": "USD"}, {"amount": 1.5, "currency": "USD"}):
        with pytest.raises(ValidationError):
            MoneyIn.model_validate(bad)
    with pytest.raises(ValidationError, match="Extra inputs"):
        MoneyIn.model_validate({"amount": "1", "currency": "USD", "amount_minor": 100})


def test_invoice_in_forbids_server_fields():
    base = {
        "customer_id": 1,
        "number": "X",
        "invoice_date": "2026-01-01",
        "amount": {"amount": "1", "currency": "USD"},
    }
    assert InvoiceIn.model_validate(base).amount.money() == Money(100, "USD")
    with pytest.raises(ValidationError, match="open_minor"):
        InvoiceIn.model_validate({**base, "open_minor": 5})


def test_invoice_out_is_a_pure_conversion():
    entity = LegalEntity(code="DE01", name="DE", functional_currency="EUR")
    customer = Customer(pk=7, account_number="C-7", name="Seven", entity=entity, currency="EUR")
    invoice = Invoice(
        pk=9,
        number="RE-9",
        customer=customer,
        entity=entity,
        terms=PaymentTerms(code="NET14", name="Net 14", net_days=14),
        invoice_date=dt.date(2026, 1, 1),
        due_date=dt.date(2026, 1, 15),
        currency="EUR",
        amount_minor=11900,
        tax_minor=1900,
        open_minor=500,
        status="open",
        created_at=dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC),
    )
    out = invoice_out(invoice).model_dump(mode="json")
    assert out == {
        "id": 9,
        "number": "RE-9",
        "customer": {"id": 7, "account_number": "C-7", "name": "Seven"},
        "entity": "DE01",
        "invoice_date": "2026-01-01",
        "due_date": "2026-01-15",
        "terms": "NET14",
        "amount": {"amount": "119.00", "currency": "EUR", "amount_minor": 11900},
        "tax": {"amount": "19.00", "currency": "EUR", "amount_minor": 1900},
        "open": {"amount": "5.00", "currency": "EUR", "amount_minor": 500},
        "status": "open",
        "po_number": "",
        "erp_reference": "",
        "closed_on": None,
        "cancelled_on": None,
        "created_at": "2026-01-01T08:00:00Z",
    }


def test_request_hash_is_canonical():
    assert request_hash(b'{"a": 1, "b": [1, 2]}') == request_hash(b'{\n  "b": [1,2],\n  "a": 1\n}')
    assert request_hash(b'{"a": 1}') != request_hash(b'{"a": 2}')
    assert request_hash(b"") == request_hash(b"null")


def test_split_token():
    assert split_token("ard_0a1b2c3d_se_cr-et") == ("0a1b2c3d", "se_cr-et")
    assert split_token("ard__x") is None
    assert split_token("gh_0a1b2c3d_x") is None
    assert split_token("nonsense") is None


def test_effective_limit():
    assert (effective_limit(10, 500), effective_limit(501, 500), effective_limit(0, 500)) == (10, 500, 1)


def test_validation_details_hide_parameter_names():
    errors = [
        {"loc": ("body", "payload", "amount", "amount"), "msg": "Value error, bad", "type": "value_error"}
    ]
    assert validation_details(errors) == [
        {"loc": ["body", "amount", "amount"], "msg": "bad", "type": "value_error"}
    ]


@pytest.mark.parametrize(
    ("literal", "choices"),
    [
        (schemas.CustomerStatus, Customer.Status),
        (schemas.RiskClass, Customer.RiskClass),
        (schemas.ContactRole, Contact.Role),
        (schemas.ContactChannel, Contact.Channel),
        (schemas.InvoiceStatus, Invoice.Status),
        (schemas.PaymentMethod, Payment.Method),
    ],
)
def test_choice_literals_match_the_models(literal, choices):
    assert list(get_args(literal)) == list(choices.values)
