from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "ardesk.activities"
    label = "activities"
    verbose_name = "Activities"
