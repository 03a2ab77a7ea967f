"""Back-office configuration of disputes: reason codes (SLA, default department) and the deduction
tolerance. Disputes themselves change through the services (the dispute pages and API) only."""

from typing import Any

from django.contrib import admin

from .models import Dispute, DisputeSettings, ReasonCode


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "sla_days", "default_department", "active", "sort_order"]
    list_editable = ["sla_days", "default_department", "active", "sort_order"]


@admin.register(DisputeSettings)
class DisputeSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "deduction_max_minor", "deduction_max_percent", "deduction_reason"]

    def has_add_permission(self, request: Any) -> bool:
        return not DisputeSettings.objects.exists()


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "customer",
        "kind",
        "reason",
        "status",
        "owner",
        "department",
        "opened_on",
        "due_on",
    ]
    list_filter = ["status", "kind", "department", "reason"]
    search_fields = ["customer__name", "customer__account_number", "customer_reference"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
