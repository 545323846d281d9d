"""Each user's number of role assignments, kept by the database, for the directory's "No role".

"No role" is an absence: no index finds the users without an assignment, so the directory
filtered by "No role" and a search looked at every candidate of the search in the organization
and probed its assignments (7,203 for "smith" in an organization of 100,000: 32 to 47 ms in the
database alone). `role_count` turns the absence into a value a partial index can hold: the
organization's users without a role, in the directory's order, with their search text.

The count is the database's, not the application's: triggers on the role assignments recount
the users a statement touched, whatever wrote it (the services, the import's INSERT ... SELECT
FROM unnest, the support admin, a bulk delete, plain SQL, TRUNCATE); a write of a wrong count to
a user (a `save()` of a copy read before their roles changed) is counted again, and a user
inserted with a count (the import's, a fixture's) is counted at commit. The rulebook never reads
it: permissions come from the assignments themselves.

On PostgreSQL a statement's trigger first locks the users it recounts (in id order, FOR NO KEY
UPDATE, which the assignments' foreign-key checks do not wait for), then counts in a statement
of its own: a count taken before another transaction's change to the same user commits would
otherwise be written over that change's. SQLite runs one writer at a time and counts row by row.

Not atomic, and each step can run again after a failure half way: the column is added unless
it is there (no table rewrite: a constant default) and the triggers created, each giving up
after 5 s rather than queueing requests behind a long transaction; then the existing users are
counted in batches of ids, each batch its own transaction, locking only its users who hold
roles, writes going on (a change meanwhile is counted by the triggers already in place); then,
on PostgreSQL, the partial index is built CONCURRENTLY (an invalid one left by a failed build is
dropped first) and the table vacuumed, the counts having rewritten a row per role holder.

The count of a user inserted is a deferred constraint trigger on PostgreSQL (it runs at commit,
once the import has written the user's roles): a transaction that inserts users and then
ALTERs or TRUNCATEs accounts_user fails with "pending trigger events" (a data migration that
does both must commit between them, or SET CONSTRAINTS ALL IMMEDIATE first).

A later migration that makes Django rebuild accounts_user or roles_roleassignment on SQLite
(some ALTERs do) must drop these triggers first and create them again after (`drop_triggers`,
`create_triggers` below); tests/test_role_count.py fails otherwise.
"""

from django.db import migrations, models, transaction

# Like 0012's name index it mirrors (and for the same reason: SQLite has no INCLUDE), declared
# here and not in the model, and built on PostgreSQL only.
NO_ROLE_INDEX = "accounts_user_org_no_role_idx"
NO_ROLE_DEFINITION = (
    "(organization_id, first_name, last_name, id) INCLUDE (search_text) WHERE role_count = 0"
)
BATCH = 2_000

POSTGRESQL_CREATE = [
    """
    CREATE OR REPLACE FUNCTION accounts_user_recount_roles(user_ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        -- Locked first, in id order: the count below is then a statement of its own, whose
        -- snapshot sees every change to these users' assignments committed before it.
        PERFORM 1 FROM accounts_user WHERE id = ANY(user_ids) ORDER BY id FOR NO KEY UPDATE;
        UPDATE accounts_user AS u SET role_count = counted.n
        FROM (
            SELECT ids.id, (SELECT count(*) FROM roles_roleassignment a WHERE a.user_id = ids.id)
                AS n
            FROM unnest(user_ids) AS ids(id)
        ) AS counted
        WHERE u.id = counted.id AND u.role_count IS DISTINCT FROM counted.n;
    END
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION roles_assignment_counted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM accounts_user_recount_roles(ARRAY(SELECT DISTINCT user_id FROM inserted));
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM accounts_user_recount_roles(ARRAY(SELECT DISTINCT user_id FROM deleted));
        ELSE
            -- Only an assignment moved to another user changes a count (both users').
            PERFORM accounts_user_recount_roles(ARRAY(
                SELECT o.user_id FROM deleted o JOIN inserted n ON n.id = o.id
                WHERE n.user_id <> o.user_id
                UNION
                SELECT n.user_id FROM deleted o JOIN inserted n ON n.id = o.id
                WHERE n.user_id <> o.user_id
            ));
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION accounts_user_role_count_written() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        -- Whoever writes a count gets the true one: the row is locked, the count is fresh.
        NEW.role_count := (SELECT count(*) FROM roles_roleassignment WHERE user_id = NEW.id);
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION accounts_user_counted_when_added() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        held integer := (SELECT count(*) FROM roles_roleassignment WHERE user_id = NEW.id);
    BEGIN
        -- At commit: a user written with a count (the import's, a fixture's) holds the roles
        -- counted. Nobody else sees the new row yet: no lock to take.
        UPDATE accounts_user SET role_count = held
        WHERE id = NEW.id AND role_count IS DISTINCT FROM held;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION roles_assignments_truncated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE accounts_user SET role_count = 0 WHERE role_count <> 0;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER accounts_user_counted_when_added AFTER INSERT ON accounts_user
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION accounts_user_counted_when_added()
    """,
    """
    CREATE TRIGGER roles_assignment_counted_on_truncate AFTER TRUNCATE ON roles_roleassignment
    FOR EACH STATEMENT EXECUTE FUNCTION roles_assignments_truncated()
    """,
    """
    CREATE TRIGGER roles_assignment_counted_on_insert AFTER INSERT ON roles_roleassignment
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION roles_assignment_counted()
    """,
    """
    CREATE TRIGGER roles_assignment_counted_on_delete AFTER DELETE ON roles_roleassignment
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION roles_assignment_counted()
    """,
    """
    CREATE TRIGGER roles_assignment_counted_on_update AFTER UPDATE ON roles_roleassignment
    REFERENCING OLD TABLE AS deleted NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION roles_assignment_counted()
    """,
    """
    CREATE TRIGGER accounts_user_role_count_kept BEFORE UPDATE OF role_count ON accounts_user
    FOR EACH ROW WHEN (NEW.role_count IS DISTINCT FROM OLD.role_count)
    EXECUTE FUNCTION accounts_user_role_count_written()
    """,
]

POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS accounts_user_role_count_kept ON accounts_user",
    "DROP TRIGGER IF EXISTS accounts_user_counted_when_added ON accounts_user",
    "DROP TRIGGER IF EXISTS roles_assignment_counted_on_truncate ON roles_roleassignment",
    "DROP TRIGGER IF EXISTS roles_assignment_counted_on_update ON roles_roleassignment",
    "DROP TRIGGER IF EXISTS roles_assignment_counted_on_delete ON roles_roleassignment",
    "DROP TRIGGER IF EXISTS roles_assignment_counted_on_insert ON roles_roleassignment",
    "DROP FUNCTION IF EXISTS accounts_user_role_count_written()",
    "DROP FUNCTION IF EXISTS accounts_user_counted_when_added()",
    "DROP FUNCTION IF EXISTS roles_assignments_truncated()",
    "DROP FUNCTION IF EXISTS roles_assignment_counted()",
    "DROP FUNCTION IF EXISTS accounts_user_recount_roles(bigint[])",
]

_SQLITE_RECOUNT = (
    "UPDATE accounts_user SET role_count = "
    "(SELECT count(*) FROM roles_roleassignment WHERE user_id = {who}.user_id) "
    "WHERE id = {who}.user_id;"
)

SQLITE_CREATE = [
    "CREATE TRIGGER roles_assignment_counted_on_insert AFTER INSERT ON roles_roleassignment "
    f"BEGIN {_SQLITE_RECOUNT.format(who='NEW')} END",
    "CREATE TRIGGER roles_assignment_counted_on_delete AFTER DELETE ON roles_roleassignment "
    f"BEGIN {_SQLITE_RECOUNT.format(who='OLD')} END",
    "CREATE TRIGGER roles_assignment_counted_on_update AFTER UPDATE OF user_id "
    "ON roles_roleassignment WHEN NEW.user_id <> OLD.user_id "
    f"BEGIN {_SQLITE_RECOUNT.format(who='OLD')} {_SQLITE_RECOUNT.format(who='NEW')} END",
    # A user written with a count holds the roles counted (SQLite has no deferred triggers:
    # counted at once; the assignments written after count again).
    "CREATE TRIGGER accounts_user_counted_when_added AFTER INSERT ON accounts_user "
    "WHEN NEW.role_count <> "
    "(SELECT count(*) FROM roles_roleassignment WHERE user_id = NEW.id) "
    "BEGIN UPDATE accounts_user SET role_count = "
    "(SELECT count(*) FROM roles_roleassignment WHERE user_id = NEW.id) WHERE id = NEW.id; END",
    # SQLite's triggers do not fire themselves again (recursive_triggers is off).
    "CREATE TRIGGER accounts_user_role_count_kept AFTER UPDATE OF role_count ON accounts_user "
    "WHEN NEW.role_count <> "
    "(SELECT count(*) FROM roles_roleassignment WHERE user_id = NEW.id) "
    "BEGIN UPDATE accounts_user SET role_count = "
    "(SELECT count(*) FROM roles_roleassignment WHERE user_id = NEW.id) WHERE id = NEW.id; END",
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS accounts_user_role_count_kept",
    "DROP TRIGGER IF EXISTS accounts_user_counted_when_added",
    "DROP TRIGGER IF EXISTS roles_assignment_counted_on_update",
    "DROP TRIGGER IF EXISTS roles_assignment_counted_on_delete",
    "DROP TRIGGER IF EXISTS roles_assignment_counted_on_insert",
]


