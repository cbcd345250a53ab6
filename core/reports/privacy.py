"""The rules that make a funder's report private by construction (see ``docs/reports.md``).

* :func:`pseudonym`: a family as a funder may follow it across periods, an
  HMAC-SHA256 under the funder's own secret of a key that is used nowhere
  else (tenant id and family id), shortened to 16 hex characters. Another
  secret gives unlinkable pseudonyms; without the secret none can be reversed.
* :func:`protect`: a table of counts by a sensitive attribute, with its
  totals, where every count from 1 to the threshold is withheld (primary
  suppression) together with the further cells from which one could be
  worked back (secondary suppression). Withheld cells become
  :class:`~core.policy.types.Suppressed` (``<5`` for the default threshold 4).
* :func:`statistic`: an average or median of a group of 1 to threshold
  people is withheld as well.

The secondary suppression is deterministic: the same table and threshold
always give the same cells withheld. Every line of the table (a row and its
total, a column and its total, the totals and the grand total) is checked,
in a fixed order, until none gives a withheld cell away:

1. no line has exactly one withheld cell (it would be the line's total minus
   the cells shown). The complementary cell is the line's smallest non-zero
   cell that may be withheld (ties: the first by position); when there is
   none, its first zero (a zero shown beside a lone withheld cell would say
   that the whole group is in that cell's category; withheld as ``<5`` it
   is still true); else the line's total, if it may be withheld;
2. no line whose sum is known has withheld cells that can only all be 1, or
   only all be the threshold (two ``<5`` cells that add up to 2 are both 1);
   one more cell is withheld, chosen as in 1;
3. no withheld cell follows from the lines together (a linear combination of
   them, worked out exactly with fractions): one more cell of a line through
   it is withheld, the first of the choices in 1 that breaks the derivation.

The totals per column (a municipality's own total, and the grand total) are
counts that are not broken down by the sensitive attribute and that the
report publishes exactly elsewhere (matches ended, children reached): they
are never withheld, and the protection assumes a reader knows them. A table
whose totals are published nowhere else (``public_totals=False``) may have
them withheld as a last resort. When every cell of a line is withheld and
its total is published, rule 2 can do nothing more: the counts (all 1, or
all the threshold) are then known, but not who is behind which.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain

from core.policy.types import Suppressed

#: How many hex characters of the HMAC a pseudonym shows (64 bits).
PSEUDONYM_LENGTH = 16
#: The default small-count threshold: counts from 1 to it are withheld ("fewer than 5").
DEFAULT_THRESHOLD = 4


def pseudonym(key: bytes, tenant_id: int, family_id: int) -> str:
    """The funder's pseudonym of a family: HMAC-SHA256 under *key* of ``family:<tenant id>:<family id>``,
    its first 16 hex characters."""
    if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
        raise ValueError("a pseudonym key is at least 16 bytes")
    message = f"family:{int(tenant_id)}:{int(family_id)}".encode()
    return hmac.new(bytes(key), message, hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]


def withheld(threshold: int) -> Suppressed:
    """The cell shown instead of a withheld count: "fewer than threshold + 1"."""
    return Suppressed(threshold + 1)


def is_small(value: int, threshold: int) -> bool:
    """A count that is withheld: from 1 to *threshold*."""
    return 1 <= value <= threshold


def statistic(value, n: int, threshold: int):
    """An average or median *value* of a group of *n*: withheld when *n* is from 1 to *threshold*."""
    if value is None or not is_small(n, threshold):
        return value
    return withheld(threshold)


# --------------------------------------------------------------------------- tables

Position = tuple[int, int]


@dataclass(frozen=True)
class Line:
    """Entries of a table that add up to another: ``sum(parts) == total``."""

    parts: tuple[Position, ...]
    total: Position

    @property
    def entries(self) -> tuple[Position, ...]:
        return (*self.parts, self.total)


@dataclass(frozen=True)
class Grid:
    """A table of counts with its totals, as one grid of ``rows + 1`` by ``columns + 1`` entries.

    ``cells[r][c]`` (``r < rows``, ``c < columns``) are the counts by the sensitive attribute (rows) and
    municipality (columns); column ``columns`` holds each row's total (only with more than one column),
    row ``rows`` each column's total (only with ``total_row``). The entries of the total row are public
    (never withheld); every other entry is sensitive.
    """

    values: tuple[tuple[int, ...], ...]  # every entry, totals included
    rows: int
    columns: int
    total_row: bool
    public_totals: bool = True  # False: the total row may be withheld as a last resort (never as a primary)

    @classmethod
    def of(cls, cells, total_row: bool = True, public_totals: bool = True) -> Grid:
        cells = [list(row) for row in cells]
        rows, columns = len(cells), len(cells[0]) if cells else 0
        if not rows or not columns or any(len(row) != columns for row in cells):
            raise ValueError("a table has at least one row and one column, every row as wide as the others")
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for row in cells for v in row):
            raise ValueError("a table holds counts: whole numbers from 0")
        if total_row and rows < 2:
            raise ValueError("a table with a total row has at least two rows")
        if columns > 1:
            for row in cells:
                row.append(sum(row))
        if total_row:
            cells.append([sum(row[c] for row in cells) for c in range(len(cells[0]))])
        return cls(tuple(tuple(row) for row in cells), rows, columns, total_row, public_totals)

    @property
    def has_row_totals(self) -> bool:
        return self.columns > 1

    def positions(self) -> list[Position]:
        return [(r, c) for r in range(len(self.values)) for c in range(len(self.values[0]))]

    def value(self, position: Position) -> int:
        return self.values[position[0]][position[1]]

    def sensitive(self, position: Position) -> bool:
        return position[0] < self.rows

    def hideable(self, position: Position) -> bool:
        return self.sensitive(position) or not self.public_totals

    def lines(self) -> list[Line]:
        """Every line, rows first (cells, then the total row), then columns (cells, then the row totals)."""
        height, width = len(self.values), len(self.values[0])
        found = []
        if self.has_row_totals:
            found += [Line(tuple((r, c) for c in range(self.columns)), (r, self.columns)) for r in range(height)]
        if self.total_row:
            found += [Line(tuple((r, c) for r in range(self.rows)), (self.rows, c)) for c in range(width)]
        return found


def protect(cells, threshold: int, *, total_row: bool = True,
            public_totals: bool = True) -> tuple[tuple[int | Suppressed, ...], ...]:
    """*cells* (rows by the sensitive attribute, columns by municipality) with their totals, every count
    from 1 to *threshold* withheld and the further cells that would give one away (see the module).
    With *public_totals* False (totals that the report publishes nowhere else) a total of the total row
    may be withheld too, when nothing else in its line is left to withhold.

    Returns the grid of :class:`Grid`: each row with its total at the end (when there is more than one
    column), then the row of the columns' totals (with *total_row*).
    """
    grid = Grid.of(cells, total_row, public_totals)
    hidden = suppression(grid, threshold)
    mark = withheld(threshold)
    return tuple(tuple(mark if (r, c) in hidden else value for c, value in enumerate(row))
                 for r, row in enumerate(grid.values))


def protect_statistics(sizes, threshold: int) -> set[Position]:
    """Which averages to withhold in a table of averages: one row per figure, one column per municipality
    (*sizes*: the group behind each average), and with more than one column a last column of the average
    over all of them. An average of a group of 1 to *threshold* is withheld, and further ones chosen as for
    counts (the smallest other group first, then the average over all), since the average over all times
    its group is the sum of the others times theirs. Returns the positions withheld, the last column
    included."""
    return suppression(Grid.of(sizes, total_row=False), threshold, sizes_only=True)


def suppression(grid: Grid, threshold: int, *, sizes_only: bool = False) -> set[Position]:
    """The entries of *grid* to withhold. With *sizes_only* the values are group sizes of averages: a
    group from 1 to *threshold* is withheld, and rule 2 (bounds of counts) does not apply."""
    if not isinstance(threshold, int) or threshold < 1:
        raise ValueError("the threshold is a whole number from 1")
    hidden = {p for p in grid.positions() if grid.sensitive(p) and is_small(grid.value(p), threshold)}
    lines = grid.lines()
    zeros = not sizes_only  # an average of no one is empty, and its group of 0 is shown: nothing to hide
    while True:
        extra = _single(grid, lines, hidden, zeros)
        if extra is None and not sizes_only:
            extra = _pinned(grid, lines, hidden, threshold)
        if extra is None:
            extra = _derivable(grid, lines, hidden, zeros)
        if extra is None:
            return hidden
        hidden.add(extra)


def _choices(grid: Grid, line: Line, hidden: set[Position], zeros: bool = True) -> list[Position]:
    """What may be withheld next in *line*, best first: the smallest non-zero cells (by position on a
    tie), then (with *zeros*) its zeros by position, then the line's total if it may be withheld."""
    open_ = [p for p in line.parts if p not in hidden and grid.hideable(p)]
    nonzero = sorted((p for p in open_ if grid.value(p)), key=lambda p: (grid.value(p), p))
    total = [line.total] if line.total not in hidden and grid.hideable(line.total) else []
    return nonzero + ([p for p in open_ if not grid.value(p)] if zeros else []) + total


