from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from partnerhub import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("workspaces/<slug:workspace>/", views.workspace, name="workspace"),
    path("", include("accounts.urls")),
    path("", include("api.urls")),
    path("", include("mfa.urls")),
    # The admin's own password change would skip the sign-in lockout's count and the audit
    # trail: support staff change their password on the page everyone uses.
    path(
        "admin/password_change/",
        RedirectView.as_view(pattern_name="change_password"),
        name="admin_password_change",
    ),
    path("admin/", admin.site.urls),
]

handler403 = "partnerhub.views.permission_denied"
handler404 = "partnerhub.views.page_not_found"
handler500 = "partnerhub.views.server_error"
