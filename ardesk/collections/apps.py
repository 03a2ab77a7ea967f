from django.apps import AppConfig


class CollectionsConfig(AppConfig):
    name = "ardesk.collections"
    label = "collections"
    verbose_name = "Collections"
