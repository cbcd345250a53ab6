"""Pooled database connections: a liveness check only after a connection sat idle.

SQLAlchemy's ``pool_pre_ping`` pings on every checkout, which costs every
request one more statement. Here a connection is pinged at checkout only when
it sat in the pool for longer than ``DATABASE_PING_IDLE_SECONDS``; one in
steady use proved itself alive with its last statement. A dead connection
found by the ping is replaced before the request uses it. If the database goes
away while connections are busy, the failing statement makes SQLAlchemy
invalidate the whole pool, so only the requests in flight at that moment fail.
"""
from __future__ import annotations

import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

CHECKED_IN = "koppel_checked_in"


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping *engine*'s connections at checkout after *idle_seconds* in the pool."""

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection, record):
        record.info[CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, proxy):
        checked_in = record.info.pop(CHECKED_IN, None)
        if checked_in is None or time.monotonic() - checked_in <= idle_seconds:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # the pool discards this connection and checks out a fresh one
            raise exc.DisconnectionError(f"connection idle for {time.monotonic() - checked_in:.0f} s is gone") from error
