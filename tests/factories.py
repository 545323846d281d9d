"""Test data with factory_boy. Users get one shared password hash: nothing hashes per user."""

from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from accounts.models import PartnerOrganization, ProgramType, User
from accounts.support import SUPPORT_GROUP
from roles.models import Role, RoleAssignment

PASSWORD = "correct-horse-battery-staple"


class _PasswordHash:
    """make_password once, on first use (after the test settings chose the hasher)."""

    value: str | None = None

    @classmethod
    def get(cls) -> str:
        if cls.value is None:
            cls.value = make_password(PASSWORD)
        return cls.value


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerOrganization

    name = factory.Sequence(lambda n: f"Partner {n}")
    partner_id = factory.Sequence(lambda n: f"{1000000 + n}")
    program_type = ProgramType.CSP_DIRECT

    class Params:
        non_csp = factory.Trait(program_type=ProgramType.NON_CSP)


class UserFactory(factory.django.DjangoModelFactory):
    """A partner user. `roles=["global_admin", ...]` assigns roles by key."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.LazyFunction(_PasswordHash.get)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            RoleAssignment.objects.bulk_create(
                RoleAssignment(user=self, role=role)
                for role in Role.objects.filter(key__in=extracted)
            )


class SupportStaffFactory(UserFactory):
    organization = None
    is_staff = True
    email = factory.Sequence(lambda n: f"support{n}@partnerhub.example")

    @factory.post_generation
    def support_group(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.groups.add(*Group.objects.filter(name=SUPPORT_GROUP))
