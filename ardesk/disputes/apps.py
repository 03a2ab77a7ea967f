from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "ardesk.disputes"
    label = "disputes"
    verbose_name = "Disputes"
