from django.urls import path

from . import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("reports/trends/", views.trends, name="trends"),
    path("reports/aging/", views.aging, name="aging"),
    path("reports/aging/drill/", views.aging_drill, name="aging_drill"),
    path("reports/collectors/", views.collectors, name="collectors"),
    path("reports/customers/<int:pk>/kpis/", views.customer_kpis, name="customer_kpis"),
    path("assets/plotly-<str:version>.min.js", views.plotly_js, name="plotly_js"),
]
