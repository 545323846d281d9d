"""Indexes for the directory's name as shown and its last sign-in filter, on PostgreSQL only.

- The name column sorts as it is shown, first name first (accounts.views.directory.SORTS): the
  name index and the status index become (first name, last name), and the name index still
  carries search_text, so a search or filter in a large organization walks that index alone.
  The (last name, first name) indexes they replace are dropped.
- Last sign-in ("never", "more than 30 / 90 days ago"): an index on the organization and
  last_login.

Like 0005 they are not declared in the models and are built CONCURRENTLY, so a live database
keeps accepting writes while they are built.
"""

from django.db import migrations

INDEXES = {
    "accounts_user_org_shown_name_idx": (
        "(organization_id, first_name, last_name, id) INCLUDE (search_text)"
    ),
    "accounts_user_org_status_shown_idx": (
        "(organization_id, is_active DESC, first_name, last_name, id)"
    ),
    "accounts_user_org_last_login_idx": "(organization_id, last_login, id)",
}
REPLACED = {
    "accounts_user_org_name_search_idx": (
        "(organization_id, last_name, first_name, id) INCLUDE (search_text)"
    ),
    "accounts_user_org_status_idx": "(organization_id, is_active DESC, last_name, first_name, id)",
}


def _create(schema_editor, indexes: dict[str, str]) -> None:
    for name, definition in indexes.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON accounts_user {definition}"
        )


def _drop(schema_editor, names) -> None:
    for name in names:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def add_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    _create(schema_editor, INDEXES)
    _drop(schema_editor, REPLACED)
    schema_editor.execute("ANALYZE accounts_user")


def remove_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    _create(schema_editor, REPLACED)
    _drop(schema_editor, INDEXES)


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("accounts", "0011_audit_support_admin_refusals")]

    operations = [migrations.RunPython(add_indexes, remove_indexes)]
