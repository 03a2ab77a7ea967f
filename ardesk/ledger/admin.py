"""Back-office configuration. Posted records are read-only here: they change through services only."""

from typing import Any

from django.contrib import admin

from .models import (
    Application,
    Contact,
    CreditMemo,
    Customer,
    FxRate,
    Invoice,
    LegalEntity,
    Organization,
    Payment,
    PaymentTerms,
    WriteOff,
)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "base_currency", "time_zone"]


@admin.register(LegalEntity)
class LegalEntityAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "functional_currency"]


@admin.register(PaymentTerms)
class PaymentTermsAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "net_days", "discount_days", "discount_percent"]


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    list_display = ["rate_date", "base", "quote", "rate"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["account_number", "name", "entity", "collector", "status", "risk_class"]
    list_filter = ["entity", "status", "risk_class", "territory"]
    search_fields = ["account_number", "name"]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["name", "customer", "role", "email"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "customer",
        "invoice_date",
        "due_date",
        "currency",
        "amount_minor",
        "open_minor",
        "status",
    ]
    list_filter = ["status", "entity", "currency"]
    search_fields = ["number", "customer__account_number"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["reference", "customer", "payment_date", "currency", "amount_minor", "unapplied_minor"]


@admin.register(CreditMemo)
class CreditMemoAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "memo_date", "amount_minor", "unapplied_minor"]


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "payment", "credit_memo", "amount_minor", "applied_date"]


@admin.register(WriteOff)
class WriteOffAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "amount_minor", "written_off_on", "reason"]
