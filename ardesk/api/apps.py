from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "ardesk.api"
    label = "api"
    verbose_name = "API"
