"""Partner organizations are created and changed by support staff only, and every change is
audited (the program type decides which roles count: DOMAIN.md rule 5)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import AuditAction, AuditEvent, AuditOutcome, PartnerOrganization, User
from roles import rules
from roles.rules import RuleRefused

ADD = reverse("admin:accounts_partnerorganization_add")


def change_url(organization: PartnerOrganization) -> str:
    return reverse("admin:accounts_partnerorganization_change", args=[organization.pk])


def test_support_staff_create_an_organization_in_the_admin_and_it_is_audited(client, support):
    client.force_login(support)

    response = client.post(
        ADD, {"name": "Northwind Traders", "partner_id": "2345678", "program_type": "csp_direct"}
    )

    assert response.status_code == 302
    created = PartnerOrganization.objects.get(partner_id="2345678")
    event = AuditEvent.objects.get(action=AuditAction.ORGANIZATION_CREATED)
    assert (event.organization, event.actor, event.outcome) == (created, support, "done")
    assert event.after == {
        "name": "Northwind Traders",
        "partner_id": "2345678",
        "program_type": "csp_direct",
    }


def test_changing_the_program_type_is_audited_with_before_and_after(client, support, csp):
    client.force_login(support)
    organization = csp.organization

    response = client.post(
        change_url(organization),
        {
            "name": organization.name,
            "partner_id": organization.partner_id,
            "program_type": "non_csp",
        },
    )

    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.program_type == "non_csp"
    event = AuditEvent.objects.get(action=AuditAction.ORGANIZATION_EDITED)
    assert (event.before, event.after) == (
        {"program_type": "csp_direct"},
        {"program_type": "non_csp"},
    )
    # Rule 5 follows at once: the User management admin role counts for nothing there now.
    assert rules.held_roles(User.objects.get(pk=csp.user_admin.pk)) == frozenset()


def test_saving_without_a_change_writes_no_event(client, support, csp):
    client.force_login(support)
    organization = csp.organization

    client.post(
        change_url(organization),
        {
            "name": organization.name,
            "partner_id": organization.partner_id,
            "program_type": organization.program_type,
        },
    )

    assert not AuditEvent.objects.filter(action=AuditAction.ORGANIZATION_EDITED).exists()


@pytest.mark.parametrize("partner_id", ["12345", "12345678", "12a4567", ""])
def test_a_bad_partner_id_is_refused_at_the_field(client, support, partner_id):
    client.force_login(support)

    response = client.post(
        ADD, {"name": "Bad Id Ltd", "partner_id": partner_id, "program_type": "non_csp"}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["partner_id"]
    assert not PartnerOrganization.objects.filter(name="Bad Id Ltd").exists()


def test_organizations_are_not_deleted_from_the_admin(client, support, csp):
    client.force_login(support)

    response = client.post(
        reverse("admin:accounts_partnerorganization_delete", args=[csp.organization.pk]),
        {"post": "yes"},
    )

    assert response.status_code == 403
    assert PartnerOrganization.objects.filter(pk=csp.organization.pk).exists()


@pytest.mark.parametrize("who", ["global_admin", "user_admin"])
def test_partner_admins_may_not_manage_organizations(csp, who):
    actor = getattr(csp, who)

    with pytest.raises(RuleRefused, match="Only the partner network's support staff"):
        services.update_organization(
            actor,
            csp.organization,
            name="Renamed",
            partner_id=csp.organization.partner_id,
            program_type=csp.organization.program_type,
        )

    csp.organization.refresh_from_db()
    assert csp.organization.name != "Renamed"
    refusal = AuditEvent.objects.get(outcome=AuditOutcome.REFUSED)
    assert refusal.action == AuditAction.ORGANIZATION_EDITED


def test_only_support_staff_may_manage_organizations(csp, support, outsider):
    assert rules.can_manage_organizations(support)
    for partner in (csp.global_admin, csp.user_admin, outsider):
        assert not rules.can_manage_organizations(partner)
