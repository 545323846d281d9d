"""The partner roles of DOMAIN.md, as facts: name, group, CSP-only flag, what each unlocks.

The rulebook (roles.rules) decides with these facts; the Role table is loaded from them by a data
migration, and a test keeps the two equal.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models


class RoleKey(models.TextChoices):
    GLOBAL_ADMIN = "global_admin", "Global admin"
    USER_MANAGEMENT_ADMIN = "user_management_admin", "User management admin"
    ACCOUNT_ADMIN = "account_admin", "Account admin"
    MPN_PARTNER_ADMIN = "mpn_partner_admin", "MPN Partner Admin"
    BILLING_ADMIN = "billing_admin", "Billing admin"
    ADMIN_AGENT = "admin_agent", "Admin agent"
    SALES_AGENT = "sales_agent", "Sales agent"
    HELPDESK_AGENT = "helpdesk_agent", "Helpdesk agent"
    REFERRALS_ADMIN = "referrals_admin", "Referrals admin"
    INCENTIVES_ADMIN = "incentives_admin", "Incentives admin"
    BUSINESS_PROFILE_ADMIN = "business_profile_admin", "Business profile admin"
    EXECUTIVE_REPORT_VIEWER = "executive_report_viewer", "Executive report viewer"


class RoleGroup(models.TextChoices):
    DIRECTORY = "directory", "Directory role"
    MEMBERSHIP = "membership", "Membership role"


class RoleKind(models.TextChoices):
    """How a role is shown in lists: the top admin roles stand out, the rest by their group."""

    TOP_ADMIN = "top_admin", "Top admin role"
    DIRECTORY = "directory", "Directory role"
    MEMBERSHIP = "membership", "Membership role"


# The roles that run the organization and its users (DOMAIN.md's hierarchy): whoever holds one
# can change other people's access, so lists show them filled with the accent colour.
TOP_ADMIN_ROLES = frozenset(
    {RoleKey.GLOBAL_ADMIN, RoleKey.USER_MANAGEMENT_ADMIN, RoleKey.ACCOUNT_ADMIN}
)


@dataclass(frozen=True)
class RoleSpec:
    key: RoleKey
    group: RoleGroup
    csp_only: bool
    unlocks: str
    description: str

    @property
    def name(self) -> str:
        return self.key.label

    @property
    def kind(self) -> RoleKind:
        """Top admin role, else the role's group: what its badge looks like."""
        if self.key in TOP_ADMIN_ROLES:
            return RoleKind.TOP_ADMIN
        return RoleKind(self.group.value)


# In the order of the user-management hierarchy, then as DOMAIN.md lists them.
CATALOGUE: tuple[RoleSpec, ...] = (
    RoleSpec(
        RoleKey.GLOBAL_ADMIN,
        RoleGroup.DIRECTORY,
        csp_only=False,
        unlocks="Everything in the organization.",
        description="Directory (tenant) role: the organization's top administrator.",
    ),
    RoleSpec(
        RoleKey.USER_MANAGEMENT_ADMIN,
        RoleGroup.DIRECTORY,
        csp_only=True,
        unlocks="Create and manage users and their roles.",
        description="Directory role for the people who look after the organization's users.",
    ),
    RoleSpec(
        RoleKey.ACCOUNT_ADMIN,
        RoleGroup.MEMBERSHIP,
        csp_only=False,
        unlocks="Manage the membership roles of existing users; locations and program enrolment.",
        description="Membership role for the people who run the organization's partner account.",
    ),
    RoleSpec(
        RoleKey.MPN_PARTNER_ADMIN,
        RoleGroup.MEMBERSHIP,
        csp_only=False,
        unlocks="Membership workspace: benefits, competencies, MAPS purchase. "
        "Sees users and roles, changes none.",
        description="Membership role for the people who use the partner network's benefits.",
    ),
    RoleSpec(
        RoleKey.BILLING_ADMIN,
        RoleGroup.DIRECTORY,
        csp_only=True,
        unlocks="Billing: invoices, reconciliation.",
        description="Directory role for the people who pay and reconcile invoices.",
    ),
    RoleSpec(
        RoleKey.ADMIN_AGENT,
        RoleGroup.DIRECTORY,
        csp_only=True,
        unlocks="Customers and subscriptions, on customers' behalf.",
        description="Directory role for the people who administer customers' services.",
    ),
    RoleSpec(
        RoleKey.SALES_AGENT,
        RoleGroup.DIRECTORY,
        csp_only=True,
        unlocks="Customers, subscriptions, leads.",
        description="Directory role for the people who sell to customers.",
    ),
    RoleSpec(
        RoleKey.HELPDESK_AGENT,
        RoleGroup.DIRECTORY,
        csp_only=True,
        unlocks="Customer support requests.",
        description="Directory role for the people who answer customers' support requests.",
    ),
    RoleSpec(
        RoleKey.REFERRALS_ADMIN,
        RoleGroup.MEMBERSHIP,
        csp_only=False,
        unlocks="Referrals workspace.",
        description="Membership role for the people who work the organization's referrals.",
    ),
    RoleSpec(
        RoleKey.INCENTIVES_ADMIN,
        RoleGroup.MEMBERSHIP,
        csp_only=False,
        unlocks="Incentives workspace, bank and tax details.",
        description="Membership role for the people who claim incentives.",
    ),
    RoleSpec(
        RoleKey.BUSINESS_PROFILE_ADMIN,
        RoleGroup.MEMBERSHIP,
        csp_only=False,
        unlocks="The organization's public business profile.",
        description="Membership role for the people who keep the public profile up to date.",
    ),
    RoleSpec(
        RoleKey.EXECUTIVE_REPORT_VIEWER,
        RoleGroup.MEMBERSHIP,
        csp_only=False,
        unlocks="All analytics reports.",
        description="Membership role for the people who read the organization's analytics.",
    ),
)

SPECS: dict[str, RoleSpec] = {spec.key.value: spec for spec in CATALOGUE}
NAMED: dict[str, RoleSpec] = {spec.name.casefold(): spec for spec in CATALOGUE}


def spec(key: str) -> RoleSpec:
    """The facts of one role; KeyError for a key the catalogue does not know."""
    return SPECS[key]


def spec_named(name: str) -> RoleSpec | None:
    """The facts of the role of this name (as the catalogue spells it), or None."""
    return NAMED.get(name.casefold())


def in_catalogue_order(keys: Iterable[str]) -> list[str]:
    """The distinct keys, catalogue roles first in catalogue order, unknown keys last."""
    position = {key: index for index, key in enumerate(SPECS)}
    return sorted(set(keys), key=lambda key: (position.get(key, len(position)), key))
