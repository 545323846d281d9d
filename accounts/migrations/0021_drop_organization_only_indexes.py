"""Drop the indexes of the users' and the audit events' organization alone.

Every (organization, ...) index of each table leads with the column already: the users' name,
email, skeleton, sign-in and search indexes; the audit chain's (organization, sequence) and the
log's time, action and person indexes. The planner uses those for anything the single-column
index served (the organization's filter, PROTECT's check that an organization has no users or
events left), and the single-column index only cost time on every user and event written:
an import of 100,000 rows writes as many users and about twice as many events.

Dropped CONCURRENTLY on PostgreSQL (not atomic), so users and events keep being written
meanwhile; plain statements on SQLite.
"""

from django.db import migrations, models

DROPPED = (("accounts_user", "organization_id"), ("accounts_auditevent", "organization_id"))


def _concurrently(schema_editor) -> str:
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def _name(schema_editor, table: str, column: str) -> str:
    # The name Django gave the foreign key's index when it created it.
    return schema_editor._create_index_name(table, [column])


def forwards(apps, schema_editor) -> None:
    for table, column in DROPPED:
        name = _name(schema_editor, table, column)
        schema_editor.execute(f'DROP INDEX {_concurrently(schema_editor)}IF EXISTS "{name}"')


def backwards(apps, schema_editor) -> None:
    for table, column in DROPPED:
        name = _name(schema_editor, table, column)
        schema_editor.execute(
            f'CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS "{name}" '
            f'ON "{table}" ("{column}")'
        )


class Migration(migrations.Migration):
    # DROP and CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("accounts", "0020_user_theme_preference")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="organization",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="audit_events",
                        to="accounts.partnerorganization",
                    ),
                ),
                migrations.AlterField(
                    model_name="user",
                    name="organization",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="Empty for support staff, who work across organizations.",
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="users",
                        to="accounts.partnerorganization",
                    ),
                ),
            ],
        )
    ]