def _postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def create_triggers(schema_editor) -> None:
    """The triggers that keep accounts_user.role_count (also for a later migration that must
    create them again on SQLite after a table rebuild)."""
    drop, create = (
        (POSTGRESQL_DROP, POSTGRESQL_CREATE)
        if _postgresql(schema_editor)
        else (SQLITE_DROP, SQLITE_CREATE)
    )
    for statement in [*drop, *create]:
        schema_editor.execute(statement, params=None)


def drop_triggers(schema_editor) -> None:
    for statement in POSTGRESQL_DROP if _postgresql(schema_editor) else SQLITE_DROP:
        schema_editor.execute(statement, params=None)


def count_existing(schema_editor) -> None:
    """Every user's count, in batches of ids, each batch committed on its own."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM accounts_user")
        low, high = cursor.fetchone()
        if low is None:
            return
        if not _postgresql(schema_editor):
            cursor.execute(
                "UPDATE accounts_user SET role_count = "
                "(SELECT count(*) FROM roles_roleassignment "
                "WHERE roles_roleassignment.user_id = accounts_user.id)"
            )
            return
        for start in range(low, high + 1, BATCH):
            with transaction.atomic(using=connection.alias):
                cursor.execute(
                    "SELECT accounts_user_recount_roles(ARRAY("
                    " SELECT DISTINCT user_id FROM roles_roleassignment"
                    " WHERE user_id >= %s AND user_id < %s))",
                    [start, start + BATCH],
                )


def _column_exists(schema_editor) -> bool:
    with schema_editor.connection.cursor() as cursor:
        columns = schema_editor.connection.introspection.get_table_description(
            cursor, "accounts_user"
        )
    return any(column.name == "role_count" for column in columns)


def _drop_index_if_invalid(schema_editor, name: str) -> None:
    """A CREATE INDEX CONCURRENTLY that failed leaves an invalid index, which IF NOT EXISTS
    would keep: dropped, so that running the migration again builds it."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name]
        )
        invalid = cursor.fetchone()
    if invalid and invalid[0]:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def _briefly(schema_editor, statements) -> None:
    """DDL that locks a busy table: given up after 5 s rather than queueing every request
    behind a long transaction (run the migration again then: every step is idempotent)."""
    postgresql = _postgresql(schema_editor)
    if postgresql:
        schema_editor.execute("SET lock_timeout = '5s'")
    try:
        statements()
    finally:
        if postgresql:
            schema_editor.execute("RESET lock_timeout")


def forwards(apps, schema_editor) -> None:
    """Each step can run again after a failure half way (the migration is not atomic)."""
    model = apps.get_model("accounts", "User")

    def column_and_triggers() -> None:
        if not _column_exists(schema_editor):
            schema_editor.add_field(model, model._meta.get_field("role_count"))
        create_triggers(schema_editor)

    _briefly(schema_editor, column_and_triggers)
    count_existing(schema_editor)
    if _postgresql(schema_editor):
        _drop_index_if_invalid(schema_editor, NO_ROLE_INDEX)
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NO_ROLE_INDEX} ON accounts_user "
            f"{NO_ROLE_DEFINITION}"
        )
        # The counts rewrote a row per role holder: the index-only scans of the directory read
        # the table for every page until it is vacuumed.
        schema_editor.execute("VACUUM (ANALYZE) accounts_user")


def backwards(apps, schema_editor) -> None:
    """The triggers first (they write the column), then the index and the column."""
    model = apps.get_model("accounts", "User")
    drop_triggers(schema_editor)
    if _postgresql(schema_editor):
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NO_ROLE_INDEX}")
    if _column_exists(schema_editor):
        schema_editor.remove_field(model, model._meta.get_field("role_count"))


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction; the batches commit one by one.
    atomic = False

    dependencies = [
        ("accounts", "0021_drop_organization_only_indexes"),
        ("roles", "0008_drop_assignment_user_only_index"),
    ]

    operations = [
        # A plain integer: a PositiveIntegerField's CHECK would make PostgreSQL read every row
        # under the table's lock to validate it. The column is added by forwards(), which
        # checks first, so that the migration can run again after failing half way.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="user",
                    name="role_count",
                    field=models.IntegerField(
                        default=0,
                        db_default=0,
                        editable=False,
                        help_text="How many roles the user holds, kept by the database's triggers.",
                    ),
                )
            ]
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
