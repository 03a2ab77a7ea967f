from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _seed_defaults(sender: Any, using: str = "default", apps: Any = None, **kwargs: Any) -> None:
    """After `migrate` (and after a `flush`, which empties the tables the data migration filled), make
    sure the default reason codes and the settings row exist. Idempotent."""
    from .defaults import REASONS

    if apps is None:  # `flush` sends no migration state: the installed models are current
        from django.apps import apps as installed

        apps = installed
    try:
        reason_code = apps.get_model("disputes", "ReasonCode")
        dispute_settings = apps.get_model("disputes", "DisputeSettings")
    except LookupError:  # migrations not applied yet
        return
    if not reason_code.objects.using(using).exists():
        for order, (code, name, sla, dept) in enumerate(REASONS, start=1):
            reason_code.objects.using(using).get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "sla_days": sla,
                    "default_department": dept,
                    "sort_order": order * 10,
                },
            )
    if not dispute_settings.objects.using(using).filter(pk=1).exists():
        dispute_settings.objects.using(using).create(
            pk=1, deduction_reason=reason_code.objects.using(using).filter(code="shortage").first()
        )


class DisputesConfig(AppConfig):
    name = "ardesk.disputes"
    label = "disputes"
    verbose_name = "Disputes"

    def ready(self) -> None:
        post_migrate.connect(_seed_defaults, sender=self, dispatch_uid="disputes-seed-defaults")
