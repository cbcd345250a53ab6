"""The XLSX, CSV (both dialects), PDF and JSON renderings of one report agree on every number.

Each rendering, made by the real report plugins, is read back as its reader would: the workbook with openpyxl,
the CSV with the csv module in its dialect, the PDF through its text (pypdf), the JSON parsed. Every cell of
the report that holds a number, a withheld count or a date is compared with the value read back from each file
at the same place: the same numbers everywhere (the PDF shows shares and averages rounded half-up to two
decimals, as the workbook's number format does; a workbook holds 15 significant digits, as Excel does), and a
withheld count as the text ``<5`` everywhere, never a number.

:func:`numbers_of` (a rendering read back) and :func:`numbers_in` (the report itself) work on any report, so
the same check applies to a report made by ``core.reports`` (rendered by report plugins with their default
settings: the CSV's dialect, the PDF's language and font size are what :func:`numbers_of` reads)::

    report = core.reports.build(...)
    tables = core.reports.tables(report)
    for media_format in MEDIA_FORMATS:
        content = core.reports.render(report, media_format).content
        assert numbers_of(content, media_format, tables) == numbers_in(tables, media_format)
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal

import openpyxl
import pytest
from pypdf import PdfReader

from core.messages import Message
from core.policy.manager import build_manager
from core.policy.types import Chart, Report, Section, Suppressed
from plugins._report import localized

MEDIA_FORMATS = ("xlsx", "csv", "csv-international", "pdf", "json")
#: The CSV dialects as the plugin writes them by default: (delimiter, decimal separator, encoding).
DIALECTS = {"csv": (";", ",", "utf-8-sig"), "csv-international": (",", ".", "utf-8")}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
WITHHELD = re.compile(r"<\d+")
CENTS = Decimal("0.01")
#: The table's font, and the standard fonts reportlab draws a character with that Helvetica lacks (≥, →, ✓).
TABLE_FONTS = ("/Helvetica", "/Symbol", "/ZapfDingbats")
EXCEL = Context(prec=15)  # the significant digits of a number in a workbook

Place = tuple[int, int, int]  # section, row, column (from 0)


# --- what the report holds ---------------------------------------------------------------------------------


def compared(value) -> bool:
    """A cell the formats must agree on: a number, a withheld count or a date."""
    return (isinstance(value, (int, float, Decimal, Suppressed)) and not isinstance(value, bool)) or (
        isinstance(value, date) and not isinstance(value, datetime))


def numbers_in(report: Report, media_format: str) -> list[tuple[int, int, int, object]]:
    """(section, row, column, value) of every number, withheld count and date in *report*, as *media_format*
    shows it: a number as a Decimal (a float through its shortest repr; in a PDF rounded half-up to two
    decimals; in a workbook to 15 significant digits), not finite as None, a withheld count as its text
    (``"<5"``), a date as a date."""
    found = []
    for s, section in enumerate(report.sections):
        for r, row in enumerate(section.rows):
            for c, value in enumerate(row):
                if not compared(value):
                    continue
                if isinstance(value, Suppressed):
                    value = str(value)
                elif isinstance(value, (int, float, Decimal)):
                    if isinstance(value, (float, Decimal)) and not math.isfinite(value):
                        value = None
                    elif isinstance(value, float):
                        value = Decimal(repr(value))
                        if media_format == "pdf":
                            value = value.quantize(CENTS, rounding=ROUND_HALF_UP)
                    else:
                        value = Decimal(value)
                    if media_format == "xlsx" and value is not None:
                        value = EXCEL.plus(value)
                found.append((s, r, c, value))
    return found


def _places(report: Report) -> list[Place]:
    return [(s, r, c) for s, section in enumerate(report.sections) for r, row in enumerate(section.rows)
            for c, value in enumerate(row) if compared(value)]


# --- what a rendering shows ----------------------------------------------------------------------------------


def numbers_of(content: bytes, media_format: str, report: Report, *, language: str = "nl",
               font_size: int = 9) -> list[tuple[int, int, int, object]]:
    """(section, row, column, value) read back from a rendering of *report* at each place where the report holds
    a number, a withheld count or a date (see :func:`numbers_in`): a number as a Decimal, a date as a date, any
    text as it is (so ``"<5"``, or a number that was written as text and should not have been), empty as None.

    *report* gives the layout (which section, row and column is where); the values come from *content* only.
    The PDF's text is read in the plugin's *language* and table *font_size* (its defaults).
    """
    report = localized(report, language)
    read = {"xlsx": _xlsx, "csv": _csv, "csv-international": _csv, "pdf": _pdf, "json": _json}[media_format]
    return read(content, media_format, report, language=language, font_size=font_size)


def _xlsx(content, media_format, report, **kwargs):
    book = openpyxl.load_workbook(io.BytesIO(content))
    found = []
    for s, r, c in _places(report):
        cell = book.worksheets[s].cell(row=r + 2, column=c + 1)  # the header is row 1
        value = cell.value
        if isinstance(value, datetime):
            value = value.date() if value.time() == datetime.min.time() else value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = EXCEL.plus(Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
        found.append((s, r, c, value))
    return found


def _csv(content, media_format, report, **kwargs):
    delimiter, decimal_separator, encoding = DIALECTS[media_format]
    lines = list(csv.reader(io.StringIO(content.decode(encoding), newline=""), delimiter=delimiter))
    first = {}  # section -> the index of its first row's line
    index = 2 if report.subtitle else 1
    for s, section in enumerate(report.sections):
        assert lines[index] == [], f"CSV line {index + 1}: the blank line before section {s + 1} is not blank"
        assert len(lines[index + 2]) == len(section.columns), f"CSV line {index + 3}: not section {s + 1}'s header"
        first[s] = index + 3
        index += 3 + len(section.rows) + len(section.notes)

    def value(text: str):
        if text == "" or WITHHELD.fullmatch(text):
            return text or None
        if ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
        if re.fullmatch(r"-?\d+(" + re.escape(decimal_separator) + r"\d+)?", text):  # the dialect's number
            return Decimal(text.replace(decimal_separator, "."))
        return text

    return [(s, r, c, value(lines[first[s] + r][c])) for s, r, c in _places(report)]


def _json(content, media_format, report, **kwargs):
    document = json.loads(content)

    def value(cell):
        if isinstance(cell, dict) and cell.get("suppressed") is True:
            return f"<{cell['fewer_than']}"
        if isinstance(cell, (int, float)) and not isinstance(cell, bool):
            return Decimal(repr(cell)) if isinstance(cell, float) else Decimal(cell)
        if isinstance(cell, str) and ISO_DATE.fullmatch(cell):
            return date.fromisoformat(cell)
        if isinstance(cell, str) and re.fullmatch(r"-?\d+(\.\d+)?", cell):  # an amount: exact, as a string
            return Decimal(cell)
        return cell

    return [(s, r, c, value(document["sections"][s]["rows"][r][c])) for s, r, c in _places(report)]


def pdf_table_texts(content: bytes, font_size: int = 9) -> list[str]:
    """The texts drawn in the PDF's table cells (regular Helvetica at the table's size, and the symbol fonts
    that stand in for a character it lacks), in the order drawn: row by row, left to right, a wrapped cell line
    by line. Headers (bold), titles, notes (oblique), the footer and the charts' labels (smaller) are other fonts
    or sizes."""
    drawn = []

    def visit(text, cm, tm, font, size):
        text = text.replace("\u00a0", " ").strip()
        if text and font is not None and font.get("/BaseFont") in TABLE_FONTS and abs(size - font_size) < 0.01:
            drawn.append(text)

    for page in PdfReader(io.BytesIO(content)).pages:
        page.extract_text(visitor_text=visit)
    return drawn


def pdf_number(text: str, language: str = "nl") -> Decimal | str:
    """A number as the PDF writes it (``€ 1.234,50``, ``€ -5,50``, ``-€5.50``, ``1.234``, ``2,5``) as a Decimal;
    any other text as it is."""
    thousands, decimal = (".", ",") if language == "nl" else (",", ".")
    plain = text.replace("€", "").replace(" ", "").replace(thousands, "").replace(decimal, ".")
    return Decimal(plain) if re.fullmatch(r"-?\d+(\.\d+)?", plain) else text


def _pdf(content, media_format, report, *, language, font_size):
    """Walks the report's cells and the PDF's table texts in step: a number, withheld count, date, boolean or
    date-time is one text; a text cell is the texts that together spell it (it may wrap over lines)."""
    drawn, at, found = pdf_table_texts(content, font_size), 0, []

    def squeezed(text: str) -> str:
        return re.sub(r"\s+", "", text)

    for s, section in enumerate(report.sections):
        for r, row in enumerate(section.rows):
            for c, value in enumerate(row):
                where = f"section {s + 1} ({section.title!r}), row {r + 1}, column {c + 1}"
                if value is None or (isinstance(value, (float, Decimal)) and not math.isfinite(value)):
                    if compared(value):
                        found.append((s, r, c, None))
                    continue
                if isinstance(value, (int, float, Decimal, Suppressed, date)):  # bools and date-times too
                    assert at < len(drawn), f"PDF: nothing drawn for {where}"
                    if compared(value):
                        text = drawn[at]
                        found.append((s, r, c, date.fromisoformat(text) if ISO_DATE.fullmatch(text)
                                      else text if WITHHELD.fullmatch(text) else pdf_number(text, language)))
                    at += 1
                    continue
                wanted, spelled = squeezed(str(value)), ""
                while spelled != wanted:
                    assert at < len(drawn) and wanted.startswith(spelled + squeezed(drawn[at])), (
                        f"PDF: {where} should read {str(value)!r}; the table shows {drawn[at:at + 3]!r}")
                    spelled += squeezed(drawn[at])
                    at += 1
    assert at == len(drawn), f"PDF: more in the tables than the report holds: {drawn[at:at + 5]!r}"
    return found


# --- the report --------------------------------------------------------------------------------------------

MEMBERS = ("Aalten", "Berkelland", "Bronckhorst", "Doetinchem", "Montferland", "Oost Gelre", "Winterswijk")
WITHHELD_COUNT = Suppressed(5)


def _members_side_by_side() -> Section:
    counts = [[12, 7, WITHHELD_COUNT, 31, 0, 9, 1204], [WITHHELD_COUNT, 15, 22, WITHHELD_COUNT, 6, 11, 18]]
    rows = [("Gezinnen gestart", *counts[0], None), ("Kinderen bereikt", *counts[1], None),
            ("Kosten", *(Decimal(v) for v in ("22000.00", "18333.33", "-1250.50", "1234567.89", "0.00", "0.125",
                                              "15000")), Decimal("1292150.845")),
            ("Aandeel afgerond", 0.75, 0.3333333333333333, 0.125, 1.0, 0.0, 0.1 + 0.2, -0.005, 0.445),
            ("Verschil met vorig jaar", -3, 12, -1_234_567, 7, 0, 2, -1, -1_234_550)]
    return Section("Leden naast elkaar", ("Onderdeel", *MEMBERS, "Totaal"), tuple(rows),
                   notes=("Aantallen van 1 tot en met 4 zijn weggelaten (<5).",))


REPORT = Report(
    "Steungezinnen Achterhoek — 2026",
    (
        Section(
            "Kosten",
            ("Omschrijving", "Bedrag", "Peildatum", "Vastgesteld", "Bron"),
            (("Subsidie 2026: € 22.000,00 per jaar; 1 januari t/m 31 december", Decimal("22000.00"),
              date(2026, 12, 31), True, "Raadsbesluit \"steungezinnen\" 2025 — ë, ü en €"),
             ("=SUM(A1:A9)", Decimal("-5.50"), date(2026, 1, 1), False, "+31 6 ; -2 @ 'citaat'"),
             ("Een omschrijving die zo lang is dat ze in de PDF over meer regels loopt, zodat ook dan elk getal "
              "ernaast op zijn plaats blijft staan en niets verschuift", Decimal("1234567.89"), None, None, None)),
            notes=("Bedragen in euro's, inclusief btw.", Message("No data in this period.", domain="report.pdf")),
        ),
        _members_side_by_side(),
        Section(
            "Koppelingen per maand",
            ("Maand", "Nieuw", "Actief", "Gemiddelde wachttijd (dagen)", "Bijgewerkt"),
            tuple((f"2026-{m:02d}", m * 3 if m != 4 else WITHHELD_COUNT, 10 * m + 7, 21.5 + m / 3,
                   datetime(2026, m, 28, 9, 30)) for m in range(1, 13)),
            chart=Chart("bar", "Maand", ("Nieuw", "Actief")),
        ),
        Section("Zonder gegevens", ("Wijk", "Gezinnen"), (), notes=("Geen koppelingen in deze periode.",)),
        Section("Uitkomsten", ("Uitkomst", "Koppelingen", "Aandeel"),
                (("Geen verdere zorg", 1_000_000, float("nan")), ("Lichtere ondersteuning", WITHHELD_COUNT, 0.0),
                 ("Totaal", 1_000_009, 1.0))),
    ),
    subtitle="1 januari t/m 31 december 2026",
)


@pytest.fixture(scope="module")
def rendered():
    hook = build_manager({"report.xlsx": {}, "report.csv": {}, "report.pdf": {}, "report.json": {}}).hook
    return {media_format: hook.koppel_render_report(report=REPORT, media_format=media_format).content
            for media_format in MEDIA_FORMATS}


def test_the_report_holds_every_kind_of_cell():
    values = [v for section in REPORT.sections for row in section.rows for v in row]
    kinds = {type(v) for v in values}
    assert {int, float, Decimal, date, datetime, bool, str, Suppressed, type(None)} <= kinds
    assert any(isinstance(v, (int, Decimal)) and v < 0 for v in values)
    assert any(isinstance(v, (int, Decimal)) and abs(v) >= 1_000_000 for v in values)
    assert any(isinstance(v, float) and math.isnan(v) for v in values)
    assert [s for s in REPORT.sections if s.notes] and [s for s in REPORT.sections if s.chart]


@pytest.mark.parametrize("media_format", MEDIA_FORMATS)
def test_every_number_read_back_is_the_reports(rendered, media_format):
    expected = numbers_in(REPORT, media_format)
    withheld = sum(isinstance(v, Suppressed) for section in REPORT.sections for row in section.rows for v in row)
    assert len(expected) > 80 and sum(value == "<5" for *_, value in expected) == withheld >= 5
    assert numbers_of(rendered[media_format], media_format, REPORT) == expected


def test_the_formats_agree_with_each_other(rendered):
    """At every place the same number in every format, seen at the precision the PDF shows (shares and averages
    to two decimals); a withheld count is "<5" everywhere and nowhere else."""
    def as_in_the_pdf(place, value):
        if isinstance(value, Decimal) and isinstance(_cell(place), float):
            return value.quantize(CENTS, rounding=ROUND_HALF_UP)
        return value

    read = {media_format: [as_in_the_pdf((s, r, c), value) for s, r, c, value in
                           numbers_of(rendered[media_format], media_format, REPORT)] for media_format in MEDIA_FORMATS}
    for media_format in MEDIA_FORMATS:
        assert read[media_format] == read["pdf"], media_format
    withheld = [i for i, place in enumerate(_places(REPORT)) if isinstance(_cell(place), Suppressed)]
    assert [i for i, value in enumerate(read["pdf"]) if value == "<5"] == withheld


def _cell(place: Place):
    s, r, c = place
    return REPORT.sections[s].rows[r][c]


def test_a_withheld_count_is_never_a_number_in_any_format(rendered):
    book = openpyxl.load_workbook(io.BytesIO(rendered["xlsx"]))
    withheld = [place for place in _places(REPORT) if isinstance(_cell(place), Suppressed)]
    for s, r, c in withheld:
        cell = book.worksheets[s].cell(row=r + 2, column=c + 1)
        assert (cell.value, cell.data_type, cell.alignment.horizontal) == ("<5", "s", "right")
        assert json.loads(rendered["json"])["sections"][s]["rows"][r][c] == {"suppressed": True, "fewer_than": 5}
    for media_format in ("csv", "csv-international"):
        delimiter, _, encoding = DIALECTS[media_format]
        assert f"{delimiter}<5{delimiter}" in rendered[media_format].decode(encoding)
    assert pdf_table_texts(rendered["pdf"]).count("<5") == len(withheld)


def test_every_number_in_the_workbook_is_a_number_with_a_number_format(rendered):
    book = openpyxl.load_workbook(io.BytesIO(rendered["xlsx"]))
    wanted = {int: "#,##0", Decimal: '"€" #,##0.00;"€" -#,##0.00', float: "#,##0.0#"}
    for s, r, c in _places(REPORT):
        value, cell = _cell((s, r, c)), book.worksheets[s].cell(row=r + 2, column=c + 1)
        if isinstance(value, date):
            assert (cell.data_type, cell.number_format) == ("d", "yyyy-mm-dd")
        elif not isinstance(value, Suppressed) and math.isfinite(value):
            assert (cell.data_type, cell.number_format) == ("n", wanted[type(value)]), (s, r, c)


def test_text_comes_back_as_it_is(rendered):
    """Text with the CSV delimiter, quotes, a formula's first character and non-ASCII survives every format (a
    formula made literal in the spreadsheets); the PDF's text is checked cell by cell by :func:`numbers_of`."""
    row, other = REPORT.sections[0].rows[0], REPORT.sections[0].rows[1]
    book = openpyxl.load_workbook(io.BytesIO(rendered["xlsx"]))
    assert book.worksheets[0]["E2"].value == row[4] and book.worksheets[0]["A3"].value == "=SUM(A1:A9)"
    for media_format in ("csv", "csv-international"):
        delimiter, _, encoding = DIALECTS[media_format]
        lines = list(csv.reader(io.StringIO(rendered[media_format].decode(encoding), newline=""), delimiter=delimiter))
        assert lines[5][0] == row[0] and lines[5][3:] == ["ja", row[4]]
        assert lines[6][0] == "'=SUM(A1:A9)" and lines[6][4] == "'" + other[4]
        assert lines[8:10] == [["Bedragen in euro's, inclusief btw."], ["Geen gegevens in deze periode."]]
    document = json.loads(rendered["json"])
    assert document["sections"][0]["rows"][0][4] == row[4]
    assert document["sections"][0]["notes"] == ["Bedragen in euro's, inclusief btw.", "Geen gegevens in deze periode."]


