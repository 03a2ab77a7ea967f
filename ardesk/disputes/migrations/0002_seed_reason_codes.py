"""Seed the reason codes of the issue, each with an SLA in days and a default owning department."""

from django.db import migrations

REASONS = [
    # code, name, SLA days, default department
    ("pricing", "Pricing", 30, "sales"),
    ("shortage", "Quantity / shortage", 20, "shipping"),
    ("damaged", "Damaged goods", 20, "shipping"),
    ("not_received", "Not received", 15, "shipping"),
    ("duplicate", "Duplicate billing", 10, "billing"),
    ("tax", "Tax", 20, "billing"),
    ("promotion", "Promotion / trade allowance", 45, "sales"),
    ("returns", "Returns", 30, "customer_service"),
    ("service", "Service", 30, "customer_service"),
    ("other", "Other", 30, "customer_service"),
]


def seed(apps, schema_editor):
    ReasonCode = apps.get_model("disputes", "ReasonCode")
    DisputeSettings = apps.get_model("disputes", "DisputeSettings")
    for order, (code, name, sla, dept) in enumerate(REASONS, start=1):
        ReasonCode.objects.get_or_create(
            code=code,
            defaults={"name": name, "sla_days": sla, "default_department": dept, "sort_order": order * 10},
        )
    DisputeSettings.objects.get_or_create(
        pk=1, defaults={"deduction_reason": ReasonCode.objects.get(code="shortage")}
    )


def unseed(apps, schema_editor):
    apps.get_model("disputes", "DisputeSettings").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("disputes", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
