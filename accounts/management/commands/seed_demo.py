"""Demo data: Contoso (CSP) and Fabrikam (non-CSP) with their people, roles, competencies and
benefits, and support staff.

A developer tool that puts fixed demo data in place, not a partner admin acting, so it writes the
models directly instead of going through accounts.services (no rulebook checks, no audit records).
Rerunning it creates nothing new: it puts demo people who were edited back to the definitions below
and gives every demo account the password of this run. It buys no MAPS, so that the demo can, and
leaves alone the MAPS purchases made in the demo: they are in the audit trail.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from accounts.identity import canonical_email
from accounts.models import (
    Benefit,
    Competency,
    CompetencyLevel,
    CompetencyStatus,
    PartnerOrganization,
    ProgramType,
    User,
)
from accounts.support import ensure_support_group
from mfa import crypto
from mfa.models import AuthenticatorApp
from roles.catalogue import RoleKey, in_catalogue_order, spec
from roles.models import Role, RoleAssignment

# Public on purpose: printed by the command and given in the README, for demo accounts only.
DEMO_PASSWORD = "PartnerHub-demo-2026"  # noqa: S105
# The demo accounts' authenticator app secret (base32, 20 bytes), public for the same reason:
# added once to any authenticator app, it gives the codes of every demo account.
DEMO_TOTP_SECRET = "PARTNERHUBDEMOSECRETTOTPKEY23456"  # noqa: S105


@dataclass(frozen=True)
class DemoPerson:
    email: str
    first_name: str
    last_name: str
    roles: tuple[RoleKey, ...] = ()
    active: bool = True


@dataclass(frozen=True)
class DemoCompetency:
    name: str
    level: CompetencyLevel
    status: CompetencyStatus
    earned_on: date
    renews_in_days: int  # from the day of the run, so that the statuses stay believable


@dataclass(frozen=True)
class DemoBenefit:
    name: str
    description: str
    quantity: int
    used: int


@dataclass(frozen=True)
class DemoOrganization:
    name: str
    partner_id: str
    program_type: ProgramType
    admin: DemoPerson  # the Global admin, who created the others and granted their roles
    others: tuple[DemoPerson, ...]
    competencies: tuple[DemoCompetency, ...] = ()
    benefits: tuple[DemoBenefit, ...] = ()


GLOBAL_ADMIN = RoleKey.GLOBAL_ADMIN
USER_ADMIN = RoleKey.USER_MANAGEMENT_ADMIN
ACCOUNT_ADMIN = RoleKey.ACCOUNT_ADMIN
MPN_ADMIN = RoleKey.MPN_PARTNER_ADMIN
BILLING = RoleKey.BILLING_ADMIN
ADMIN_AGENT = RoleKey.ADMIN_AGENT
SALES = RoleKey.SALES_AGENT
HELPDESK = RoleKey.HELPDESK_AGENT
REFERRALS = RoleKey.REFERRALS_ADMIN
INCENTIVES = RoleKey.INCENTIVES_ADMIN
PROFILE = RoleKey.BUSINESS_PROFILE_ADMIN
REPORTS = RoleKey.EXECUTIVE_REPORT_VIEWER

GOLD, SILVER = CompetencyLevel.GOLD, CompetencyLevel.SILVER
ACTIVE, EXPIRING, LAPSED = (
    CompetencyStatus.ACTIVE,
    CompetencyStatus.EXPIRING,
    CompetencyStatus.LAPSED,
)

CONTOSO = DemoOrganization(
    "Contoso Ltd",
    "1234567",
    ProgramType.CSP_INDIRECT_PROVIDER,
    admin=DemoPerson("globaladmin@contoso.example", "Megan", "Bowen", (GLOBAL_ADMIN,)),
    others=(
        DemoPerson("useradmin@contoso.example", "Adele", "Vance", (USER_ADMIN,)),
        DemoPerson("accountadmin@contoso.example", "Diego", "Siciliani", (ACCOUNT_ADMIN,)),
        DemoPerson("mpnadmin@contoso.example", "Lidia", "Holloway", (MPN_ADMIN,)),
        DemoPerson("billing@contoso.example", "Pradeep", "Gupta", (BILLING,)),
        DemoPerson("zoe.muller@contoso.example", "Zoë", "Müller", (SALES,)),
        DemoPerson("jose.alvarez@contoso.example", "José", "Álvarez", (ADMIN_AGENT,)),
        # Near-duplicates, for the add-user flow's "possible duplicate" warning.
        DemoPerson("john.smith@contoso.example", "John", "Smith", (SALES,)),
        DemoPerson("jon.smith@contoso.example", "Jon", "Smith", (HELPDESK,)),
        DemoPerson("john.smith+partner@contoso.example", "John", "Smith"),
        DemoPerson("sarah.connor@contoso.example", "Sarah", "Connor", (INCENTIVES,)),
        DemoPerson("sara.connor@contoso.example", "Sara", "Connor", (REPORTS,)),
        DemoPerson("ha.nguyen@contoso.example", "Thu Hà", "Nguyễn", (PROFILE,)),
        DemoPerson("francois.lefevre@contoso.example", "François", "Lefèvre", (REFERRALS,)),
        DemoPerson("soren.madsen@contoso.example", "Søren", "Madsen", (HELPDESK,)),
        DemoPerson("aoife.oconnell@contoso.example", "Aoife", "O'Connell", (SALES, REFERRALS)),
        DemoPerson("priya.raghunathan@contoso.example", "Priya", "Raghunathan", (REPORTS,)),
        DemoPerson("chidi.okonkwo@contoso.example", "Chidi", "Okonkwo", (SALES,)),
        DemoPerson("m.wisniewska@contoso.example", "Małgorzata", "Wiśniewska", (INCENTIVES,)),
        DemoPerson("kenji.tanaka@contoso.example", "Kenji", "Tanaka", (HELPDESK,)),
        DemoPerson("fatima.alsayed@contoso.example", "Fatima", "Al-Sayed", (PROFILE, REPORTS)),
        DemoPerson("siobhan.byrne@contoso.example", "Siobhán", "Byrne", (ADMIN_AGENT, HELPDESK)),
        DemoPerson("anamaria.rodriguez@contoso.example", "Ana María", "Rodríguez", (REPORTS,)),
        DemoPerson("mateus.conceicao@contoso.example", "Mateus", "Conceição"),
        # Turkish dotless i, spelt right: a letter that accent folding does not turn into "i".
        DemoPerson("omer.yilmaz@contoso.example", "Ömer", "Yılmaz"),  # noqa: RUF001
        DemoPerson("bjorn.lind@contoso.example", "Björn", "Lind", (ADMIN_AGENT,), active=False),
        DemoPerson("lea.dubois@contoso.example", "Léa", "Dubois", (SALES,), active=False),
    ),
    competencies=(
        DemoCompetency("Cloud Platform", GOLD, ACTIVE, date(2019, 10, 1), 220),
        DemoCompetency("Security", SILVER, EXPIRING, date(2022, 3, 15), 24),
        DemoCompetency("Data Analytics", GOLD, LAPSED, date(2020, 6, 1), -40),
        DemoCompetency("Collaboration and Content", SILVER, ACTIVE, date(2023, 1, 10), 150),
        DemoCompetency("Application Development", SILVER, ACTIVE, date(2024, 5, 20), 300),
    ),
    benefits=(
        DemoBenefit(
            "Internal use rights: Microsoft 365 E5",
            "Licences for the organization's own use, not for customers.",
            25,
            18,
        ),
        DemoBenefit(
            "Azure credits (USD)",
            "Monthly Azure credit for internal workloads, demos and proofs of concept.",
            3500,
            1200,
        ),
        DemoBenefit(
            "Technical presales hours",
            "Hours with Microsoft technical consultants to prepare customer proposals.",
            10,
            2,
        ),
        DemoBenefit(
            "Partner-led deployment hours",
            "Hours of Microsoft support for deployments the organization runs for customers.",
            40,
            40,
        ),
        DemoBenefit(
            "Internal use rights: Dynamics 365 Sales",
            "Licences for the organization's own sales team.",
            10,
            0,
        ),
    ),
)

# Non-CSP: membership roles only, the CSP-only roles do not exist here (DOMAIN.md rule 5).
FABRIKAM = DemoOrganization(
    "Fabrikam Inc",
    "7654321",
    ProgramType.NON_CSP,
    admin=DemoPerson("globaladmin@fabrikam.example", "Nestor", "Wilke", (GLOBAL_ADMIN,)),
    others=(
        DemoPerson("accountadmin@fabrikam.example", "Johanna", "Lorenz", (ACCOUNT_ADMIN,)),
        DemoPerson("mpnadmin@fabrikam.example", "Isaiah", "Langer", (MPN_ADMIN,)),
        DemoPerson("ingrid.solberg@fabrikam.example", "Ingrid", "Solberg", (REFERRALS,)),
        DemoPerson("rafael.gomez@fabrikam.example", "Rafael", "Gómez", (INCENTIVES,)),
        DemoPerson("amara.mensah@fabrikam.example", "Amara", "Mensah", (PROFILE, REPORTS)),
        DemoPerson("hiroshi.sato@fabrikam.example", "Hiroshi", "Satō"),
    ),
    competencies=(
        DemoCompetency("Application Development", SILVER, ACTIVE, date(2021, 11, 20), 300),
        DemoCompetency("Cloud Business Applications", SILVER, EXPIRING, date(2023, 2, 1), 12),
    ),
    benefits=(
        DemoBenefit(
            "Internal use rights: Microsoft 365 Business Premium",
            "Licences for the organization's own use, not for customers.",
            5,
            3,
        ),
        DemoBenefit(
            "Azure credits (USD)",
            "Monthly Azure credit for internal workloads, demos and proofs of concept.",
            1200,
            0,
        ),
    ),
)

ORGANIZATIONS = (CONTOSO, FABRIKAM)

SUPPORT_STAFF = DemoPerson("support@partnerhub.example", "Sam", "Rivera")


def _existing_users(emails: Iterable[str]) -> dict[str, User]:
    """The users with these emails, by canonical email (accounts.identity)."""
    users = User.objects.filter(email__in=[canonical_email(email) for email in emails])
    return {user.email: user for user in users}


DEFINED_FIELDS = [
    "email",
    "first_name",
    "last_name",
    "organization",
    "is_active",
    "is_staff",
    "is_superuser",
    "password",
    "must_change_password",
    "created_by",
]


def _put_users(
    people: Sequence[DemoPerson],
    organization: PartnerOrganization | None,
    created_by: User | None,
    existing: dict[str, User],
    password_hash: str,
) -> list[User]:
    """Create the people, or bring those who exist back to their definition; in people's order."""
    users = []
    for person in people:
        user = existing.get(canonical_email(person.email)) or User()
        user.email = canonical_email(person.email)
        user.first_name = person.first_name
        user.last_name = person.last_name
        user.organization = organization
        user.is_active = person.active
        user.is_staff = organization is None  # support staff are the only ones without one
        user.is_superuser = False
        user.password = password_hash
        user.must_change_password = False
        user.created_by = created_by
        users.append(user)
    User.objects.bulk_update([user for user in users if user.pk is not None], DEFINED_FIELDS)
    User.objects.bulk_create([user for user in users if user.pk is None])
    return users


