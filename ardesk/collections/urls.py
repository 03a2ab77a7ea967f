from django.urls import path

from . import views

app_name = "collections"
urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("worklist/<int:pk>/call/", views.log_call, name="log_call"),
    path("worklist/<int:pk>/email/", views.send_email, name="send_email"),
    path("worklist/<int:pk>/snooze/", views.snooze, name="snooze"),
    path("worklist/<int:pk>/reassign/", views.reassign, name="reassign"),
    path("customers/<int:pk>/panel/", views.customer_panel, name="customer_panel"),
    path("customers/<int:pk>/blocks/", views.block_add, name="block_add"),
    path("customers/<int:pk>/settings/", views.account_settings, name="account_settings"),
    path("blocks/", views.blocks, name="blocks"),
    path("blocks/<int:pk>/lift/", views.block_lift, name="block_lift"),
    path("strategies/", views.strategies, name="strategies"),
    path("strategies/<int:pk>/", views.strategy, name="strategy"),
    path("steps/<int:pk>/delete/", views.step_delete, name="step_delete"),
    path("templates/", views.templates, name="templates"),
    path("templates/edit/", views.template_edit, name="template_edit"),
    path("templates/preview/", views.template_preview, name="template_preview"),
    path("weights/", views.weights, name="weights"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:pk>/letter.pdf", views.letter, name="letter"),
    path("outbox/<int:pk>/done/", views.task_done, name="task_done"),
    path("escalations/", views.escalations, name="escalations"),
    path("escalations/<int:pk>/ack/", views.escalation_ack, name="escalation_ack"),
    path("escalations/<int:pk>/resolve/", views.escalation_resolve, name="escalation_resolve"),
    path("holds/", views.holds, name="holds"),
    path("holds/<int:pk>/accept/", views.hold_accept, name="hold_accept"),
    path("holds/<int:pk>/dismiss/", views.hold_dismiss, name="hold_dismiss"),
    path("holds/customers/<int:pk>/lift/", views.hold_lift, name="hold_lift"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
