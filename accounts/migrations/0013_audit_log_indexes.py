"""The audit log's indexes for a million events, changed without locking the table for long.

- (organization, created_at DESC, id DESC) replaces (organization, created_at DESC): with the id
  in the index, keyset paging on (created_at, id) reads a page at any depth from one index range.
- (organization, action, created_at DESC, id DESC): the action filter, in the same order.
- The two indexes on the hash (a btree and its LIKE twin, 128 MB each at a million events) are
  dropped: nothing looks an event up by its hash; verify_audit walks each chain by its
  (organization, sequence) constraint.

On PostgreSQL each index is built and dropped CONCURRENTLY (the migration is not atomic), so
the audit trail keeps being written meanwhile. On SQLite the same statements run plainly.
"""

from django.db import migrations, models

ORGANIZATION_TIME = models.Index(
    fields=["organization", "-created_at", "-id"], name="accounts_audit_org_time_idx2"
)
ORGANIZATION_ACTION = models.Index(
    fields=["organization", "action", "-created_at", "-id"], name="accounts_audit_org_action_idx"
)
REPLACED = models.Index(fields=["organization", "-created_at"], name="accounts_audit_org_time_idx")
TABLE = "accounts_auditevent"


def _hash_indexes(schema_editor) -> list[str]:
    """The indexes on the hash column alone, whatever Django named them."""
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef ~ %s",
                [TABLE, r"\(hash( varchar_pattern_ops)?\)$"],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
                " AND sql LIKE %s",
                [TABLE, '%("hash")'],
            )
        return [name for (name,) in cursor.fetchall()]


def _concurrently(schema_editor) -> str:
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def _create(schema_editor, model, index: models.Index) -> None:
    sql = str(index.create_sql(model, schema_editor))
    schema_editor.execute(
        sql.replace(
            "CREATE INDEX", f"CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS", 1
        )
    )


def _drop(schema_editor, name: str) -> None:
    schema_editor.execute(f'DROP INDEX {_concurrently(schema_editor)}IF EXISTS "{name}"')


# Plain SQL on both databases (no table rebuild on SQLite, where altering the field would copy
# the table); CONCURRENTLY on PostgreSQL.
def forwards(apps, schema_editor) -> None:
    model = apps.get_model("accounts", "AuditEvent")
    for index in (ORGANIZATION_TIME, ORGANIZATION_ACTION):
        _create(schema_editor, model, index)
    for name in [REPLACED.name, *_hash_indexes(schema_editor)]:
        _drop(schema_editor, name)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ANALYZE {TABLE}")


def backwards(apps, schema_editor) -> None:
    model = apps.get_model("accounts", "AuditEvent")
    schema_editor.execute(
        f"CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS "
        f'"accounts_auditevent_hash_idx" ON {TABLE} (hash)'
    )
    _create(schema_editor, model, REPLACED)
    for index in (ORGANIZATION_ACTION, ORGANIZATION_TIME):
        _drop(schema_editor, index.name)


class Migration(migrations.Migration):
    # CREATE and DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("accounts", "0012_directory_name_and_sign_in_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="hash",
                    field=models.CharField(editable=False, max_length=64),
                ),
                migrations.RemoveIndex(model_name="auditevent", name=REPLACED.name),
                migrations.AddIndex(model_name="auditevent", index=ORGANIZATION_TIME),
                migrations.AddIndex(model_name="auditevent", index=ORGANIZATION_ACTION),
            ],
        )
    ]