def _put_roles(holders: Sequence[tuple[User, DemoPerson]]) -> None:
    """Give each user exactly the roles of their definition, granted by whoever created them."""
    roles = {role.key: role for role in Role.objects.all()}
    wanted = {(user.pk, key.value) for user, person in holders for key in person.roles}
    held = RoleAssignment.objects.filter(user__in=[user for user, _ in holders])
    held_keys = set(held.values_list("user_id", "role__key"))
    for user_id, key in held_keys - wanted:
        RoleAssignment.objects.filter(user_id=user_id, role__key=key).delete()
    RoleAssignment.objects.bulk_create(
        RoleAssignment(user=user, role=roles[key], granted_by=user.created_by)
        for user, person in holders
        for key in person.roles
        if (user.pk, key.value) not in held_keys
    )


def _put_membership(
    organization: PartnerOrganization, definition: DemoOrganization, today: date
) -> None:
    """Give the organization exactly the competencies and benefits of its definition."""
    competencies = Competency.objects.in_organization(organization)
    competencies.exclude(name__in=[c.name for c in definition.competencies]).delete()
    for competency in definition.competencies:
        Competency.objects.update_or_create(
            organization=organization,
            name=competency.name,
            defaults={
                "level": competency.level,
                "status": competency.status,
                "earned_on": competency.earned_on,
                "renews_on": today + timedelta(days=competency.renews_in_days),
            },
        )
    benefits = Benefit.objects.in_organization(organization)
    benefits.exclude(name__in=[b.name for b in definition.benefits]).delete()
    for benefit in definition.benefits:
        Benefit.objects.update_or_create(
            organization=organization,
            name=benefit.name,
            defaults={
                "description": benefit.description,
                "quantity": benefit.quantity,
                "used": benefit.used,
            },
        )


