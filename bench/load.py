"""Load benchmark: tenant API reads against /healthz, on PostgreSQL under gunicorn.

1. Recreates the database ``koppel_bench`` (owned by ``koppel_owner``; the
   roles ``koppel_owner`` and ``koppel_app`` are created when missing) and
   runs ``koppel init`` as the owner.
2. Applies the region files (11 municipalities), bulk-inserts audit events
   spread over all of them (200,000 by default), two programme targets per
   municipality, and an API token for Doetinchem with role tenant_admin.
3. Starts ``gunicorn -w 5 --threads 4 wsgi:app`` (the README's production
   command) in production mode as the app role.
4. Warms up, then runs wrk against ``/healthz``, the tenant read
   ``/api/v1/doetinchem/targets`` (authenticated, tenant context, RLS: the
   cost of the platform's stack on a small read) and, for information, a
   heavier page ``/api/v1/doetinchem/audit-events?limit=50``, with the same
   threads, connections and duration (p50/p95 from ``bench/report.lua``).
5. Prints requests/s, p50 and p95 per endpoint, and the ratio of the tenant
   read's throughput to /healthz's against the target (35 %).

Run with the project's venv from anywhere: ``python bench/load.py [--quick]``.
Everything stays on 127.0.0.1. Exits 0 on PASS, 1 on MISS, and with an
error message when anything goes wrong (a non-2xx answer included).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from _database import BIN, ROOT, BenchDatabase

LUA = Path(__file__).resolve().with_name("report.lua")
DB = BenchDatabase("koppel_bench")
TARGET = 0.35
TENANT_PATH = "/api/v1/doetinchem/targets"
PAGE_PATH = "/api/v1/doetinchem/audit-events?limit=50"

# Audit events in id order = time order, round-robin over the tenants, a few
# actions and outcomes; 1 in 50 refused. The owner is under FORCE RLS, hence
# the cross-tenant setting first.
SEED_SQL = """
INSERT INTO audit_event (at, actor, action, object_type, object_id, ip, outcome, detail, tenant_id)
SELECT now() - (%(rows)s - g) * interval '2 minutes',
       'medewerker' || g %% 40 || '@' || m.slugs[1 + g %% m.n] || '.example',
       (ARRAY['family.read', 'family.update', 'match.create', 'match.update', 'evaluation.create',
              'family.read', 'family.read', 'user.login'])[1 + g %% 8],
       'family', (g %% 5000)::text, '10.1.' || g %% 256 || '.' || 1 + g %% 250,
       CASE WHEN g %% 50 = 0 THEN 'denied' ELSE 'success' END,
       json_build_object('method', 'GET', 'path', '/' || m.slugs[1 + g %% m.n] || '/families/' || g %% 5000),
       m.ids[1 + g %% m.n]
FROM (SELECT array_agg(id ORDER BY id) AS ids, array_agg(slug ORDER BY id) AS slugs, count(*)::int AS n
      FROM municipality) AS m,
     generate_series(1, %(rows)s) AS g
"""


def set_up_database(rows: int) -> str:
    """Create and seed the database; returns the raw API token."""
    DB.create()
    for region in sorted((ROOT / "tenants" / "regions").glob("*.toml")):
        DB.koppel("tenants", "apply", str(region))
    started = time.monotonic()
    with DB.connect_owner() as conn:
        conn.execute("SELECT set_config('koppel.cross_tenant', 'on', false)")
        conn.execute(SEED_SQL, {"rows": rows})
        conn.execute("INSERT INTO programme_target (tenant_id, year, new_matches_min, new_matches_max) "
                     "SELECT id, y, 10, 15 FROM municipality, (VALUES (2025), (2026)) AS years(y)")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE audit_event")
        count, tenants = conn.execute("SELECT count(*), count(DISTINCT tenant_id) FROM audit_event").fetchone()
    print(f"seeded {count} audit events over {tenants} municipalities in {time.monotonic() - started:.1f} s")
    output = DB.koppel("token", "create", "--name", "bench", "--role", "tenant_admin", "--municipality", "doetinchem")
    return output.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(app: str, port: int, workers: int, threads: int, log) -> subprocess.Popen:
    env = DB.environment()
    env.pop("MIGRATION_DATABASE_URL", None)
    # A session of its own: Ctrl-C reaches this script, which then stops gunicorn itself.
    return subprocess.Popen([BIN / "gunicorn", "-w", str(workers), "--threads", str(threads), "-b",
                             f"127.0.0.1:{port}", app],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(server: subprocess.Popen, port: int, log) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"gunicorn did not answer /healthz within 30 s; see {log.name}")


def stop_gunicorn(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()  # SIGTERM: gunicorn's graceful shutdown
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def check_read(url: str, token: str, rows: int) -> None:
    """One request by hand, so that a wrong token or route fails before the load does."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            found = json.load(response)
    except urllib.error.HTTPError as error:
        sys.exit(f"GET {url} answered {error.code}: {error.read()[:500]!r}")
    if len(found) != rows:
        sys.exit(f"GET {url} returned {len(found)} rows, expected {rows}")


