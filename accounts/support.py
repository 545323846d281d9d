"""The "Support" group: the model permissions the partner network's support staff work with.

Staff accounts are not superusers; they get their permissions from this group. What they may do
to a partner's users beyond those permissions is still the rulebook's to decide.
"""

from typing import Any

from django.contrib.auth.models import Group, Permission

SUPPORT_GROUP = "Support"

SUPPORT_PERMISSIONS = {
    "accounts": [
        "view_partnerorganization",
        "add_partnerorganization",
        "change_partnerorganization",
        "view_user",
        "add_user",
        "change_user",
        "delete_user",
        "view_auditevent",
    ],
    "roles": [
        "view_role",
        "view_roleassignment",
        "add_roleassignment",
        "delete_roleassignment",
        # Approving or rejecting is not a model permission: the rulebook decides each request.
        "view_globaladmingrantrequest",
    ],
    # API clients: seen and revoked (an action the rulebook decides), never created, changed or
    # shown with a secret (only its hash is kept, and the admin does not show that either).
    "api": ["view_apiclient"],
}


def ensure_support_group(**kwargs: Any) -> Group:
    """Create the Support group, or put its permissions back to the list above."""
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    permissions = [
        permission
        for app_label, codenames in SUPPORT_PERMISSIONS.items()
        for permission in Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
    ]
    group.permissions.set(permissions)
    return group
