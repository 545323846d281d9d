"""The product's URLs, plus what the bench compares them with.

- a plain Django admin (a second AdminSite) listing and searching users the way Django does out
  of the box: `icontains` on three fields and the full result count; the bench asks it for the
  same organization (`?organization=ID`, a lookup on the model's own field) and the same page
  size as the directory;
- a trivial signed-in page: the same middleware as every page, and no work of its own.
"""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from accounts.models import User
from partnerhub.urls import handler403, handler404

reference_admin = admin.AdminSite(name="reference_admin")


@admin.register(User, site=reference_admin)
class ReferenceUserAdmin(admin.ModelAdmin):
    """Django's defaults: what "as fast as a plain admin" is measured against."""

    # What the directory shows of a user in its organization; no organization column (one
    # query per row, by Django's default, would measure that, not the search).
    list_display = ("first_name", "last_name", "email", "is_active", "created_at")
    search_fields = ("first_name", "last_name", "email")
    list_per_page = 25  # the directory's page size


@login_required
def trivial(request: HttpRequest) -> HttpResponse:
    """Signed in, through the same middleware as every page; returns a short "ok"."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/ok/", trivial, name="bench_trivial"),
    path("bench/reference-admin/", reference_admin.urls),
    path("", include("partnerhub.urls")),
]

__all__ = ["handler403", "handler404", "urlpatterns"]
