"""Small statements that run on nearly every request, written out once.

Django builds a query's SQL again on every call. For a few small statements on the path of
every request (the API token's user, the user's roles, the catalogue stamp, the place of a new
work order) building the statement cost several times running it: one submission spent more
CPU compiling them than SQLite spent executing them (``docs/performance.md``, work orders).
These helpers run such a statement as written, on the database the router reads the first
model from, with the models' own quoted table names in place of ``{0}``, ``{1}``…

Keep to statements that are short, fixed and read columns by name; everything else goes
through the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connections, router
from django.db.models import Model, fields
from django.db.models.fields import related

M = TypeVar("M", bound=Model)

# Field classes whose ``pre_save`` and ``get_db_prep_save`` hand a value of these exact types
# to the driver unchanged: for them ``insert`` takes the attribute as it is (anything else,
# ``None`` and lazy strings included, goes the ORM's way). Only these classes themselves, not
# subclasses, which may prepare their values otherwise.
_AS_IS: dict[type[Any], tuple[type[Any], ...]] = {
    fields.CharField: (str,),
    fields.TextField: (str,),
    fields.IntegerField: (int,),
    fields.BigIntegerField: (int,),
    fields.SmallIntegerField: (int,),
    fields.PositiveIntegerField: (int,),
    fields.PositiveSmallIntegerField: (int,),
    fields.PositiveBigIntegerField: (int,),
    fields.BooleanField: (bool,),
}
_AUTO = (fields.AutoField, fields.BigAutoField, fields.SmallAutoField)


def _sql(sql: str, models: Sequence[type[Model]], *, write: bool = False) -> tuple[Any, str]:
    db = (router.db_for_write if write else router.db_for_read)(models[0])
    connection = connections[db]
    quote = connection.ops.quote_name
    text = sql.format(*(quote(m._meta.db_table) for m in models))
    if " FOR UPDATE" in text and not connection.features.has_select_for_update:
        text = text.replace(" FOR UPDATE", "")  # SQLite: the write transaction locks it all
    return connection, text


def fetch(
    sql: str, params: Sequence[Any], *models: type[Model], for_write: bool = False
) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` as tuples (values as the driver returns them: compare dates and
    times in SQL, not in Python, since SQLite returns them as text). ``for_write``: on the
    database the model is written to (a read inside a write transaction; ``FOR UPDATE`` in the
    statement locks the rows where the database can)."""
    connection, text = _sql(sql, models, write=for_write)
    with connection.cursor() as cursor:
        cursor.execute(text, list(params))
        return list(cursor.fetchall())


def execute(sql: str, params: Sequence[Any], *models: type[Model]) -> int:
    """Run a writing statement on the database the first model is written to; the number of
    rows it changed."""
    connection, text = _sql(sql, models, write=True)
    with connection.cursor() as cursor:
        cursor.execute(text, list(params))
        return int(cursor.rowcount)


def instances(model: type[M], sql: str, params: Sequence[Any], *others: type[Model]) -> list[M]:
    """Model instances from ``sql``, which is the statement after its column list: ``FROM {0}
    m …``, ``m`` being ``model``'s table (``{1}``… the others'). The columns are every
    concrete field of ``model``, converted as the ORM converts them."""
    connection, text = _sql(sql, (model, *others))
    readers = connection.__dict__.setdefault("_hotpath_readers", {})
    if model not in readers:
        readers[model] = _reader(model, connection)
    columns, names, converters = readers[model]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} {text}", list(params))
        rows = cursor.fetchall()
    made = []
    for row in rows:
        values = list(row)
        for i, field_converters in converters:
            for convert, col in field_converters:
                values[i] = convert(values[i], col, connection)
        made.append(model.from_db(connection.alias, names, values))
    return made


def _reader(model: type[Model], connection: Any) -> tuple[str, list[str], list[tuple[int, Any]]]:
    """What ``instances`` needs of a model, worked out once per model and connection: the
    column list, the fields' attribute names and, per field, the converters the ORM applies
    to a value read from that database (dates, decimals, booleans and JSON on SQLite)."""
    concrete = model._meta.concrete_fields
    columns = ", ".join(f"m.{connection.ops.quote_name(str(f.column))}" for f in concrete)
    converters = []
    for i, f in enumerate(concrete):
        col = f.get_col("m")
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            converters.append((i, [(convert, col) for convert in found]))
    return columns, [f.attname for f in concrete], converters


def insert(objs: Sequence[M]) -> None:
    """Write new instances of one model as ``bulk_create`` does (no signals, no ``save()``),
    each getting its primary key, with the ``INSERT`` statement made once per model,
    connection and batch size: on the path of every work order, compiling the ORM's inserts
    cost more than SQLite spent writing them.

    Values go through each field's ``pre_save`` (``auto_now_add``) and ``get_db_prep_save``,
    as the ORM's insert does; the model's primary key must be an automatic one."""
    if not objs:
        return
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    plans = connection.__dict__.setdefault("_hotpath_insert_plans", {})
    if model not in plans:
        plans[model] = _insert_plan(model)
    plan = plans[model]
    written = [f for f, _ in plan]
    size = max(1, connection.ops.bulk_batch_size(written, objs))
    statements = connection.__dict__.setdefault("_hotpath_inserts", {})
    for start in range(0, len(objs), size):
        batch = objs[start : start + size]
        key = (model, len(batch))
        if key not in statements:
            quote = connection.ops.quote_name
            row = "(" + ", ".join(["%s"] * len(written)) + ")"
            statements[key] = (  # the model's own names only
                f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
                f"({', '.join(quote(str(f.column)) for f in written)}) "
                f"VALUES {', '.join([row] * len(batch))} "
                f"RETURNING {quote(str(model._meta.pk.column))}"
            )
        params = [_prepared(obj, f, kinds, connection) for obj in batch for f, kinds in plan]
        with connection.cursor() as cursor:
            cursor.execute(statements[key], params)
            keys = cursor.fetchall()
        if len(keys) != len(batch):  # pragma: no cover (a driver that drops RETURNING rows)
            raise RuntimeError(f"{model.__name__}: {len(batch)} rows written, {len(keys)} keys")
        # The keys in the order of the rows, as Django's bulk_create takes them on both.
        for obj, (pk,) in zip(batch, keys, strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = connection.alias


def _insert_plan(model: type[Model]) -> list[tuple[Any, tuple[type[Any], ...]]]:
    """Each field ``insert`` writes, with the value types it may take as they are."""
    plan = []
    for f in model._meta.concrete_fields:
        if f is model._meta.auto_field:
            continue
        kinds = _AS_IS.get(type(f), ())
        target = getattr(f, "target_field", None)
        if type(f) in (related.ForeignKey, related.OneToOneField) and isinstance(target, _AUTO):
            kinds = (int,)
        plan.append((f, kinds))
    return plan


def _prepared(obj: Model, field: Any, kinds: tuple[type[Any], ...], connection: Any) -> Any:
    value = getattr(obj, field.attname)
    if kinds and (type(value) in kinds or (kinds[0] is str and isinstance(value, str))):
        return value  # a choice of a TextChoices is a str, passed on as the ORM passes it
    return field.get_db_prep_save(field.pre_save(obj, True), connection)
