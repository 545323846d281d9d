from django.contrib import admin
from django.urls import include, path

from partnerhub import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("accounts.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "partnerhub.views.permission_denied"
handler404 = "partnerhub.views.page_not_found"
