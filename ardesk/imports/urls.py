from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("", views.upload, name="upload"),
    path("<int:pk>/", views.batch, name="batch"),
    path("<int:pk>/confirm/", views.confirm, name="confirm"),
    path("<int:pk>/recheck/", views.recheck, name="recheck"),
    path("<int:pk>/errors.csv", views.errors_csv, name="errors"),
]
