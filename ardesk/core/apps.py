from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ardesk.core"
    label = "core"
    verbose_name = "Core"