def test_a_wrong_number_is_caught():
    """The comparison is not blind: a PDF, CSV or JSON that shows one figure differently fails it."""
    changed = Report(REPORT.title, (REPORT.sections[0], _members_side_by_side()), REPORT.subtitle)
    section = changed.sections[1]
    rows = list(section.rows)
    rows[0] = (rows[0][0], 13, *rows[0][2:])  # 12 -> 13
    wrong = Report(changed.title, (changed.sections[0], Section(section.title, section.columns, tuple(rows),
                                                                notes=section.notes)), changed.subtitle)
    hook = build_manager({"report.csv": {}, "report.pdf": {}, "report.json": {}}).hook
    for media_format in ("csv", "pdf", "json"):
        content = hook.koppel_render_report(report=wrong, media_format=media_format).content
        assert numbers_of(content, media_format, changed) != numbers_in(changed, media_format), media_format
    suppressed = [(s, r, c, v) for s, r, c, v in numbers_in(changed, "json") if v == "<5"]
    uncovered = Report(changed.title, (changed.sections[0], Section(
        section.title, section.columns, tuple(tuple(4 if isinstance(v, Suppressed) else v for v in row)
                                              for row in section.rows), notes=section.notes)), changed.subtitle)
    content = hook.koppel_render_report(report=uncovered, media_format="json").content
    read = numbers_of(content, "json", changed)
    assert suppressed and all((s, r, c, Decimal(4)) in read for s, r, c, _ in suppressed)
