from django.apps import AppConfig


class CoachingConfig(AppConfig):
    name = "ardesk.coaching"
    label = "coaching"
    verbose_name = "Coaching"
