"""A funder's report is private by construction: the suppression rule under hypothesis, a checker that tries to
work withheld cells back from the published figures (one report, and two consecutive monthly reports), the
pseudonyms, and no personal data of the crafted families in the rendered JSON and CSV.

The checker here is independent of :mod:`core.reports.privacy`: it reads the rendered report (JSON), and
finds every value a withheld cell can take by enumerating whole numbers from 0 against every line of its
table (a column and its total, a row and its total); a withheld cell with one possible value is given away.
The hypothesis tests check the rule with ranks of the lines' equations (another method than the module's).
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.extensions import db
from core.policy.types import Suppressed
from core.programme.kpis import Period
from core.reports import builder, privacy, render
from core.reports.model import FUNDER, STAFF, ReportScope
from tests.conftest import enable_policy
from tests.test_reports import AS_OF, KEY, OTHER_KEY, PERIOD, town  # noqa: F401 (the fixture)

TOTALS = {"Totaal", "Total"}
FORMATS = {"report.json": {}, "report.csv": {}}
JANUARY, FEBRUARY = Period(date(2026, 1, 1), date(2026, 1, 31)), Period(date(2026, 2, 1), date(2026, 2, 28))

# ------------------------------------------------------------------------------ the suppression rule


@st.composite
def tables(draw):
    """A table of counts (rows by an attribute, columns by municipality), mostly small counts and zeros."""
    total_row = draw(st.booleans())
    rows = draw(st.integers(2 if total_row else 1, 6))
    columns = draw(st.integers(1 if total_row else 2, 4))
    count = st.one_of(st.integers(0, 4), st.integers(0, 4), st.integers(0, 30))
    cells = draw(st.lists(st.lists(count, min_size=columns, max_size=columns), min_size=rows, max_size=rows))
    return cells, total_row, draw(st.booleans()), draw(st.integers(1, 5))


def lines_of(grid: privacy.Grid) -> list[tuple[list, tuple]]:
    """The table's lines, made here from its shape (not by the module): (parts, total)."""
    height, width = len(grid.values), len(grid.values[0])
    lines = []
    if grid.columns > 1:
        lines += [([(r, c) for c in range(grid.columns)], (r, grid.columns)) for r in range(height)]
    if grid.total_row:
        lines += [([(r, c) for r in range(grid.rows)], (grid.rows, c)) for c in range(width)]
    return lines


def rank(rows: list[list[Fraction]]) -> int:
    rows = [list(r) for r in rows]
    found = 0
    for column in range(len(rows[0]) if rows else 0):
        pivot = next((i for i in range(found, len(rows)) if rows[i][column] != 0), None)
        if pivot is None:
            continue
        rows[found], rows[pivot] = rows[pivot], rows[found]
        for i in range(found + 1, len(rows)):
            factor = rows[i][column] / rows[found][column]
            rows[i] = [a - factor * b for a, b in zip(rows[i], rows[found])]
        found += 1
    return found


def determined(lines, hidden: set, position) -> bool:
    """Whether the lines' equations fix *position*: adding "this unknown" as an equation adds no rank."""
    unknowns = sorted(hidden)
    equations = []
    for parts, total in lines:
        row = [Fraction(int(p in parts)) - Fraction(int(p == total)) for p in unknowns]
        if any(row):
            equations.append(row)
    unit = [Fraction(int(p == position)) for p in unknowns]
    return rank(equations + [unit]) == rank(equations)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(tables())
