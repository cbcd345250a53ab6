"""Scheduling benchmark: one dispatch over every Dutch municipality, done by two Celery workers.

1. Seeds (once; ``--reuse`` is the default when the database holds families)
   the database ``--database`` (``koppel_bench_scheduling``; recreated as in
   ``bench/_database.py``): 342 invented municipalities in consortia of ten
   (CBS codes from GM9001, never a real one), each with one coordinator and,
   through ``core.programme.generator``, 300 families and 100 matches as of
   today; ``VACUUM ANALYZE``.
2. Starts a discarding SMTP server (aiosmtpd, for the digests and the
   referrer mails) and two workers, ``koppel worker -c 1`` with host names
   ``bench1@%h`` and ``bench2@%h`` (two processes that do items, each under
   its own Celery main process), in production mode as the app role, with
   Redis ``--redis`` (db 10) as broker.
3. Each run: empties the tables scheduled work writes (`RESET`)
   (as the owner) and the Redis db, then runs the dispatcher in this process:
   ``collect`` (find, insert, mark enqueued, commit; its SQL statements
   counted) and ``enqueue`` (one task per item to Redis), timed apart; then
   polls ``scheduled_item`` until no item is pending. Prints per run the
   items by kind, the dispatcher's time, the time from the dispatch to the
   last item done (its ``finished_at``), items per second, the workers' CPU
   time per item (``/proc``, main and pool processes), failures, and the
   resident memory of each worker process; then the medians over the runs.

Scenarios (``--scenario``, several allowed):

* ``day`` (default): a normal day's 09:00 dispatch. Before it is measured,
  everything due until 08:59 that day (the backlog of a database that never
  ran the scheduler: three years of generated history) is dispatched and
  marked done in SQL, unmeasured; the measured dispatch at 09:00 hands out
  what falls due that morning (evaluations, reminders, VOG warnings,
  reviews). This is the dispatch the targets are about: the dispatcher runs
  every minute, so each run hands out what fell due since the last one.
* ``month``: the same for 06:00 on the 1st of next month, when the monthly
  programme review of every municipality and consortium falls due.
* ``backlog``: the first dispatch ever on this database, everything at once
  (a one-off, after installing or migrating a programme's history).

Targets: the dispatcher (collect + enqueue) under 2 s, the last item done
under 60 s after the dispatch. ``--explain`` prints ``EXPLAIN (ANALYZE,
BUFFERS)`` of every statement of one ``collect`` (rolled back), slowest first.
Exit status: 0 when both medians meet their targets, 1 otherwise.

Run with the project's venv: ``python bench/scheduling.py [--runs 3] [--database koppel_bench]``.
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from _database import BIN, ROOT, BenchDatabase

sys.path.insert(0, str(ROOT))

TARGET_DISPATCH_S = 2.0
TARGET_DONE_S = 60.0
CONSORTIUM_SIZE = 10
#: Tables a run's work writes; emptied before each run.
RESET = ("notification", "work_item", "scheduled_item", "kpi_snapshot", "early_warning", "consortium_kpi_snapshot")


def onboard(db: BenchDatabase, count: int) -> None:
    """*count* invented municipalities in consortia of CONSORTIUM_SIZE, each with one coordinator."""
    from core.auth import passwords
    from core.auth import roles as R
    from core.auth.models import Membership, User
    from core.extensions import db as sqla
    from tenants import onboarding
    from tenants.context import cross_tenant_scope

    app = db.make_app()
    password_hash = passwords.hash_password(secrets.token_urlsafe(16))
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        consortium = None
        for n in range(count):
            if n % CONSORTIUM_SIZE == 0:
                number = n // CONSORTIUM_SIZE + 1
                consortium = onboarding.add_consortium(f"Benchregio {number}", f"benchregio-{number}")
            m = onboarding.add_municipality(consortium, name=f"Benchdorp {n + 1:03d}", cbs_code=f"GM{9001 + n:04d}",
                                            slug=f"benchdorp-{n + 1:03d}", inhabitants=20_000 + 500 * n)
            user = User(email=f"coordinator{n + 1}@bench.example", name=f"Coordinator {n + 1}",
                        password_hash=password_hash)
            user.memberships.append(Membership(role=R.COORDINATOR, municipality=m))
            sqla.session.add(user)
        sqla.session.commit()


def seed(db: BenchDatabase, municipalities: int, families: int, matches: int, seed_value: int) -> None:
    from sqlalchemy import select

    from core.extensions import db as sqla
    from core.programme import generator
    from tenants.models import Municipality

    db.create()
    onboard(db, municipalities)
    app = db.make_app()
    started = time.monotonic()
    with app.app_context():
        ids = list(sqla.session.scalars(select(Municipality.id).order_by(Municipality.id)))
        for n, municipality_id in enumerate(ids, start=1):
            generator.generate([municipality_id], families, matches, seed=seed_value, today=date.today())
            print(f"\r  seeded {n}/{len(ids)} municipalities, {time.monotonic() - started:.0f} s", end="", flush=True)
    print(f"\nseeding: {len(ids)} municipalities × {families} families, {matches} matches in "
          f"{time.monotonic() - started:.1f} s")
    with db.connect_owner(autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


class Sink:
    """An SMTP server on 127.0.0.1 that accepts every mail and keeps only their number."""

    def __enter__(self):
        import logging
        import socket

        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").disabled = True  # it names senders and recipients
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.count += 1
                return "250 OK"

        self.count = 0
        with socket.socket() as probe:  # a free port
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class Workers:
    """The two ``koppel worker -c 1`` processes, in their own process groups."""

    def __init__(self, db: BenchDatabase, redis_url: str, smtp_url: str, log_dir: Path):
        self.env = db.environment(REDIS_URL=redis_url, SMTP_URL=smtp_url, PYTHONPATH=str(ROOT))
        self.log_dir = log_dir
        self.processes = []

    def __enter__(self):
        for name in ("bench1", "bench2"):
            log = open(self.log_dir / f"{name}.log", "w")
            self.processes.append(subprocess.Popen(
                [BIN / "koppel", "worker", "-c", "1", "-n", f"{name}@%h"], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def wait_ready(self, celery, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                sys.exit(f"a worker exited; see {self.log_dir}")
            if len(celery.control.ping(timeout=1.0)) >= len(self.processes):
                return
        sys.exit(f"the workers did not answer within {timeout:.0f} s; see {self.log_dir}")

    def cpu_seconds(self) -> float:
        """CPU time (user and system) used so far by every worker process, main and pool."""
        pids = [p.pid for p in self.processes]
        pids += [child for pid in pids for child in _children(pid)]
        ticks = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> list[tuple[str, float]]:
        """Resident memory of each worker's main process and its pool processes, MiB."""
        out = []
        for name, process in zip(("bench1", "bench2"), self.processes):
            out.append((f"{name} main", _rss(process.pid)))
            for child in _children(process.pid):
                out.append((f"{name} pool", _rss(child)))
        return out


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset(db: BenchDatabase, redis_url: str) -> None:
    import redis

    with db.connect_owner(autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(RESET)} RESTART IDENTITY")
    redis.Redis.from_url(redis_url).flushdb()