def _single(grid: Grid, lines: list[Line], hidden: set[Position], zeros: bool) -> Position | None:
    """Rule 1: the complement of the first line with exactly one withheld entry."""
    for line in lines:
        if sum(p in hidden for p in line.entries) == 1:
            choices = _choices(grid, line, hidden, zeros)
            if choices:
                return choices[0]
    return None


def _pinned(grid: Grid, lines: list[Line], hidden: set[Position], threshold: int) -> Position | None:
    """Rule 2: the complement of the first line with a known sum whose withheld cells are all 1 or all the
    threshold (so that each is known)."""
    for line in lines:
        if line.total in hidden:
            continue
        values = [grid.value(p) for p in line.parts if p in hidden]
        if len(values) < 2:
            continue
        if all(v == 1 for v in values) or all(v == threshold for v in values):
            choices = _choices(grid, line, hidden)
            if choices:
                return choices[0]
    return None


def _derivable(grid: Grid, lines: list[Line], hidden: set[Position], zeros: bool) -> Position | None:
    """Rule 3: for the first withheld entry that the lines together determine, the first choice of a line
    through it that breaks that (else the first choice)."""
    for position in derivable(lines, hidden):
        through = [line for line in lines if position in line.entries]
        choices = list(dict.fromkeys(chain.from_iterable(_choices(grid, line, hidden, zeros) for line in through)))
        for choice in choices:
            if position not in derivable(lines, hidden | {choice}):
                return choice
        if choices:
            return choices[0]
    return None


