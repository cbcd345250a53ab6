"""Policy benchmark: the cost of Koppel's plugin dispatch, and match suggestions among 2,000 supporting families.

(a) Eligibility dispatch, in memory (no database). 10,000 requesting families'
    facts are generated with a seeded random; the 8 built-in eligibility
    plugins (``eligibility.kopp_kov``, ``poverty``, ``single_parent``,
    ``child_needs``, ``newcomer``, ``isolation``, ``exclusions``,
    ``no_conditions``) are enabled with their default configuration. Timed,
    per family:

    * *direct*: the same plugin instances' ``koppel_eligibility`` methods
      called in a plain loop (the floor);
    * pluggy's own hook call (``manager.hook.koppel_eligibility(...)``), for
      information;
    * ``core.policy.manager.call(manager, "koppel_eligibility", timeout, ...)``
      with the default timeout of 2 s (the worker-thread path every request
      takes) and with timeout 0 (in the calling thread);
    * the whole decision path (``koppel_decision``: ``call`` with timeout 2,
      then ``core.policy.decide.findings_of`` and ``outcome``: each finding's
      Message stored as ``as_dict()`` with its English rendering, and its
      facts as JSON), and those three parts alone over the same findings.

    The per-family overhead of ``call`` over *direct* is held against the
    target (< 0.2 ms); the decision path's is printed against the same figure
    for information (it is not part of the exit status). Each variant runs
    ``--rounds`` times over all families; the best round counts (the least
    disturbed by the rest of the machine).

(b) Match suggestions on PostgreSQL, as the app role (row-level security on).
    Recreates the database ``koppel_bench_policy`` on 127.0.0.1:5432 (as the
    superuser ``postgres``, trust auth; the roles ``koppel_owner`` and
    ``koppel_app`` are created when missing, password = name), ``koppel
    init``, onboards Aalten, seeds it with ``core.programme.generator``
    (``--seed-families`` families, ``--matches`` matches), then pauses the
    newest available supporting families beyond 2,000 so that exactly
    ``--candidates`` (2,000) supporting families are candidates (available,
    or matched with open matches), and ``VACUUM ANALYZE``. Enables the six
    matching plugins (``matching.proximity``, ``availability``, ``ages``,
    ``capacity``, ``language``, ``wishes``) through
    ``core.policy.service.change``. Then times
    ``core.policy.suggestions.suggest(family, limit=10)`` in-process for one
    waiting requesting family, ``--runs`` times (each in its own
    transaction, after two warm-up runs; target p95 < 60 ms), with a
    breakdown of the same work done by hand once (every candidate's facts
    loaded afresh, every pair scored, components, each plugin alone, the
    plugin calls a suggestion makes, and the wishes plugin on free texts of
    its own per supporting family, see :func:`wishes_free_text`), and
    ``GET /api/v1/aalten/families/<id>/match-suggestions`` through Flask's
    test client with a coordinator's bearer token.

``--reuse`` keeps an already seeded database; ``--skip-db`` runs (a) only.
Exit status: 0 when every target is met, 1 otherwise.

Run with the project's venv: ``python bench/policy.py [--quick]``.
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from datetime import date, timedelta

from _database import ROOT, BenchDatabase
from _timing import percentile, timed

sys.path.insert(0, str(ROOT))
DB = BenchDatabase("koppel_bench_policy")
SLUG = "aalten"

ELIGIBILITY = ("eligibility.kopp_kov", "eligibility.poverty", "eligibility.single_parent", "eligibility.child_needs",
               "eligibility.newcomer", "eligibility.isolation", "eligibility.exclusions", "eligibility.no_conditions")
MATCHING = ("matching.proximity", "matching.availability", "matching.ages", "matching.capacity", "matching.language",
            "matching.wishes")
DEFAULT_TIMEOUT_S = 2.0

TARGET_OVERHEAD_MS = 0.2
TARGET_SUGGEST_S = 0.060


# --------------------------------------------------------------------------- (a) eligibility dispatch


def requesting_facts(count: int, seed: int, today: date) -> list:
    """*count* requesting families' facts, varied like the generator's (deterministic for *seed*)."""
    from core.policy.types import FamilyFacts, PersonFacts
    from core.programme import vocabulary as V

    rng = random.Random(seed)
    weights = {"overload": 30, "child_adhd_or_disability": 18, "kopp": 14, "kov": 5, "isolation": 16,
               "poverty": 8, "newcomer": 6, "single_parent_several_children": 6}
    families = []
    for n in range(count):
        adults = 1 if rng.random() < 0.42 else 2
        if rng.random() < 0.02:
            adults = 0  # nothing recorded about the adults: some rules answer "missing"
        children = rng.choices((1, 2, 3, 4, 5), weights=(30, 35, 21, 10, 4))[0]
        members = [PersonFacts("adult", rng.randint(21, 48)) for _ in range(adults)]
        for _ in range(children):
            age = rng.randint(0, 17) if rng.random() > 0.03 else None
            born = None if age is None else today - timedelta(days=age * 365 + rng.randint(0, 364))
            members.append(PersonFacts("child", age, born))
        problems = set(rng.choices(list(weights), weights=list(weights.values()), k=rng.randint(1, 3)))
        newcomer = rng.random() < 0.12
        families.append(FamilyFacts(
            id=n + 1, kind=V.REQUESTING, status=rng.choice((V.REGISTERED, V.INTAKE, V.WAITING)),
            members=tuple(members), problem_areas=frozenset(problems),
            household_income=None if rng.random() < 0.06 else int(rng.lognormvariate(7.65, 0.38)) // 10 * 10,
            arrival_year=today.year - rng.randint(0, 9) if newcomer else None,
            in_professional_care=rng.random() < 0.05,
            triage_outcome=rng.choices((None, "fits", "too_heavy_referred"), weights=(30, 64, 6))[0],
            languages=frozenset(("nl",) if not newcomer else rng.choice((("ar",), ("ti",), ("pl", "nl"))))))
    return families


def best_round(function, families: list, rounds: int) -> float:
    """Seconds per family of the fastest of *rounds* passes over *families*."""
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        function(families)
        best = min(best, time.perf_counter() - started)
    return best / len(families)


def measure_dispatch(count: int, rounds: int, seed: int, today: date) -> list[tuple[str, float, float, bool]]:
    from core.messages import Message, render
    from core.policy import decide
    from core.policy import manager as M

    pm = M.build_manager({name: {} for name in ELIGIBILITY})
    plugins = [pm.get_plugin(name) for name in ELIGIBILITY]
    missing = [name for name, plugin in zip(ELIGIBILITY, plugins) if plugin is None]
    if missing:
        sys.exit(f"eligibility plugins not registered: {', '.join(missing)}")
    methods = [p.koppel_eligibility for p in plugins]
    hook = pm.hook.koppel_eligibility
    families = requesting_facts(count, seed, today)

    def direct(fs):
        for f in fs:
            [method(family=f, today=today) for method in methods]

    def pluggy_hook(fs):
        for f in fs:
            hook(family=f, today=today)

    def koppel_call(timeout):
        def run(fs):
            for f in fs:
                M.call(pm, "koppel_eligibility", timeout, family=f, today=today)
        return run

    def koppel_decision(fs):  # dispatch plus turning results into findings and an outcome, for information
        for f in fs:
            found = decide.findings_of("eligibility", M.call(pm, "koppel_eligibility", DEFAULT_TIMEOUT_S,
                                                             family=f, today=today))
            decide.outcome("eligibility", found)

    # the same answers whichever way the plugins are called
    for f in families[:200]:
        expected = sorted(map(repr, [method(family=f, today=today) for method in methods]))
        results = M.call(pm, "koppel_eligibility", DEFAULT_TIMEOUT_S, family=f, today=today)
        if any(r.error for r in results) or sorted(repr(r.value) for r in results) != expected:
            sys.exit(f"call() and the direct loop disagree for family {f.id}: {results}")
    outcomes = {}
    for f in families:
        found = decide.findings_of("eligibility", M.call(pm, "koppel_eligibility", 0, family=f, today=today))
        key = decide.outcome("eligibility", found)
        outcomes[key] = outcomes.get(key, 0) + 1

    # the parts of a decision beyond the dispatch, each over the same families' findings (the explanations are
    # Messages: a finding stores message.as_dict() and the English text, core.policy.decide._text)
    values = [r.value for f in families for r in M.call(pm, "koppel_eligibility", 0, family=f, today=today)
              if r.value is not None]
    explanations = [v.explanation for v in values]
    messages = [e for e in explanations if isinstance(e, Message)]
    params = sum(len(m.params) + (m.n is not None) for m in messages)

    def english(_):
        for e in explanations:
            render(e, "en")

    def as_dicts(_):
        for m in messages:
            m.as_dict()

    def stored_facts(_):
        for v in values:
            json.loads(json.dumps(v.facts, default=decide._plain))

    for warm in (direct, pluggy_hook, koppel_call(DEFAULT_TIMEOUT_S), koppel_call(0), koppel_decision):
        warm(families[:500])
    base = best_round(direct, families, rounds)
    timings = [
        ("direct: the plugins' methods in a loop", base),
        ("pluggy: manager.hook.koppel_eligibility(...)", best_round(pluggy_hook, families, rounds)),
        (f"koppel: call(..., timeout={DEFAULT_TIMEOUT_S:g}) (worker thread)", best_round(koppel_call(DEFAULT_TIMEOUT_S),
                                                                                     families, rounds)),
        ("koppel: call(..., timeout=0) (calling thread)", best_round(koppel_call(0), families, rounds)),
        (f"koppel: call + findings + outcome (timeout {DEFAULT_TIMEOUT_S:g})", best_round(koppel_decision, families,
                                                                                        rounds)),
    ]
    parts = [("the explanations rendered in English (render(m, 'en'))", best_round(english, families, rounds)),
             ("the messages as stored (Message.as_dict())", best_round(as_dicts, families, rounds)),
             ("the facts as stored (JSON round trip)", best_round(stored_facts, families, rounds))]
    print(f"\n(a) eligibility: {len(ELIGIBILITY)} plugins, {count:,} families, best of {rounds} rounds")
    print("    outcomes (default configurations): " + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items())))
    print(f"    {len(values) / len(families):.2f} findings per family, {len(messages) / len(families):.2f} of them "
          f"with a Message, {params / max(1, len(messages)):.2f} parameters per Message (Babel formats each)")
    print(f"    {'variant':<60} {'µs/family':>10} {'overhead ms':>12}")
    for label, seconds in timings:
        print(f"    {label:<60} {seconds * 1e6:>10.1f} {(seconds - base) * 1e3:>12.4f}")
    print("    of the decision path beyond the dispatch, alone over the same findings:")
    for label, seconds in parts:
        print(f"      {label:<58} {seconds * 1e6:>10.1f}")
    return [(f"eligibility dispatch overhead per family, call(timeout={DEFAULT_TIMEOUT_S:g})",
             (timings[2][1] - base) * 1e3, TARGET_OVERHEAD_MS, True),
            ("eligibility dispatch overhead per family, call(timeout=0)",
             (timings[3][1] - base) * 1e3, TARGET_OVERHEAD_MS, True),
            ("eligibility decision path per family over direct (call + findings)",
             (timings[4][1] - base) * 1e3, TARGET_OVERHEAD_MS, False)]


# --------------------------------------------------------------------------- (b) match suggestions


def seed(families: int, matches: int, candidates: int, seed_value: int, today: date) -> None:
    from sqlalchemy import select, update

    from core.extensions import db
    from core.policy import service
    from core.programme import generator
    from core.programme import vocabulary as V
    from core.programme.models import Family
    from tenants import onboarding
    from tenants.context import cross_tenant_scope, tenant_scope

    app = DB.make_app()
    with app.app_context():
        with cross_tenant_scope("platform-maintenance"):
            consortium = onboarding.add_consortium("Achterhoek", "achterhoek")
            municipality = onboarding.add_municipality(consortium, name="Aalten", cbs_code="GM0197", slug=SLUG,
                                                       inhabitants=27500)
            db.session.commit()
            tenant_id = municipality.id
        started = time.monotonic()
        counts = generator.generate([tenant_id], families, matches, seed=seed_value, today=today)[tenant_id]
        print(f"seeded Aalten: {families:,} families, {counts['matches']:,} matches, "
              f"{sum(counts.values()):,} rows in {time.monotonic() - started:.1f} s")
        with tenant_scope(tenant_id):
            available = db.session.scalars(select(Family.id).where(
                Family.kind == V.SUPPORTING, Family.status == V.AVAILABLE).order_by(Family.id)).all()
            matched = db.session.scalar(select(db.func.count()).select_from(Family).where(
                Family.kind == V.SUPPORTING, Family.status == V.MATCHED))
            excess = len(available) + matched - candidates
            if excess < 0:
                sys.exit(f"only {len(available) + matched} candidate supporting families; raise --families")
            if excess:
                db.session.execute(update(Family).where(Family.id.in_(available[len(available) - excess:]))
                                   .values(status=V.PAUSED))
            db.session.commit()
        print(f"candidates: {candidates:,} supporting families ({matched:,} matched, {candidates - matched:,} "
              f"available; {excess:,} more available ones paused)")
        service.change(tenant_id, {name: {} for name in MATCHING}, note="bench: the six matching plugins")
        db.session.commit()
    with DB.connect_owner(autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def wishes_free_text(policy, requesting, supporting: list, today: date) -> tuple[float, float, str]:
    """Seconds of the wishes plugin over every pair when each supporting family writes a text of its own.

    The generator gives supporting families one of four preferences, and requesting families wishes that
    name none of the configured terms, so in (b) the plugin reads four texts and judges no terms. Here the
    requesting family asks for three terms and every supporting family's preferences are a text of its own
    (a few sentences, some naming terms, some negated): first with a new plugin instance (every text read for
    the first time), then again (as a second suggestion for another family finds them).
    """
    from dataclasses import replace

    from core.policy import manager as M

    rng = random.Random(len(supporting))
    sentences = ("Wij zijn een rookvrij gezin.", "Er wordt bij ons niet gerookt.", "We hebben een grote tuin.",
                 "Wij hebben een hond en twee katten.", "Geen huisdieren in huis.", "Wij eten vegetarisch.",
                 "Onze kinderen spelen graag buiten.", "Liefst jonge kinderen.", "We wonen aan de rand van het dorp.",
                 "Zondags gaan we vaak naar opa en oma.", "Allergisch voor katten, helaas.")
    mine = replace(requesting, wishes="Graag een rookvrij gezin met een tuin. Mijn zoon is allergisch voor katten.")
    theirs = [replace(f, preferences=" ".join(rng.sample(sentences, rng.randint(1, 4))) + f" (gezin {f.id})")
              for f in supporting]
    config = policy.plugins["matching.wishes"]
    plugin = M.plugin_class("matching.wishes")(config)
    seconds, results = [], None
    for _ in range(2):
        began = time.perf_counter()
        results = [plugin.koppel_match_score(requesting=mine, supporting=f, today=today) for f in theirs]
        seconds.append(time.perf_counter() - began)
    scores = [c.score for r in results for c in (r or ()) if "Wishes" in c.reason.text]
    summary = (f"term shares: {sum(s == 1.0 for s in scores):,} all met, {sum(0 < s < 1 for s in scores):,} some, "
               f"{sum(s == 0 for s in scores):,} none")
    return seconds[0], seconds[1], summary


def requesting_family(db, V, Family, Member) -> int | None:
    """A waiting family with children, coordinates and availability: every plugin has facts to judge."""
    from sqlalchemy import select

    return db.session.scalars(
        select(Family.id).join(Member, Member.family_id == Family.id)
        .where(Family.kind == V.REQUESTING, Family.status == V.WAITING, Family.latitude.is_not(None),
               Member.role == "child").group_by(Family.id)
        .having(db.func.count(Member.id) >= 2).order_by(Family.id)).first()


def suggest_only(runs: int, today: date) -> None:
    """``suggest`` *runs* times after two warm-up runs, in the calling thread (plugin timeout 0), nothing else.

    For counting instructions, which do not drift with the machine's load as times do::

        PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
            python bench/policy.py --today 2026-11-26 --count-suggest 1   # and again with 5

    One suggestion is the difference of the two totals divided by 4. (With the worker thread the
    count varies from run to run with how the threads take turns.)
    """
    from sqlalchemy import select

    from core.extensions import db
    from core.policy import suggestions
    from core.programme import vocabulary as V
    from core.programme.models import Family, Member
    from tenants.context import tenant_scope
    from tenants.models import Municipality

    app = DB.make_app()
    app.config["PLUGIN_TIMEOUT_SECONDS"] = 0
    with app.app_context():
        tenant_id = db.session.scalar(select(Municipality.id).where(Municipality.slug == SLUG))
        with tenant_scope(tenant_id):
            requesting_id = requesting_family(db, V, Family, Member)
            for _ in range(runs + 2):
                try:
                    suggestions.suggest(db.session.get(Family, requesting_id), limit=10, today=today, language="nl")
                finally:
                    db.session.rollback()


def measure_suggestions(runs: int, today: date) -> list[tuple[str, list[float], float]]:
    from sqlalchemy import select

    from core.auth import tokens
    from core.extensions import db
    from core.policy import facts as facts_module
    from core.policy import service, suggestions
    from core.programme import vocabulary as V
    from core.programme.models import Family, Member
    from tenants.context import tenant_scope
    from tenants.models import Municipality

    app = DB.make_app()
    with app.app_context():
        municipality = db.session.scalar(select(Municipality).where(Municipality.slug == SLUG))
        tenant_id = municipality.id
        raw, _ = tokens.create("bench coordinator", ["coordinator"], municipality=municipality)
        db.session.commit()
        with tenant_scope(tenant_id):
            requesting_id = requesting_family(db, V, Family, Member)
            candidates = db.session.scalar(select(db.func.count()).select_from(Family).where(
                Family.kind == V.SUPPORTING, Family.status.in_((V.AVAILABLE, V.MATCHED))))
            policy = service.current(tenant_id)
            db.session.rollback()

        def suggest():
            with tenant_scope(tenant_id):
                try:
                    return suggestions.suggest(db.session.get(Family, requesting_id), limit=10, today=today)
                finally:
                    db.session.rollback()

        found = suggest()
        print(f"\n(b) match suggestions: policy version {policy.version} ({', '.join(sorted(policy.plugins))}), "
              f"{candidates:,} candidates, requesting family {requesting_id}")
        for s in found[:3]:
            print(f"    {s.score:.3f}  {s.display_name} (family {s.family_id}): "
                  + "; ".join(f"{c['criterion']} {c['score']:.2f}" for c in s.components))
        # where one run's time goes, and what the scoring gave
        with tenant_scope(tenant_id):
            try:
                started = time.perf_counter()
                ids = db.session.scalars(select(Family.id).where(
                    Family.kind == V.SUPPORTING, Family.status.in_((V.AVAILABLE, V.MATCHED)))).all()
                facts = facts_module.families([requesting_id, *ids], today)
                loaded = time.perf_counter()
                pairs = [{"requesting": facts[requesting_id], "supporting": facts[i], "today": today} for i in ids]
                active = service.current(tenant_id)
                scored = active.call_many("koppel_match_score", pairs)
                done = time.perf_counter()
                [suggestions._components(results) for results in scored]
                ranked = time.perf_counter()
                per_plugin = {}
                for name in MATCHING:
                    method = active.hooks.get_plugin(name).koppel_match_score
                    began = time.perf_counter()
                    for pair in pairs:
                        method(**pair)
                    per_plugin[name] = time.perf_counter() - began
                # suggest scores only the candidates with room left (capacity above the children placed)
                with_room = sum((facts[i].capacity_children or 0) > facts[i].children_placed for i in ids)
                free_text = wishes_free_text(active, facts[requesting_id], [facts[i] for i in ids], today)
            finally:
                db.session.rollback()
        failed = sum(any(r.error for r in results) for results in scored)
        vetoed = sum(not any(r.error for r in results) and any(
            getattr(v, "veto", False) for r in results
            for v in (r.value if isinstance(r.value, (list, tuple)) else [r.value])) for results in scored)
        print(f"    one run: candidates and their facts {(loaded - started) * 1000:.1f} ms, "
              f"scoring {len(pairs):,} pairs × {len(MATCHING)} plugins {(done - loaded) * 1000:.1f} ms "
              f"({(done - loaded) / len(pairs) / len(MATCHING) * 1e6:.1f} µs per plugin call); "
              f"{vetoed:,} pairs vetoed, {failed:,} failed; components of every pair {(ranked - done) * 1000:.1f} ms")
        print(f"    the plugins' own methods, called directly for the {len(pairs):,} pairs: "
              f"{sum(per_plugin.values()) * 1000:.1f} ms: "
              + ", ".join(f"{name.split('.')[1]} {seconds * 1000:.1f}" for name, seconds in per_plugin.items()))
        print(f"    suggest scores the {with_room:,} candidates with room left: {with_room * len(MATCHING):,} plugin "
              f"calls per suggestion")
        print("    wishes with free text (a text of its own per supporting family, terms asked), "
              f"{len(pairs):,} pairs: {free_text[0] * 1000:.1f} ms with every text new to the plugin, "
              f"{free_text[1] * 1000:.1f} ms once it has read them; {free_text[2]}")
        results = [("suggest(family, limit=10) in-process", timed(suggest, runs), TARGET_SUGGEST_S)]

    client = app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    path = f"/api/v1/{SLUG}/families/{requesting_id}/match-suggestions?limit=10"

    def get():
        response = client.get(path, headers=headers)
        if response.status_code != 200 or len(response.get_json()) != min(10, len(found)):
            sys.exit(f"GET {path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")

    results.append((f"GET .../families/{requesting_id}/match-suggestions (test client)", timed(get, runs), None))
    return results


# --------------------------------------------------------------------------- report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=10_000, help="(a) requesting families' facts (default 10000)")
    parser.add_argument("--rounds", type=int, default=5, help="(a) passes over all families per variant (default 5)")
    parser.add_argument("--seed-families", type=int, default=9_000,
                        help="(b) families the generator seeds (default 9000, ~2,270 candidates)")
    parser.add_argument("--matches", type=int, default=2_000, help="(b) matches the generator seeds (default 2000)")
    parser.add_argument("--candidates", type=int, default=2_000, help="(b) candidate supporting families (2000)")
    parser.add_argument("--runs", type=int, default=30, help="(b) timed runs (default 30)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--today", type=date.fromisoformat, default=date.today(), help="the facts' today")
    parser.add_argument("--quick", action="store_true", help="(a) 2,000 families, 3 rounds; (b) 20 runs")
    parser.add_argument("--reuse", action="store_true", help="(b) keep an already seeded database")
    parser.add_argument("--skip-db", action="store_true", help="run (a) only")
    parser.add_argument("--count-suggest", type=int, metavar="N",
                        help="only run suggest N times in the calling thread on the seeded database, to count "
                             "instructions under valgrind (see suggest_only)")
    args = parser.parse_args()
    if args.quick:
        args.families, args.rounds, args.runs = 2_000, 3, 20
    if args.runs < 20:
        parser.error("--runs must be at least 20")

    if args.count_suggest is not None:
        if not DB.seeded("policy_version"):
            sys.exit(f"--count-suggest needs the seeded database {DB.name}: run the benchmark once first")
        suggest_only(args.count_suggest, args.today)
        return 0
    overhead = measure_dispatch(args.families, args.rounds, args.seed, args.today)
    timings = []
    if not args.skip_db:
        if args.reuse and DB.seeded("policy_version"):
            print(f"\nreusing the seeded database {DB.name}")
        else:
            started = time.monotonic()
            DB.create()
            print(f"\ndatabase {DB.name} created and migrated in {time.monotonic() - started:.1f} s")
            seed(args.seed_families, args.matches, args.candidates, args.seed, args.today)
        timings = measure_suggestions(args.runs, args.today)

    ok = True
    print("\nresults")
    for label, value_ms, target_ms, counted in overhead:
        verdict = "PASS" if value_ms < target_ms else "MISS"
        if counted:
            ok &= verdict == "PASS"
        print(f"  {label:<70} {value_ms:>8.4f} ms   {'target' if counted else 'compare'} < {target_ms:g} ms   "
              f"{verdict if counted else ('within' if verdict == 'PASS' else 'above') + ' (information)'}")
    for label, times, target in timings:
        p50, p95 = statistics.median(times) * 1000, percentile(times, 95) * 1000
        line = f"  {label:<70} p50 {p50:>7.1f} ms  p95 {p95:>7.1f} ms  max {max(times) * 1000:>7.1f} ms  ({len(times)} runs)"
        if target is not None:
            verdict = "PASS" if p95 < target * 1000 else "MISS"
            ok &= verdict == "PASS"
            line += f"   target p95 < {target * 1000:.0f} ms   {verdict}"
        print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
