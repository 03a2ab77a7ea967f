from django.apps import AppConfig


class GoalsConfig(AppConfig):
    name = "ardesk.goals"
    label = "goals"
    verbose_name = "Goals"
