"""One email identity (DOMAIN.md rule 8): every stored email in accounts.identity's canonical
form, unique as stored, the database checking what SQL can see of that form; the look-alike
skeleton beside it, indexed per organization.

Existing rows are canonicalized first. A user whose email collides with another's canonical
form (the one already in that form keeps it, else the oldest), or cannot be canonicalized at
all, is deactivated and moved to `<public_id>@quarantined.invalid`; each is printed here.
"""

import django.db.models.functions.text
from django.db import migrations, models


def canonicalize(apps, schema_editor):
    from accounts.identity import canonicalize_stored_emails

    User = apps.get_model("accounts", "User")
    using = schema_editor.connection.alias
    for quarantined in canonicalize_stored_emails(User, using=using):
        print(
            f"\n  User {quarantined.public_id} deactivated: {quarantined.email!r} moved to "
            f"{quarantined.moved_to} ({quarantined.reason})."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_session_generation_and_audit_actions"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="user",
            name="accounts_user_email_unique_ignoring_case",
        ),
        migrations.AddField(
            model_name="user",
            name="email_skeleton",
            field=models.TextField(
                default="",
                editable=False,
                help_text="The email as look-alikes share it (accounts.identity.email_skeleton).",
            ),
        ),
        migrations.RunPython(canonicalize, migrations.RunPython.noop, elidable=False),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                fields=["organization", "email_skeleton"], name="accounts_user_org_skeleton_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                fields=("email",),
                name="accounts_user_email_unique",
                violation_error_message="A user with this email already exists.",
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("email", django.db.models.functions.text.Lower("email")),
                    ("email__regex", "^[!-?A-~]+@[!-?A-~]+\\Z"),
                ),
                name="accounts_user_email_canonical",
                violation_error_message="Store the email in its canonical form.",
            ),
        ),
    ]
