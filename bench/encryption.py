"""Encryption benchmark: what field encryption costs a page of 50 families and the KPI service.

1. Two databases seeded the same (``koppel_bench_encryption`` with encrypted fields, and
   ``koppel_bench_encryption_plain``, the same schema and generator seed with the columns holding plain
   JSON text: :func:`core.crypto.fields.disabled`, which only benchmarks use), each one municipality
   (Aalten) with ``--families`` families and ``--matches`` matches, as the app role.
2. In one process, with one app per database (production settings, the app role, row-level security),
   ``--rounds`` rounds that alternate which arm goes first; in each round, for each arm:
   ``GET /api/v1/aalten/families?limit=50`` (a page of 50 families: 200 encrypted fields decrypted),
   ``GET /api/v1/aalten/families/<id>`` for 10 families with members, decisions (their findings
   encrypted) and matches, and the KPI service for the municipality (in its tenant scope), each
   ``--runs`` times.
3. Prints each arm's median per measurement and the ratio encrypted / plain (target < 1.3), and, with
   ``--callgrind``, the instructions of one call of each under ``valgrind --tool=callgrind`` (steadier
   than wall time on a shared machine) of the page of 50 families.

``--reuse`` keeps both databases when seeded. Exit status 0 when every ratio is under the target.
Run with the project's venv: ``python bench/encryption.py [--quick] [--reuse] [--callgrind]``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import date

from _database import ROOT, BenchDatabase

sys.path.insert(0, str(ROOT))
ENCRYPTED = BenchDatabase("koppel_bench_encryption")
PLAIN = BenchDatabase("koppel_bench_encryption_plain")
TARGET_RATIO = 1.3


def seed(database: BenchDatabase, families: int, matches: int, today: date, *, plain: bool) -> None:
    from core.crypto import fields
    from core.extensions import db
    from core.programme import generator
    from tenants import onboarding
    from tenants.context import cross_tenant_scope

    database.create()
    app = database.make_app()
    with app.app_context():
        with cross_tenant_scope("platform-maintenance"):  # as tests/conftest.py's world: no policy template
            consortium = onboarding.add_consortium("Achterhoek", "achterhoek")
            aalten = onboarding.add_municipality(consortium, name="Aalten", cbs_code="GM0197", slug="aalten",
                                                 inhabitants=27500).id
            db.session.commit()
        started = time.monotonic()
        if plain:
            with fields.disabled():
                generator.generate([aalten], families, matches, seed=2026, today=today)
        else:
            generator.generate([aalten], families, matches, seed=2026, today=today)
        print(f"{database.name}: seeded {families} families, {matches} matches in {time.monotonic() - started:.1f} s")
    with database.connect_owner(autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


class Arm:
    """One database and the reads measured on it."""

    def __init__(self, name: str, database: BenchDatabase, plain: bool, today: date):
        from sqlalchemy import select

        from core.auth import tokens
        from core.extensions import db
        from core.programme import kpis
        from core.programme.models import Decision, Family
        from tenants.context import cross_tenant_scope, tenant_scope
        from tenants.models import Municipality

        self.name, self.plain, self.today = name, plain, today
        self.app = database.make_app()
        self.client = self.app.test_client()
        with self.app.app_context(), self._mode():
            with cross_tenant_scope("platform-maintenance"):
                municipality = db.session.scalar(select(Municipality).where(Municipality.slug == "aalten"))
                raw, _ = tokens.create("bench", ["tenant_admin"], municipality=municipality)
                db.session.commit()
            self.tenant_id = municipality.id
            with tenant_scope(self.tenant_id):
                self.ids = db.session.scalars(select(Family.id).join(Decision, Decision.family_id == Family.id)
                                              .order_by(Family.id).distinct().limit(10)).all()
                db.session.rollback()
        self.headers = {"Authorization": f"Bearer {raw}"}
        self.period = kpis.Period.year(today.year)

    def _mode(self):
        from contextlib import nullcontext

        from core.crypto import fields

        return fields.disabled() if self.plain else nullcontext()

    def _get(self, path: str):
        response = self.client.get(path, headers=self.headers)
        if response.status_code != 200:
            sys.exit(f"{self.name}: GET {path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
        return response.get_json()

    def page(self):
        with self._mode():
            body = self._get("/api/v1/aalten/families?limit=50")
            assert len(body["items"]) == 50

    def details(self):
        with self._mode():
            for family_id in self.ids:
                body = self._get(f"/api/v1/aalten/families/{family_id}")
                assert body["decisions"] and isinstance(body["problem_areas"], list)

    def kpis(self):
        from core.extensions import db
        from core.programme import kpis
        from tenants.context import tenant_scope

        with self._mode(), self.app.app_context(), tenant_scope(self.tenant_id):
            try:
                kpis.municipality_kpis(self.tenant_id, self.period, as_of=self.today)
            finally:
                db.session.rollback()


MEASUREMENTS = [("a page of 50 families (API list)", "page"),
                ("10 families with members, decisions, matches (API, a request each)", "details"),
                ("KPI service, one municipality", "kpis")]


def measure(arms: list[Arm], rounds: int, runs: int) -> dict:
    times = {(arm.name, key): [] for arm in arms for _, key in MEASUREMENTS}
    for arm in arms:  # warm up: keys unwrapped, statements compiled
        for _, key in MEASUREMENTS:
            getattr(arm, key)()
    for number in range(rounds):
        order = arms if number % 2 == 0 else list(reversed(arms))
        for _, key in MEASUREMENTS:
            for arm in order:
                for _ in range(runs):
                    started = time.perf_counter()
                    getattr(arm, key)()
                    times[(arm.name, key)].append(time.perf_counter() - started)
        print(f"  round {number + 1}/{rounds} done", flush=True)
    return times


def callgrind(key: str, plain: bool) -> int | None:
    """Instructions of one call of measurement *key* (after one warm-up call), under callgrind."""
    import tempfile

    out = tempfile.mktemp(prefix="koppel-callgrind-")
    commands = {n: (f"import sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); import encryption as b; "
                    f"from datetime import date; arm = b.Arm('x', b.{'PLAIN' if plain else 'ENCRYPTED'}, {plain}, "
                    f"date.fromisoformat({str(date.today())!r}));" + f" arm.{key}();" * n) for n in (1, 3)}
    counts = {}
    for n, command in commands.items():
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}-{n}", sys.executable,
                               "-c", command], cwd=ROOT, capture_output=True, text=True)
        found = [line for line in done.stderr.splitlines() if "Collected" in line]
        if done.returncode or not found:
            return None
        counts[n] = int(found[-1].split(":")[-1].strip())
        os.unlink(f"{out}-{n}")
    return (counts[3] - counts[1]) // 2  # the process's start-up and set-up cancel out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=3000, help="families (default 3000)")
    parser.add_argument("--matches", type=int, default=1200, help="matches (default 1200)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (default 4)")
    parser.add_argument("--runs", type=int, default=5, help="calls per measurement, arm and round (default 5)")
    parser.add_argument("--quick", action="store_true", help="1000 families, 400 matches, 2 rounds of 3 calls")
    parser.add_argument("--reuse", action="store_true", help="keep both databases when seeded")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions under valgrind")
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    args = parser.parse_args()
    if args.quick:
        args.families, args.matches, args.rounds, args.runs = 1000, 400, 2, 3
    for database, plain in ((ENCRYPTED, False), (PLAIN, True)):
        if args.reuse and database.seeded("match"):
            print(f"reusing the seeded database {database.name}")
        else:
            seed(database, args.families, args.matches, args.today, plain=plain)
    arms = [Arm("encrypted", ENCRYPTED, False, args.today), Arm("plain", PLAIN, True, args.today)]
    times = measure(arms, args.rounds, args.runs)
    ok = True
    print(f"\n{'measurement':<72} {'plain ms':>9} {'encrypted ms':>12} {'ratio':>6}  target < {TARGET_RATIO}")
    for label, key in MEASUREMENTS:
        plain, encrypted = (statistics.median(times[(arm, key)]) for arm in ("plain", "encrypted"))
        ratio = encrypted / plain
        ok &= ratio < TARGET_RATIO
        print(f"{label:<72} {plain * 1000:>9.2f} {encrypted * 1000:>12.2f} {ratio:>6.2f}  "
              f"{'PASS' if ratio < TARGET_RATIO else 'MISS'}")
    if args.callgrind:
        print("\ninstructions of one call (callgrind; 3 calls minus 1 call, halved), plain and encrypted:")
        for label, key in MEASUREMENTS[:1]:  # the page: the whole process runs under valgrind, ~50 times slower
            plain, encrypted = callgrind(key, True), callgrind(key, False)
            if plain and encrypted:
                print(f"{label:<72} {plain:>14,} {encrypted:>14,} {encrypted / plain:>6.2f}")
            else:
                print(f"{label:<72} valgrind failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
