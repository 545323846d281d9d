"""One trigram index over (organization, search text), on PostgreSQL only.

A directory search in an organization was answered from the organization's entries of the name
index (every one of them read: linear in the organization's size) or from the product-wide
trigram index (every match in every organization). With btree_gin the organization id is a key
of the same GIN index as the trigrams: the two conditions meet in the index, so a common
surname in an 80,000-user organization reads only its matches there. The organization id must be
bound as bigint (accounts.models.UserQuerySet.in_organization): btree_gin has no cross-type
operators, and an integer literal would leave the id out of the index condition.

The product-wide trigram index (0005) stays: the support admin searches every organization.
Built CONCURRENTLY (the migration is not atomic); SQLite has neither extension and gets nothing.
"""

from django.db import migrations

NAME = "accounts_user_org_search_trgm"


def add_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON accounts_user "
        "USING gin (organization_id, search_text gin_trgm_ops)"
    )
    schema_editor.execute("ANALYZE accounts_user")


def remove_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")
    # The btree_gin extension stays: other database objects may use it.


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("accounts", "0013_audit_log_indexes")]

    operations = [migrations.RunPython(add_index, remove_index)]
