"""Pages that belong to no app: the home dashboard and the health check."""

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from roles import rules
from roles.models import Role


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Greets the user with their organization, their roles and the workspaces they unlock."""
    user = request.user
    roles = Role.objects.filter(assignments__user=user) if user.organization_id else []
    return render(
        request,
        "home.html",
        {"roles": roles, "workspaces": rules.workspaces_for(user)},
    )


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 otherwise. Says nothing more to anyone."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
