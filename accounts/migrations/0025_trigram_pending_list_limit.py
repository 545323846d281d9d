"""The users' older trigram indexes keep at most 256 kB of new entries unsorted, as 0024's does;
on PostgreSQL only.

A GIN index writes new entries to a pending list, merged into the index when the list passes
`gin_pending_list_limit` (4 MB by default) or at a vacuum; every search reads the whole list
meanwhile. After the bench's two imports of 10,000 users (autovacuum waits for 20 % of a
million-row table to change), the organization's trigram index held 1,951 pending entries in
218 pages, and "smith" took 7 ms in the database instead of 4; at the default 4 MB a search
reads up to 512 such pages. With 256 kB, at most 32: the import merges more often, the searches
never read more than that.

A storage parameter: nothing is rewritten, and a list already longer is merged at the next
insert. But ALTER INDEX ... SET takes the index's ACCESS EXCLUSIVE lock, which every query of
the users table waits for (planning one locks each of the table's indexes): each index is
altered in its own transaction, giving up after 5 s rather than holding requests behind a long
transaction; the migration is not atomic, and running it again after such a failure is safe.
SQLite has no such indexes.
"""

from django.db import migrations

INDEXES = ("accounts_user_search_trgm", "accounts_user_org_search_trgm")
LIMIT_KB = 256


def _set(schema_editor, clause: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("SET lock_timeout = '5s'")
    try:
        for name in INDEXES:
            schema_editor.execute(f"ALTER INDEX IF EXISTS {name} {clause}")
    finally:
        schema_editor.execute("RESET lock_timeout")


def forwards(apps, schema_editor) -> None:
    _set(schema_editor, f"SET (gin_pending_list_limit = {LIMIT_KB})")


def backwards(apps, schema_editor) -> None:
    _set(schema_editor, "RESET (gin_pending_list_limit)")


class Migration(migrations.Migration):
    # Each ALTER INDEX commits alone: a lock taken is held no longer than its statement.
    atomic = False

    dependencies = [("accounts", "0024_search_squeezed_trigram_index")]

    operations = [migrations.RunPython(forwards, backwards)]
