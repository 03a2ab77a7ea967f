from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "ardesk.dashboard"
    label = "dashboard"
