"""The directory filtered by "Pending invitation", sorted by name: a partial index of the
organization's pending users (active, no password of their own yet) in the name's order.

The status is read from the password's first character, which no other index holds: a page of
pending users read each candidate in the table (5,000 rows for page 50 at 100 a page, 11 ms on
the 1M dataset); on this index the page and the capped count are read from the index alone
(0.7 and 0.2 ms). Users leave it when they choose a password, so it stays the size of the
invitations outstanding.

Built and dropped CONCURRENTLY on PostgreSQL (not atomic), so users keep being written
meanwhile; plain statements on SQLite (which has partial indexes too).
"""

from django.db import migrations, models

PENDING = models.Index(
    fields=["organization", "first_name", "last_name", "id"],
    condition=models.Q(is_active=True) & models.Q(password__startswith="!"),
    name="accounts_user_org_pending_idx",
)
TABLE = "accounts_user"


def _concurrently(schema_editor) -> str:
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def forwards(apps, schema_editor) -> None:
    model = apps.get_model("accounts", "User")
    sql = str(PENDING.create_sql(model, schema_editor))
    # No parameters: the condition's LIKE '!%' is already in the statement, and a "%" would be
    # read as a placeholder if parameters were merged into it.
    schema_editor.execute(
        sql.replace("CREATE INDEX", f"CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS", 1),
        params=None,
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ANALYZE {TABLE}")


def backwards(apps, schema_editor) -> None:
    schema_editor.execute(f'DROP INDEX {_concurrently(schema_editor)}IF EXISTS "{PENDING.name}"')


class Migration(migrations.Migration):
    # CREATE and DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("accounts", "0018_audit_invitation_sent_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[migrations.AddIndex(model_name="user", index=PENDING)],
        )
    ]