def derivable(lines, hidden) -> list[Position]:
    """The withheld entries whose values follow from the *lines* (sums of entries, every entry not in
    *hidden* known), by exact linear algebra: an unknown is determined when it is a pivot of the reduced
    row echelon form of the lines' equations and its row has no free unknown."""
    unknowns = sorted(hidden)
    index = {p: i for i, p in enumerate(unknowns)}
    rows = []
    for line in lines:
        row = [Fraction(0)] * len(unknowns)
        for p in line.parts:
            if p in index:
                row[index[p]] += 1
        if line.total in index:
            row[index[line.total]] -= 1
        if any(row):
            rows.append(row)
    pivots = _reduce(rows, len(unknowns))
    determined = []
    for r, column in pivots:
        if not any(rows[r][c] for c in range(len(unknowns)) if c != column):
            determined.append(unknowns[column])
    return sorted(determined)


def _reduce(rows: list[list[Fraction]], width: int) -> list[tuple[int, int]]:
    """Bring *rows* to reduced row echelon form in place; the (row, column) of each pivot."""
    pivots, r = [], 0
    for column in range(width):
        found = next((i for i in range(r, len(rows)) if rows[i][column]), None)
        if found is None:
            continue
        rows[r], rows[found] = rows[found], rows[r]
        lead = rows[r][column]
        rows[r] = [v / lead for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][column]:
                factor = rows[i][column]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r])]
        pivots.append((r, column))
        r += 1
        if r == len(rows):
            break
    return pivots