def test_the_rule_withholds_every_small_count_and_gives_none_away(table):
    cells, total_row, public_totals, threshold = table
    grid = privacy.Grid.of(cells, total_row, public_totals)
    shown = privacy.protect(cells, threshold, total_row=total_row, public_totals=public_totals)
    hidden = {(r, c) for r, row in enumerate(shown) for c, v in enumerate(row) if isinstance(v, Suppressed)}
    assert all(v == privacy.withheld(threshold) for r, c in hidden for v in [shown[r][c]])
    for (r, c), value in ((p, grid.value(p)) for p in grid.positions()):
        if (r, c) not in hidden:
            assert shown[r][c] == value  # what is shown is true
        if r < grid.rows and 1 <= value <= threshold:
            assert (r, c) in hidden, "every count from 1 to the threshold is withheld"
        if r == grid.rows and public_totals:
            assert (r, c) not in hidden, "the totals per municipality are published"
    lines = lines_of(grid)
    for parts, total in lines:
        assert sum(p in hidden for p in (*parts, total)) != 1, "a line with one withheld cell gives it away"
        withheld = [grid.value(p) for p in parts if p in hidden]
        exhausted = all(p in hidden or not grid.hideable(p) for p in (*parts, total))
        if total not in hidden and len(withheld) >= 2 and not exhausted:  # else nothing is left to withhold
            assert not all(v == 1 for v in withheld), "withheld cells adding up to their number are all 1"
            assert not all(v == threshold for v in withheld), "and adding up to n times the threshold, all it"
    for position in hidden:
        assert not determined(lines, hidden, position), f"{position} follows from the lines together"
    again = privacy.protect(cells, threshold, total_row=total_row, public_totals=public_totals)
    assert again == shown, "the same rule in every run"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.lists(st.integers(0, 8), min_size=2, max_size=4), min_size=1, max_size=4), st.integers(1, 5))
def test_the_rule_for_averages_withholds_small_groups_and_what_gives_them_away(sizes, threshold):
    width = len(sizes[0])
    sizes = [row[:width] + [0] * (width - len(row)) for row in sizes]
    hidden = privacy.protect_statistics(sizes, threshold)
    for r, row in enumerate(sizes):
        groups = row + [sum(row)]
        for c, n in enumerate(groups):
            if 1 <= n <= threshold:
                assert (r, c) in hidden
        withheld = [c for c in range(width + 1) if (r, c) in hidden]
        assert len(withheld) != 1, "the mean of all, times its group, is the sum of the others times theirs"
        assert all(groups[c] for c in withheld), "an empty group has no mean to withhold"


def test_a_small_line_is_protected_as_the_module_says():
    W = privacy.withheld(4)
    # 3 of 22: withheld, and the next smallest (7) with it; zeros stay
    assert privacy.protect([[12], [3], [0], [7]], 4) == ((12,), (W,), (0,), (W,), (22,))
    # one of one: the total is published, so a zero is withheld with it (it is fewer than 5 too)
    assert privacy.protect([[1], [0], [0]], 4) == ((W,), (W,), (0,), (1,))
    # two that can only be 1 and 1: a third is withheld
    assert privacy.protect([[1], [1], [10]], 4) == ((W,), (W,), (W,), (12,))
    assert privacy.protect([[0], [0]], 4) == ((0,), (0,), (0,))
    with pytest.raises(ValueError):
        privacy.protect([[1]], 4)  # a total row of one row is that row
    with pytest.raises(ValueError):
        privacy.protect([[1], [-1]], 4)


def test_pseudonyms_are_keyed_and_short():
    one = privacy.pseudonym(KEY, 7, 1234)
    assert one == privacy.pseudonym(KEY, 7, 1234) and len(one) == 16
    assert one != privacy.pseudonym(OTHER_KEY, 7, 1234) != privacy.pseudonym(KEY, 8, 1234)
    assert one != privacy.pseudonym(KEY, 7, 1235) and "1234" not in one
    with pytest.raises(ValueError):
        privacy.pseudonym(b"short", 7, 1234)


# ------------------------------------------------------------------------------ the checker


@dataclass
class Table:
    """A published table: numbers, None where withheld; the last row/column are totals when so labelled."""

    report: int
    title: str
    values: list
    total_row: bool
    total_column: bool

    def lines(self):
        height, width = len(self.values), len(self.values[0])
        cells_h, cells_w = height - self.total_row, width - self.total_column
        if self.total_column:
            yield from (([(r, c) for c in range(cells_w)], (r, cells_w)) for r in range(height))
        if self.total_row:
            yield from (([(r, c) for r in range(cells_h)], (cells_h, c)) for c in range(width))


