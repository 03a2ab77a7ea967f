from django.urls import path

from . import views

app_name = "goals"
urlpatterns = [
    path("", views.home, name="home"),
    path("export/", views.export, name="export"),
    path("new/", views.create, name="create"),
    path("collectors/<int:pk>/", views.collector, name="collector"),
    path("teams/<int:pk>/sharing/", views.sharing, name="sharing"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/history/export/", views.history_export, name="history_export"),
]
