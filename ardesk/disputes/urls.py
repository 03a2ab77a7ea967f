from django.urls import path

from . import views

app_name = "disputes"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("open/", views.open_, name="open"),
    path("reports/", views.reports_page, name="reports"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/status/", views.status, name="status"),
    path("<int:pk>/note/", views.note, name="note"),
    path("<int:pk>/attach/", views.attach, name="attach"),
    path("<int:pk>/resolve/", views.resolve, name="resolve"),
    path("<int:pk>/close/", views.close, name="close"),
    path("<int:pk>/reopen/", views.reopen, name="reopen"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("panels/customer/<int:pk>/", views.customer_panel, name="customer_panel"),
    path("panels/invoice/<int:pk>/", views.invoice_panel, name="invoice_panel"),
]
