from django.urls import path

from . import views

app_name = "coaching"
urlpatterns = [
    path("", views.home, name="home"),
    path("collectors/<int:pk>/", views.collector, name="collector"),
    path("collectors/<int:pk>/sessions/new/", views.session_create, name="session_create"),
]
