"""Many new rows of one model in one statement on PostgreSQL, for the CSV import's addition.

`insert(model, objects)` writes unsaved model instances (built with their defaults, as for
`bulk_create`) with one `INSERT ... SELECT * FROM unnest(%s::type[], ...) RETURNING id`: one
array per column, adapted by psycopg2 in C. `bulk_create` ends in the same kind of statement
(Django 5.2), but first prepares every field of every object through the field's Python methods:
a third of the import's addition (bench/README.md). Here the values psycopg2 takes as they are
(text, numbers, booleans, dates, foreign keys, UUIDs) are taken from the objects unchanged; the
others (JSON, IP addresses, anything else) still go through the field's own preparation.

PostgreSQL only: `available()` says whether to use it; callers keep `bulk_create` elsewhere
(SQLite in tests and development). No signals are sent, as with `bulk_create`.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router

# Fields whose get_db_prep_save() returns the value unchanged on PostgreSQL (with psycopg2) for
# the values the import gives them. Exact classes: a subclass may prepare its values its own way.
_AS_IS: frozenset[type[models.Field]] = frozenset(
    {
        models.CharField,
        models.EmailField,
        models.TextField,
        models.BooleanField,
        models.IntegerField,
        models.BigIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.DateTimeField,
        models.ForeignKey,
    }
)


def available(model: type[models.Model]) -> bool:
    return connections[router.db_for_write(model)].vendor == "postgresql"


def insert(model: type[models.Model], objects: Sequence[models.Model]) -> list[int]:
    """Insert `objects` (new, of `model`, primary key an auto field) and give each its id, in
    order, as bulk_create does (PostgreSQL returns the rows of an INSERT ... SELECT FROM
    unnest in the arrays' order: bulk_create relies on it too). Returns the ids."""
    if not objects:
        return []
    using = router.db_for_write(model)
    connection = connections[using]
    meta = model._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    columns, arrays, params = [], [], []
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            values = [field.pre_save(obj, add=True) for obj in objects]
        else:
            values = [getattr(obj, field.attname) for obj in objects]
        if type(field) is models.UUIDField:
            values = [None if value is None else str(value) for value in values]
        elif type(field) not in _AS_IS:
            values = [field.get_db_prep_save(value, connection) for value in values]
        columns.append(connection.ops.quote_name(field.column))
        arrays.append(f"%s::{field.db_type(connection)}[]")
        params.append(values)  # a list: sent as one ARRAY[...], each element quoted
    # Names from the model's meta, quoted; every value is a parameter.
    table, pk = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
    sql = "INSERT INTO %s (%s) SELECT * FROM unnest(%s) RETURNING %s" % (  # noqa: S608, UP031
        table,
        ", ".join(columns),
        ", ".join(arrays),
        pk,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) != len(objects):
        raise RuntimeError(f"{len(objects)} rows to insert, {len(ids)} inserted")
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = using
    return ids