def tables_of(document: dict, report: int = 0) -> list[Table]:
    """The additive tables of a rendered report (JSON): those with a total row or a total column of counts."""
    found = []
    for section in document["sections"]:
        rows, columns = section["rows"], section["columns"]
        if not rows:
            continue
        total_row, total_column = rows[-1][0] in TOTALS, columns[-1] in TOTALS
        values = [[None if isinstance(v, dict) and v.get("suppressed") else v for v in row[1:]] for row in rows]
        counts = all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for row in values for v in row)
        if (total_row or total_column) and counts:
            found.append(Table(report, section["title"], values, total_row, total_column))
    return found


def possible_values(tables: list[Table], links=()) -> dict:
    """Every value each withheld cell can take: whole numbers from 0 that satisfy every line of its table
    and every *link* (``(entries, constant)``: the entries' sum equals the constant; an entry is ``(sign,
    table index, row, column)``). Found by enumeration; the largest published number bounds each cell."""
    unknowns = [(t, r, c) for t, table in enumerate(tables) for r, row in enumerate(table.values)
                for c, v in enumerate(row) if v is None]
    if not unknowns:
        return {}
    bound = max((v for table in tables for row in table.values for v in row if v is not None), default=0)
    equations = []
    for t, table in enumerate(tables):
        for parts, total in table.lines():
            equations.append(([(1, t, *p) for p in parts] + [(-1, t, *total)], 0))
    equations += list(links)
    found = {u: set() for u in unknowns}
    index = {u: i for i, u in enumerate(unknowns)}

    def value(entry, assignment):
        sign, t, r, c = entry
        known = tables[t].values[r][c]
        return sign * (known if known is not None else assignment[index[(t, r, c)]])

    for assignment in product(range(bound + 1), repeat=len(unknowns)):
        if all(sum(value(e, assignment) for e in entries) == constant for entries, constant in equations):
            for u, v in zip(unknowns, assignment):
                found[u].add(v)
    return found


def given_away(tables: list[Table], links=()) -> list:
    return [(tables[t].title, r, c, values) for (t, r, c), values in possible_values(tables, links).items()
            if len(values) <= 1]


def funder_json(app, crafted, period, as_of, key=KEY):
    with app.app_context():
        report = builder.build(ReportScope(municipality_id=crafted.ids["aalten"]), period, audience=FUNDER, as_of=as_of,
                               pseudonym_key=key)
        try:
            return json.loads(render(report, "json").content)
        finally:
            db.session.rollback()


@pytest.fixture
def formats(app, town):  # noqa: F811 (the fixture)
    with app.app_context():
        enable_policy(town.ids["aalten"], FORMATS)
    return town


def test_the_funder_report_withholds_cells_and_no_table_gives_one_away(app, formats):
    document = funder_json(app, formats, PERIOD, AS_OF)
    found = tables_of(document)
    withheld = {t.title for t in found if any(v is None for row in t.values for v in row)}
    assert {"Uitkomsten van de koppelingen die in de periode eindigden", "Beëindigde koppelingen in de periode, "
            "naar reden", "Bereikte kinderen, naar leeftijd op de eerste dag van de periode"} <= withheld
    for table in found:
        for parts, total in table.lines():
            assert sum(table.values[r][c] is None for r, c in (*parts, total)) != 1, table.title
        assert given_away([table]) == [], table.title
    # the small groups' averages and medians are withheld too
    sections = {s["title"]: s for s in document["sections"]}
    for row in sections["Welzijn van begin tot eind van de koppeling"]["rows"]:
        assert row[1] == row[2] == {"suppressed": True, "fewer_than": 5} and row[3] == 2
    waiting = dict((row[0], row[1]) for row in sections["Wachttijden en duur"]["rows"])
    assert waiting["Mediaan aantal dagen van aanmelding tot eerste voorstel"] == {"suppressed": True, "fewer_than": 5}


def test_the_same_data_in_the_staff_report_is_complete(app, formats):
    with app.app_context():
        report = builder.build(ReportScope(municipality_id=formats.ids["aalten"]), PERIOD, audience=STAFF,
                               as_of=AS_OF)
        document = json.loads(render(report, "json").content)
        db.session.rollback()
    assert "suppressed" not in json.dumps(document)
    sections = {s["title"]: s for s in document["sections"]}
    outcomes = sections["Uitkomsten van de koppelingen die in de periode eindigden"]
    assert [row[1] for row in outcomes["rows"]] == [1, 1, 0, 0, 0, 0, 2]
    assert "WK019701" in json.dumps(document)  # supply and demand per district: staff only


