"""Web benchmark: a coordinator's dashboard and family list of a municipality with 5,000 families, under load.

1. Recreates the database ``koppel_bench_web`` on 127.0.0.1:5432 (see
   ``bench/_database.py``), applies the Achterhoek region file and seeds
   Aalten with ``core.programme.generator`` (``--families``, 5,000 by
   default, a match per five families), twelve monthly reviews (KPI
   snapshots and early warnings, as the scheduler stores them) and a
   coordinator. ``--reuse`` skips this when the database is already seeded.
2. Starts ``gunicorn -w 5 --threads 4 wsgi:app`` in production mode as the
   app role (row-level security on), logs the coordinator in through the
   login form (CSRF token and all) and checks each page once by hand.
3. Counts the SQL statements of one request of each page (in-process, same
   database): they must not grow with the families.
4. Runs ``--rounds`` rounds (3) of wrk on each page in turn with the session
   cookie and ``-c`` connections (2: as many as this machine has CPUs, so
   that the server is busy all the time — the load — while more connections
   would only add time waiting in gunicorn's queue), and prints requests/s,
   p50 and p95 of every round and the median p95.

Target: p95 under 150 ms for each page (median of the rounds).
Exit status 0 when met, 1 otherwise.
Run with the project's venv: ``python bench/web.py [--quick] [--reuse] [--families 5000]``.
"""
from __future__ import annotations

import argparse
import http.client
import re
import signal
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import date
from types import SimpleNamespace

from _database import ROOT, BenchDatabase
from dateutil.relativedelta import relativedelta

sys.path.insert(0, str(ROOT))
import load  # noqa: E402  (gunicorn and wrk, as the load benchmark runs them)

DB = BenchDatabase("koppel_bench_web")
load.DB = DB  # load.start_gunicorn serves this database
TARGET_MS = 150.0
SLUG = "aalten"
EMAIL = "coordinator@aalten.example"
PASSWORD = "Zonnebloem-Lantaarn-83"
PAGES = {"dashboard": f"/{SLUG}/", "family list": f"/{SLUG}/families",
         "family list, filtered": f"/{SLUG}/families?kind=requesting&status=waiting"}
MONTHS = 12


