from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from ardesk.api.api import api

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("imports/", include("ardesk.imports.urls")),
    path("activities/", include("ardesk.activities.urls")),
    path("disputes/", include("ardesk.disputes.urls")),
    path("collections/", include("ardesk.collections.urls")),
    path("goals/", include("ardesk.goals.urls")),
    path("coaching/", include("ardesk.coaching.urls")),
    path("", include("ardesk.ledger.urls")),
    path("", include("ardesk.dashboard.urls")),
]
