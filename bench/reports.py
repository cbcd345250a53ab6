"""Report benchmark: a consortium report over 7 municipalities with 20,000 families, built and rendered in 4 formats.

1. Recreates the database ``koppel_bench_reports`` on 127.0.0.1:5432 (see
   ``bench/_database.py``), applies the Achterhoek region file (7 real
   municipalities, its policy template with a funding model and the four
   report formats) and seeds each member with ``core.programme.generator``
   (``--families`` in all, 20,000 by default, split evenly; a match per
   five families), then stores twelve monthly KPI snapshots with their early
   warnings per member through the monthly review, as the scheduler would.
   ``--reuse`` skips this when the database is already seeded.
2. In-process, against the app role (row-level security on): ``--runs`` times
   (5), the consortium's programme report over the last twelve months, for
   each audience (staff: complete; funder: suppressed, pseudonymised), built
   by ``core.reports.builder.build`` and rendered by
   ``core.reports.render`` in XLSX, CSV, PDF and JSON. Prints per audience
   the median and largest time of building, of each format and of the whole
   (build plus the four renderings), the statements the build ran, the
   sizes of the files, and the peak memory: Python's own allocations during
   one build and render (``tracemalloc``) and the process's peak resident
   size.

Target: build plus render in all four formats under 5 s together (median).
Exit status 0 when the target is met for both audiences, 1 otherwise.

Run with the project's venv: ``python bench/reports.py [--runs 5] [--reuse]``.
"""
from __future__ import annotations

import argparse
import resource
import secrets
import statistics
import sys
import time
import tracemalloc
from contextlib import contextmanager
from datetime import date
from types import SimpleNamespace

from _database import ROOT, BenchDatabase
from dateutil.relativedelta import relativedelta

sys.path.insert(0, str(ROOT))
DB = BenchDatabase("koppel_bench_reports")

TARGET_S = 5.0
FORMATS = ("xlsx", "csv", "pdf", "json")
MONTHS = 12


def seed(families: int, today: date) -> None:
    """Achterhoek's 7 members, *families* families among them, and a year of monthly reviews."""
    from sqlalchemy import select

    from core.extensions import db
    from core.programme import generator
    from core.scheduling import review
    from tenants import onboarding
    from tenants.context import cross_tenant_scope, tenant_scope
    from tenants.models import Municipality

    DB.create()
    app = DB.make_app()
    started = time.monotonic()
    with app.app_context():
        with cross_tenant_scope("platform-maintenance"):
            onboarding.apply_region(onboarding.read_region_file(ROOT / "tenants" / "regions" / "achterhoek.toml"))
            db.session.commit()
        ids = list(db.session.scalars(select(Municipality.id).order_by(Municipality.id)))
        each = families // len(ids)
        for n, municipality_id in enumerate(ids, start=1):
            share = each + (families - each * len(ids) if n == len(ids) else 0)
            generator.generate([municipality_id], share, share // 5, seed=n, today=today)
            print(f"\r  seeded {n}/{len(ids)} municipalities, {time.monotonic() - started:.0f} s", end="", flush=True)
        print()
        for municipality_id in ids:
            for back in range(MONTHS):
                month = last_month(today) - relativedelta(months=back)
                with tenant_scope(municipality_id):
                    review.run_municipality(SimpleNamespace(tenant_id=municipality_id,
                                                            key=review.municipality_key(municipality_id, month)))
                    db.session.commit()
    print(f"seeding: 7 municipalities, {families:,} families, {MONTHS} monthly reviews each in "
          f"{time.monotonic() - started:.1f} s")
    with DB.connect_owner(autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def last_month(today: date) -> date:
    """The first day of the month before *today*'s."""
    return date(today.year, today.month, 1) - relativedelta(months=1)


@contextmanager
def counted(engine):
    """Count the statements run on *engine* in the block."""
    from sqlalchemy import event

    count = [0]

    def record(*args):
        count[0] += 1

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", record)


def one_run(scope, period, audience, as_of, key) -> dict:
    """Build and render once; the seconds of each step and the sizes of the files."""
    from core.extensions import db
    from core.reports import builder, render

    db.session.expire_all()
    timings, sizes = {}, {}
    with counted(db.engine) as statements:
        started = time.perf_counter()
        report = builder.build(scope, period, audience=audience, as_of=as_of, pseudonym_key=key)
        timings["build"] = time.perf_counter() - started
    for media_format in FORMATS:
        started = time.perf_counter()
        sizes[media_format] = len(render(report, media_format).content)
        timings[media_format] = time.perf_counter() - started
    db.session.rollback()
    timings["total"] = sum(timings.values())
    return {"timings": timings, "sizes": sizes, "statements": statements[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="use the seeded database as it is")
    args = parser.parse_args()

    from sqlalchemy import select

    from core.programme.kpis import Period
    from core.reports import builder
    from tenants.models import Consortium

    today = date.today()
    if not (args.reuse and DB.seeded("family")):
        seed(args.families, today)
    app = DB.make_app()
    ok = True
    with app.app_context():
        from core.extensions import db

        consortium = db.session.scalar(select(Consortium).where(Consortium.slug == "achterhoek"))
        scope = builder.ReportScope(consortium_id=consortium.id)
        last = last_month(today)
        period = Period(last - relativedelta(months=MONTHS - 1), last + relativedelta(months=1, days=-1))
        key = secrets.token_bytes(32)
        print(f"consortium report: {consortium.name}, 7 municipalities, {period.start} to {period.end}, "
              f"{args.runs} runs per audience after a warm-up")
        for audience in (builder.STAFF, builder.FUNDER):
            one_run(scope, period, audience, period.end, key)  # warm-up: plugin managers, caches
            runs = [one_run(scope, period, audience, period.end, key) for _ in range(args.runs)]
            tracemalloc.start()
            one_run(scope, period, audience, period.end, key)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"\n{audience}: {runs[0]['statements']} statements per build; file sizes "
                  + ", ".join(f"{f} {runs[0]['sizes'][f] / 1024:,.0f} KiB" for f in FORMATS))
            print(f"  {'step':<8} {'median':>9} {'max':>9}")
            for step in ("build", *FORMATS, "total"):
                values = [run["timings"][step] for run in runs]
                print(f"  {step:<8} {statistics.median(values):>8.3f}s {max(values):>8.3f}s")
            total = statistics.median(run["timings"]["total"] for run in runs)
            print(f"  peak Python allocations during one build and render: {peak / 2**20:,.1f} MiB")
            met = total < TARGET_S
            ok &= met
            print(f"  target build + 4 formats < {TARGET_S:.0f} s: {'met' if met else 'MISSED'} ({total:.2f} s)")
    print(f"\npeak resident size of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
