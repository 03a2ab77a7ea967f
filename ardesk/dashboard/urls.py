from django.urls import path

from . import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("assets/plotly-<str:version>.min.js", views.plotly_js, name="plotly_js"),
]