def counted(engine):
    """A list that grows by one per SQL statement run on *engine* (a SQLAlchemy event); and its remover."""
    from sqlalchemy import event

    statements = []

    def one(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", one)
    return statements, lambda: event.remove(engine, "before_cursor_execute", one)


def moments(scenario: str):
    """(until when the backlog is cleared unmeasured, or None; the moment of the measured dispatch)."""
    from datetime import time as wall, timedelta

    from core.scheduling.registry import at_local
    from core.types import utcnow

    today = date.today()
    if scenario == "backlog":
        return None, utcnow()
    if scenario == "day":
        return at_local(today, wall(8, 59)), at_local(today, wall(9, 0))
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return at_local(first, wall(5, 59)), at_local(first, wall(6, 0))


def clear_backlog(app, db: BenchDatabase, until) -> int:
    """Dispatch what is due until *until* and mark it done in SQL, as if earlier days had done it."""
    from core.scheduling import dispatch

    with app.app_context():
        out = dispatch.collect(until)
        from core.extensions import db as sqla

        sqla.session.remove()
    with db.connect_owner(autocommit=True) as conn:
        conn.execute("SELECT set_config('koppel.cross_tenant', 'on', false)")
        conn.execute("UPDATE scheduled_item SET state = 'done', finished_at = now()")
    return len(out.tickets)


def one_run(app, db: BenchDatabase, workers: Workers, redis_url: str, timeout: float, scenario: str) -> dict:
    from core.extensions import db as sqla
    from core.scheduling import dispatch, queue

    reset(db, redis_url)
    until, now = moments(scenario)
    cleared = clear_backlog(app, db, until) if until else 0
    cpu_before = workers.cpu_seconds()
    with app.app_context():
        statements, stop = counted(sqla.engine)
        started = time.perf_counter()
        try:
            out = dispatch.collect(now)
        finally:
            stop()
        collected = time.perf_counter()
        sent = queue.enqueue(out.tickets)
        enqueued = time.perf_counter()
        sqla.session.remove()
    if sent != len(out.tickets):
        sys.exit(f"only {sent} of {len(out.tickets)} tasks reached Redis")
    dispatched_at = time.time() - (enqueued - started)
    with db.connect_owner(autocommit=True) as conn:
        measured = "id = ANY(%(ids)s)"
        ids = {"ids": [t.item_id for t in out.tickets]}
        conn.execute("SELECT set_config('koppel.cross_tenant', 'on', false)")
        deadline = time.monotonic() + timeout
        while conn.execute("SELECT count(*) FROM scheduled_item WHERE state = 'pending'").fetchone()[0]:
            if time.monotonic() > deadline:
                sys.exit(f"items still pending after {timeout:.0f} s; see the worker logs")
            time.sleep(0.1)
        last = conn.execute(f"SELECT extract(epoch FROM max(finished_at)) FROM scheduled_item WHERE {measured}",
                            ids).fetchone()[0]
        by_state = dict(conn.execute(f"SELECT state, count(*) FROM scheduled_item WHERE {measured} GROUP BY state",
                                     ids).fetchall())
        by_kind = dict(conn.execute(f"SELECT kind, count(*) FROM scheduled_item WHERE {measured} GROUP BY kind "
                                    "ORDER BY kind", ids).fetchall())
        errors = conn.execute(f"SELECT kind, error, count(*) FROM scheduled_item WHERE state = 'failed' AND {measured} "
                              "GROUP BY kind, error ORDER BY count(*) DESC LIMIT 5", ids).fetchall()
    done_s = float(last) - dispatched_at if last else 0.0
    cpu_ms = 1000 * (workers.cpu_seconds() - cpu_before) / max(sent, 1)
    items = sum(by_kind.values())
    return {"collect": collected - started, "enqueue": enqueued - collected, "dispatch": enqueued - started,
            "statements": len(statements), "done": done_s, "items": items, "tasks": sent,
            "per_second": sent / done_s if done_s else 0.0, "by_kind": by_kind, "by_state": by_state,
            "errors": errors, "rss": workers.rss_mib(), "cpu_ms": cpu_ms, "cleared": cleared}


def explain(app) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement one ``collect`` runs, in its scope, slowest first."""
    from core.extensions import db as sqla
    from core.scheduling import dispatch
    from tenants.context import cross_tenant_scope

    with app.app_context():
        statements = []
        from sqlalchemy import event

        def keep(conn, cursor, statement, parameters, context, executemany):
            if not executemany and statement.lstrip().upper().startswith(("SELECT", "WITH")):
                statements.append((statement, parameters))

        event.listen(sqla.engine, "before_cursor_execute", keep)
        try:
            dispatch.collect()
        finally:
            event.remove(sqla.engine, "before_cursor_execute", keep)
        plans = []
        with cross_tenant_scope("scheduler"):
            for statement, parameters in statements:
                connection = sqla.session.connection()
                lines = [r[0] for r in connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement,
                                                                 parameters).all()]
                total = next((float(line.split(":")[1].split()[0]) for line in lines
                              if line.startswith("Execution Time")), 0.0)
                plans.append((total, statement, lines))
            sqla.session.rollback()
    print(f"\n=== EXPLAIN ANALYZE of one collect's SELECTs ({len(plans)}, {sum(p[0] for p in plans):.1f} ms in all)")
    for total, statement, lines in sorted(plans, key=lambda p: -p[0]):
        print(f"\n--- {total:.2f} ms\n{statement}\n" + "\n".join(lines))


def in_process(app, db: BenchDatabase, redis_url: str, per_kind: int) -> None:
    """Without Celery: *per_kind* items of each kind done one after the other by ``runner.run`` in this process,
    as a worker does each (its scope, its transaction); ms and SQL statements per item, by kind."""
    from sqlalchemy import select

    from core.extensions import db as sqla
    from core.scheduling import dispatch, runner
    from core.scheduling.models import ScheduledItem
    from core.scheduling.registry import kinds
    from tenants.context import cross_tenant_scope

    reset(db, redis_url)
    with app.app_context():
        tickets = dispatch.collect().tickets
        with cross_tenant_scope("scheduler"):
            kind_of = dict(sqla.session.execute(select(ScheduledItem.id, ScheduledItem.kind)).all())
            sqla.session.rollback()
        chosen = {}
        for ticket in tickets:
            chosen.setdefault(kind_of[ticket.item_id], [])
            if len(chosen[kind_of[ticket.item_id]]) < per_kind:
                chosen[kind_of[ticket.item_id]].append(ticket)
        print(f"\nin-process, without Celery, up to {per_kind} items per kind (runner.run in the item's scope):")
        for kind, some in sorted(chosen.items()):
            statements, stop = counted(sqla.engine)
            started = time.perf_counter()
            try:
                for ticket in some:
                    with runner.scope(ticket.tenant_id, ticket.cross_scope or kinds()[kind].cross_scope):
                        runner.run(ticket.item_id)
            finally:
                stop()
            seconds = time.perf_counter() - started
            print(f"  {kind}: {len(some)} items, {1000 * seconds / len(some):.1f} ms and "
                  f"{len(statements) / len(some):.1f} statements per item")
        sqla.session.remove()
    reset(db, redis_url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="koppel_bench_scheduling")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/10", help="the broker; its db is flushed")
    parser.add_argument("--municipalities", type=int, default=342)
    parser.add_argument("--families", type=int, default=300)
    parser.add_argument("--matches", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", action="append", choices=("day", "month", "backlog"),
                        help="day (the default), month, backlog; may be given several times")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the items of a run")
    parser.add_argument("--reseed", action="store_true", help="recreate and seed even when seeded")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--in-process", type=int, default=100, metavar="N",
                        help="first do N items of each kind in this process, without Celery (0: skip)")
    args = parser.parse_args()
    args.scenario = args.scenario or ["day"]

    db = BenchDatabase(args.database)
    if args.reseed or not db.seeded("family"):
        seed(db, args.municipalities, args.families, args.matches, args.seed)
    else:
        print(f"reusing {args.database} (--reseed to recreate it)")
    os.environ["REDIS_URL"] = args.redis  # the app's broker (core/config.py reads it)
    app = db.make_app()
    with db.connect_owner() as conn:
        conn.execute("SELECT set_config('koppel.cross_tenant', 'on', false)")
        sizes = conn.execute("SELECT (SELECT count(*) FROM municipality), (SELECT count(*) FROM family), "
                             "(SELECT count(*) FROM match), (SELECT count(*) FROM evaluation)").fetchone()
    print("database: {:,} municipalities, {:,} families, {:,} matches, {:,} evaluations".format(*sizes))
    if args.explain:
        reset(db, args.redis)
        explain(app)
    if args.in_process:
        in_process(app, db, args.redis, args.in_process)

    log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"koppel-bench-scheduling-{os.getpid()}"
    log_dir.mkdir(parents=True, exist_ok=True)
    verdicts = []
    with Sink() as sink, Workers(db, args.redis, sink.url, log_dir) as workers:
        workers.wait_ready(app.extensions["celery"])
        print(f"2 workers (koppel worker -c 1, bench1@ and bench2@), Redis {args.redis}; logs in {log_dir}")
        for scenario in args.scenario:
            results = [report(number, one_run(app, db, workers, args.redis, args.timeout, scenario), scenario)
                       for number in range(1, args.runs + 1)]
            verdicts.append(summary(scenario, results))
        print(f"\nmails received by the SMTP sink: {sink.count:,}")
    return 0 if all(verdicts) else 1


def report(number: int, result: dict, scenario: str) -> dict:
    print(f"\n{scenario} run {number}: {result['items']:,} items "
          + ", ".join(f"{k} {v:,}" for k, v in result["by_kind"].items())
          + f"; states {result['by_state']}" + (f" (backlog of {result['cleared']:,} cleared first)"
                                                if result["cleared"] else ""))
    print(f"  dispatcher {result['dispatch']:.2f} s (collect {result['collect']:.2f} s, "
          f"{result['statements']} statements; enqueue {result['tasks']:,} tasks {result['enqueue']:.2f} s); "
          f"last item done {result['done']:.1f} s after the dispatch, {result['per_second']:.0f} items/s; "
          f"workers' CPU {result['cpu_ms']:.1f} ms per item")
    print("  worker RSS MiB: " + ", ".join(f"{n} {mib:.0f}" for n, mib in result["rss"]))
    for kind, error, count in result["errors"]:
        print(f"  failed: {count} × {kind}: {error}")
    return result


def summary(scenario: str, results: list[dict]) -> bool:
    """Print the medians of *results*; whether they meet the targets."""
    def median(key):
        return statistics.median(r[key] for r in results)

    dispatch_s, done_s = median("dispatch"), median("done")
    rss = {}
    for r in results:
        for n, (name, mib) in enumerate(r["rss"]):
            rss.setdefault((n, name), []).append(mib)
    print(f"\n{scenario}: medians of {len(results)} runs: {median('items'):,.0f} items; "
          f"dispatcher {dispatch_s:.2f} s (collect {median('collect'):.2f} s, {median('statements'):.0f} statements, "
          f"enqueue {median('enqueue'):.2f} s): {'PASS' if dispatch_s < TARGET_DISPATCH_S else 'MISS'} (< 2 s); "
          f"last item done {done_s:.1f} s: {'PASS' if done_s < TARGET_DONE_S else 'MISS'} (< 60 s); "
          f"{median('per_second'):.0f} items/s; workers' CPU {median('cpu_ms'):.1f} ms per item")
    print("worker RSS MiB (median): " + ", ".join(f"{name} {statistics.median(v):.0f}"
                                                 for (_, name), v in sorted(rss.items())))
    return dispatch_s < TARGET_DISPATCH_S and done_s < TARGET_DONE_S


if __name__ == "__main__":
    sys.exit(main())
