"""Counting the SQL statements a request sends (no N+1 queries on a page)."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def count_statements(engine):
    """Count the statements *engine* executes inside the block: ``with count_statements(e) as seen: ...``
    then ``len(seen)``; ``seen`` holds the SQL, to show in a failing assertion."""
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
