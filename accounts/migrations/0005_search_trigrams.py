"""Indexes for searching and paging a directory of a million users, on PostgreSQL only.

- A trigram index (pg_trgm, GIN) on User.search_text: the `contains` of UserQuerySet.search
  becomes an index lookup instead of a scan, for searches across organizations (the support
  admin) and for rare words inside a large organization.
- The directory's orderings within an organization (accounts.views.directory.SORTS), so a page
  of names, emails, statuses or creation dates is read from an index, not sorted. The name
  index, the default, also carries search_text: a search in a large organization walks that
  index alone (an index-only scan), never the table.
- More statistics on search_text, so the planner can tell a frequent word ("smith") from a rare
  one and choose between the two.

They are not declared in the models (Meta.indexes): they exist only on PostgreSQL (SQLite, for
development, has no trigrams), and `makemigrations` must not try to remove them. Built
CONCURRENTLY, so a live database keeps accepting writes while they are built.
"""

from django.db import migrations

INDEXES = {
    "accounts_user_search_trgm": "USING gin (search_text gin_trgm_ops)",
    "accounts_user_org_name_search_idx": (
        "(organization_id, last_name, first_name, id) INCLUDE (search_text)"
    ),
    "accounts_user_org_email_idx": "(organization_id, email, id)",
    "accounts_user_org_status_idx": (
        "(organization_id, is_active DESC, last_name, first_name, id)"
    ),
    "accounts_user_org_created_idx": "(organization_id, created_at, id)",
}


def add_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON accounts_user {definition}"
        )
    schema_editor.execute("ALTER TABLE accounts_user ALTER COLUMN search_text SET STATISTICS 1000")
    schema_editor.execute("ANALYZE accounts_user")


def remove_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE accounts_user ALTER COLUMN search_text SET STATISTICS -1")
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    # The pg_trgm extension stays: other database objects may use it.


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("accounts", "0004_audit_hash_chain")]

    operations = [migrations.RunPython(add_indexes, remove_indexes)]
