"""Settings > API clients: a Global admin creates clients (the token shown once) and revokes
them; every client of the organization is listed with its roles, expiry and last use."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.audit import Origin
from accounts.reauth import password_recently_confirmed
from api import clients
from api.forms import ApiClientForm
from api.models import ApiClient
from roles import rules
from roles.catalogue import SPECS
from roles.rules import Action

CONFIRM_BEFORE_CREATING = (
    "For your security, confirm your password before creating an API client, then select "
    "Create client again: your choices are kept."
)


def _clients(request: HttpRequest) -> list[ApiClient]:
    found = list(ApiClient.objects.in_organization(request.user.organization).order_by("name"))
    for client in found:
        client.roles = [SPECS[key] for key in client.role_keys if key in SPECS]
        client.role_names = [spec.name for spec in client.roles]
    return found


@never_cache  # the page that shows a token must not be kept by any cache
@login_required
@require_http_methods(["GET", "POST"])
def api_clients(request: HttpRequest) -> HttpResponse:
    """The organization's API clients, and the form that creates one (its token shown once)."""
    actor = request.user
    rules.require(rules.can(actor, Action.MANAGE_API_CLIENTS), Action.MANAGE_API_CLIENTS)
    origin = Origin.from_request(request)
    form = ApiClientForm(request.POST or None, actor=actor, origin=origin)
    created, needs_password = None, False
    if request.method == "POST" and form.is_valid() and not password_recently_confirmed(request):
        # A token is a credential that outlives the session: creating one asks for the password
        # again, as granting Global admin does. Nothing is saved; the choices stay in the form.
        form.add_error(None, CONFIRM_BEFORE_CREATING)
        needs_password = True
    elif request.method == "POST" and form.is_valid():
        try:
            created = clients.create_client(
                actor,
                name=form.cleaned_data["name"],
                role_keys=form.cleaned_data["roles"],
                expires_at=form.expires_at(),
                origin=origin,
            )
        except clients.NameInUse:
            form.add_error("name", clients.NameInUse.message)
        else:
            form = ApiClientForm(actor=actor, origin=origin)
    return render(
        request,
        "api/api_clients.html",
        {
            "form": form,
            "clients": _clients(request),
            "created": created,
            "needs_password": needs_password,
        },
    )


@login_required
@require_POST
def revoke_api_client(request: HttpRequest, client_id: str) -> HttpResponse:
    """Revoke a client of the organization at once."""
    if request.user.organization_id is None:  # support staff revoke in the support admin
        rules.require(rules.can(request.user, Action.MANAGE_API_CLIENTS), Action.MANAGE_API_CLIENTS)
    client = get_object_or_404(
        ApiClient.objects.in_organization(request.user.organization), public_id=client_id
    )
    rules.require(
        rules.can_revoke_api_client(request.user, client.organization), Action.MANAGE_API_CLIENTS
    )
    clients.revoke_client(request.user, client, origin=Origin.from_request(request))
    messages.success(request, f"{client} is revoked: its next call is refused.")
    return redirect("api_clients")