def _totp_key(secret: str | None) -> bytes:
    """The demo accounts' authenticator app key, from --totp-secret or the public default."""
    if secret is None:
        # Public like the default password: with debug off, a secret chosen for the server.
        if not settings.DEBUG:
            raise CommandError(
                "Debug is off: pass --totp-secret, the default demo secret is public."
            )
        secret = DEMO_TOTP_SECRET
    cleaned = "".join(secret.split()).upper()
    try:
        key = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        raise CommandError(
            "The TOTP secret must be base32: letters A to Z and digits 2 to 7."
        ) from None
    if len(key) < MIN_TOTP_KEY_BYTES:
        raise CommandError(
            f"The TOTP secret is too short: at least {MIN_TOTP_KEY_BYTES * 8} bits "
            f"({-(-MIN_TOTP_KEY_BYTES * 8 // 5)} base32 characters)."
        )
    return key


# RFC 4226 asks for at least 128 bits of key.
MIN_TOTP_KEY_BYTES = 16


def _put_authenticator_apps(users: Sequence[User], key: bytes) -> None:
    """Every demo account's authenticator app holds the key of this run (any other app they
    had goes; passkeys they added stay)."""
    AuthenticatorApp.objects.filter(user__in=users).delete()
    encrypted = crypto.encrypt(key)  # one encryption for all: the same secret
    AuthenticatorApp.objects.bulk_create(
        AuthenticatorApp(
            user=user, name="Authenticator app", confirmed=True, encrypted_key=encrypted
        )
        for user in users
    )


