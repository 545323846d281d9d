"""What the header and the left navigation need on every page, as the rulebook answers it."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from roles import rules
from roles.rules import Action, Workspace

# The heroicon (outline) drawn beside each workspace in the navigation.
WORKSPACE_ICONS: dict[Workspace, str] = {
    Workspace.USER_MANAGEMENT: "users",
    Workspace.ACCOUNT_SETTINGS: "cog-6-tooth",
    Workspace.MEMBERSHIP: "trophy",
    Workspace.BILLING: "credit-card",
    Workspace.CUSTOMERS: "building-office",
    Workspace.LEADS: "funnel",
    Workspace.SUPPORT_REQUESTS: "lifebuoy",
    Workspace.REFERRALS: "arrows-right-left",
    Workspace.INCENTIVES: "banknotes",
    Workspace.BUSINESS_PROFILE: "building-storefront",
    Workspace.ANALYTICS: "chart-bar",
}


@dataclass
class NavItem:
    """One link of the left navigation."""

    label: str
    url: str
    icon: str
    current: bool = False


@dataclass
class NavSection:
    """A group of links under an optional heading."""

    heading: str
    items: list[NavItem]


def navigation(request: HttpRequest) -> dict[str, object]:
    """The header's flags and the navigation's sections, for the signed-in person."""
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    # The shell (navigation, search) only for a session past the second factor and not held
    # at the forced password change: a password-only session may open neither.
    in_shell = signed_in and _verified(user) and not user.must_change_password
    if not signed_in or user.organization_id is None:
        flags = {
            "nav_user_management": False,
            "nav_audit_log": False,
            "nav_api_clients": False,
            "nav_profile": signed_in,
            "nav_support_admin": bool(user and rules.is_support_staff(user)),
        }
    else:
        flags = {
            "nav_user_management": bool(rules.can(user, Action.SEE_DIRECTORY)),
            "nav_audit_log": bool(rules.can(user, Action.SEE_AUDIT_LOG)),
            "nav_api_clients": bool(rules.can(user, Action.MANAGE_API_CLIENTS)),
            "nav_profile": True,
            "nav_support_admin": False,
        }
    sections = _sections(request, flags) if in_shell else []
    # Signed-out pages follow the system's setting.
    theme = user.theme_preference if signed_in else "system"
    return {**flags, "in_shell": in_shell, "nav_sections": sections, "theme_preference": theme}


def _verified(user: object) -> bool:
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def _sections(request: HttpRequest, flags: dict[str, bool]) -> list[NavSection]:
    from partnerhub.views import workspace_url  # the views import this module's neighbours

    user = request.user
    main = [NavItem("Home", reverse("home"), "home")]
    for workspace in rules.workspaces_for(user):
        main.append(NavItem(workspace.label, workspace_url(workspace), WORKSPACE_ICONS[workspace]))
        if workspace == Workspace.USER_MANAGEMENT and flags["nav_user_management"]:
            main.append(NavItem("Roles", reverse("roles_overview"), "identification"))
    sections = [NavSection("", main)]
    settings = []
    if flags["nav_audit_log"]:
        settings.append(NavItem("Audit log", reverse("audit_log"), "clipboard-document-list"))
    if flags["nav_api_clients"]:
        settings.append(NavItem("API clients", reverse("api_clients"), "key"))
    if flags["nav_support_admin"]:
        settings.append(NavItem("Support admin", reverse("admin:index"), "wrench-screwdriver"))
    if settings:
        sections.append(NavSection("Administration", settings))
    _mark_current(request.path, [item for section in sections for item in section.items])
    return sections


def _mark_current(path: str, items: list[NavItem]) -> None:
    """The item whose address is the longest start of the path is the current one; Home only
    on its own address."""
    matches = [
        item
        for item in items
        if path == item.url or (item.url != "/" and path.startswith(item.url))
    ]
    if matches:
        max(matches, key=lambda item: len(item.url)).current = True
