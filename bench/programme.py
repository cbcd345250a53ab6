"""Programme benchmark: seed a national-scale database with the generator, then time the KPI service.

1. Recreates the database ``koppel_bench_programme`` on 127.0.0.1:5432 (as the
   superuser ``postgres``; the roles ``koppel_owner`` and ``koppel_app`` are
   created when missing, password = name) and runs ``koppel init`` as the owner.
2. Onboards 50 municipalities in 8 consortia (Achterhoek with its 7 real
   members first, then Nijmegen's 4, then 39 invented ones with CBS codes
   from GM9001 up) and seeds each with ``core.programme.generator``
   (5,000 families and 2,000 matches by default), as the app role (subject to
   row-level security), one transaction per municipality; prints the time.
   ``VACUUM ANALYZE`` afterwards, as the owner.
3. In-process, with ``create_app`` against the app role: the KPI service for
   one municipality (in its tenant scope, target p95 < 200 ms) and for the
   7-member consortium (target p95 < 1 s), each run ``--runs`` times after a
   warm-up; prints p50, p95 and max.
4. In-process too, through Flask's test client with a tenant admin's bearer
   token for the first municipality: a page of 50 families (one of three
   sorts and filters at random, target p95 < 50 ms) and a random family that
   has decisions, with its members, decisions and matches (target p95
   < 30 ms), each ``5 × --runs`` times, and ``GET /healthz`` ``10 × --runs``
   times in the same run; prints each read's p50 as a multiple of /healthz's.

``--explain`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of every SQL statement the
KPI service runs, in the scope it runs in, slowest first. ``--reuse`` skips
steps 1 and 2 when the database is already seeded. Exit status: 0 when every
measured target is met, 1 otherwise.

Run with the project's venv: ``python bench/programme.py [--quick]``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import date

from _database import ROOT, BenchDatabase
from _timing import percentile, timed

sys.path.insert(0, str(ROOT))
DB = BenchDatabase("koppel_bench_programme")

TARGET_MUNICIPALITY_S = 0.200
TARGET_CONSORTIUM_S = 1.0

#: Invented municipalities for the consortia beyond the two real regions (CBS codes GM9001 up are unused).
INVENTED = [
    "Oosterveen", "Westerbroek", "Zuiderhaven", "Noorderwolde", "Bergenhuizen", "Dalfsterzijl", "Eikendonk",
    "Heeswijkerveld", "Lindewaard", "Meerhoven-Oost", "Nieuw-Vennep-Zuid", "Oldenmarke", "Polderdam", "Rijsterveld",
    "Schoonloo-Noord", "Terborgsveen", "Ulvenhout-West", "Valkenmeer", "Wijchenbroek", "Ypenburgerwaard",
    "Zandvoorde", "Achterveld-Oost", "Brakelwaard", "Cuijkerveen", "Drielanden", "Emmerhout-Zuid", "Friesenveen",
    "Goorsterhoek", "Hattemerbroek", "IJsselwaard", "Kampereiland-Noord", "Lochemerveld", "Markelohoek",
    "Nijverdaler Es", "Ommerkanaal", "Putterveen", "Raalterwold", "Staphorsterveld", "Twellohoek",
]
#: Sizes of the invented consortia (the 7-member consortium is Achterhoek; Nijmegen has 4).
INVENTED_CONSORTIA = [("Veluwe-Noord", 6), ("Salland", 6), ("Twente-West", 6), ("Rivierenland-Oost", 6),
                      ("Kop van Overijssel", 6), ("Gooi en Vecht", 9)]


def onboard(count: int) -> None:
    """Achterhoek and Nijmegen from the region files, then invented consortia, up to *count* municipalities."""
    from core.extensions import db
    from tenants import onboarding
    from tenants.context import cross_tenant_scope

    app = DB.make_app()
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        made = 0
        for name in ("achterhoek", "nijmegen"):
            data = onboarding.read_region_file(ROOT / "tenants" / "regions" / f"{name}.toml")
            data["municipality"] = data["municipality"][:count - made]
            if data["municipality"]:
                onboarding.apply_region(data)
                made += len(data["municipality"])
        names = iter(INVENTED)
        for number, (consortium_name, size) in enumerate(INVENTED_CONSORTIA, start=1):
            if made >= count:
                break
            consortium = onboarding.add_consortium(consortium_name, f"bench-{number}")
            for _ in range(min(size, count - made)):
                name = next(names)
                slug = name.lower().replace(" ", "-")
                onboarding.add_municipality(consortium, name=name, cbs_code=f"GM{9001 + made:04d}", slug=slug,
                                            inhabitants=20_000 + 1_000 * made)
                made += 1
        db.session.commit()
        if made < count:
            sys.exit(f"only {made} municipalities defined; at most {made} can be benchmarked")


def seed(families: int, matches: int, seed_value: int, today: date) -> None:
    from sqlalchemy import select

    from core.extensions import db
    from core.programme import generator
    from tenants.models import Municipality

    app = DB.make_app()
    with app.app_context():
        ids = list(db.session.scalars(select(Municipality.id).order_by(Municipality.id)))
        started = time.monotonic()
        rows = 0
        for n, municipality_id in enumerate(ids, start=1):
            counts = generator.generate([municipality_id], families, matches, seed=seed_value, today=today)
            rows += sum(v for k, v in counts[municipality_id].items() if k not in ("requesting", "supporting"))
            elapsed = time.monotonic() - started
            print(f"\r  seeded {n}/{len(ids)} municipalities, {rows:,} rows, {elapsed:.0f} s", end="", flush=True)
        print()
        seconds = time.monotonic() - started
    print(f"seeding: {len(ids)} municipalities × {families:,} families and {matches:,} matches = {rows:,} rows "
          f"in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    started = time.monotonic()
    with DB.connect_owner(autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"VACUUM ANALYZE: {time.monotonic() - started:.1f} s")


@contextmanager
def captured_statements(engine):
    """Collect (statement, parameters) of every statement run on *engine* in the block."""
    from sqlalchemy import event

    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def explain(run, label: str) -> None:
    """Print EXPLAIN ANALYZE of each statement *run* executes, slowest first, in the same scope."""
    from core.extensions import db

    with captured_statements(db.engine) as statements:
        run()
    plans = []
    for statement, parameters in statements:
        def plan():
            connection = db.session.connection()
            rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
            return [r[0] for r in rows]
        lines = run(plan)
        total = next((float(line.split(":")[1].split()[0]) for line in lines if line.startswith("Execution Time")), 0.0)
        plans.append((total, statement, lines))
    print(f"\n=== EXPLAIN ANALYZE: {label} ({len(plans)} statements, {sum(p[0] for p in plans):.1f} ms in all)")
    for total, statement, lines in sorted(plans, key=lambda p: -p[0]):
        print(f"\n--- {total:.2f} ms\n{statement}\n" + "\n".join(lines))


def measure_kpis(runs: int, explain_plans: bool, today: date) -> list[tuple[str, list[float], float]]:
    from sqlalchemy import func, select

    from core.extensions import db
    from core.programme import kpis
    from tenants.context import tenant_scope
    from tenants.models import Consortium, Municipality

    app = DB.make_app()
    results = []
    with app.app_context():
        consortium = db.session.scalars(
            select(Consortium).join(Municipality).group_by(Consortium.id)
            .having(func.count(Municipality.id) == 7).order_by(Consortium.id)).first()
        if consortium is None:
            sys.exit("no consortium of 7 municipalities (use --municipalities 7 or more)")
        members = kpis.consortium_member_ids(consortium.id)
        one = members[0]
        name = db.session.get(Municipality, one).name
        period = kpis.Period.year(today.year)
        db.session.rollback()

        def municipality(query=None):
            with tenant_scope(one):
                try:
                    return query() if query else kpis.municipality_kpis(one, period, as_of=today)
                finally:
                    db.session.rollback()

        def consortium_run(query=None):
            from tenants.context import cross_tenant_scope

            if query:
                with cross_tenant_scope("consortium-aggregation"):
                    try:
                        return query()
                    finally:
                        db.session.rollback()
            try:
                return kpis.consortium_kpis(members, period, as_of=today)
            finally:
                db.session.rollback()

        figures = municipality()
        print(f"\n{name}, {period.start.year} as of {today}: {figures.matches.started} matches started, "
              f"{figures.matches.running_now} running, {figures.waiting.families_waiting_now} families waiting, "
              f"median wait {figures.waiting.days_to_first_proposal.median} days, "
              f"{figures.volunteering.logged_hours:,.0f} volunteer hours logged")
        total = consortium_run().total
        print(f"{consortium.name} ({len(members)} municipalities): {total.matches.started} matches started, "
              f"{total.matches.running_now} running, {total.waiting.families_waiting_now} waiting")
        results.append((f"KPIs, one municipality ({name})", timed(municipality, runs), TARGET_MUNICIPALITY_S))
        results.append((f"KPIs, consortium of {len(members)} ({consortium.name})", timed(consortium_run, runs),
                        TARGET_CONSORTIUM_S))
        if explain_plans:
            explain(municipality, f"municipality {name}")
            explain(consortium_run, f"consortium {consortium.name}")
    return results


TARGET_PAGE_S = 0.050
TARGET_DETAIL_S = 0.030


def measure_api(runs: int) -> list[tuple[str, list[float], float]]:
    """The families API in-process (Flask's test client) as the app role, with a tenant admin's token:
    a page of 50 families (p95 < 50 ms) and one family with its members, decisions and matches
    (p95 < 30 ms), each against ``GET /healthz`` measured in the same run."""
    import random

    from sqlalchemy import select

    from core.auth import tokens
    from core.extensions import db
    from core.programme.models import Decision, Family
    from tenants.context import tenant_scope
    from tenants.models import Municipality

    app = DB.make_app()
    client = app.test_client()
    with app.app_context():
        municipality = db.session.scalars(select(Municipality).order_by(Municipality.id)).first()
        raw, _ = tokens.create("bench", ["tenant_admin"], municipality=municipality)
        db.session.commit()
        with tenant_scope(municipality.id):
            ids = db.session.scalars(select(Family.id).join(Decision, Decision.family_id == Family.id)
                                     .order_by(Family.id).distinct()).all()
            db.session.rollback()
        slug = municipality.slug
    headers = {"Authorization": f"Bearer {raw}"}
    rng = random.Random(7)
    pages = [f"/api/v1/{slug}/families?limit=50", f"/api/v1/{slug}/families?limit=50&sort=display_name",
             f"/api/v1/{slug}/families?limit=50&kind=requesting&status=waiting&sort=registered_on&order=desc"]

    def get(path, auth=True):
        response = client.get(path, headers=headers if auth else None)
        if response.status_code != 200:
            sys.exit(f"GET {path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
        return response

    def page():
        body = get(rng.choice(pages)).get_json()
        assert len(body["items"]) == 50

    def detail():
        body = get(f"/api/v1/{slug}/families/{rng.choice(ids)}").get_json()
        assert body["members"] and body["decisions"]

    healthz = timed(lambda: get("/healthz", auth=False), runs * 10)
    results = [(f"GET a page of 50 families ({slug})", timed(page, runs * 5), TARGET_PAGE_S),
               (f"GET a family with members, decisions, matches ({slug})", timed(detail, runs * 5), TARGET_DETAIL_S)]
    base = statistics.median(healthz)
    print(f"\nGET /healthz in the same run: p50 {base * 1000:.2f} ms")
    for label, times, _ in results:
        print(f"{label}: p50 {statistics.median(times) * 1000:.1f} ms = {statistics.median(times) / base:.0f} x /healthz")
    return results


def report(results: list[tuple[str, list[float], float]]) -> bool:
    width = max(len(label) for label, _, _ in results)
    print(f"\n{'measurement':<{width}}  {'runs':>4}  {'p50 ms':>8}  {'p95 ms':>8}  {'max ms':>8}  {'target p95':>10}  verdict")
    ok = True
    for label, times, target in results:
        p95 = percentile(times, 95)
        verdict = "PASS" if p95 < target else "MISS"
        ok &= verdict == "PASS"
        print(f"{label:<{width}}  {len(times):>4}  {statistics.median(times) * 1000:>8.1f}  {p95 * 1000:>8.1f}  "
              f"{max(times) * 1000:>8.1f}  {f'< {target * 1000:.0f} ms':>10}  {verdict}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=50, help="municipalities to seed (default 50)")
    parser.add_argument("--families", type=int, default=5000, help="families per municipality (default 5000)")
    parser.add_argument("--matches", type=int, default=2000, help="matches per municipality (default 2000)")
    parser.add_argument("--quick", action="store_true", help="a small scale: 9 municipalities × 1000 families, 400 matches")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per measurement (default 20)")
    parser.add_argument("--seed", type=int, default=2026, help="generator seed (default 2026)")
    parser.add_argument("--today", type=date.fromisoformat, default=date.today(), help="the generator's and KPIs' today")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of every KPI statement")
    args = parser.parse_args()
    if args.quick:
        args.municipalities, args.families, args.matches = 9, 1000, 400
    if args.municipalities < 7:
        parser.error("--municipalities must be at least 7 (the consortium measured has 7 members)")

    if args.reuse and DB.seeded("match"):
        print(f"reusing the seeded database {DB.name}")
    else:
        started = time.monotonic()
        DB.create()
        onboard(args.municipalities)
        print(f"database {DB.name} created, migrated and onboarded in {time.monotonic() - started:.1f} s")
        seed(args.families, args.matches, args.seed, args.today)
    results = measure_kpis(args.runs, args.explain, args.today) + measure_api(args.runs)
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
