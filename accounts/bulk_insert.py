"""Many new rows of one model in one statement on PostgreSQL, for the CSV import's addition.

`insert_columns(model, columns)` writes rows given as plain values, one list per column, with
one `INSERT ... SELECT * FROM unnest(%s::type[], ...) RETURNING id`: one array per column,
adapted by psycopg2 in C, and no model instance per row (building those was a quarter of the
addition, bench/README.md). `bulk_create` ends in the same kind of statement (Django 5.2), but
first prepares every field of every object through the field's Python methods: a third of the
addition. Here the values psycopg2 takes as they are (text, numbers, booleans, dates, foreign
keys, UUIDs) are sent unchanged; JSON and IP addresses as their fields' text; anything else
through the field's own preparation.

`create(model, columns)` is the one to call: insert_columns on PostgreSQL (`available()`),
bulk_create of instances built from the same values elsewhere (SQLite in tests and
development). No signals are sent, as with `bulk_create`.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

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


def insert_columns(model: type[models.Model], columns: Mapping[str, Sequence[Any]]) -> list[int]:
    """Insert new rows of `model` given as plain values, one list per column (by attname:
    `user_id`, not `user`), all of one length; returns their ids in order. For rows written by
    the thousand, where building a model instance each would take longer than inserting it.

    A column left out takes its field's default for every row, as a new instance would (a
    callable default is called once per row: a UUID or a time each). PostgreSQL returns the
    rows of an INSERT ... SELECT FROM unnest in the arrays' order (bulk_create relies on it
    too)."""
    unknown = set(columns) - {field.attname for field in _fields(model)}
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError(f"Columns of different lengths: {sorted(lengths)}")
    count = lengths.pop()
    if not count:
        return []
    filled = {}
    for field in _fields(model):
        if field.attname in columns:
            filled[field.attname] = columns[field.attname]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            # Set by the field's pre_save() on an instance, which there is none of here.
            raise ValueError(f"Give {model.__name__}.{field.attname}: it is set on save.")
        elif callable(field.default):
            filled[field.attname] = [field.get_default() for _ in range(count)]
        else:
            filled[field.attname] = [field.get_default()] * count
    return _insert(model, filled, count)


def create(model: type[models.Model], columns: Mapping[str, Sequence[Any]]) -> list[int]:
    """Insert new rows given as plain values (insert_columns' `columns`): with insert_columns
    on PostgreSQL, elsewhere (SQLite) with bulk_create of instances built from the same values,
    so both write the same rows. Returns their ids in order."""
    if available(model):
        return insert_columns(model, columns)
    names = list(columns)
    objects = [
        model(**dict(zip(names, row, strict=True))) for row in zip(*columns.values(), strict=True)
    ]
    model._default_manager.bulk_create(objects)
    return [obj.pk for obj in objects]


def new_uuids(count: int) -> list[uuid.UUID]:
    """`count` random UUIDs, each what uuid.uuid4() makes (16 random bytes, the version and
    variant bits set), from one call to the operating system's random source instead of one
    per UUID: an import's chunk needs a thousand and more."""
    data = os.urandom(16 * count)
    return [uuid.UUID(bytes=data[at : at + 16], version=4) for at in range(0, 16 * count, 16)]


def _fields(model: type[models.Model]) -> list[models.Field]:
    meta = model._meta
    return [field for field in meta.concrete_fields if field is not meta.pk]


def _json_texts(field: models.JSONField, values: Sequence[Any]) -> list[str | None]:
    """What get_db_prep_save sends for each value, the text of its field's encoder (SQL NULL for
    None), as plain text for the jsonb[] cast: an adapter object per value, each serialized
    from Python when psycopg2 quotes the array, took a tenth of the audit events' insert."""
    texts: list[str | None] = []
    for value in values:
        if value is None:
            texts.append(None)
        else:
            texts.append(json.dumps(field.get_prep_value(value), cls=field.encoder))
    return texts


def _insert(model: type[models.Model], columns: dict[str, Sequence[Any]], count: int) -> list[int]:
    """The statement: `columns` holds every field's values (by attname), `count` rows."""
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    names, arrays, params = [], [], []
    for field in _fields(model):
        values = columns[field.attname]
        if type(field) is models.UUIDField:
            values = [None if value is None else str(value) for value in values]
        elif type(field) is models.JSONField:
            values = _json_texts(field, values)
        elif type(field) is models.GenericIPAddressField:
            # get_db_prep_save's value (an adapter for it, when not empty), as text: the
            # inet[] cast reads it as the adapter's ::inet would.
            values = [field.get_prep_value(value) or None for value in values]
        elif type(field) not in _AS_IS:
            values = [field.get_db_prep_save(value, connection) for value in values]
        elif not isinstance(values, list):
            values = list(values)
        names.append(connection.ops.quote_name(field.column))
        arrays.append(f"%s::{field.db_type(connection)}[]")
        params.append(values)  # a list: sent as one ARRAY[...], each element quoted
    # Names from the model's meta, quoted; every value is a parameter.
    table, pk = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
    sql = "INSERT INTO %s (%s) SELECT * FROM unnest(%s) RETURNING %s" % (  # noqa: S608, UP031
        table,
        ", ".join(names),
        ", ".join(arrays),
        pk,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) != count:
        raise RuntimeError(f"{count} rows to insert, {len(ids)} inserted")
    return ids
