"""Saving the same fields of many rows of one model at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.db import connection, models


def rows_update(rows: Iterable[models.Model], names: Sequence[str]) -> None:
    """One UPDATE per row, sent as one batch (psycopg pipelines `executemany`). Django's `bulk_update`
    builds a CASE per field per row, and compiling it costs more than the database's work: for a claim
    form of 5,000 lines it took ten seconds, and confirming a week of 20 lines spent most of its 150 ms of
    CPU there (docs/benchmarks.md); this takes a fraction of either. Plain SQL that SQLite runs too;
    identifiers come from the model, values are bound."""
    rows = list(rows)
    if not rows:
        return
    meta = rows[0]._meta
    fields = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    params = [
        [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
