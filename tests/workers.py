"""A pytest plugin: a private Redis server and real ``koppel worker`` processes, for tests of scheduled work.

``redis_server`` runs ``redis-server`` on a free port without persistence,
so a restart (:meth:`RedisServer.restart`) loses every message, as a crash
does. ``scheduling`` (Redis) and ``sqlite_scheduling`` (kombu's SQLAlchemy
transport on a SQLite file of the test's own, as when ``REDIS_URL`` is
unset) give a :class:`Scheduling`: the dispatcher's app on the test's
database and broker, an SMTP server (tests/smtp.py) that the workers mail
to, and worker processes started on the same configuration with
:meth:`Scheduling.start_workers` (``koppel worker -c 1 -n NAME@%h``, each
in a process group of its own, so that a kill takes its pool process too)
and stopped at teardown (SIGTERM, then SIGKILL). Never Celery's eager mode.

Lost work is sent again by the dispatcher after ``SCHEDULER_REQUEUE_SECONDS``
(:data:`REQUEUE_SECONDS` here); :meth:`Scheduling.wait_until_done` can run
the dispatcher as beat would, only more often.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from celery import current_app as current_celery
from sqlalchemy import create_engine, func, select, text

from core.config import SETTINGS
from core.extensions import db
from core.scheduling.dispatch import Dispatched, dispatch
from core.scheduling.models import PENDING, ScheduledItem
from tenants.context import cross_tenant_scope
from tests import log_scan
from tests.conftest import make_app
from tests.smtp import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
KOPPEL = Path(sys.executable).parent / "koppel"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
#: What a worker logs once it takes tasks (tasks/celery_app.py).
READY = "worker ready:"
#: The dispatcher sends an item again when it was sent this long ago and is still pending.
REQUEUE_SECONDS = 2
VISIBILITY_SECONDS = 300  # above 150: the task time limits are derived from it (tasks/celery_app.py)
STARTUP_SECONDS = 45


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _terminate(process: subprocess.Popen, *, group: bool) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM) if group else process.terminate()
    except ProcessLookupError:
        pass


def _finish(process: subprocess.Popen, *, group: bool, grace: float) -> None:
    """Wait *grace* seconds for a terminated process, then SIGKILL it (and its group: a pool process left
    behind by its main process, too)."""
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL) if group else process.kill()
    except ProcessLookupError:
        pass
    process.wait(10)


class RedisServer:
    """``redis-server`` on 127.0.0.1 and a free port, keeping nothing on disk."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self.log_path = directory / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def start(self, timeout: float = 10.0) -> RedisServer:
        if not Path(REDIS_SERVER).exists():
            pytest.fail(f"redis-server is not installed (looked for {REDIS_SERVER}); these tests need it")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.directory)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.client() as client:
                    client.ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server on port {self.port} did not start:\n{tail(self.log_path)}")
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            _terminate(self.process, group=False)
            _finish(self.process, group=False, grace=10)
            self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port: every message and unacknowledged task is gone."""
        self.stop()
        self.start()

    def queued(self, queue: str = "celery") -> int:
        """Messages waiting in *queue*."""
        with self.client() as client:
            return client.llen(queue)

    def unacked(self) -> int:
        """Messages taken by a worker and not acknowledged (kombu's ``unacked`` hash)."""
        with self.client() as client:
            return client.hlen("unacked")


class Worker:
    """One ``koppel worker -c 1 -n NAME@%h`` process (and its pool process) in a process group of its own."""

    def __init__(self, name: str, environ: dict, log_path: Path):
        self.name, self.environ, self.log_path = name, environ, log_path
        self.process: subprocess.Popen | None = None

    @property
    def node(self) -> str:
        return f"{self.name}@{socket.gethostname()}"

    def start(self) -> Worker:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([str(KOPPEL), "worker", "-c", "1", "-n", f"{self.name}@%h"],
                                            env=self.environ, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self

    def wait_ready(self, timeout: float = STARTUP_SECONDS) -> Worker:
        deadline = time.monotonic() + timeout
        while READY not in self.log():
            if self.process.poll() is not None:
                pytest.fail(f"worker {self.name} exited ({self.process.returncode}) before it was ready:\n"
                            f"{tail(self.log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"worker {self.name} was not ready within {timeout} s:\n{tail(self.log_path)}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL to the whole process group: the worker and its pool process die at once, mid-task."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, grace: float = 2.0) -> None:
        """SIGTERM to the process group; SIGKILL after *grace* seconds."""
        if self.process is not None:
            _terminate(self.process, group=True)
            _finish(self.process, group=True, grace=grace)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Scheduling:
    """The dispatcher's app, the workers, and the mail they send."""

    def __init__(self, app, directory: Path, environ: dict, smtp: SmtpServer):
        self.app, self.directory, self.environ, self.smtp = app, directory, environ, smtp
        self.workers: list[Worker] = []

    def start_workers(self, *names: str) -> list[Worker]:
        """Start a worker per name (node ``NAME@<this host>``), all at once, and wait until each is ready."""
        started = [Worker(name, self.environ, self.directory / f"worker-{len(self.workers) + i}-{name}.log").start()
                   for i, name in enumerate(names)]
        self.workers += started
        for worker in started:
            worker.wait_ready()
        return started

    def dispatch(self, now=None) -> Dispatched:
        with self.app.app_context():
            return dispatch(now)

    def items(self) -> list:
        """Every scheduled item: (id, kind, key, subject_id, state, attempts, error), by id."""
        with self.app.app_context(), cross_tenant_scope("scheduler"):
            rows = db.session.execute(select(
                ScheduledItem.id, ScheduledItem.kind, ScheduledItem.key, ScheduledItem.subject_id,
                ScheduledItem.state, ScheduledItem.attempts, ScheduledItem.error).order_by(ScheduledItem.id)).all()
            db.session.rollback()
        return rows

    def pending(self) -> int:
        with self.app.app_context(), cross_tenant_scope("scheduler"):
            count = db.session.scalar(select(func.count()).select_from(ScheduledItem)
                                      .where(ScheduledItem.state == PENDING))
            db.session.rollback()
        return count

    def wait_until_done(self, timeout: float = 20.0, dispatch_every: float | None = None) -> list:
        """Poll until no item is pending (done or failed); with *dispatch_every* (seconds), run the dispatcher
        that often meanwhile, as beat does every minute. Returns :meth:`items`; fails after *timeout*."""
        deadline = time.monotonic() + timeout
        dispatched = 0.0
        while self.pending():
            now = time.monotonic()
            if now > deadline:
                pending = [f"{r.kind}:{r.id}" for r in self.items() if r.state == PENDING]
                pytest.fail(f"{len(pending)} items still pending after {timeout} s: {pending[:20]}\n{self.explain()}")
            if dispatch_every is not None and now - dispatched >= dispatch_every:
                self.dispatch()
                dispatched = now
            time.sleep(0.05)
        return self.items()

    def explain(self) -> str:
        """The end of each worker's log, for a failure message."""
        return "\n".join(f"--- {w.node} ({w.log_path.name}):\n{tail(w.log_path)}" for w in self.workers)

    def stop(self, grace: float = 0.5) -> None:
        """Stop every worker: SIGTERM to all, SIGKILL to those still running after *grace* seconds. Their log
        lines join the session's log scan (tests/log_scan.py: no personal data in any log line)."""
        for worker in self.workers:
            _terminate(worker.process, group=True)
        for worker in self.workers:
            _finish(worker.process, group=True, grace=grace)
        log_scan._lines.lines.extend(line for worker in self.workers for line in worker.log().splitlines())


def worker_environ(app, **settings) -> dict:
    """The environment of a worker process on *app*'s database: none of Koppel's settings (nor Celery's
    ``CELERY_BROKER_URL``, which overrides the configured broker) from the shell that runs the tests."""
    environ = {k: v for k, v in os.environ.items() if k not in SETTINGS and k != "CELERY_BROKER_URL"}
    environ.update(KOPPEL_ENV="testing", DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
                   MIGRATION_DATABASE_URL=app.config["MIGRATION_DATABASE_URL"],
                   CROSS_TENANT_DATABASE_URL=app.config["CROSS_TENANT_DATABASE_URL"] or "",
                   SCHEDULER_REQUEUE_SECONDS=str(REQUEUE_SECONDS), BROKER_VISIBILITY_SECONDS=str(VISIBILITY_SECONDS),
                   LOG_LEVEL="INFO", PYTHONUNBUFFERED="1", **settings)
    return environ


def _scheduling(app, backend, tmp_path, tmp_path_factory, monkeypatch, broker_url: str, workers: dict,
                **settings):
    """A :class:`Scheduling` on *app*'s database and *broker_url*; *settings* go to the dispatcher's app and
    the workers alike, *workers* to the workers only."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery would prefer it to the configured broker
    previous = current_celery._get_current_object()
    with SmtpServer() as smtp:
        dispatcher = make_app(backend, tmp_path_factory, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                              MIGRATION_DATABASE_URL=app.config["MIGRATION_DATABASE_URL"], CELERY_BROKER_URL=broker_url,
                              SCHEDULER_REQUEUE_SECONDS=REQUEUE_SECONDS, BROKER_VISIBILITY_SECONDS=VISIBILITY_SECONDS,
                              SMTP_URL=smtp.url, **settings)
        environ = worker_environ(app, SMTP_URL=smtp.url, **settings, **workers)
        scheduling = Scheduling(dispatcher, tmp_path, environ, smtp)
        try:
            yield scheduling
        finally:
            scheduling.stop()
            dispatcher.extensions["celery"].close()
            with dispatcher.app_context():
                for engine in db.engines.values():
                    engine.dispose()
            previous.set_default()


@pytest.fixture
def redis_server(tmp_path):
    """A Redis server of the test's own (started, stopped at teardown)."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def scheduling(app, backend, redis_server, tmp_path, tmp_path_factory, monkeypatch):
    """Scheduled work through ``redis_server``, on the ``app`` fixture's (clean) database."""
    yield from _scheduling(app, backend, tmp_path, tmp_path_factory, monkeypatch, redis_server.url, {},
                           REDIS_URL=redis_server.url)


@pytest.fixture
def sqlite_scheduling(app, backend, tmp_path, tmp_path_factory, monkeypatch):
    """Scheduled work through kombu's SQLAlchemy transport on a SQLite file (the broker when ``REDIS_URL`` is
    unset); the workers are pointed at the file by Celery's own ``CELERY_BROKER_URL``, instead of the
    default in the instance folder, which a developer's own worker may be using."""
    broker_url = f"sqla+sqlite:///{tmp_path / 'celery.sqlite3'}"
    yield from _scheduling(app, backend, tmp_path, tmp_path_factory, monkeypatch, broker_url,
                           {"CELERY_BROKER_URL": broker_url})


class TableLock:
    """``LOCK TABLE <table> IN EXCLUSIVE MODE`` in an open transaction as the table owner: reads go on,
    every write to the table waits until :meth:`release`."""

    def __init__(self, owner_url: str, table: str):
        self.engine = create_engine(owner_url)
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.connection.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))
        self.watch = self.engine.connect()  # pg_locks, read outside the locking transaction

    def waiting(self) -> list[int]:
        """Process ids of the backends of this database waiting for a lock."""
        rows = self.watch.execute(text(
            "SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database()")).scalars().all()
        self.watch.rollback()
        return sorted(rows)

    def wait_for_waiting(self, count: int, timeout: float = 20.0, explain=lambda: "") -> list[int]:
        deadline = time.monotonic() + timeout
        while len(pids := self.waiting()) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{len(pids)} of {count} backends waiting for a lock after {timeout} s\n{explain()}")
            time.sleep(0.05)
        return pids

    def backends_alive(self, pids: list[int]) -> list[int]:
        rows = self.watch.execute(text("SELECT pid FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                                  {"pids": pids}).scalars().all()
        self.watch.rollback()
        return sorted(rows)

    def release(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()

    def close(self) -> None:
        self.release()
        self.watch.close()
        self.connection.close()
        self.engine.dispose()

    def __enter__(self) -> TableLock:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
