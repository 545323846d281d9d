"""Load the role catalogue of DOMAIN.md. A copy, as migrations must be: tests check that the
table matches roles.catalogue."""

from django.db import migrations

# (key, name, group, CSP only, what it unlocks, description)
ROLES = [
    ("global_admin", "Global admin", "directory", False,
     "Everything in the organization.",
     "Directory (tenant) role: the organization's top administrator."),
    ("user_management_admin", "User management admin", "directory", True,
     "Create and manage users and their roles.",
     "Directory role for the people who look after the organization's users."),
    ("account_admin", "Account admin", "membership", False,
     "Manage the membership roles of existing users; locations and program enrolment.",
     "Membership role for the people who run the organization's partner account."),
    ("mpn_partner_admin", "MPN Partner Admin", "membership", False,
     "Membership workspace: benefits, competencies, MAPS purchase. "
     "Sees users and roles, changes none.",
     "Membership role for the people who use the partner network's benefits."),
    ("billing_admin", "Billing admin", "directory", True,
     "Billing: invoices, reconciliation.",
     "Directory role for the people who pay and reconcile invoices."),
    ("admin_agent", "Admin agent", "directory", True,
     "Customers and subscriptions, on customers' behalf.",
     "Directory role for the people who administer customers' services."),
    ("sales_agent", "Sales agent", "directory", True,
     "Customers, subscriptions, leads.",
     "Directory role for the people who sell to customers."),
    ("helpdesk_agent", "Helpdesk agent", "directory", True,
     "Customer support requests.",
     "Directory role for the people who answer customers' support requests."),
    ("referrals_admin", "Referrals admin", "membership", False,
     "Referrals workspace.",
     "Membership role for the people who work the organization's referrals."),
    ("incentives_admin", "Incentives admin", "membership", False,
     "Incentives workspace, bank and tax details.",
     "Membership role for the people who claim incentives."),
    ("business_profile_admin", "Business profile admin", "membership", False,
     "The organization's public business profile.",
     "Membership role for the people who keep the public profile up to date."),
    ("executive_report_viewer", "Executive report viewer", "membership", False,
     "All analytics reports.",
     "Membership role for the people who read the organization's analytics."),
]


def load(apps, schema_editor):
    Role = apps.get_model("roles", "Role")
    for position, (key, name, group, csp_only, unlocks, description) in enumerate(ROLES, 1):
        Role.objects.update_or_create(
            key=key,
            defaults={
                "name": name,
                "group": group,
                "csp_only": csp_only,
                "unlocks": unlocks,
                "description": description,
                "position": position,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("roles", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
