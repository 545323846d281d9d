"""Who holds a role in an organization, from one index: (organization, role) INCLUDE (user).

"Is this the last active Global admin?" (roles.rules.other_active_global_admins) reads the
organization's few Global admin assignments from this index, then those users' rows; before, it
walked the organization's users (640 ms in an organization of 80,000 at a million users). The
Roles page counts and names holders from it too.

Not declared in the model: INCLUDE exists only on PostgreSQL, where the index is built
CONCURRENTLY so a live database keeps accepting writes. SQLite (development) gets the same
columns as a plain index.
"""

from django.db import migrations

NAME = "roles_assignment_org_role_idx"


def add_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} "
            "ON roles_roleassignment (organization_id, role_id) INCLUDE (user_id)"
        )
        schema_editor.execute("ANALYZE roles_roleassignment")
    else:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} "
            "ON roles_roleassignment (organization_id, role_id, user_id)"
        )


def remove_index(apps, schema_editor) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {NAME}")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("roles", "0006_fill_roleassignment_organization")]

    operations = [migrations.RunPython(add_index, remove_index)]
