"""Every row stored about one family: the tables that reference it, found by walking the foreign keys.

A family's rows are the family itself and, repeatedly, every row of a table
whose foreign key points at a row already found (members, decisions,
matches, and then a match's transitions, evaluations, contacts, work items
and the notifications of those). A new table that references a family is
found without a change here; the family's own former family (a self
reference) and the users and municipality it points at are not its rows.
Notifications name their subject by ``subject_type``/``subject_id`` without
a foreign key; they are added by those columns.

Used by the subject-access export (:mod:`core.usecases.subject_access`) and,
for its coverage check, by the destruction (:mod:`core.programme.retention`).
Call in the family's tenant scope.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Table, or_, select

from core.extensions import db

#: Tables whose rows are never a family's rows, although a foreign key leads there from one.
NOT_FAMILY_DATA = frozenset({"municipality", "user_account", "consortium"})
#: Tables naming a subject by (``subject_type``, ``subject_id``) rather than a foreign key: type -> parent table.
SUBJECT_COLUMNS = {"notification": {"family": "family", "match": "match", "evaluation": "evaluation"}}


def children() -> dict[str, list[tuple[Table, str, str]]]:
    """parent table name -> [(child table, child column, parent column)] for every foreign key in the metadata."""
    found = defaultdict(list)
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            parent = fk.column.table.name
            if parent in NOT_FAMILY_DATA or (parent == "family" and table.name == "family"):
                continue
            if fk.parent.name == "tenant_id":  # the tenant half of a composite key: the same for every row
                continue
            found[parent].append((table, fk.parent.name, fk.column.name))
    return found


def reachable() -> set[str]:
    """The names of every table that can hold a family's rows (the family's own included)."""
    edges = children()
    seen, todo = {"family"}, ["family"]
    while todo:
        for table, _, _ in edges.get(todo.pop(), ()):
            if table.name not in seen:
                seen.add(table.name)
                todo.append(table.name)
    for table, types in SUBJECT_COLUMNS.items():
        if set(types.values()) & seen:
            seen.add(table)
    return seen


def collect(family_id: int) -> dict[str, list[dict]]:
    """table name -> the family's rows as dicts of column values, ordered by id; every reachable table is a key."""
    tables = {t.name: t for t in db.metadata.sorted_tables}
    edges = children()
    ids: dict[str, set] = defaultdict(set)
    ids["family"].add(family_id)
    rows: dict[str, dict] = defaultdict(dict)
    rows["family"] = {r["id"]: r for r in _select(tables["family"], [tables["family"].c.id == family_id])}
    todo = ["family"]
    while todo:
        parent = todo.pop(0)
        for table, column, parent_column in edges.get(parent, ()):
            wanted = {row[parent_column] for row in rows[parent].values()} - {None}
            if not wanted:
                continue
            new = [r for r in _select(table, [table.c[column].in_(sorted(wanted))]) if r["id"] not in rows[table.name]]
            for row in new:
                rows[table.name][row["id"]] = row
            if new:
                todo.append(table.name)
    for name, types in SUBJECT_COLUMNS.items():
        table = tables[name]
        conditions = [(table.c.subject_type == kind) & table.c.subject_id.in_(sorted(rows[parent]))
                      for kind, parent in types.items() if rows[parent]]
        for row in _select(table, [or_(*conditions)]) if conditions else ():
            rows[name].setdefault(row["id"], row)
    return {name: sorted(rows[name].values(), key=lambda r: r["id"]) for name in sorted(reachable())}


def _select(table: Table, where: list) -> list[dict]:
    """Rows of *table* as dicts; through the ORM's session, so the tenant's criteria and RLS apply."""
    model = _model_of(table)
    if model is not None:  # an ORM select: the tenant criteria are added, and encrypted columns decrypted
        objects = db.session.scalars(select(model).where(*where).execution_options(populate_existing=False)).all()
        return [{c.key: getattr(o, c.key) for c in model.__mapper__.column_attrs} for o in objects]
    return [dict(r._mapping) for r in db.session.execute(select(table).where(*where))]


def _model_of(table: Table):
    for mapper in db.Model.registry.mappers:
        if mapper.local_table is table:
            return mapper.class_
    return None
