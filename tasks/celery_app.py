"""Celery bound to the Flask app, as in Flask's own Celery pattern.

Each task runs in an app context and enters its tenant's context itself
from its ``tenant_id`` argument (or the named cross-tenant scope in
``cross_scope``). The broker is Redis when ``REDIS_URL`` is set, else kombu's
SQLAlchemy transport on ``instance/celery.sqlite3``. No result backend:
the database holds the state of every item.

Reliability settings (docs/scheduling.md): late acknowledgement with one
message prefetched, a task requeued when its worker process is lost, and no
countdown longer than the broker's visibility timeout.
"""
from __future__ import annotations

import logging
from pathlib import Path

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import beat_init, worker_process_init, worker_ready
from flask import Flask

from core.scheduling.runner import scope

log = logging.getLogger("koppel.tasks")

#: Longest retry countdown, and longest run of a task: each at most half the broker's visibility timeout
#: (BROKER_VISIBILITY_SECONDS: 3600 s by default, 300 at least), so no message comes back while it waits or runs.
MAX_BACKOFF_SECONDS, MAX_RUN_SECONDS = 600, 1800


def limits(visibility: int) -> tuple[int, int]:
    """The longest retry countdown and the hard time limit of a task, for a visibility timeout."""
    return min(MAX_BACKOFF_SECONDS, visibility // 2), min(MAX_RUN_SECONDS, visibility // 2)


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app for *app*, as ``app.extensions["celery"]``."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context(), scope(kwargs.get("tenant_id"), kwargs.get("cross_scope")):
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    visibility = app.config["BROKER_VISIBILITY_SECONDS"]
    # kombu's SQLAlchemy transport hands its options to create_engine: only Redis gets these
    redis = app.config["CELERY_BROKER_URL"].startswith(("redis", "rediss", "unix"))
    celery.conf.update(
        broker_url=app.config["CELERY_BROKER_URL"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": visibility} if redis else {},
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=limits(visibility)[1],
        task_soft_time_limit=limits(visibility)[1] - 30,
        task_serializer="json",
        accept_content=["json"],
        timezone="Europe/Amsterdam",
        enable_utc=True,
        worker_hijack_root_logger=False,  # Koppel's log format (JSON in production, no personal data)
        worker_redirect_stdouts=False,
        beat_schedule={"dispatch": {"task": "koppel.dispatch", "schedule": crontab(minute="*")}},
        beat_schedule_filename=str(Path(app.instance_path) / "celerybeat-schedule"),
        include=["tasks.work"],
    )
    celery.set_default()
    app.extensions["celery"] = celery
    # Celery's own INFO lines name nodes (name@host) and every task; Koppel logs what an operator needs
    logging.getLogger("celery").setLevel(max(logging.WARNING, logging.getLevelName(app.config["LOG_LEVEL"])))

    @worker_process_init.connect(weak=False)
    def _fresh_engines(**_):
        """A forked worker process must not share its parent's database connections."""
        from core.extensions import db

        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)

    @worker_ready.connect(weak=False)
    def _ready(sender=None, **_):
        log.info("worker ready: %s processes, broker %s", sender.controller.concurrency if sender else "?",
                 _broker_name(celery.conf.broker_url))

    @beat_init.connect(weak=False)
    def _beat_ready(**_):
        log.info("beat ready: the dispatcher runs every minute")

    return celery


def _broker_name(url: str) -> str:
    """The broker without its password: the transport and the host or file."""
    if url.startswith("sqla+sqlite"):
        return "sqlite (" + Path(url.split(":///", 1)[1]).name + ")"
    return url.split("://", 1)[0] + "://" + url.rsplit("@", 1)[-1].split("://", 1)[-1]
