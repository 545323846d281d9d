"""Fill each role assignment's organization from its user, in batches of ids.

Not atomic: each batch commits on its own, so a live database locks a few thousand assignment
rows at a time, never the whole table, and a stopped run resumes where it was (rows already
filled are skipped). Plain SQL that SQLite and PostgreSQL both run.
"""

from django.db import migrations

BATCH = 10_000


def fill(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM roles_roleassignment")
        low, high = cursor.fetchone()
        if low is None:
            return
        for start in range(low, high + 1, BATCH):
            cursor.execute(
                "UPDATE roles_roleassignment SET organization_id = ("
                " SELECT organization_id FROM accounts_user"
                " WHERE accounts_user.id = roles_roleassignment.user_id)"
                " WHERE id >= %s AND id < %s AND organization_id IS NULL",
                [start, start + BATCH],
            )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("roles", "0005_roleassignment_organization")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=False)]
