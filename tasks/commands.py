"""``koppel worker`` and ``koppel beat`` (Celery's worker and beat for this app's configuration), and
``koppel scheduled ...`` for operators: list the scheduled items, run a failed one again, dispatch once."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from core.scheduling.models import ITEM_STATES, ScheduledItem


@click.command("worker", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes (default: one per CPU).")
@click.option("--hostname", "-n", default=None, help="Node name, e.g. worker1@%h (unique per worker).")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def worker_command(concurrency, hostname, celery_args):
    """Run a worker: it does the scheduled items and background imports (any number, on any machine)."""
    argv = ["--quiet", "worker", "--loglevel", current_app.config["LOG_LEVEL"]]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if hostname:
        argv += ["--hostname", hostname]
    current_app.extensions["celery"].start([*argv, *celery_args])


@click.command("beat")
@with_appcontext
def beat_command():
    """Run beat: it starts the dispatcher every minute. Run exactly one, for the whole platform."""
    celery = current_app.extensions["celery"]
    celery.start(["--quiet", "beat", "--loglevel", current_app.config["LOG_LEVEL"],
                  "--schedule", celery.conf.beat_schedule_filename])


@click.group("scheduled")
def scheduled_group():
    """Scheduled work: list the items, run a failed one again, dispatch once."""


@scheduled_group.command("list")
@click.option("--municipality", "municipality_slug", help="Only this municipality's items.")
@click.option("--state", type=click.Choice(ITEM_STATES), help="Only items in this state.")
@click.option("--kind", help="Only items of this kind (e.g. evaluation_due).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True, help="At most this many.")
@with_appcontext
def scheduled_list(municipality_slug, state, kind, limit):
    """The items, newest first: id, municipality, kind, state, attempts, due (Amsterdam time), error."""
    from core.cli import CommandError, _get
    from core.extensions import db
    from core.scheduling import status
    from core.scheduling.registry import ZONE, kinds
    from tenants.context import cross_tenant_scope
    from tenants.models import Municipality

    if kind and kind not in kinds():
        raise CommandError(f"no kind of scheduled work '{kind}' (known: {', '.join(sorted(kinds()))})",
                           f"geen soort gepland werk '{kind}' (bekend: {', '.join(sorted(kinds()))})")
    with cross_tenant_scope("platform-maintenance"):
        statement = status.items(state, kind)
        if municipality_slug:
            municipality = _get(Municipality, municipality_slug, "municipality")
            statement = statement.where(ScheduledItem.tenant_id == municipality.id)
        found = db.session.scalars(statement.order_by(ScheduledItem.id.desc()).limit(limit + 1)).all()
        slugs = dict(db.session.execute(select(Municipality.id, Municipality.slug)).all())
        rows = [(str(i.id), slugs.get(i.tenant_id, "-"), i.kind, i.state, str(i.attempts),
                 i.due_at.astimezone(ZONE).strftime("%Y-%m-%d %H:%M"), i.error or "") for i in found[:limit]]
        db.session.rollback()
    header = ("id", "municipality", "kind", "state", "attempts", "due", "error")
    widths = [max(len(r[n]) for r in [header, *rows]) for n in range(len(header) - 1)]
    for row in [header, *rows]:
        click.echo("  ".join([c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]).rstrip())
    if len(found) > limit:
        click.echo(f"(more than {limit}; narrow with --municipality, --state, --kind or raise --limit)")


@scheduled_group.command("run-again")
@click.argument("item_id", metavar="ID", type=click.IntRange(1, 2**31 - 1))
@with_appcontext
def scheduled_run_again(item_id):
    """Run failed item ID again: it becomes pending and goes to a worker at once."""
    from core.cli import CommandError, _actor
    from core.errors import Conflict
    from core.extensions import db
    from core.scheduling import status
    from tenants.context import cross_tenant_scope

    with cross_tenant_scope("platform-maintenance"):
        item = db.session.get(ScheduledItem, item_id)
        if item is None:
            db.session.rollback()
            raise CommandError(f"no scheduled item {item_id}", f"geen gepland onderdeel {item_id}")
        try:
            ticket = status.run_again(item, actor=_actor())
        except Conflict as error:
            db.session.rollback()
            raise CommandError(error.text("en"), error.text("nl")) from None
        kind = item.kind
        db.session.commit()
        sent = status.send(ticket)
    click.echo(f"scheduled item {item_id} ({kind}) is pending again"
               + ("; sent to a worker" if sent else "; the broker cannot be reached: the next dispatch sends it"))


@scheduled_group.command("dispatch")
@with_appcontext
def scheduled_dispatch():
    """Run the dispatcher once, as beat does every minute: find what is due, send one task per item."""
    from core.scheduling import dispatch

    out = dispatch.dispatch()
    found = ", ".join(f"{kind} {count}" for kind, count in out.found.items() if count) or "none"
    click.echo(f"dispatch: {out.new} new items ({found}), {len(out.tickets)} due items handed to the broker, "
               f"{out.seconds:.2f} s to find them")
