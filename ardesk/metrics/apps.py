from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "ardesk.metrics"
    label = "metrics"
    verbose_name = "Metrics"
