"""``koppel worker`` and ``koppel beat``: Celery's worker and beat for this app's configuration."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes (default: one per CPU).")
@click.option("--hostname", "-n", default=None, help="Node name, e.g. worker1@%h (unique per worker).")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def worker_command(concurrency, hostname, celery_args):
    """Run a worker: it does the scheduled items and background imports (any number, on any machine)."""
    argv = ["worker", "--loglevel", current_app.config["LOG_LEVEL"]]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if hostname:
        argv += ["--hostname", hostname]
    current_app.extensions["celery"].worker_main([*argv, *celery_args])


@click.command("beat")
@with_appcontext
def beat_command():
    """Run beat: it starts the dispatcher every minute. Run exactly one, for the whole platform."""
    celery = current_app.extensions["celery"]
    celery.start(["beat", "--loglevel", current_app.config["LOG_LEVEL"],
                  "--schedule", celery.conf.beat_schedule_filename])