def wrk(url: str, args, duration: str, token: str | None = None, extra: list[str] = ()) -> dict:
    """Run wrk once (*extra*: more wrk arguments, such as a header); the figures printed by report.lua."""
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}", "--timeout", "10s",
               "-s", str(LUA), url]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    command += extra
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = next((line for line in output.splitlines() if line.startswith("BENCH ")), None)
    if line is None:
        sys.exit(f"wrk printed no BENCH line:\n{output}")
    result = json.loads(line.removeprefix("BENCH "))
    errors = {k: result[k] for k in ("status", "connect", "read", "write", "timeout") if result[k]}
    if errors or "Non-2xx or 3xx responses" in output:
        sys.exit(f"wrk {url}: errors {errors}\n{output}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--duration", default="10s", help="wrk duration per endpoint and round (default 10s)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds over the endpoints; each endpoint's best round counts (default 3)")
    parser.add_argument("-c", "--connections", type=int, default=40,
                        help="wrk connections (default 40: more than the 20 worker threads, so that all are busy)")
    parser.add_argument("-t", "--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--warmup", default="3s", help="wrk warm-up per endpoint, not measured (default 3s)")
    parser.add_argument("-w", "--workers", type=int, default=5, help="gunicorn workers (default 5: 2 x cores + 1)")
    parser.add_argument("--worker-threads", type=int, default=4,
                        help="threads per gunicorn worker (default 4: hides database round trips)")
    parser.add_argument("--rows", type=int, default=200_000, help="audit events to seed (default 200000)")
    parser.add_argument("--app", default="wsgi:app", help="the WSGI app for gunicorn (default wsgi:app)")
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    parser.add_argument("--quick", action="store_true", help="a short run: 3s per endpoint, 1s warm-up")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.rounds = "3s", "1s", 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally below

    token = set_up_database(args.rows)
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    endpoints = [("GET /healthz", f"{base}/healthz", None), (f"GET {TENANT_PATH}", base + TENANT_PATH, token),
                 (f"GET {PAGE_PATH}", base + PAGE_PATH, token)]
    log = tempfile.NamedTemporaryFile("w", prefix="koppel-bench-gunicorn-", suffix=".log", delete=False)
    server = start_gunicorn(args.app, port, args.workers, args.worker_threads, log)
    try:
        wait_ready(server, port, log)
        check_read(base + TENANT_PATH, token, 2)
        check_read(base + PAGE_PATH, token, 50)
        print(f"gunicorn -w {args.workers} --threads {args.worker_threads} on {base}; wrk -t{args.threads} -c{args.connections} -d{args.duration}"
              f" after a {args.warmup} warm-up per endpoint")
        for _, url, auth in endpoints:
            wrk(url, args, args.warmup, auth)
        # rounds alternate the endpoints, so that a slower minute of a shared machine hits all of them
        rounds = [[(name, wrk(url, args, args.duration, auth)) for name, url, auth in endpoints]
                  for _ in range(args.rounds)]
    finally:
        stop_gunicorn(server)
        log.close()

    width = max(len(name) for name, _, _ in endpoints)
    print(f"\n{'round':>5}  {'endpoint':<{width}}  {'requests/s':>10}  {'p50 ms':>7}  {'p95 ms':>7}  {'requests':>8}")
    for number, results in enumerate(rounds, 1):
        for name, r in results:
            print(f"{number:>5}  {name:<{width}}  {r['rps']:>10.1f}  {r['p50_ms']:>7.2f}  {r['p95_ms']:>7.2f}  {r['requests']:>8}")
    # each endpoint's best round: its throughput when the machine and the spread of connections over
    # the workers were kindest, so that the ratio compares capacity with capacity
    best = [max(results[i][1]["rps"] for results in rounds) for i in range(len(endpoints))]
    ratio = best[1] / best[0]
    verdict = "PASS" if ratio >= TARGET else "MISS"
    print(f"\nbest round of each: {', '.join(f'{name} {rps:.0f}/s' for (name, _, _), rps in zip(endpoints, best))}")
    print(f"tenant read / healthz throughput: {ratio:.1%} (target >= {TARGET:.0%}): {verdict}")
    print(f"page of 50 audit events / healthz throughput: {best[2] / best[0]:.1%} (information)")
    os.unlink(log.name)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted; gunicorn stopped")
