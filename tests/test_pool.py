"""Pooled connections on the real PostgreSQL: an idle dead connection is replaced before use."""
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from core.extensions import db
from core.pool import CHECKED_IN
from tests.conftest import make_app

BACKEND_PID = text("SELECT pg_backend_pid()")


@pytest.fixture
def pg_app(app, backend, tmp_path_factory):
    """An app with a pool of its own, of one connection, on the test database."""
    if backend != "postgresql":
        pytest.skip("liveness of server connections: PostgreSQL only")
    own = make_app("postgresql", tmp_path_factory, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                   SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})
    with own.app_context():
        yield own
        db.engine.dispose()


def _terminate(app, pid: int) -> None:
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    with other.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()


def _pooled_record(engine):
    (record,) = list(engine.pool._pool.queue)
    return record


def test_a_connection_idle_past_the_limit_is_checked_and_replaced(pg_app):
    engine = db.engine
    with engine.connect() as conn:
        dead = conn.scalar(BACKEND_PID)
    _terminate(pg_app, dead)
    _pooled_record(engine).info[CHECKED_IN] -= pg_app.config["DATABASE_PING_IDLE_SECONDS"] + 1

    with engine.connect() as conn:
        assert conn.scalar(text("SELECT 1")) == 1
        assert conn.scalar(BACKEND_PID) != dead


def test_a_connection_in_steady_use_is_not_pinged(pg_app):
    """No extra statement per request: a dead connection used a moment ago fails its statement,
    and SQLAlchemy then discards the pool, so the next checkout works again."""
    engine = db.engine
    with engine.connect() as conn:
        dead = conn.scalar(BACKEND_PID)
    _terminate(pg_app, dead)

    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.scalar(text("SELECT 1"))
    with engine.connect() as conn:
        assert conn.scalar(BACKEND_PID) != dead
