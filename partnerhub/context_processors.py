"""What the header needs on every page, as the rulebook answers it."""

from django.http import HttpRequest

from roles import rules
from roles.rules import Action


def navigation(request: HttpRequest) -> dict[str, bool]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.organization_id is None:
        return {
            "nav_user_management": False,
            "nav_audit_log": False,
            "nav_api_clients": False,
            "nav_profile": bool(user and user.is_authenticated),
            "nav_support_admin": bool(user and rules.is_support_staff(user)),
        }
    return {
        "nav_user_management": bool(rules.can(user, Action.SEE_DIRECTORY)),
        "nav_audit_log": bool(rules.can(user, Action.SEE_AUDIT_LOG)),
        "nav_api_clients": bool(rules.can(user, Action.MANAGE_API_CLIENTS)),
        "nav_profile": True,
        "nav_support_admin": False,
    }
