"""A trigram index over (organization, search text without the punctuation of emails), on
PostgreSQL only: a search word with a dot or an at sign ("ia.garc", "anna.k@") finds its few
holders in the index.

pg_trgm keeps only letters and digits: "ia.garc" is looked up as "ia" and "garc", and the
(organization, search text) index (0014) answered with every Garcia of the organization
(3,040 of the bench's large organization), each then read in the table to keep the 235 that
hold "ia.garc": 7 ms when every page was in memory, and the search's page 23 ms at the median,
26.6 ms at p95, in the bench's interleaved rounds. Squeezed ("iagarc"), the same word's
trigrams are held by those 235 alone: 2.0 ms. UserQuerySet.search asks the squeezed word of
this index's expression and the plain word of the search text (which decides), so the results
are the same; words without such punctuation keep the 0014 index, which this one does not
replace.

The expression is written exactly as accounts.models.SqueezedSearchText writes it, or the
planner would not match the two. Built CONCURRENTLY (the migration is not atomic), after
dropping an invalid leftover of a failed build; then ANALYZE, which gathers the statistics of
the expression the planner's estimates read. SQLite gets nothing (no pg_trgm; the squeezed
condition is then only a filter).
"""

from django.db import migrations

NAME = "accounts_user_org_squeezed_trgm"
# accounts.search.SQUEEZED_OUT when this index was made, frozen here as a migration must be;
# tests/test_scale_schema.py checks that the searches still match it.
SQUEEZED_OUT = ".@-_+'"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def add_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [NAME]
        )
        invalid = cursor.fetchone()
    if invalid and invalid[0]:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON accounts_user USING gin "
        f"(organization_id, (translate(search_text, {_literal(SQUEEZED_OUT)}, '')) gin_trgm_ops) "
        # A short list of pending entries, as 0025 sets on the other trigram indexes.
        "WITH (gin_pending_list_limit = 256)"
    )
    schema_editor.execute("ANALYZE accounts_user")


def remove_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("accounts", "0023_audit_time_index_with_action")]

    operations = [migrations.RunPython(add_index, remove_index)]