def _check_roles_exist_in(definition: DemoOrganization) -> None:
    """A CSP-only role cannot be held in a non-CSP organization (DOMAIN.md rule 5)."""
    if definition.program_type != ProgramType.NON_CSP:
        return
    for person in (definition.admin, *definition.others):
        csp_only = [key.label for key in person.roles if spec(key).csp_only]
        if csp_only:
            raise CommandError(
                f"{person.email}: {', '.join(csp_only)} is CSP only; {definition.name} is not CSP."
            )


def _describe(person: DemoPerson) -> str:
    roles = ", ".join(spec(key).name for key in in_catalogue_order(person.roles)) or "no role"
    return roles if person.active else f"{roles} (deactivated: cannot sign in)"


class Command(BaseCommand):
    help = (
        "Create (or put back) the demo organizations Contoso and Fabrikam, their users and "
        "roles, and a support staff account. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            help=f"The password of every demo account (default, with debug on: {DEMO_PASSWORD}).",
        )
        parser.add_argument(
            "--totp-secret",
            help=(
                "The authenticator app secret (base32) of every demo account "
                f"(default, with debug on: {DEMO_TOTP_SECRET})."
            ),
        )

    def handle(
        self, *args: Any, password: str | None, totp_secret: str | None = None, **options: Any
    ) -> None:
        if password is None:
            # The default password is public: a server with debug off (a demo deployment, say)
            # gets demo accounts only with a password chosen for it.
            if not settings.DEBUG:
                raise CommandError(
                    "Debug is off: pass --password, the default demo password is public."
                )
            password = DEMO_PASSWORD
        if not password:
            raise CommandError("The demo password cannot be empty.")
        try:
            # The rules a person's own password meets (accounts.passwords): a demo server's
            # accounts are no easier to guess than anyone's.
            validate_password(password)
        except ValidationError as weak:
            raise CommandError(f"Choose another demo password: {' '.join(weak.messages)}") from None
        totp_key = _totp_key(totp_secret)
        for definition in ORGANIZATIONS:
            _check_roles_exist_in(definition)

        everyone = [SUPPORT_STAFF]
        for definition in ORGANIZATIONS:
            everyone += [definition.admin, *definition.others]
        today = timezone.localdate()
        with transaction.atomic():
            existing = _existing_users(person.email for person in everyone)
            # One hash for every demo account: hashing is slow on purpose, one per user adds up.
            password_hash = make_password(password)

            holders: list[tuple[User, DemoPerson]] = []
            for definition in ORGANIZATIONS:
                organization, _ = PartnerOrganization.objects.update_or_create(
                    partner_id=definition.partner_id,
                    defaults={"name": definition.name, "program_type": definition.program_type},
                )
                people = [definition.admin, *definition.others]
                [admin] = _put_users(people[:1], organization, None, existing, password_hash)
                others = _put_users(people[1:], organization, admin, existing, password_hash)
                holders += zip([admin, *others], people, strict=True)
                _put_membership(organization, definition, today)

            [support] = _put_users([SUPPORT_STAFF], None, None, existing, password_hash)
            holders.append((support, SUPPORT_STAFF))
            _put_roles(holders)
            support.groups.add(ensure_support_group())
            _put_authenticator_apps([user for user, _ in holders], totp_key)

        self._print_sign_ins(password, base64.b32encode(totp_key).decode().rstrip("="))

    def _print_sign_ins(self, password: str, totp_secret: str) -> None:
        self.stdout.write(f"Demo sign-ins (password: {password}):")
        self.stdout.write(
            f"Second factor: add the secret {totp_secret} to an authenticator app "
            "(time-based, 6 digits); it gives the code of every demo account."
        )
        for definition in ORGANIZATIONS:
            self.stdout.write(
                f"\n{definition.name} ({definition.program_type.label}, "
                f"partner ID {definition.partner_id})"
            )
            for person in (definition.admin, *definition.others):
                self.stdout.write(f"  {person.email:<38} {_describe(person)}")
        self.stdout.write("\nSupport staff (Django admin, Support group)")
        self.stdout.write(f"  {SUPPORT_STAFF.email}")
