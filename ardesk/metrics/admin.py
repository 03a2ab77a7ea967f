"""KPI snapshots in the back office: read only (`ardesk snapshot` writes them)."""

from typing import Any

from django.contrib import admin

from .models import KpiSnapshot, SnapshotPeriod, SnapshotWatermark


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(ReadOnlyAdmin):
    list_display = [
        "period_end",
        "grain",
        "dimension",
        "key",
        "currency",
        "open_ar",
        "past_due",
        "dso",
        "cei",
        "computed_at",
    ]
    list_filter = ["grain", "dimension", "currency"]
    search_fields = ["key"]
    date_hierarchy = "period_end"
    show_full_result_count = False


@admin.register(SnapshotPeriod)
class SnapshotPeriodAdmin(ReadOnlyAdmin):
    list_display = ["period_end", "grain", "window_days", "bounds", "rows", "computed_at"]
    list_filter = ["grain"]


@admin.register(SnapshotWatermark)
class SnapshotWatermarkAdmin(ReadOnlyAdmin):
    list_display = ["grain", "last_audit_id", "computed_through", "refreshed_at", "runs", "lease_until"]
