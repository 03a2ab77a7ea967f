from django.urls import path

from . import views

app_name = "activities"
urlpatterns = [
    path("", views.activity_list, name="list"),
    path("report/", views.report, name="report"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("follow-ups/<int:pk>/done/", views.follow_up_done, name="follow_up_done"),
    path("customers/<int:pk>/panel/", views.customer_panel, name="customer_panel"),
    path("customers/<int:pk>/calls/", views.log_call, name="log_call"),
    path("invoices/<int:pk>/panel/", views.invoice_panel, name="invoice_panel"),
]