def test_two_consecutive_monthly_reports_give_nothing_away_together(app, formats):
    """January (M3 ended, a triage) and February (M1 started with two children, a triage): every table a funder
    gets with withheld cells is a flow of its own month, so together the two reports have no equation linking a
    cell of February to published figures of January; the checker, given both, finds no withheld cell with one
    possible value."""
    january = funder_json(app, formats, JANUARY, JANUARY.end)
    february = funder_json(app, formats, FEBRUARY, FEBRUARY.end)
    both = tables_of(january, 0) + tables_of(february, 1)
    assert any(v is None for t in both if t.report == 0 for row in t.values for v in row)
    assert any(v is None for t in both if t.report == 1 for row in t.values for v in row)
    for title in {t.title for t in both}:
        pair = [t for t in both if t.title == title]
        assert given_away(pair) == [], title
    # the stock figures a funder gets are not broken down by a sensitive attribute
    stock = {"Lopende koppelingen naar fase, op de peildatum"}
    assert not any(v is None for t in both if t.title in stock for row in t.values for v in row)
    titles = {s["title"] for s in january["sections"]} | {s["title"] for s in february["sections"]}
    assert "Vraag en aanbod per wijk, op de peildatum" not in titles
    assert "Vroegsignalen van de periode" not in titles  # only their counts by kind


def test_the_checker_finds_a_cell_given_away_by_differencing_stocks():
    """Were the outcomes a stock (everything up to the month's end), two months' published figures together
    would give the second month's single new outcome away, although each table alone protects it."""
    W = privacy.withheld(4)
    up_to_may = privacy.protect([[6], [0], [7]], 4)
    up_to_june = privacy.protect([[7], [0], [7]], 4)
    june = privacy.protect([[1], [0], [0]], 4)
    assert june == ((W,), (W,), (0,), (1,))

    def table(report, grid):
        return Table(report, "outcomes", [[None if isinstance(v, Suppressed) else v for v in row] for row in grid],
                     True, False)

    tables = [table(0, up_to_may), table(1, up_to_june), table(2, june)]
    assert given_away(tables[2:]) == []
    links = [([(1, 1, r, 0), (-1, 0, r, 0), (-1, 2, r, 0)], 0) for r in range(3)]  # stock = stock before + flow
    assert {(r, c) for _, r, c, _ in given_away(tables, links)} == {(0, 0), (1, 0)}


def test_no_name_address_birth_date_free_text_or_id_in_the_funder_report(app, formats):
    with app.app_context():
        report = builder.build(ReportScope(municipality_id=formats.ids["aalten"]), PERIOD, audience=FUNDER,
                               as_of=AS_OF, pseudonym_key=KEY)
        rendered = {f: render(report, f).content.decode("utf-8-sig") for f in ("json", "csv")}
        db.session.rollback()
    assert list(csv.reader(io.StringIO(rendered["csv"]), delimiter=";"))
    names = ["Jansen", "Boer", "Smit", "Visser", "Mulder", "Bos", "Dekker", "Bakker", "Meijer", "Vos", "Peters",
             "Familie", "Bo", "Cas", "Daan", "Eva", "OuderJansen"]
    forbidden = ["Dorpsstraat", "7121", "0543", "example.org", "1988-04-17", "2020-03-04", "2023-05-06", "2012-07-01",
                 "17 april 1988", "Graag hulp", "Notitie over", "Vrije tekst", "Verslag van de middag", "Eigen doel",
                 "WK019701", "95 dagen"]
    for media_format, text in rendered.items():
        for name in names:
            assert not re.search(rf"\b{name}\b", text), (media_format, name)
        for value in forbidden:
            assert value not in text, (media_format, value)
        for family_id in formats.families.values():  # no database id of a family, even beside a pseudonym
            assert f"family:{formats.ids['aalten']}:{family_id}" not in text
    pseudonyms = [b.pseudonym for b in report.billing]
    assert pseudonyms and all(p in rendered["json"] and p in rendered["csv"] for p in pseudonyms)
