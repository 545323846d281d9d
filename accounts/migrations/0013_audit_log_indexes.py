"""The audit log's indexes for a million events, changed without locking the table for long.

- (organization, created_at DESC, id DESC) replaces (organization, created_at DESC): with the id
  in the index, keyset paging on (created_at, id) reads a page at any depth from one index range.
- (organization, action, created_at DESC, id DESC): the action filter, in the same order.
- The two indexes on the hash (a btree and its LIKE twin, 128 MB each at a million events) are
  dropped: nothing looks an event up by its hash; verify_audit walks each chain by its
  (organization, sequence) constraint.

On PostgreSQL each index is built and dropped CONCURRENTLY (the migration is not atomic), so
the audit trail keeps being written meanwhile. On SQLite the same schema changes run plainly.
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


def _hash_indexes(cursor) -> list[str]:
    cursor.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef ~ %s",
        [TABLE, r"\(hash( varchar_pattern_ops)?\)$"],
    )
    return [name for (name,) in cursor.fetchall()]


def _hash_field(model, *, indexed: bool) -> models.Field:
    field = models.CharField(max_length=64, editable=False, db_index=indexed)
    field.set_attributes_from_name("hash")
    field.model = model
    return field


def forwards(apps, schema_editor) -> None:
    model = apps.get_model("accounts", "AuditEvent")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(model, ORGANIZATION_TIME)
        schema_editor.add_index(model, ORGANIZATION_ACTION)
        schema_editor.remove_index(model, REPLACED)
        schema_editor.alter_field(
            model, _hash_field(model, indexed=True), _hash_field(model, indexed=False)
        )
        return
    for index in (ORGANIZATION_TIME, ORGANIZATION_ACTION):
        sql = str(index.create_sql(model, schema_editor))
        schema_editor.execute(
            sql.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY IF NOT EXISTS", 1)
        )
    with schema_editor.connection.cursor() as cursor:
        names = [REPLACED.name, *_hash_indexes(cursor)]
    for name in names:
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
    schema_editor.execute(f"ANALYZE {TABLE}")


def backwards(apps, schema_editor) -> None:
    model = apps.get_model("accounts", "AuditEvent")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.alter_field(
            model, _hash_field(model, indexed=False), _hash_field(model, indexed=True)
        )
        schema_editor.add_index(model, REPLACED)
        schema_editor.remove_index(model, ORGANIZATION_ACTION)
        schema_editor.remove_index(model, ORGANIZATION_TIME)
        return
    for sql in (
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "accounts_auditevent_hash_idx" ON {TABLE} (hash)',
        str(REPLACED.create_sql(model, schema_editor)).replace(
            "CREATE INDEX", "CREATE INDEX CONCURRENTLY IF NOT EXISTS", 1
        ),
    ):
        schema_editor.execute(sql)
    for index in (ORGANIZATION_ACTION, ORGANIZATION_TIME):
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{index.name}"')


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