def seed(families: int, today: date) -> None:
    """Aalten with *families* families, a match per five, a year of monthly reviews, and a coordinator."""
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
        tenant_id = db.session.scalar(select(Municipality.id).where(Municipality.slug == SLUG))
        generator.generate([tenant_id], families, families // 5, seed=1, today=today)
        first = date(today.year, today.month, 1)
        for back in range(1, MONTHS + 1):
            month = first - relativedelta(months=back)
            with tenant_scope(tenant_id):
                review.run_municipality(SimpleNamespace(tenant_id=tenant_id,
                                                        key=review.municipality_key(tenant_id, month)))
                db.session.commit()
    DB.koppel("user", "add", "--email", EMAIL, "--name", "Coördinator", "--role", "coordinator",
              "--municipality", SLUG, "--password", PASSWORD)
    with DB.connect_owner(autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"seeded {families:,} families in {SLUG} with {MONTHS} monthly reviews in {time.monotonic() - started:.1f} s")


def _cookies(response, into: dict) -> None:
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        into[name.strip()] = rest.split(";", 1)[0]


def log_in(base: str) -> str:
    """Log in through the form as a browser does; the ``Cookie`` header of the session. (Production
    cookies are Secure, which a cookie jar keeps for https only, so they are carried by hand.)"""
    host = urllib.parse.urlsplit(base)
    cookies: dict[str, str] = {}
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    conn.request("GET", "/login")
    response = conn.getresponse()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.read().decode()).group(1)
    _cookies(response, cookies)
    form = urllib.parse.urlencode({"csrf_token": token, "email": EMAIL, "password": PASSWORD})
    conn.request("POST", "/login", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Referer": f"{base}/login",
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
    response = conn.getresponse()
    response.read()
    if response.status != 302 or "/login" in (response.getheader("Location") or "/login"):
        sys.exit(f"logging in failed: {response.status}")
    _cookies(response, cookies)
    conn.close()
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def check_pages(base: str, cookie: str) -> None:
    for name, path in PAGES.items():
        request = urllib.request.Request(base + path, headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode()
            if response.status != 200 or "<h1" not in body or "/login" in response.url:  # a redirect to log in
                sys.exit(f"{name} ({path}) did not render: {response.status} {response.url}")


def statements_per_page() -> dict[str, int]:
    """The SQL statements of one request of each page, in-process as the coordinator (after one warm-up)."""
    from sqlalchemy import event

    from core.extensions import db

    app = DB.make_app()
    client = app.test_client()
    https = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/login"}}  # Secure cookies
    with app.app_context():
        page = client.get("/login", **https)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
        client.post("/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD}, **https)
        counts = {}
        for name, path in PAGES.items():
            client.get(path, **https)
            seen = []
            listener = lambda *args: seen.append(1)  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                assert client.get(path, **https).status_code == 200, path
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            counts[name] = len(seen)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=5000, help="families in the municipality (default 5000)")
    parser.add_argument("-d", "--duration", default="10s", help="wrk duration per page and round (default 10s)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the pages (default 3)")
    parser.add_argument("-c", "--connections", type=int, default=2,
                        help="wrk connections (default 2: one per CPU of the 2-CPU machine)")
    parser.add_argument("-t", "--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--warmup", default="3s", help="wrk warm-up per page, not measured (default 3s)")
    parser.add_argument("-w", "--workers", type=int, default=5, help="gunicorn workers (default 5)")
    parser.add_argument("--worker-threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--reuse", action="store_true", help="keep the database when it is already seeded")
    parser.add_argument("--quick", action="store_true", help="a short run: 1 round of 3 s per page")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.rounds = "3s", "1s", 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    if not (args.reuse and DB.seeded("family")):
        seed(args.families, date.today())
    counts = statements_per_page()
    port = load.free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile("w", prefix="koppel-bench-web-", suffix=".log", delete=False)
    server = load.start_gunicorn("wsgi:app", port, args.workers, args.worker_threads, log)
    try:
        load.wait_ready(server, port, log)
        cookie = log_in(base)
        check_pages(base, cookie)
        print(f"gunicorn -w {args.workers} --threads {args.worker_threads}; wrk -t{args.threads} "
              f"-c{args.connections} -d{args.duration} after a {args.warmup} warm-up per page")
        with_cookie = ["-H", f"Cookie: {cookie}"]
        for path in PAGES.values():
            load.wrk(base + path, args, args.warmup, extra=with_cookie)
        rounds = [[(name, load.wrk(base + path, args, args.duration, extra=with_cookie)) for name, path in PAGES.items()]
                  for _ in range(args.rounds)]
    finally:
        load.stop_gunicorn(server)
        log.close()

    width = max(map(len, PAGES))
    print(f"\n{'round':>5}  {'page':<{width}}  {'requests/s':>10}  {'p50 ms':>7}  {'p95 ms':>7}  {'statements':>10}")
    for number, results in enumerate(rounds, 1):
        for name, r in results:
            print(f"{number:>5}  {name:<{width}}  {r['rps']:>10.1f}  {r['p50_ms']:>7.2f}  {r['p95_ms']:>7.2f}  {counts[name]:>10}")
    met = True
    print()
    for i, name in enumerate(PAGES):
        p95 = statistics.median(results[i][1]["p95_ms"] for results in rounds)
        verdict = "PASS" if p95 < TARGET_MS else "MISS"
        met = met and verdict == "PASS"
        print(f"{name:<{width}}  median p95 {p95:6.1f} ms (target < {TARGET_MS:.0f} ms): {verdict}")
    return 0 if met else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted; gunicorn stopped")
